// advkit's native engine: the heaviest tfjs kernels (convolution forward and both gradients, depthwise
// convolution, matrix products) on oneDNN, and the max-pooling gradient as a plain loop over images, working in place on the float32 buffers the tfjs wasm backend
// hands over (NHWC activations, HWIO / HWCM filters, row-major matrices). No copies: every user buffer is
// wrapped as a oneDNN memory with the layout tfjs uses; only the (small) filters are reordered into the
// blocked layout oneDNN's fastest kernels ask for.
//
// Primitives are JIT-compiled by oneDNN, so each one is built once per shape and kept in a small cache.
// All calls are synchronous, as tfjs kernels are; oneDNN's OpenMP threads do the parallel work.

#include <napi.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <list>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

dnnl::engine &Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One stream per thread: a oneDNN stream is not thread-safe, and Node worker threads (a server's compute threads,
// a queue worker's chunk threads) call into this addon at the same time.
dnnl::stream &Stream() {
  static thread_local dnnl::stream stream(Engine());
  return stream;
}

// ---- argument helpers -------------------------------------------------------------------------------

float *FloatData(const Napi::Value &value, size_t expected, const char *name) {
  if (!value.IsTypedArray()) throw Napi::TypeError::New(value.Env(), std::string(name) + ": expected a Float32Array");
  auto array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + ": expected a Float32Array");
  }
  auto floats = value.As<Napi::Float32Array>();
  if (floats.ElementLength() < expected) {
    std::ostringstream message;
    message << name << ": expected at least " << expected << " elements, got " << floats.ElementLength();
    throw Napi::RangeError::New(value.Env(), message.str());
  }
  return floats.Data();
}

// A Float32Array, or nullptr for null / undefined.
float *OptionalFloatData(const Napi::Value &value, size_t expected, const char *name) {
  return value.IsNull() || value.IsUndefined() ? nullptr : FloatData(value, expected, name);
}

std::vector<int64_t> Ints(const Napi::Value &value, size_t count, const char *name) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), std::string(name) + ": expected an array");
  auto array = value.As<Napi::Array>();
  if (array.Length() != count) {
    std::ostringstream message;
    message << name << ": expected " << count << " integers, got " << array.Length();
    throw Napi::RangeError::New(value.Env(), message.str());
  }
  std::vector<int64_t> out(count);
  for (uint32_t i = 0; i < count; i++) {
    Napi::Value item = array[i];
    if (!item.IsNumber()) throw Napi::TypeError::New(value.Env(), std::string(name) + ": expected integers");
    out[i] = item.As<Napi::Number>().Int64Value();
  }
  return out;
}

// ---- fused activations (tfjs's names, in the order of the JavaScript side's codes) --------------------

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kSigmoid = 4, kLeakyRelu = 5 };

dnnl::primitive_attr ActivationAttr(int activation, float alpha) {
  dnnl::post_ops ops;
  switch (activation) {
    case kLinear: break;
    case kRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case kElu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    case kSigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    case kLeakyRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    default: throw std::invalid_argument("unknown activation code " + std::to_string(activation));
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

// ---- convolution geometry ---------------------------------------------------------------------------

// [N, H, W, C, OH, OW, K, KH, KW, SH, SW, DH, DW, PT, PB, PL, PR, G] as the JavaScript side sends it:
// input NHWC [N, H, W, C], output NHWC [N, OH, OW, K], filter KHxKW, strides, dilations (1 = none), pads,
// and groups (1 for conv2d; C for depthwise, whose K = C * multiplier).
struct ConvGeometry {
  int64_t n, h, w, c, oh, ow, k, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, g;

  static ConvGeometry From(const std::vector<int64_t> &v) {
    ConvGeometry geo{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
                     v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17]};
    return geo;
  }

  size_t InputSize() const { return n * h * w * c; }
  size_t OutputSize() const { return n * oh * ow * k; }
  size_t FilterSize() const { return kh * kw * (c / g) * k; }

  memory::desc Src() const { return memory::desc({n, c, h, w}, dt::f32, tag::nhwc); }
  memory::desc Dst() const { return memory::desc({n, k, oh, ow}, dt::f32, tag::nhwc); }

  // The filter as tfjs stores it: HWIO for conv2d ([KH, KW, C, K]); HWCM for depthwise ([KH, KW, C, M]),
  // which is oneDNN's grouped layout (G = C, O = M, I = 1) with output channel c * M + m, as tfjs orders it.
  memory::desc UserWeights() const {
    if (g == 1) return memory::desc({k, c, kh, kw}, dt::f32, memory::dims{1, k, kw * c * k, c * k});
    int64_t m = k / g;
    return memory::desc({g, m, c / g, kh, kw}, dt::f32, memory::dims{m, 1, k, kw * c * m, c * m});
  }

  memory::desc AnyWeights() const {
    if (g == 1) return memory::desc({k, c, kh, kw}, dt::f32, tag::any);
    return memory::desc({g, k / g, c / g, kh, kw}, dt::f32, tag::any);
  }

  memory::dims Strides() const { return {sh, sw}; }
  memory::dims Dilations() const { return {dh - 1, dw - 1}; }
  memory::dims PadL() const { return {pt, pl}; }
  memory::dims PadR() const { return {pb, pr}; }

  // The forward primitive that the backward ones are built against (oneDNN's hint).
  dnnl::convolution_forward::primitive_desc TrainingHint() const {
    return dnnl::convolution_forward::primitive_desc(ForwardDesc(dnnl::prop_kind::forward_training, memory::desc()),
                                                     Engine());
  }

  dnnl::convolution_forward::desc ForwardDesc(dnnl::prop_kind prop, const memory::desc &bias) const {
    if (bias.is_zero()) {
      return dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, Src(), AnyWeights(), Dst(),
                                             Strides(), Dilations(), PadL(), PadR());
    }
    return dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, Src(), AnyWeights(), bias,
                                           Dst(), Strides(), Dilations(), PadL(), PadR());
  }
};

// ---- primitive cache ---------------------------------------------------------------------------------

// One cached operation: the primitive, and the reorder that moves the user's filter into (or out of) the
// layout the primitive wants, with the buffer for the reordered filter.
struct Entry {
  dnnl::primitive primitive;
  memory::desc user_weights;
  memory::desc weights;  // the primitive's layout (equal to user_weights when no reorder is needed)
  bool needs_reorder = false;
  dnnl::reorder reorder;  // user -> primitive (forward, backward data) or primitive -> user (backward weights)
  memory scratch_weights;
};

class Cache {
 public:
  explicit Cache(size_t capacity) : capacity_(capacity) {}

  Entry *Find(const std::string &key) {
    auto found = index_.find(key);
    if (found == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, found->second);
    return &found->second->second;
  }

  Entry *Insert(const std::string &key, Entry entry) {
    order_.emplace_front(key, std::move(entry));
    index_[key] = order_.begin();
    while (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return &order_.front().second;
  }

  void Clear() {
    index_.clear();
    order_.clear();
  }

  size_t Size() const { return order_.size(); }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, Entry>> order_;
  std::unordered_map<std::string, std::list<std::pair<std::string, Entry>>::iterator> index_;
};

// One cache per thread: an entry holds a scratch buffer for the reordered filter, which two threads running the
// same shape at once would overwrite under each other (wrong results, seen as evaluation chunks computed on a
// queue worker's threads that differed from a single-process run), and the map itself is not locked.
Cache &Primitives() {
  static thread_local Cache cache(256);
  return cache;
}

std::string Key(const char *op, const std::vector<int64_t> &ints, int activation = 0, float alpha = 0.f,
                bool bias = false) {
  std::ostringstream key;
  key << op;
  for (auto v : ints) key << ',' << v;
  key << '|' << activation << '|' << alpha << '|' << bias;
  return key.str();
}

void WithWeightsLayout(Entry &entry, const memory::desc &user, const memory::desc &wanted, bool to_user) {
  entry.user_weights = user;
  entry.weights = wanted;
  entry.needs_reorder = user != wanted;
  if (!entry.needs_reorder) return;
  entry.scratch_weights = memory(wanted, Engine());
  entry.reorder = to_user ? dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), wanted, Engine(), user))
                          : dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), user, Engine(), wanted));
}

// The filter as the primitive reads it: the caller's buffer, or its reordered copy.
memory WeightsIn(Entry &entry, float *filter) {
  memory user_weights(entry.user_weights, Engine(), filter);
  if (!entry.needs_reorder) return user_weights;
  entry.reorder.execute(Stream(), user_weights, entry.scratch_weights);
  return entry.scratch_weights;
}

// Runs `body` turning oneDNN's errors into JavaScript exceptions.
template <typename Body>
Napi::Value Guarded(const Napi::CallbackInfo &info, Body body) {
  try {
    body();
  } catch (const dnnl::error &e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
  } catch (const std::invalid_argument &e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return info.Env().Undefined();
}

// ---- kernels ------------------------------------------------------------------------------------------

// convForward(x, filter, bias | null, y, geometry, activation, alpha)
Napi::Value ConvForward(const Napi::CallbackInfo &info) {
  auto ints = Ints(info[4], 18, "geometry");
  ConvGeometry geo = ConvGeometry::From(ints);
  float *x = FloatData(info[0], geo.InputSize(), "x");
  float *filter = FloatData(info[1], geo.FilterSize(), "filter");
  float *bias = OptionalFloatData(info[2], geo.k, "bias");
  bool has_bias = bias != nullptr;
  float *y = FloatData(info[3], geo.OutputSize(), "y");
  int activation = info[5].As<Napi::Number>().Int32Value();
  float alpha = info[6].As<Napi::Number>().FloatValue();
  return Guarded(info, [&] {
    std::string key = Key("fwd", ints, activation, alpha, has_bias);
    memory::desc bias_md = has_bias ? memory::desc({geo.k}, dt::f32, tag::x) : memory::desc();
    Entry *entry = Primitives().Find(key);
    if (entry == nullptr) {
      auto pd = dnnl::convolution_forward::primitive_desc(geo.ForwardDesc(dnnl::prop_kind::forward_inference, bias_md),
                                                          ActivationAttr(activation, alpha), Engine());
      Entry fresh;
      fresh.primitive = dnnl::convolution_forward(pd);
      WithWeightsLayout(fresh, geo.UserWeights(), pd.weights_desc(), false);
      entry = Primitives().Insert(key, std::move(fresh));
    }
    memory weights = WeightsIn(*entry, filter);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(geo.Src(), Engine(), x)},
                                         {DNNL_ARG_WEIGHTS, weights},
                                         {DNNL_ARG_DST, memory(geo.Dst(), Engine(), y)}};
    if (has_bias) args.insert({DNNL_ARG_BIAS, memory(bias_md, Engine(), bias)});
    entry->primitive.execute(Stream(), args);
    Stream().wait();
  });
}

// The input gradient of a convolution with one input channel (a grey image), stride 1, no dilation, no groups: oneDNN runs it at a fraction of its speed (3.3 ms for MNIST's 28x28 5x5 1 -> 16 layer at batch 128, 24
// GFLOP/s), since its output has one channel per pixel. Here each input pixel gathers dy . w over its window
// with the output channels as the vector lanes, accumulated in a vector and summed once. target_clones builds
// it for AVX-512, AVX2 and plain x86-64 and picks one at load time.
// Lanes = the output channels, known at compile time so that the accumulators stay in registers.
template <int Lanes, int Channels>
__attribute__((target_clones("avx512f", "avx2", "default"))) void FewChannelInputGradientLoop(
    const ConvGeometry &g, const float *dy, const float *filter, float *dx) {
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < g.n * g.h; row++) {
    int64_t image = row / g.h, y = row % g.h;
    for (int64_t x = 0; x < g.w; x++) {
      float acc[Channels][Lanes] = {};
      for (int64_t i = 0; i < g.kh; i++) {
        int64_t oy = y + g.pt - i;
        if (oy < 0 || oy >= g.oh) continue;
        for (int64_t j = 0; j < g.kw; j++) {
          int64_t ox = x + g.pl - j;
          if (ox < 0 || ox >= g.ow) continue;
          const float *d = dy + ((image * g.oh + oy) * g.ow + ox) * Lanes;
          const float *w = filter + (i * g.kw + j) * Channels * Lanes;
          for (int c = 0; c < Channels; c++) {
#pragma omp simd
            for (int l = 0; l < Lanes; l++) acc[c][l] += d[l] * w[c * Lanes + l];
          }
        }
      }
      float *out = dx + ((image * g.h + y) * g.w + x) * Channels;
      for (int c = 0; c < Channels; c++) {
        float sum = 0.f;
        for (int l = 0; l < Lanes; l++) sum += acc[c][l];
        out[c] = sum;
      }
    }
  }
}

// One input channel and 16 or 32 filters (the MNIST models' first layers): 1.9x oneDNN. With 3 input channels
// oneDNN was faster (CIFAR's 3 -> 32: 3.3 against 4.2 ms), so everything else goes to oneDNN.
bool FewChannelInputGradientRun(const ConvGeometry &g, const float *dy, const float *filter, float *dx) {
  if (g.g != 1 || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1) return false;
  if (g.c == 1 && g.k == 16) FewChannelInputGradientLoop<16, 1>(g, dy, filter, dx);
  else if (g.c == 1 && g.k == 32) FewChannelInputGradientLoop<32, 1>(g, dy, filter, dx);
  else return false;
  return true;
}

// convBackwardData(dy, filter, dx, geometry): the input gradient.
Napi::Value ConvBackwardData(const Napi::CallbackInfo &info) {
  auto ints = Ints(info[3], 18, "geometry");
  ConvGeometry geo = ConvGeometry::From(ints);
  float *dy = FloatData(info[0], geo.OutputSize(), "dy");
  float *filter = FloatData(info[1], geo.FilterSize(), "filter");
  float *dx = FloatData(info[2], geo.InputSize(), "dx");
  if (FewChannelInputGradientRun(geo, dy, filter, dx)) return info.Env().Undefined();
  return Guarded(info, [&] {
    std::string key = Key("bwd_data", ints);
    Entry *entry = Primitives().Find(key);
    if (entry == nullptr) {
      auto hint = geo.TrainingHint();
      auto desc = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, geo.Src(),
                                                        geo.AnyWeights(), geo.Dst(), geo.Strides(),
                                                        geo.Dilations(), geo.PadL(), geo.PadR());
      auto pd = dnnl::convolution_backward_data::primitive_desc(desc, Engine(), hint);
      Entry fresh;
      fresh.primitive = dnnl::convolution_backward_data(pd);
      WithWeightsLayout(fresh, geo.UserWeights(), pd.weights_desc(), false);
      entry = Primitives().Insert(key, std::move(fresh));
    }
    memory weights = WeightsIn(*entry, filter);
    entry->primitive.execute(Stream(), {{DNNL_ARG_DIFF_DST, memory(geo.Dst(), Engine(), dy)},
                                        {DNNL_ARG_WEIGHTS, weights},
                                        {DNNL_ARG_DIFF_SRC, memory(geo.Src(), Engine(), dx)}});
    Stream().wait();
  });
}

// convBackwardFilter(x, dy, dfilter, geometry): the filter gradient, written in tfjs's filter layout.
Napi::Value ConvBackwardFilter(const Napi::CallbackInfo &info) {
  auto ints = Ints(info[3], 18, "geometry");
  ConvGeometry geo = ConvGeometry::From(ints);
  float *x = FloatData(info[0], geo.InputSize(), "x");
  float *dy = FloatData(info[1], geo.OutputSize(), "dy");
  float *dfilter = FloatData(info[2], geo.FilterSize(), "dfilter");
  return Guarded(info, [&] {
    std::string key = Key("bwd_weights", ints);
    Entry *entry = Primitives().Find(key);
    if (entry == nullptr) {
      auto hint = geo.TrainingHint();
      auto desc = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, geo.Src(),
                                                           geo.AnyWeights(), geo.Dst(), geo.Strides(),
                                                           geo.Dilations(), geo.PadL(), geo.PadR());
      auto pd = dnnl::convolution_backward_weights::primitive_desc(desc, Engine(), hint);
      Entry fresh;
      fresh.primitive = dnnl::convolution_backward_weights(pd);
      WithWeightsLayout(fresh, geo.UserWeights(), pd.diff_weights_desc(), true);
      entry = Primitives().Insert(key, std::move(fresh));
    }
    memory user_weights(entry->user_weights, Engine(), dfilter);
    memory weights = entry->needs_reorder ? entry->scratch_weights : user_weights;
    entry->primitive.execute(Stream(), {{DNNL_ARG_SRC, memory(geo.Src(), Engine(), x)},
                                        {DNNL_ARG_DIFF_DST, memory(geo.Dst(), Engine(), dy)},
                                        {DNNL_ARG_DIFF_WEIGHTS, weights}});
    if (entry->needs_reorder) entry->reorder.execute(Stream(), entry->scratch_weights, user_weights);
    Stream().wait();
  });
}

// matMul(a, b, bias | null, c, batchA, batchB, [M, K, N, transposeA, transposeB], activation, alpha):
// c[...batch, M, N] = act(op(a) op(b) + bias), row-major. batchA and batchB are the operands' leading (batch)
// dimensions, of equal length, each of them equal to the other's or 1 (broadcast).
memory::dims RowMajorStrides(const memory::dims &batch, int64_t rows, int64_t cols, bool transposed) {
  size_t rank = batch.size() + 2;
  memory::dims strides(rank);
  strides[rank - 2] = transposed ? 1 : cols;
  strides[rank - 1] = transposed ? rows : 1;
  int64_t step = rows * cols;
  for (size_t i = batch.size(); i-- > 0;) {
    strides[i] = step;
    step *= batch[i];
  }
  return strides;
}

Napi::Value MatMul(const Napi::CallbackInfo &info) {
  if (!info[5].IsArray()) throw Napi::TypeError::New(info.Env(), "batchB: expected an array");
  size_t batch_rank = info[5].As<Napi::Array>().Length();
  memory::dims batch_a = Ints(info[4], batch_rank, "batchA");
  memory::dims batch_b = Ints(info[5], batch_rank, "batchB");
  auto dims = Ints(info[6], 5, "dims");
  int64_t m = dims[0], k = dims[1], n = dims[2];
  bool trans_a = dims[3] != 0, trans_b = dims[4] != 0;
  memory::dims batch(batch_rank);
  int64_t size_a = m * k, size_b = k * n, size_c = m * n;
  for (size_t i = 0; i < batch_rank; i++) {
    if (batch_a[i] != batch_b[i] && batch_a[i] != 1 && batch_b[i] != 1) {
      throw Napi::RangeError::New(info.Env(), "matMul: batch dimensions must be equal or 1");
    }
    batch[i] = std::max(batch_a[i], batch_b[i]);
    size_a *= batch_a[i];
    size_b *= batch_b[i];
    size_c *= batch[i];
  }
  float *a = FloatData(info[0], size_a, "a");
  float *b = FloatData(info[1], size_b, "b");
  float *bias = OptionalFloatData(info[2], n, "bias");
  bool has_bias = bias != nullptr;
  float *c = FloatData(info[3], size_c, "c");
  int activation = info[7].As<Napi::Number>().Int32Value();
  float alpha = info[8].As<Napi::Number>().FloatValue();
  return Guarded(info, [&] {
    auto shape = [](const memory::dims &outer, int64_t rows, int64_t cols) {
      memory::dims out(outer);
      out.push_back(rows);
      out.push_back(cols);
      return out;
    };
    // op(a) is [M, K], stored [M, K] or, transposed, [K, M]; likewise op(b) is [K, N].
    memory::desc a_md(shape(batch_a, m, k), dt::f32, RowMajorStrides(batch_a, m, k, trans_a));
    memory::desc b_md(shape(batch_b, k, n), dt::f32, RowMajorStrides(batch_b, k, n, trans_b));
    memory::desc c_md(shape(batch, m, n), dt::f32, RowMajorStrides(batch, m, n, false));
    memory::dims ones(batch_rank, 1);
    memory::desc bias_md =
        has_bias ? memory::desc(shape(ones, 1, n), dt::f32, RowMajorStrides(ones, 1, n, false)) : memory::desc();
    std::vector<int64_t> key_ints(batch_a);
    key_ints.insert(key_ints.end(), batch_b.begin(), batch_b.end());
    key_ints.insert(key_ints.end(), dims.begin(), dims.end());
    std::string key = Key("matmul", key_ints, activation, alpha, has_bias);
    Entry *entry = Primitives().Find(key);
    if (entry == nullptr) {
      auto desc = has_bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
      auto pd = dnnl::matmul::primitive_desc(desc, ActivationAttr(activation, alpha), Engine());
      Entry fresh;
      fresh.primitive = dnnl::matmul(pd);
      entry = Primitives().Insert(key, std::move(fresh));
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(a_md, Engine(), a)},
                                         {DNNL_ARG_WEIGHTS, memory(b_md, Engine(), b)},
                                         {DNNL_ARG_DST, memory(c_md, Engine(), c)}};
    if (has_bias) args.insert({DNNL_ARG_BIAS, memory(bias_md, Engine(), bias)});
    entry->primitive.execute(Stream(), args);
    Stream().wait();
  });
}

// maxPoolBackward(x, dy, dx, [N, H, W, C, OH, OW, FH, FW, SH, SW, PT, PL]): dy of each window goes to the
// window's first maximum in row-major order (NaN never wins), the rule of tfjs's cpu backend; FH and FW are the
// effective (dilated) window. Overlapping windows accumulate. Images are independent: one thread per image.
Napi::Value MaxPoolBackward(const Napi::CallbackInfo &info) {
  auto g = Ints(info[3], 12, "geometry");
  int64_t n = g[0], h = g[1], w = g[2], c = g[3], oh = g[4], ow = g[5], fh = g[6], fw = g[7], sh = g[8],
          sw = g[9], pt = g[10], pl = g[11];
  const float *x = FloatData(info[0], n * h * w * c, "x");
  const float *dy = FloatData(info[1], n * oh * ow * c, "dy");
  float *dx = FloatData(info[2], n * h * w * c, "dx");
  // Windows that tile the image without overlap or padding (the usual 2x2 at stride 2): every input belongs
  // to at most one window, so each window writes its dy to its maximum and zeros to the rest in one pass.
  bool tiles = fh == sh && fw == sw && pt == 0 && pl == 0 && oh * sh <= h && ow * sw <= w;
#pragma omp parallel for
  for (int64_t image = 0; image < n; image++) {
    const float *xi = x + image * h * w * c;
    const float *dyi = dy + image * oh * ow * c;
    float *dxi = dx + image * h * w * c;
    if (tiles) {
      // rows and columns past the last window get no gradient
      for (int64_t y = oh * sh; y < h; y++) std::fill(dxi + y * w * c, dxi + (y + 1) * w * c, 0.f);
      for (int64_t i = 0; i < oh; i++) {
        for (int64_t y = i * sh; y < i * sh + sh; y++) std::fill(dxi + (y * w + ow * sw) * c, dxi + (y + 1) * w * c, 0.f);
        for (int64_t j = 0; j < ow; j++) {
          const float *d = dyi + (i * ow + j) * c;
          int64_t corner = (i * sh * w + j * sw) * c;
          for (int64_t ch = 0; ch < c; ch++) {
            float best = -std::numeric_limits<float>::infinity();
            int64_t where = -1;
            for (int64_t y = 0; y < fh; y++) {
              for (int64_t z = 0; z < fw; z++) {
                int64_t at = corner + (y * w + z) * c + ch;
                if (xi[at] > best) {
                  best = xi[at];
                  where = at;
                }
                dxi[at] = 0.f;
              }
            }
            if (where >= 0) dxi[where] = d[ch];
          }
        }
      }
      continue;
    }
    std::fill(dxi, dxi + h * w * c, 0.f);
    std::vector<float> best(c);
    std::vector<int64_t> where(c);
    for (int64_t i = 0; i < oh; i++) {
      int64_t h0 = i * sh - pt, h_lo = std::max<int64_t>(0, h0), h_hi = std::min(h, h0 + fh);
      for (int64_t j = 0; j < ow; j++) {
        int64_t w0 = j * sw - pl, w_lo = std::max<int64_t>(0, w0), w_hi = std::min(w, w0 + fw);
        std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
        std::fill(where.begin(), where.end(), -1);
        for (int64_t y = h_lo; y < h_hi; y++) {
          for (int64_t z = w_lo; z < w_hi; z++) {
            int64_t base = (y * w + z) * c;
            for (int64_t ch = 0; ch < c; ch++) {
              float v = xi[base + ch];
              if (v > best[ch]) {
                best[ch] = v;
                where[ch] = base + ch;
              }
            }
          }
        }
        const float *d = dyi + (i * ow + j) * c;
        for (int64_t ch = 0; ch < c; ch++) {
          if (where[ch] >= 0) dxi[where[ch]] += d[ch];
        }
      }
    }
  }
  return info.Env().Undefined();
}

// ---- element-wise kernels and reductions ------------------------------------------------------------
// Memory-bound work that the wasm backend does on one thread: split across the OpenMP threads. Results equal
// the cpu backend's to rounding.

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2 };
enum BroadcastMode { kSameShape = 0, kRepeatB = 1, kRepeatA = 2 };

template <int Op>
inline float Apply(float a, float b) {
  if (Op == kAdd) return a + b;
  if (Op == kSub) return a - b;
  return a * b;
}

template <int Op>
void BinaryLoop(const float *a, const float *b, float *out, int64_t n, int mode, int64_t inner) {
  if (mode == kSameShape) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = Apply<Op>(a[i], b[i]);
    return;
  }
  // one operand repeats every `inner` elements (a scalar, or a bias over the last axes): rows of `inner`
  int64_t rows = n / inner;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *full = (mode == kRepeatB ? a : b) + r * inner;
    const float *part = mode == kRepeatB ? b : a;
    float *o = out + r * inner;
    if (mode == kRepeatB) {
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) o[i] = Apply<Op>(full[i], part[i]);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) o[i] = Apply<Op>(part[i], full[i]);
    }
  }
}

// binary(op, a, b, out, [n, mode, inner]): out = a op b; mode 0: a and b have n elements; mode 1: b has `inner`
// elements repeated along a; mode 2: a has `inner` elements repeated along b (n a multiple of inner).
Napi::Value Binary(const Napi::CallbackInfo &info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  auto d = Ints(info[4], 3, "dims");
  int64_t n = d[0], inner = d[2];
  int mode = static_cast<int>(d[1]);
  if (inner < 1 || (mode != kSameShape && n % inner != 0)) {
    throw Napi::RangeError::New(info.Env(), "binary: n must be a multiple of inner");
  }
  const float *a = FloatData(info[1], mode == kRepeatA ? inner : n, "a");
  const float *b = FloatData(info[2], mode == kRepeatB ? inner : n, "b");
  float *out = FloatData(info[3], n, "out");
  switch (op) {
    case kAdd: BinaryLoop<kAdd>(a, b, out, n, mode, inner); break;
    case kSub: BinaryLoop<kSub>(a, b, out, n, mode, inner); break;
    case kMul: BinaryLoop<kMul>(a, b, out, n, mode, inner); break;
    default: throw Napi::RangeError::New(info.Env(), "binary: unknown op");
  }
  return info.Env().Undefined();
}

enum UnaryOp { kUnaryRelu = 0, kUnaryStep = 1, kUnarySign = 2 };

// unary(op, x, out, n, alpha): relu (x < 0 ? 0 : x), step (x > 0 ? 1 : alpha), sign (0 for 0 and NaN), as the
// cpu backend computes them.
Napi::Value Unary(const Napi::CallbackInfo &info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  int64_t n = info[3].As<Napi::Number>().Int64Value();
  float alpha = info[4].As<Napi::Number>().FloatValue();
  const float *x = FloatData(info[1], n, "x");
  float *out = FloatData(info[2], n, "out");
  switch (op) {
    case kUnaryRelu:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; i++) out[i] = x[i] < 0.f ? 0.f : x[i];
      break;
    case kUnaryStep:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.f ? 1.f : (x[i] != x[i] ? x[i] : alpha);
      break;
    case kUnarySign:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.f ? 1.f : (x[i] < 0.f ? -1.f : 0.f);
      break;
    default: throw Napi::RangeError::New(info.Env(), "unary: unknown op");
  }
  return info.Env().Undefined();
}

// sumRows(x, out, rows, cols, scale): out[c] = scale * sum over r of x[r * cols + c] (bias gradients, batch
// statistics: a reduction over the leading axes). Each thread sums a band of rows in double, then the bands add.
Napi::Value SumRows(const Napi::CallbackInfo &info) {
  int64_t rows = info[2].As<Napi::Number>().Int64Value();
  int64_t cols = info[3].As<Napi::Number>().Int64Value();
  double scale = info[4].As<Napi::Number>().DoubleValue();
  const float *x = FloatData(info[0], rows * cols, "x");
  float *out = FloatData(info[1], cols, "out");
  std::vector<double> total(cols, 0.0);
#pragma omp parallel
  {
    std::vector<double> band(cols, 0.0);
#pragma omp for schedule(static) nowait
    for (int64_t r = 0; r < rows; r++) {
      const float *row = x + r * cols;
      for (int64_t c = 0; c < cols; c++) band[c] += row[c];
    }
#pragma omp critical
    for (int64_t c = 0; c < cols; c++) total[c] += band[c];
  }
  for (int64_t c = 0; c < cols; c++) out[c] = static_cast<float>(total[c] * scale);
  return info.Env().Undefined();
}

// channelAffine(x, scale, shift, out, n, channels): out = x * scale[c] + shift[c] over the last axis (batch
// normalization with its statistics folded into one multiply-add per channel).
Napi::Value ChannelAffine(const Napi::CallbackInfo &info) {
  int64_t n = info[4].As<Napi::Number>().Int64Value();
  int64_t c = info[5].As<Napi::Number>().Int64Value();
  if (c < 1 || n % c != 0) throw Napi::RangeError::New(info.Env(), "channelAffine: n must be a multiple of channels");
  const float *x = FloatData(info[0], n, "x");
  const float *scale = FloatData(info[1], c, "scale");
  const float *shift = FloatData(info[2], c, "shift");
  float *out = FloatData(info[3], n, "out");
  int64_t rows = n / c;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * c;
    float *o = out + r * c;
#pragma omp simd
    for (int64_t i = 0; i < c; i++) o[i] = xr[i] * scale[i] + shift[i];
  }
  return info.Env().Undefined();
}

// maxPoolForward(x, y, [N, H, W, C, OH, OW, FH, FW, SH, SW, PT, PL]): the maximum of each window (NaN never
// wins, as on the cpu backend), one thread per image.
Napi::Value MaxPoolForward(const Napi::CallbackInfo &info) {
  auto g = Ints(info[2], 12, "geometry");
  int64_t n = g[0], h = g[1], w = g[2], c = g[3], oh = g[4], ow = g[5], fh = g[6], fw = g[7], sh = g[8],
          sw = g[9], pt = g[10], pl = g[11];
  const float *x = FloatData(info[0], n * h * w * c, "x");
  float *y = FloatData(info[1], n * oh * ow * c, "y");
#pragma omp parallel for
  for (int64_t image = 0; image < n; image++) {
    const float *xi = x + image * h * w * c;
    for (int64_t i = 0; i < oh; i++) {
      int64_t h0 = i * sh - pt, h_lo = std::max<int64_t>(0, h0), h_hi = std::min(h, h0 + fh);
      for (int64_t j = 0; j < ow; j++) {
        int64_t w0 = j * sw - pl, w_lo = std::max<int64_t>(0, w0), w_hi = std::min(w, w0 + fw);
        float *o = y + ((image * oh + i) * ow + j) * c;
        std::fill(o, o + c, -std::numeric_limits<float>::infinity());
        for (int64_t yy = h_lo; yy < h_hi; yy++) {
          for (int64_t z = w_lo; z < w_hi; z++) {
            const float *p = xi + (yy * w + z) * c;
            for (int64_t ch = 0; ch < c; ch++) o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
          }
        }
      }
    }
  }
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  int threads = info[0].As<Napi::Number>().Int32Value();
  if (threads < 1) throw Napi::RangeError::New(info.Env(), "threads: expected a positive integer");
  omp_set_num_threads(threads);
  return info.Env().Undefined();
}

const char *IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

// info(): the oneDNN version, the instruction set its kernels use, the thread count and the cache size.
Napi::Value Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const dnnl_version_t *version = dnnl::version();
  std::ostringstream text;
  text << version->major << '.' << version->minor << '.' << version->patch;
  Napi::Object out = Napi::Object::New(env);
  out.Set("onednn", text.str());
  out.Set("isa", IsaName(dnnl::get_effective_cpu_isa()));
  out.Set("threads", omp_get_max_threads());
  out.Set("cachedPrimitives", static_cast<double>(Primitives().Size()));
  return out;
}

Napi::Value ClearCache(const Napi::CallbackInfo &info) {
  Primitives().Clear();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("convForward", Napi::Function::New(env, ConvForward));
  exports.Set("convBackwardData", Napi::Function::New(env, ConvBackwardData));
  exports.Set("convBackwardFilter", Napi::Function::New(env, ConvBackwardFilter));
  exports.Set("matMul", Napi::Function::New(env, MatMul));
  exports.Set("maxPoolBackward", Napi::Function::New(env, MaxPoolBackward));
  exports.Set("maxPoolForward", Napi::Function::New(env, MaxPoolForward));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("channelAffine", Napi::Function::New(env, ChannelAffine));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("clearCache", Napi::Function::New(env, ClearCache));
  return exports;
}

}  // namespace

NODE_API_MODULE(advkit_native, Init)

#!/usr/bin/env python3
"""PyTorch CPU side of bench/explain: saliency, SmoothGrad, Integrated Gradients and Grad-CAM written in plain
PyTorch from the papers, on the same weights and inputs as advkit, timed, and their maps correlated with advkit's.

Usage (run.mjs calls it after worker.mjs has written DIR):
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    /usr/bin/python3 bench/explain/torch_explain.py --data DIR [--threads 2] [--quick] [--models mnist_cnn]

The network: the model's own model.json (a Keras Sequential or functional chain, as tfjs saves it) read layer by
layer into PyTorch ops, with the weights read from its shards per the weightsManifest: conv kernels HWIO -> OIHW,
Keras 'same' padding (asymmetric where TensorFlow's is; max pooling padded with -inf), batch normalization with the
layer's epsilon, LeakyReLU with its alpha; inputs NCHW, and the Dense layer after a Flatten re-ordered to read the
NCHW flattening (Keras flattens NHWC). Its logits are checked against advkit's before anything is timed.

Each method does the work advkit's explain() does for the same call (settings.json: n inputs, batchSize rows per
pass, the method's parameters), so that images/s compare like for like:
  * a prediction pass over all inputs (chunks of batchSize), whose argmax is the explained class;
  * per chunk of batchSize inputs: saliency, one input gradient of the target logit (Simonyan et al. 2014);
    SmoothGrad (Smilkov et al. 2017), the mean gradient over `samples` copies with N(0, (sigma (max - min))^2)
    noise, not clipped, floor(batchSize / chunk) copies of the chunk per pass; Integrated Gradients (Sundararajan et
    al. 2017) from the black (lower-bound) baseline with the midpoint Riemann sum of `steps` points, the path
    points of the chunk batched the same way, plus the two forward passes for F(x) - F(baseline) (the completeness
    gap that advkit reports); Grad-CAM (Selvaraju et al. 2017) at the same layer (this script finds the last 4-D
    activation before the flatten / global pooling itself and checks it is advkit's), the channel weights the
    spatial mean of the target logit's gradient, ReLU of the weighted sum, bilinear upsampling to the input size,
    each map divided by its maximum.
  * Upsampling: bilinear with half-pixel centres on both sides (F.interpolate(align_corners=False); advkit calls
    tf.image.resizeBilinear with halfPixelCenters true).
  * the maps are ready (a tensor on the CPU) when the clock stops.

Correlation: Pearson over each image's raw map (all pixels and channels), then the mean and the minimum over the
images. SmoothGrad's noise cannot be the same in both frameworks: its row also gives the correlation of two torch
SmoothGrad runs with different seeds, the ceiling that two independent estimates reach.
Threads: torch.set_num_threads(--threads). One JSON line per measurement. With --paced, each step (a model's set-up,
a method's warm-up, each timed run) starts when a line arrives on stdin, after a {"wait": step} line, as worker.mjs.
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def load_weights(model_dir, manifest):
    """Every weight of a tfjs weightsManifest by name: each group's shards concatenated, weights in order."""
    tensors = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            if w.get("dtype", "float32") != "float32" or "quantization" in w:
                raise ValueError(f"{w['name']}: only float32 weights are read here")
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            values = np.frombuffer(blob, dtype=np.float32, count=count, offset=offset)
            tensors[w["name"]] = torch.tensor(values.reshape(w["shape"]).copy())
            offset += 4 * count
        if offset != len(blob):
            raise ValueError(f"group {group['paths']}: {len(blob)} bytes, the manifest accounts for {offset}")
    return tensors


def same_padding(size, kernel, stride):
    """TensorFlow's 'same' padding of one axis: (before, after); the odd pixel goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class KerasChain(torch.nn.Module):
    """A Keras model.json whose layers form one chain, as PyTorch ops on NCHW tensors (see the module doc)."""

    def __init__(self, model_dir, input_hwc):
        super().__init__()
        spec = json.load(open(os.path.join(model_dir, "model.json")))
        topology = spec["modelTopology"]
        config = topology.get("model_config", topology)
        layers = config["config"]["layers"] if isinstance(config["config"], dict) else config["config"]
        weights = load_weights(model_dir, spec["weightsManifest"])
        self.ops = []  # (name, kind, fn)
        previous = None
        for layer in layers:
            kind, c = layer["class_name"], layer["config"]
            inbound = layer.get("inbound_nodes", [])
            if config["class_name"] != "Sequential" and kind != "InputLayer":
                sources = [node[0] for nodes in inbound for node in nodes]
                if sources != [previous]:
                    raise ValueError(f"{c['name']}: not a chain (inputs {sources}, previous layer {previous})")
            previous = c["name"]
            if kind == "InputLayer":
                continue
            self.ops.append((c["name"], kind, self._op(kind, c, weights)))
        used = {k for k in weights if k.split("/")[0] in {name for name, _, _ in self.ops}}
        if used != set(weights):
            raise ValueError(f"weights not used: {sorted(set(weights) - used)}")
        self._reorder_flatten(input_hwc)

    def _op(self, kind, c, w):
        name = c["name"]
        activation = {"linear": None, "relu": F.relu, None: None}
        if c.get("activation") not in activation:
            raise ValueError(f"{name}: activation {c.get('activation')} is not handled")
        act = activation[c.get("activation")]
        if kind == "Conv2D":
            if c.get("dilation_rate", [1, 1]) != [1, 1] or c.get("data_format", "channels_last") != "channels_last":
                raise ValueError(f"{name}: dilation / data format not handled")
            kernel = w[f"{name}/kernel"].permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
            bias = w.get(f"{name}/bias") if c.get("use_bias", True) else None
            (kh, kw), (sh, sw) = c["kernel_size"], c["strides"]

            def conv(h):
                if c["padding"] == "same":
                    (t, b), (l, r) = same_padding(h.shape[2], kh, sh), same_padding(h.shape[3], kw, sw)
                    if t == b and l == r:
                        h = F.conv2d(h, kernel, bias, (sh, sw), (t, l))
                    else:
                        h = F.conv2d(F.pad(h, (l, r, t, b)), kernel, bias, (sh, sw))
                else:
                    h = F.conv2d(h, kernel, bias, (sh, sw))
                return act(h) if act else h

            return conv
        if kind == "BatchNormalization":
            if c.get("axis", -1) not in (-1, 3, [3], [-1]):
                raise ValueError(f"{name}: batch normalization over axis {c['axis']} is not handled")
            mean, var = w[f"{name}/moving_mean"], w[f"{name}/moving_variance"]
            gamma = w[f"{name}/gamma"] if c.get("scale", True) else None
            beta = w[f"{name}/beta"] if c.get("center", True) else None
            eps = c["epsilon"]
            return lambda h: F.batch_norm(h, mean, var, gamma, beta, training=False, eps=eps)
        if kind == "Activation":
            if act is None:
                raise ValueError(f"{name}: activation {c['activation']} is not handled")
            return act
        if kind == "LeakyReLU":
            alpha = c["alpha"]
            return lambda h: F.leaky_relu(h, alpha)
        if kind == "MaxPooling2D":
            (kh, kw), (sh, sw) = c["pool_size"], c["strides"] or c["pool_size"]

            def pool(h):
                if c["padding"] == "same":
                    (t, b), (l, r) = same_padding(h.shape[2], kh, sh), same_padding(h.shape[3], kw, sw)
                    if t or b or l or r:
                        h = F.pad(h, (l, r, t, b), value=-math.inf)
                return F.max_pool2d(h, (kh, kw), (sh, sw))

            return pool
        if kind == "Flatten":
            return lambda h: h.reshape(h.shape[0], -1)
        if kind == "GlobalAveragePooling2D":
            return lambda h: h.mean((2, 3))
        if kind == "Dense":
            self_kernel = {"w": w[f"{name}/kernel"].t().contiguous()}  # [in, out] -> [out, in]
            bias = w.get(f"{name}/bias") if c.get("use_bias", True) else None

            def dense(h):
                h = F.linear(h, self_kernel["w"], bias)
                return act(h) if act else h

            dense.kernel = self_kernel
            return dense
        if kind == "Dropout":
            return lambda h: h
        raise ValueError(f"{name}: layer {kind} is not handled")

    def _reorder_flatten(self, input_hwc):
        """Keras flattens [h, w, c]; these ops flatten [c, h, w]: permute the rows of the Dense kernel after it."""
        h = torch.zeros(1, input_hwc[2], input_hwc[0], input_hwc[1])
        for i, (name, kind, fn) in enumerate(self.ops):
            if kind == "Flatten" and h.dim() == 4:
                _, ch, hh, ww = h.shape
                _, next_kind, dense = self.ops[i + 1]
                if next_kind != "Dense":
                    raise ValueError(f"{name}: a Flatten must be followed by a Dense layer here")
                k = dense.kernel["w"]  # [out, h*w*c], columns in Keras's (h, w, c) order
                dense.kernel["w"] = k.view(-1, hh, ww, ch).permute(0, 3, 1, 2).reshape(k.shape[0], -1).contiguous()
            h = fn(h)

    def cam_layer(self):
        """The last 4-D activation before the first layer that reduces a 4-D tensor (flatten, global pooling)."""
        for i, (name, kind, _) in enumerate(self.ops):
            if kind in ("Flatten", "GlobalAveragePooling2D"):
                return self.ops[i - 1][0]
        return None

    def run(self, h, start=0, stop=None):
        for _, _, fn in self.ops[start:stop]:
            h = fn(h)
        return h

    def index(self, layer):
        return [name for name, _, _ in self.ops].index(layer)

    def forward(self, x):
        return self.run(x)


# --- the methods ------------------------------------------------------------------------------------------------


def chunks(n, size):
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def predict(model, x, batch):
    with torch.no_grad():
        return torch.cat([model(x[s:e]).argmax(1) for s, e in chunks(x.shape[0], batch)])


def target_gradient(model, x, targets):
    """d logit_target / d x for every row."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x)
    return grad


def saliency(model, x, t, p, batch, ctx):
    return target_gradient(model, x, t)


def smoothgrad(model, x, t, p, batch, ctx):
    n = x.shape[0]
    std = p["sigma"] * (ctx["hi"] - ctx["lo"])
    per_pass = max(1, min(p["samples"], batch // n))
    total = torch.zeros_like(x)
    for done in range(0, p["samples"], per_pass):
        k = min(per_pass, p["samples"] - done)
        noise = torch.randn((k * n, *x.shape[1:]), generator=ctx["generator"]) * std
        grad = target_gradient(model, x.repeat(k, 1, 1, 1) + noise, t.repeat(k))
        total += grad.view(k, n, *x.shape[1:]).sum(0)
    return total / p["samples"]


def integrated_gradients(model, x, t, p, batch, ctx):
    if p["method"] != "riemann-middle" or p["baseline"] != "black":
        raise ValueError("this script implements the midpoint rule from the black baseline")
    n, steps = x.shape[0], p["steps"]
    b = torch.full_like(x, ctx["lo"])
    with torch.no_grad():
        expected = model(x).gather(1, t[:, None])[:, 0] - model(b).gather(1, t[:, None])[:, 0]
    alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    per_pass = max(1, min(steps, batch // n))
    diff = x - b
    total = torch.zeros_like(x)
    for k0 in range(0, steps, per_pass):
        a = alphas[k0 : k0 + per_pass].float().view(-1, 1, 1, 1, 1)
        m = a.shape[0]
        points = (b.unsqueeze(0) + a * diff.unsqueeze(0)).view(m * n, *x.shape[1:])
        total += target_gradient(model, points, t.repeat(m)).view(m, n, *x.shape[1:]).sum(0)
    attr = diff * total / steps
    ctx["gaps"].extend(((attr.sum((1, 2, 3)) - expected).abs() / expected.abs()).tolist())
    return attr


def normalize(maps):
    peak = maps.abs().amax((1, 2), keepdim=True)
    return maps / torch.where(peak > 0, peak, torch.ones_like(peak))


def grad_cam(model, x, t, p, batch, ctx):
    cut = model.index(ctx["layer"]) + 1
    with torch.no_grad():
        activation = model.run(x, 0, cut)
    activation.requires_grad_(True)
    logits = model.run(activation, cut)
    (grad,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), activation)
    with torch.no_grad():
        cam = (grad.mean((2, 3), keepdim=True) * activation).sum(1)
        if p["relu"]:
            cam = F.relu(cam)
        return normalize(F.interpolate(cam[:, None], size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0])


METHODS = {"saliency": saliency, "smoothgrad": smoothgrad, "ig": integrated_gradients, "gradcam": grad_cam}


def explain(model, method, x, params, batch, ctx):
    """What advkit's explain() does: predictions over all inputs, then the method chunk by chunk."""
    targets = predict(model, x, batch)
    maps = [METHODS[method](model, x[s:e], targets[s:e], params, batch, ctx) for s, e in chunks(x.shape[0], batch)]
    return torch.cat(maps), targets


# --- comparison -------------------------------------------------------------------------------------------------


def correlations(a, b):
    """Pearson correlation of each row of a and b (float64); NaN where a map is constant."""
    a = a.reshape(a.shape[0], -1).astype(np.float64)
    b = b.reshape(b.shape[0], -1).astype(np.float64)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    denominator = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(1) / denominator


def summary(r):
    good = r[~np.isnan(r)]
    if good.size == 0:
        return {"mean": None, "min": None, "undefined": int(r.size)}
    return {"mean": float(good.mean()), "min": float(good.min()), "undefined": int(r.size - good.size)}


def to_nhwc(maps):
    """Maps as advkit lays them out: [n, h, w, c] for pixel maps, [n, h, w] for Grad-CAM."""
    return maps.permute(0, 2, 3, 1).numpy() if maps.dim() == 4 else maps.numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--models", default=None)
    ap.add_argument("--only", default=None)
    ap.add_argument("--paced", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    settings = json.load(open(os.path.join(HERE, "settings.json")))
    names = args.models.split(",") if args.models else list(settings["models"])
    methods = [m for m in settings["methods"] if args.only is None or m["id"] in args.only.split(",")]
    emit = lambda rec: print(json.dumps({"framework": "pytorch-cpu", **rec}), flush=True)

    def step(label):
        """With --paced: say which step comes next and wait for the go; stdin closed ends the run."""
        if args.paced:
            print(json.dumps({"wait": label}), flush=True)
            if sys.stdin.readline() == "":
                sys.exit(0)
    emit(
        {
            "info": "env",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "blas": os.environ.get("LD_LIBRARY_PATH", ""),
        }
    )

    for name in names:
        spec = settings["models"][name]
        step(f"set-up {name}")
        manifest = json.load(open(os.path.join(args.data, f"{name}.json")))
        n, height, width, channels = manifest["x"]
        batch = spec["batchSize"]
        if manifest["preprocessing"] not in ({}, None):
            raise ValueError(f"{name}: preprocessing {manifest['preprocessing']} is not handled")
        x_nhwc = np.fromfile(os.path.join(args.data, f"{name}.x.bin"), dtype=np.float32).reshape(manifest["x"])
        x = torch.tensor(x_nhwc).permute(0, 3, 1, 2).contiguous()
        model = KerasChain(manifest["model"], (height, width, channels))
        ours_layer = model.cam_layer()
        if ours_layer != manifest["camLayer"]:
            raise ValueError(f"{name}: Grad-CAM layer {ours_layer} here, {manifest['camLayer']} in advkit")
        with torch.no_grad():
            logits = torch.cat([model(x[s:e]) for s, e in chunks(n, batch)]).numpy()
        theirs = np.fromfile(os.path.join(args.data, f"{name}.logits.bin"), dtype=np.float32).reshape(logits.shape)
        emit(
            {
                "info": "logits-check",
                "model": name,
                "max_abs_diff_vs_advkit": float(np.abs(logits - theirs).max()),
                "max_abs_logit": float(np.abs(theirs).max()),
                "argmax_agree": int((logits.argmax(1) == theirs.argmax(1)).sum()),
                "n": n,
            }
        )
        lo, hi = manifest["bounds"]

        for m in methods:
            reps = m["quickReps"] if args.quick else spec.get("reps", {}).get(m["id"], m["reps"])
            params = dict(m["params"])

            def context(seed):
                return {
                    "lo": lo,
                    "hi": hi,
                    "generator": torch.Generator().manual_seed(seed),
                    "layer": manifest["camLayer"],
                    "gaps": [],
                }

            step(f"warm-up {name} {m['id']}")
            # Warm-up at the timed run's pass shapes (the first chunk; as many samples / steps as one pass holds).
            first = min(batch, n)
            warm = dict(params)
            per_pass = max(1, batch // first)
            if m["method"] == "smoothgrad":
                warm["samples"] = min(warm["samples"], per_pass)
            if m["method"] == "ig":
                warm["steps"] = min(warm["steps"], per_pass)
            explain(model, m["method"], x[:first], warm, batch, context(0))

            times = []
            for r in range(reps):
                step(f"{name} {m['id']} run {r + 1}/{reps}")
                ctx = context(0)
                t0 = time.perf_counter()
                maps, targets = explain(model, m["method"], x, params, batch, ctx)
                times.append(time.perf_counter() - t0)
            s = statistics.median(times)
            gradients = {"saliency": 1, "gradcam": 1}.get(m["method"]) or params.get("samples") or params["steps"]
            rec = {
                "model": name,
                "method": m["id"],
                "n": n,
                "batch": batch,
                "images_per_s": round(n / s, 2),
                "median_s": round(s, 4),
                "times_s": [round(t, 4) for t in times],
                "gradients_per_image": gradients,
                "correlation": {},
            }
            ours = to_nhwc(maps)
            for file in sorted(glob.glob(os.path.join(args.data, f"{name}.{m['id']}.*.maps.bin"))):
                engine = os.path.basename(file).split(".")[2]
                advkit_maps = np.fromfile(file, dtype=np.float32).reshape(ours.shape)
                rec["correlation"][engine] = summary(correlations(advkit_maps, ours))
            if m["method"] == "ig":
                rec["ig_gap_median"] = statistics.median(ctx["gaps"])
            if m["method"] == "smoothgrad":
                # Two torch estimates with different noise: how far apart two correct SmoothGrad maps can be.
                again, _ = explain(model, m["method"], x, params, batch, context(1))
                rec["correlation_torch_seed0_vs_seed1"] = summary(correlations(ours, to_nhwc(again)))
            rec["predictions"] = targets.tolist()
            emit(rec)


if __name__ == "__main__":
    main()

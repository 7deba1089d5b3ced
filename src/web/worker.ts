/**
 * The playground's Web Worker: every tfjs computation (loading, attacking, explaining) runs here, so the page
 * stays responsive. It speaks protocol.ts; a 'cancel' aborts the running job through the library's AbortSignal.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  applyPatch,
  colorize,
  explain,
  getAttack,
  imageFromValues,
  initBrowserBackend,
  loadClassifierFromUrl,
  normalizeMap,
  overlayHeatmap,
  perturbationImage,
  pixelImportance,
  pixelsToInputs,
  runAttack,
  type Classifier,
  type Model,
  type PatchShape,
  type PixelImage,
} from '../browser.js';
import { parseParams } from '../util/schema.js';
import type {
  AttackOutcome,
  AttackRequest,
  ExplainOutcome,
  FromWorker,
  InputImage,
  ModelRef,
  PatchRequest,
  Prediction,
  ToWorker,
} from './protocol.js';
import { topK } from './status-text.js';
import { methodName } from './methods.js';

function send(message: FromWorker): void {
  postMessage(message, { transfer: [] });
}

const models = new Map<string, Promise<Classifier>>();
/** The last attack's inputs per model, for explaining the clean and the adversarial input side by side. */
const lastInputs = new Map<string, { clean: tf.Tensor4D; adversarial: tf.Tensor4D }>();
let running: AbortController | null = null;
let ready: Promise<void> = Promise.resolve();

function modelFor(ref: ModelRef): Promise<Classifier> {
  const key = `${ref.url}|${ref.labels ?? ''}`;
  let loading = models.get(key);
  if (loading === undefined) {
    loading = ready.then(() =>
      loadClassifierFromUrl(ref.url, ref.labels !== undefined ? { labels: ref.labels } : {}),
    );
    models.set(key, loading);
    loading.catch(() => models.delete(key));
  }
  return loading;
}

/** The input as the model's [1, h, w, c] tensor, bytes onto its bounds as every task maps them. */
function inputTensor(input: InputImage, model: Model): tf.Tensor4D {
  const [h, w, c] = model.inputShape;
  if (input.height !== h || input.width !== w || input.channels !== c) {
    throw new Error(
      `The input is ${input.height}x${input.width}x${input.channels}; the model takes ${h}x${w}x${c}.`,
    );
  }
  return pixelsToInputs(input.pixels, [1, h, w, c], model.bounds);
}

function softmax(logits: ArrayLike<number>): Float32Array {
  const max = Math.max(...Array.from(logits));
  const exp = Float32Array.from(logits, (v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / sum);
}

function predictionOf(model: Model, x: tf.Tensor4D): Prediction {
  const probs = tf.tidy(() => model.predict(x));
  const values = probs.dataSync();
  probs.dispose();
  const top5 = topK(values, model.classNames, 5);
  return { index: top5[0].index, top5 };
}

/**
 * The model under attack, seen through a window: it keeps the logits of the latest one-input forward pass, so
 * that progress can show the current loss and top-5 (a wrapper is itself a Model, as defenses are).
 */
class ProbedModel implements Model {
  private latest: tf.Tensor2D | null = null;
  constructor(private readonly inner: Model) {}
  get inputShape(): readonly [number, number, number] {
    return this.inner.inputShape;
  }
  get bounds(): readonly [number, number] {
    return this.inner.bounds;
  }
  get classNames(): readonly string[] {
    return this.inner.classNames;
  }
  get numClasses(): number {
    return this.inner.numClasses;
  }
  logits(x: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor2D {
    const out = this.inner.logits(x, opts);
    if (x.shape[0] === 1) {
      this.latest?.dispose();
      this.latest = tf.keep(tf.clone(out));
    }
    return out;
  }
  predict(x: tf.Tensor4D): tf.Tensor2D {
    return this.inner.predict(x);
  }
  /** The latest logits of the one input, or null before the first pass. */
  latestLogits(): Float32Array | null {
    return this.latest === null ? null : Float32Array.from(this.latest.dataSync());
  }
  dispose(): void {
    this.latest?.dispose();
    this.latest = null;
  }
}

async function attackOne(
  id: number,
  ref: ModelRef,
  input: InputImage,
  request: AttackRequest,
  signal: AbortSignal,
): Promise<AttackOutcome> {
  const model = await modelFor(ref);
  const attack = getAttack(request.attack);
  const params = parseParams(attack.schema, request.params, attack.name);
  const totalSteps = typeof params.steps === 'number' ? params.steps : undefined;
  const x = inputTensor(input, model);
  const clean = predictionOf(model, x);
  const label = input.label >= 0 ? input.label : clean.index;
  const probed = new ProbedModel(model);
  let lastSent = 0;
  try {
    const run = await runAttack(probed, attack, {
      x,
      labels: [label],
      eps: request.eps,
      norm: request.norm === 'l2' ? 'l2' : request.norm === 'l1' ? 'l1' : 'linf',
      params: request.params,
      goal: request.target !== undefined ? { target: request.target } : 'untargeted',
      batchSize: 1,
      signal,
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastSent < 100 && p.fraction < 1) return;
        lastSent = now;
        const logits = probed.latestLogits();
        const probs = logits === null ? null : softmax(logits);
        send({
          type: 'progress',
          id,
          model: ref.name,
          fraction: p.fraction,
          ...(totalSteps !== undefined ? { step: Math.round(p.fraction * totalSteps) } : {}),
          ...(probs !== null
            ? { loss: -Math.log(Math.max(probs[label], 1e-12)), top5: topK(probs, model.classNames) }
            : {}),
        });
      },
    });
    const result = run.results[0];
    const adversarial = result.adversarial;
    if (adversarial === null) throw new Error('The attack kept no adversarial input.');
    const cleanValues = x.dataSync();
    const advValues = adversarial.dataSync();
    const outcome: AttackOutcome = {
      model: ref.name,
      label,
      clean,
      adversarial: predictionOf(model, adversarial),
      success: result.success[0] === 1,
      l2: result.distances.l2[0],
      linf: result.distances.linf[0],
      ...(result.eps !== null && Number.isFinite(result.eps) ? { eps: result.eps } : {}),
      cleanImage: imageFromValues(cleanValues, model.inputShape, model.bounds),
      adversarialImage: imageFromValues(advValues, model.inputShape, model.bounds),
      perturbationImage: perturbationImage(cleanValues, advValues, model.inputShape, model.bounds, 10),
      seconds: result.seconds,
      gradients: result.cost.gradients,
      queries: result.cost.queries,
    };
    const previous = lastInputs.get(ref.name);
    previous?.clean.dispose();
    previous?.adversarial.dispose();
    lastInputs.set(ref.name, { clean: x, adversarial });
    return outcome;
  } catch (err) {
    x.dispose();
    throw err;
  } finally {
    probed.dispose();
  }
}

/** Pastes the patch onto the input and scores the result as runAttack scores an attack (its own verdict). */
async function patchOne(ref: ModelRef, input: InputImage, request: PatchRequest): Promise<AttackOutcome> {
  const model = await modelFor(ref);
  const t0 = performance.now();
  const x = inputTensor(input, model);
  const [lo, hi] = model.bounds;
  const side = request.image.height;
  const patch = tf.tensor3d(
    Float32Array.from(request.image.pixels, (b) => lo + (b * (hi - lo)) / 255),
    [side, request.image.width, request.image.channels],
  );
  const shape: PatchShape = request.shape === 'square' ? 'square' : 'circle';
  let patched: tf.Tensor4D | undefined;
  try {
    patched = applyPatch(x, patch, {
      position: { x: request.x, y: request.y },
      rotation: request.rotation,
      shape,
    });
    const clean = predictionOf(model, x);
    const adversarial = predictionOf(model, patched);
    const label = input.label >= 0 ? input.label : clean.index;
    const cleanValues = x.dataSync();
    const advValues = patched.dataSync();
    let l2 = 0;
    let linf = 0;
    for (let i = 0; i < cleanValues.length; i++) {
      const d = Math.abs(advValues[i] - cleanValues[i]);
      l2 += d * d;
      linf = Math.max(linf, d);
    }
    const outcome: AttackOutcome = {
      model: ref.name,
      label,
      clean,
      adversarial,
      success:
        request.target !== undefined ? adversarial.index === request.target : adversarial.index !== label,
      l2: Math.sqrt(l2),
      linf,
      cleanImage: imageFromValues(cleanValues, model.inputShape, model.bounds),
      adversarialImage: imageFromValues(advValues, model.inputShape, model.bounds),
      perturbationImage: perturbationImage(cleanValues, advValues, model.inputShape, model.bounds, 10),
      seconds: (performance.now() - t0) / 1000,
      gradients: 0,
      queries: 2,
    };
    const previous = lastInputs.get(ref.name);
    previous?.clean.dispose();
    previous?.adversarial.dispose();
    lastInputs.set(ref.name, { clean: x, adversarial: patched });
    return outcome;
  } catch (err) {
    x.dispose();
    patched?.dispose();
    throw err;
  } finally {
    patch.dispose();
  }
}

/** A map as a picture over the input in grey: one value per pixel, scaled by its 99th percentile. */
function heatmapImage(
  values: Float32Array,
  model: Model,
  input: Float32Array | Uint8Array | Int32Array,
  perChannel: boolean,
): PixelImage {
  const [h, w, c] = model.inputShape;
  const pixels = perChannel ? pixelImportance(values, [h, w, c], 'abs-sum') : values;
  const { values: normalized } = normalizeMap(pixels, 99);
  const heat = colorize(
    normalized.map((v) => Math.max(0, v)),
    h,
    w,
    'unsigned',
  );
  return overlayHeatmap(imageFromValues(input, model.inputShape, model.bounds), heat, 0.6);
}

async function explainOne(
  ref: ModelRef,
  input: InputImage,
  method: string,
  withAdversarial: boolean,
  signal: AbortSignal,
): Promise<ExplainOutcome> {
  const model = await modelFor(ref);
  const t0 = performance.now();
  const last = withAdversarial ? lastInputs.get(ref.name) : undefined;
  const clean = inputTensor(input, model);
  const x = last !== undefined ? tf.concat([clean, last.adversarial]) : clean;
  try {
    const a = await explain(model, methodName(method), { x, target: 'predicted', signal });
    try {
      const [h, w, c] = model.inputShape;
      const size = a.maps.size / x.shape[0];
      const maps = Float32Array.from(a.maps.dataSync());
      const inputs = x.dataSync();
      const perChannel = a.maps.rank === 4;
      const picture = (i: number): PixelImage =>
        heatmapImage(
          maps.subarray(i * size, (i + 1) * size),
          model,
          Float32Array.from(inputs.subarray(i * h * w * c, (i + 1) * h * w * c)),
          perChannel,
        );
      const gaps = a.details.map((d) => d.gap).filter((g): g is number => typeof g === 'number');
      return {
        model: ref.name,
        clean: picture(0),
        cleanClass: model.classNames[a.targets[0]] ?? String(a.targets[0]),
        ...(last !== undefined
          ? {
              adversarial: picture(1),
              adversarialClass: model.classNames[a.targets[1]] ?? String(a.targets[1]),
            }
          : {}),
        ...(gaps.length > 0 ? { gaps } : {}),
        seconds: (performance.now() - t0) / 1000,
      };
    } finally {
      a.maps.dispose();
    }
  } finally {
    if (x !== clean) x.dispose();
    clean.dispose();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      const t0 = performance.now();
      ready = initBrowserBackend({
        wasmPath: message.wasmPath,
        ...(message.backend !== undefined ? { backend: message.backend } : {}),
      }).then((backend) => send({ type: 'ready', backend, seconds: (performance.now() - t0) / 1000 }));
      ready.catch((err: unknown) => send({ type: 'error', id: 0, message: errorText(err) }));
      return;
    }
    case 'cancel':
      running?.abort();
      return;
    case 'load': {
      const t0 = performance.now();
      const model = await modelFor(message.model);
      send({
        type: 'loaded',
        id: message.id,
        info: {
          name: message.model.name,
          inputShape: model.inputShape,
          bounds: model.bounds,
          classNames: model.classNames,
          ...(model.metadata.dataset !== undefined ? { dataset: model.metadata.dataset } : {}),
          seconds: (performance.now() - t0) / 1000,
        },
      });
      return;
    }
    case 'attack': {
      const controller = new AbortController();
      running = controller;
      const outcomes: AttackOutcome[] = [];
      for (const ref of message.models) {
        outcomes.push(await attackOne(message.id, ref, message.input, message.attack, controller.signal));
      }
      send({ type: 'attacked', id: message.id, outcomes });
      return;
    }
    case 'patch': {
      const outcomes: AttackOutcome[] = [];
      for (const ref of message.models) outcomes.push(await patchOne(ref, message.input, message.patch));
      send({ type: 'attacked', id: message.id, outcomes });
      return;
    }
    case 'explain': {
      const controller = new AbortController();
      running = controller;
      const outcomes: ExplainOutcome[] = [];
      for (const ref of message.models) {
        outcomes.push(
          await explainOne(ref, message.input, message.method, message.withAdversarial, controller.signal),
        );
      }
      send({ type: 'explained', id: message.id, method: message.method, outcomes });
      return;
    }
  }
}

addEventListener('message', (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  handle(message).catch((err: unknown) => {
    const id = 'id' in message ? message.id : 0;
    const aborted = typeof err === 'object' && err !== null && 'code' in err && err.code === 'ABORTED';
    send(aborted ? { type: 'cancelled', id } : { type: 'error', id, message: errorText(err) });
  });
});

/**
 * The page side of core.test.ts: bundled with advkit's browser entry point and run in Chromium, it exposes a few
 * checks as `window.coreChecks`, each returning plain JSON for the test to judge. It loads models the way a page
 * does (a relative URL) and the bundled MNIST sample over HTTP.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  MNIST_CLASSES,
  explain,
  getAttack,
  idxDataset,
  initBrowserBackend,
  loadClassifierFromUrl,
  runAttack,
  type Classifier,
} from '../../browser.js';

export interface AttackCheck {
  successRate: number;
  accuracy: number;
  maxLinf: number;
  cleanPredictions: number[];
  predictions: number[];
  tensorsBefore: number;
  tensorsAfter: number;
  seconds: number;
}

export interface ExplainCheck {
  shape: number[];
  finite: boolean;
  maxAbs: number;
  nonZeroFraction: number;
  predictions: number[];
  tensorsBefore: number;
  tensorsAfter: number;
  seconds: number;
}

const classifiers = new Map<string, Classifier>();
let samples: { x: Float32Array; labels: Int32Array; size: number } | undefined;

async function gunzip(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null) throw new Error(`${url}: HTTP ${response.status}`);
  const stream = response.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The bundled MNIST test images (served from samples/), as [0, 1] floats. */
async function mnist(): Promise<NonNullable<typeof samples>> {
  if (samples === undefined) {
    const imagesFile = '/samples/mnist/t10k-images-idx3-ubyte.first1000.gz';
    const labelsFile = '/samples/mnist/t10k-labels-idx1-ubyte.first1000.gz';
    const data = idxDataset({
      name: 'mnist',
      split: 'test',
      classNames: [...MNIST_CLASSES],
      images: await gunzip(imagesFile),
      imagesFile,
      labels: await gunzip(labelsFile),
      labelsFile,
    });
    samples = { x: Float32Array.from(data.pixels, (v) => v / 255), labels: data.labels, size: 28 * 28 };
  }
  return samples;
}

async function batch(n: number): Promise<{ x: tf.Tensor4D; labels: Int32Array }> {
  const s = await mnist();
  return {
    x: tf.tensor4d(s.x.subarray(0, n * s.size), [n, 28, 28, 1]),
    labels: s.labels.slice(0, n),
  };
}

async function classifier(url: string): Promise<Classifier> {
  let found = classifiers.get(url);
  if (found === undefined) {
    found = await loadClassifierFromUrl(url);
    classifiers.set(url, found);
  }
  return found;
}

const coreChecks = {
  /** Starts the backend asked for, with tfjs's wasm binaries served from /wasm/; returns the one running. */
  async start(backend: string): Promise<string> {
    return initBrowserBackend({ backend, wasmPath: '/wasm/' });
  },

  /** Loads a model by URL: its input shape, bounds and class names as advkit.json gave them. */
  async load(url: string): Promise<{ inputShape: number[]; bounds: number[]; classes: number }> {
    const model = await classifier(url);
    return { inputShape: [...model.inputShape], bounds: [...model.bounds], classes: model.classNames.length };
  },

  /** An attack on the first n MNIST test images; tensors counted around it (the model already loaded). */
  async attack(options: {
    model: string;
    attack: string;
    n: number;
    eps: number;
    params?: Record<string, unknown>;
  }): Promise<AttackCheck> {
    const model = await classifier(options.model);
    const tensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    const { x, labels } = await batch(options.n);
    const run = await runAttack(model, getAttack(options.attack), {
      x,
      labels,
      eps: options.eps,
      params: options.params,
      seed: 0,
      keepAdversarial: false,
    });
    x.dispose();
    const result = run.results[0];
    const report: AttackCheck = {
      successRate: result.successRate,
      accuracy: result.accuracy,
      maxLinf: Math.max(...result.distances.linf),
      cleanPredictions: Array.from(run.cleanPredictions),
      predictions: Array.from(result.predictions),
      tensorsBefore,
      tensorsAfter: 0,
      seconds: (performance.now() - t0) / 1000,
    };
    run.dispose();
    report.tensorsAfter = tf.memory().numTensors;
    return report;
  },

  /** An attribution of the first n MNIST test images; the maps summarized, tensors counted around it. */
  async explain(options: {
    model: string;
    method: string;
    n: number;
    params?: Record<string, unknown>;
  }): Promise<ExplainCheck> {
    const model = await classifier(options.model);
    const tensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    const { x } = await batch(options.n);
    const out = await explain(model, options.method, { x, params: options.params, seed: 0 });
    x.dispose();
    const values = await out.maps.data();
    let maxAbs = 0;
    let nonZero = 0;
    let finite = true;
    for (const v of values) {
      if (!Number.isFinite(v)) finite = false;
      if (v !== 0) nonZero++;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const report: ExplainCheck = {
      shape: out.maps.shape,
      finite,
      maxAbs,
      nonZeroFraction: nonZero / values.length,
      predictions: Array.from(out.predictions),
      tensorsBefore,
      tensorsAfter: 0,
      seconds: (performance.now() - t0) / 1000,
    };
    out.maps.dispose();
    report.tensorsAfter = tf.memory().numTensors;
    return report;
  },

  /** Disposes every loaded model; returns the tensors left (0 when loading and disposing leak nothing). */
  disposeAll(): number {
    for (const model of classifiers.values()) model.dispose();
    classifiers.clear();
    return tf.memory().numTensors;
  },
};

export type CoreChecks = typeof coreChecks;

declare global {
  interface Window {
    coreChecks: CoreChecks;
  }
}

window.coreChecks = coreChecks;

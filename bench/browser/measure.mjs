// The timed loop of bench/browser, shared by both sides: node-worker.mjs passes advkit's Node build (dist/),
// page-entry.mjs the browser bundle of src/browser.ts. One task of settings.json on one model's inputs: a warm-up
// run at the timed shapes (kernels, shader programs, buffers), then `reps` timed runs; the median is taken.

const median = (values) => {
  const v = [...values].sort((a, b) => a - b);
  const h = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[h] : (v[h - 1] + v[h]) / 2;
};
const sum = (values) => values.reduce((a, b) => a + b, 0);
const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The n inputs and labels of a model as written by node-worker.mjs: { shape, x: Float32Array, labels }. */
export function inputsFor(tf, inputs, n) {
  const [, h, w, c] = inputs.shape;
  const x = tf.tensor4d(inputs.x.subarray(0, n * h * w * c), [n, h, w, c]);
  return { x, labels: inputs.labels.subarray(0, n) };
}

/** One run of the task; resolves once its results are read back (as a caller would read them). */
async function runOnce(advkit, classifier, task, model, x, labels, seed) {
  if (task.kind === 'attack') {
    const run = await advkit.runAttack(classifier, advkit.getAttack(task.attack), {
      x,
      labels,
      eps: model.eps,
      norm: 'linf',
      params: task.params,
      batchSize: x.shape[0],
      seed,
      keepAdversarial: false,
    });
    run.dispose();
    const result = run.results[0];
    return { success_rate: result.successRate, gradients_per_image: result.cost.gradients / x.shape[0] };
  }
  const out = await advkit.explain(classifier, task.method, {
    x,
    params: task.params,
    batchSize: x.shape[0],
    seed,
  });
  await out.maps.data();
  out.maps.dispose();
  return { gradients_per_image: out.cost.gradients / x.shape[0], predictions: Array.from(out.predictions) };
}

/**
 * Times `task` on the first n inputs: one warm-up run at the timed shapes (an iterative attack's with one step:
 * the same kernels and shader programs, a tenth of the time on SwiftShader), then `reps` timed ones, fewer when
 * they pass `maxSeconds` (at least one). Returns the record for the table, with the tensors left after the last
 * run beyond those before the warm-up (0 when nothing leaks).
 */
export async function timeTask({ tf, advkit, classifier, task, model, inputs, n, reps }) {
  const { x, labels } = inputsFor(tf, inputs, n);
  const tensorsBefore = tf.memory().numTensors;
  const warmUp = task.params.steps === undefined ? task : { ...task, params: { ...task.params, steps: 1 } };
  await runOnce(advkit, classifier, warmUp, model, x, labels, 0);
  const times = [];
  let last;
  for (let r = 0; r < reps && (r === 0 || sum(times) < (task.maxSeconds ?? Infinity)); r++) {
    const t0 = performance.now();
    last = await runOnce(advkit, classifier, task, model, x, labels, r + 1);
    times.push((performance.now() - t0) / 1000);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  x.dispose();
  const s = median(times);
  return {
    task: task.id,
    n,
    images_per_s: round(n / s, 3),
    median_s: round(s, 4),
    times_s: times.map((t) => round(t, 4)),
    tensors_leaked: leaked,
    ...last,
  };
}

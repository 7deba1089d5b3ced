// The native addon's convolution kernels timed directly (no tfjs around them), batch 128, on the reference
// models' layers: forward, input gradient and filter gradient in ms, median of 30 calls after 5.
//
//   node bench/engine/addon-layers.mjs            (needs the addon: npm ci with oneDNN installed)
//
// For one-channel layers the input gradient is advkit's own loop; beside it, the same arithmetic as oneDNN runs
// it (the input gradient is a forward convolution of dy with the flipped filter, K -> 1 channels), as a baseline.
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(import.meta.url);
const addon = require('../../native/build/Release/advkit_native.node');
addon.setThreads(Number(process.env.ADVKIT_THREADS ?? 2));

const LAYERS = [
  // label, H, C -> K, kernel, 'same' padding, stride 1
  ['mnist-cnn conv1', 28, 1, 16, 5],
  ['mnist-cnn conv2', 14, 16, 32, 5],
  ['madry conv1', 28, 1, 32, 5],
  ['madry conv2', 14, 32, 64, 5],
  ['cifar conv1', 32, 3, 32, 3],
  ['cifar conv2', 32, 32, 32, 3],
  ['cifar conv3', 16, 32, 64, 3],
];

function median(fn) {
  for (let i = 0; i < 5; i++) fn();
  const times = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[15] * 100) / 100;
}

const N = 128;
console.log(
  `load average ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}, oneDNN ${addon.info().onednn}, ${addon.info().isa}`,
);
console.log(
  '| layer | input | filter | forward ms | input grad ms | filter grad ms | oneDNN, input grad as a forward conv K -> C ms |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [label, H, C, K, R] of LAYERS) {
  const p = Math.floor(R / 2);
  const x = new Float32Array(N * H * H * C).fill(0.5);
  const w = new Float32Array(R * R * C * K).fill(0.01);
  const y = new Float32Array(N * H * H * K).fill(0.25);
  const geo = [N, H, H, C, H, H, K, R, R, 1, 1, 1, 1, p, R - 1 - p, p, R - 1 - p, 1];
  const transposed = [N, H, H, K, H, H, C, R, R, 1, 1, 1, 1, R - 1 - p, p, R - 1 - p, p, 1];
  const fwd = median(() => addon.convForward(x, w, null, y, geo, 0, 0));
  const dx = median(() => addon.convBackwardData(y, w, x, geo));
  const dw = median(() => addon.convBackwardFilter(x, y, w, geo));
  const viaForward = C === 1 ? median(() => addon.convForward(y, w, null, x, transposed, 0, 0)) : '-';
  console.log(
    `| ${label} | ${N}x${H}x${H}x${C} | ${R}x${R}x${C}x${K} | ${fwd} | ${dx} | ${dw} | ${viaForward} |`,
  );
}

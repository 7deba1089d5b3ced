// OpenMP's wait policy on a busy machine: a CIFAR CNN input-gradient step (batch 4 and 128) on the native engine
// with idle threads sleeping (OMP_WAIT_POLICY=PASSIVE, advkit's default) and spinning (OpenMP's default), while
// another process keeps one core busy (as a second test worker or server request would). Each configuration runs
// in its own process, since libgomp reads the policy when it loads.
//
//   npm run build && node bench/engine/omp-wait.mjs
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

if (process.argv[2] === '--step') {
  const tf = await import('@tensorflow/tfjs-core');
  const { initNodeBackend } = await import(path.join(repo, 'dist/backend/node-backend.js'));
  const { smallCifar } = await import('./models.mjs');
  await initNodeBackend({ backend: 'native', threads: 2 });
  const model = smallCifar();
  const out = {};
  for (const batch of [4, 128]) {
    const x = tf.randomUniform([batch, 32, 32, 3]);
    const step = () => tf.tidy(() => tf.sum(tf.grad((v) => tf.sum(model.apply(v)))(x)).dataSync()[0]);
    for (let i = 0; i < 10; i++) step();
    const n = batch === 4 ? 100 : 20;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) step();
    out[batch] = (performance.now() - t0) / n;
    x.dispose();
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
const rows = [];
for (const [label, policy] of [
  ['sleeping (PASSIVE, advkit default)', 'PASSIVE'],
  ['spinning (OpenMP default)', 'ACTIVE'],
]) {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--step'], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: policy },
  });
  const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`${label}: ${run.stderr.slice(-500)}`);
  const ms = JSON.parse(line);
  rows.push([label, ms[4].toFixed(1), ms[128].toFixed(1)]);
}
busy.kill();
console.log(
  `load average ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}, one core kept busy by another process`,
);
console.log('| idle OpenMP threads | step ms, batch 4 | step ms, batch 128 |');
console.log('| --- | --- | --- |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

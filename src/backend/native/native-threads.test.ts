import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../util/node/package-root.js';
import { loadNativeAddon } from './load-native-node.js';

const addon = loadNativeAddon();
const required = process.env.ADVKIT_REQUIRE_NATIVE === '1';

/**
 * A worker thread on the native engine that runs the same convolution, forward and input gradient, `rounds` times
 * and returns a checksum of every round's output. Compiled code (dist/), as a server's threads run it.
 */
function convThread(rounds: number): Promise<number[]> {
  const backend = pathToFileURL(path.join(packageRoot(), 'dist', 'backend', 'node-backend.js')).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { initNodeBackend, tf } = await import(${JSON.stringify(backend)});
      await initNodeBackend({ backend: 'native', threads: 1 });
      const x = tf.tensor4d(Array.from({ length: 8 * 28 * 28 * 8 }, (_, i) => Math.sin(i)), [8, 28, 28, 8]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 8 * 32 }, (_, i) => Math.cos(i) / 10), [3, 3, 8, 32]);
      const sums = [];
      for (let r = 0; r < workerData.rounds; r++) {
        const g = tf.grad((input) => tf.sum(tf.square(tf.conv2d(input, w, 1, 'same'))))(x);
        sums.push(tf.sum(g).dataSync()[0]);
        g.dispose();
      }
      parentPort.postMessage(sums);
    })().catch((err) => parentPort.postMessage(String(err && err.stack || err)));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { rounds } });
    worker.once('message', (m: unknown) => {
      void worker.terminate();
      if (Array.isArray(m)) resolve(m as number[]);
      else reject(new Error(String(m)));
    });
    worker.once('error', reject);
  });
}

describe.runIf(required || !('reason' in addon))('the native engine on several threads at once', () => {
  it('gives each thread the results it gets alone (each thread has its own primitive cache and stream)', async () => {
    const [alone] = await Promise.all([convThread(20)]);
    expect(new Set(alone).size).toBe(1);
    const together = await Promise.all([convThread(20), convThread(20), convThread(20)]);
    for (const sums of together) expect(sums).toEqual(alone);
  }, 120_000);
});

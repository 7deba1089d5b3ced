import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import type { ChunkRecord } from '../evaluate/evaluation-state.js';
import type { EvaluationReport } from '../evaluate/report-types.js';
import { closeEvaluationChunks, runEvaluationChunk } from './evaluate-chunk.js';
import { evaluateTask, type EvaluateSpec, type EvaluationChunkRequest } from './evaluate.js';

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
});
afterAll(closeEvaluationChunks);

/** What must not depend on where the chunks ran: per eps and attack, the accuracy after it and what it broke. */
function perPoint(report: EvaluationReport): unknown {
  return report.robust.map((r) => ({
    eps: r.eps,
    acc: r.autoattack_acc,
    steps: r.by_attack.map((s) => [s.name, s.accuracy_after, s.newly_broken, s.attacked]),
    brokenBy: r.broken_by,
  }));
}

/** Runs `spec` with its chunks sent, stage by stage, through `runEvaluationChunk` (as a queue worker would). */
async function distributed(spec: EvaluateSpec) {
  const stages: EvaluationChunkRequest[][] = [];
  const output = await evaluateTask.run(spec, {
    executeChunks: async (requests) => {
      stages.push(requests);
      // As queue workers would: all at once, in any order of completion; the records come back in request order.
      const records: ChunkRecord[] = [];
      for (const r of [...requests].reverse()) records.unshift(await runEvaluationChunk(spec, r));
      return records;
    },
  });
  return { output, stages };
}

describe('runEvaluationChunk (the worker side of a distributed evaluation)', () => {
  it('gives the same per-point results as the single-process evaluation, chunk for chunk', async () => {
    const spec: EvaluateSpec = {
      model: 'mnist-cnn',
      n: 12,
      eps: '0.1,0.3',
      suite: 'apgd-ce,square',
      chunk: 4,
      batchSize: 4,
      gallery: 2,
      sanity: false,
    };
    const before = tf.memory().numTensors;
    const local = await evaluateTask.run(spec);
    const { output, stages } = await distributed(spec);
    expect(perPoint(output.result.report)).toEqual(perPoint(local.result.report));
    // Per point: as many robust (-1) as the robust accuracy says.
    for (const r of local.result.report.robust) {
      expect(r.broken_by).toHaveLength(12);
      expect(r.broken_by?.filter((k) => k === -1).length).toBe(Math.round(r.autoattack_acc * 12));
    }
    // Every stage went out, each chunk at most 4 points, and the first stage's chunks cover the correct points.
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.flat().every((r) => r.members.length >= 1 && r.members.length <= 4)).toBe(true);
    // The worker's cache keeps the evaluation open (weights and data) until it is closed.
    await closeEvaluationChunks();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('gives the same results behind a random defense: each chunk reseeds the draws', async () => {
    const spec: EvaluateSpec = {
      model: 'mnist-cnn',
      defense: 'resize-pad:0.1',
      n: 8,
      eps: '0.2',
      suite: 'apgd-ce',
      eot: 2,
      chunk: 4,
      batchSize: 4,
      gallery: 0,
      sanity: false,
    };
    const local = await evaluateTask.run(spec);
    const { output } = await distributed(spec);
    expect(perPoint(output.result.report)).toEqual(perPoint(local.result.report));
  }, 120_000);

  it('refuses a chunk of another evaluation and a chunk outside this one', async () => {
    const spec: EvaluateSpec = {
      model: 'mnist-cnn',
      n: 4,
      eps: '0.1',
      suite: 'apgd-ce',
      chunk: 2,
      sanity: false,
    };
    const other: EvaluateSpec = { ...spec, seed: 7 };
    let request: EvaluationChunkRequest | undefined;
    await evaluateTask.run(spec, {
      executeChunks: async (requests) => {
        request ??= requests[0];
        return Promise.all(requests.map((r) => runEvaluationChunk(spec, r)));
      },
    });
    if (request === undefined) throw new Error('no chunk was requested');
    await expect(runEvaluationChunk(other, request)).rejects.toThrow(/different evaluation/);
    await expect(runEvaluationChunk(spec, { ...request, members: [0, 1, 2] })).rejects.toThrow(
      /1 to 2 points numbered 0 to 3/,
    );
    await expect(
      runEvaluationChunk(spec, { ...request, ids: { ...request.ids, attack: 5 } }),
    ).rejects.toThrow(/not a chunk of this evaluation/);
    await expect(runEvaluationChunk(spec, { ...request, run: 'naive' })).rejects.toThrow(/no 'naive' run/);
  }, 60_000);
});

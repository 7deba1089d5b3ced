import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import type { EvaluationReport } from '../../evaluate/report-types.js';
import { evaluateTask, evaluationStatePath } from '../../tasks/evaluate.js';
import { EmbeddedJobRunner } from './embedded-runner.js';
import {
  describeJobRunnerContract,
  expectCode,
  perPoint,
  TINY_SPEC,
  waitForStatus,
} from './test-utils/job-runner-contract.js';

// The runner starts dist/server/jobs/evaluation-thread.js: run `npm run build` before these tests.
let reference: Promise<EvaluationReport> | undefined;

/** The tiny spec's report from a single-process run (once per file). */
function referenceReport(): Promise<EvaluationReport> {
  reference ??= (async () => {
    await initNodeBackend({ threads: 1 });
    return (await evaluateTask.run({ ...TINY_SPEC })).result.report;
  })();
  return reference;
}

beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
});

describeJobRunnerContract('embedded runner', () => ({
  open: (stateDir) => EmbeddedJobRunner.open({ stateDir }),
  reference: referenceReport,
}));

describe('embedded runner: restarts', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'advkit-jobs-restart-'));
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('a runner closed mid-job leaves it running; a new one on the same state dir resumes it to the same result', async () => {
    const first = await EmbeddedJobRunner.open({ stateDir });
    // One runner per state dir: a second would resume the same jobs.
    await expectCode(EmbeddedJobRunner.open({ stateDir }), 'INVALID_ARGUMENT');
    const job = await first.submit({ ...TINY_SPEC });
    const queuedBehind = await first.submit({ ...TINY_SPEC, eps: '0.3' });
    const state = evaluationStatePath(path.join(stateDir, 'jobs', job.id, 'state'));
    // Close once the first chunk of work is saved (the evaluation's state file appears after each chunk).
    const until = Date.now() + 60_000;
    while (!existsSync(state) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(state)).toBe(true);
    await first.close();
    expect((await first.get(job.id)).status).toBe('running');

    const gauge = new Map<string, number>();
    const second = await EmbeddedJobRunner.open({
      stateDir,
      metrics: { setJobs: (state, count) => gauge.set(state, count) },
    });
    // Both jobs wait again, the one that was running first.
    expect(gauge.get('queued')! + gauge.get('running')!).toBe(2);
    try {
      const notes: string[] = [];
      const done = await waitForStatus(second, job.id);
      notes.push(...done.notes);
      expect(done.status).toBe('completed');
      expect(notes.some((n) => n.startsWith('resumed:'))).toBe(true);
      expect(perPoint(done.result!.report)).toEqual(perPoint(await referenceReport()));
      // The job queued behind it was picked up too.
      expect((await waitForStatus(second, queuedBehind.id)).status).toBe('completed');
      expect(Object.fromEntries(gauge)).toMatchObject({ queued: 0, running: 0, completed: 2, failed: 0 });
    } finally {
      await second.close();
    }
  });
});

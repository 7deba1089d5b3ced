import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../../../errors.js';
import type { EvaluationReport } from '../../../evaluate/report-types.js';
import { FINISHED, type JobEvent, type JobInfo, type JobRunner, type JobStatus } from '../job-runner.js';

/**
 * A spec small enough for tests (two eps, one attack, 16 MNIST points in chunks of 4: a few seconds) whose
 * robust accuracy is neither 0 nor 1 at the first eps, so a lost or repeated chunk shows.
 */
export const TINY_SPEC = {
  model: 'mnist-cnn',
  n: 16,
  suite: 'apgd-ce',
  eps: '0.1,0.3',
  batchSize: 4,
  chunk: 4,
  sanity: false,
  gallery: 2,
} as const;

/** What must not depend on where or how often the chunks ran: per eps and attack, the accuracy and what it broke. */
export function perPoint(report: EvaluationReport): unknown {
  return report.robust.map((r) => ({
    eps: r.eps,
    acc: r.autoattack_acc,
    steps: r.by_attack.map((s) => [s.name, s.accuracy_after, s.newly_broken, s.attacked]),
    perClass: r.per_class,
    brokenBy: r.broken_by,
  }));
}

/** Polls until the job is in one of `statuses` (default: any finished one). */
export async function waitForStatus(
  runner: JobRunner,
  id: string,
  statuses: readonly JobStatus[] = [...FINISHED],
  timeoutMs = 90_000,
): Promise<JobInfo> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await runner.get(id);
    if (statuses.includes(job.status)) return job;
    if (Date.now() > until) throw new Error(`job ${id} is still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<AdvkitError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdvkitError);
  expect((err as AdvkitError).code).toBe(code);
  return err as AdvkitError;
}

export interface RunnerFactory {
  /** A runner on a fresh state dir. */
  open(stateDir: string): Promise<JobRunner>;
  /** The reference: the tiny spec's report from a single-process `evaluateTask.run`. */
  reference(): Promise<EvaluationReport>;
}

/**
 * The contract every JobRunner backend meets: a submitted job is queued, runs, completes with the evaluate
 * task's result (the same per-point results as a single-process run) and its HTML report; subscribers see its
 * progress and its end; ids are checked; a queued job and a running job can be cancelled; depth counts what
 * waits; a spec the task refuses fails the job with the task's error.
 */
export function describeJobRunnerContract(name: string, factory: () => RunnerFactory): void {
  describe(`${name}: the JobRunner contract`, () => {
    let runner: JobRunner;
    let stateDir: string;
    let reference: EvaluationReport;

    beforeAll(async () => {
      stateDir = await mkdtemp(path.join(os.tmpdir(), 'advkit-jobs-'));
      runner = await factory().open(stateDir);
      reference = await factory().reference();
    });
    afterAll(async () => {
      await runner?.close();
      rmSync(stateDir, { recursive: true, force: true });
    });

    it('runs a job to completion: status, progress events, the result of a single-process run, the report', async () => {
      const job = await runner.submit({ ...TINY_SPEC });
      expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(['queued', 'running']).toContain(job.status);
      const events: JobEvent[] = [];
      const ended = new Promise<JobInfo>((resolve) => {
        runner.subscribe(job.id, (e) => {
          events.push(e);
          if (e.type === 'status' && FINISHED.has(e.job.status)) resolve(e.job);
        });
      });
      const done = await waitForStatus(runner, job.id);
      expect(done.error).toBeUndefined();
      expect(done.status).toBe('completed');
      expect((await ended).status).toBe('completed');
      expect(events.some((e) => e.type === 'progress' && e.progress.stage === 'attack')).toBe(true);
      expect(done.progress.fraction).toBe(1);
      expect(done.startedAt).toBeDefined();
      expect(done.finishedAt).toBeDefined();
      expect(done.result?.task).toBe('evaluate');
      expect(perPoint(done.result!.report)).toEqual(perPoint(reference));
      const html = new TextDecoder().decode(await runner.report(job.id));
      expect(html.toLowerCase()).toContain('<html');
      expect(await runner.depth()).toBe(0);
    });

    it('refuses malformed ids and does not know other ids', async () => {
      await expectCode(runner.get('../../etc/passwd'), 'INVALID_ARGUMENT');
      await expectCode(runner.get(randomUUID()), 'NOT_FOUND');
      await expectCode(runner.report(randomUUID()), 'NOT_FOUND');
      await expectCode(runner.cancel(randomUUID()), 'NOT_FOUND');
    });

    it('cancels a queued job and a running one; the report of an unfinished job is refused', async () => {
      const first = await runner.submit({ ...TINY_SPEC, n: 24, eps: '0.05,0.1,0.3' });
      const second = await runner.submit({ ...TINY_SPEC });
      expect(await runner.depth()).toBe(2);
      await waitForStatus(runner, first.id, ['running']);
      const err = await expectCode(runner.report(first.id), 'INVALID_ARGUMENT');
      expect(err.details?.status).toBe('running');
      const cancelledQueued = await runner.cancel(second.id);
      expect(cancelledQueued.status).toBe('cancelled');
      await runner.cancel(first.id);
      const first2 = await waitForStatus(runner, first.id);
      expect(first2.status).toBe('cancelled');
      expect(await runner.depth()).toBe(0);
      // Cancelling a finished job leaves it as it is.
      expect((await runner.cancel(second.id)).status).toBe('cancelled');
    });

    it('fails a job whose spec the task refuses, with the task error', async () => {
      const job = await runner.submit({ ...TINY_SPEC, suite: 'no-such-attack' });
      const done = await waitForStatus(runner, job.id);
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('INVALID_ARGUMENT');
      expect(done.error?.message).toContain('no-such-attack');
    });
  });
}

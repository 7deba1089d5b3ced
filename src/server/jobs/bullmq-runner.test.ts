import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import type { EvaluationReport } from '../../evaluate/report-types.js';
import { evaluateTask, evaluationStatePath } from '../../tasks/evaluate.js';
import { packageRoot } from '../../util/node/package-root.js';
import { ChunkWorker } from './chunk-worker.js';
import { createJobRunner } from './create-job-runner.js';
import type { JobRunner } from './job-runner.js';
import {
  describeJobRunnerContract,
  perPoint,
  TINY_SPEC,
  waitForStatus,
} from './test-utils/job-runner-contract.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './test-utils/redis-server.js';

// The chunk workers start dist/server/jobs/chunk-thread.js (and the fault test bin/advkit.js): run `npm run build`
// first. Without redis-server these tests are skipped, except where ADVKIT_REQUIRE_REDIS=1 (CI: .ci/run installs it).
const runnable = hasRedisServer() || process.env.ADVKIT_REQUIRE_REDIS === '1';

let redis: RedisServer;
let reference: Promise<EvaluationReport> | undefined;
const workers: ChunkWorker[] = [];
let chunksStored = 0;

function referenceReport(): Promise<EvaluationReport> {
  reference ??= (async () => {
    await initNodeBackend({ threads: 1 });
    return (await evaluateTask.run({ ...TINY_SPEC })).result.report;
  })();
  return reference;
}

describe.runIf(runnable)('BullMQ backend', () => {
  beforeAll(async () => {
    process.env.ADVKIT_DATA = realDataRoot();
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await redis?.stop();
  });

  describeJobRunnerContract('BullMQ backend', () => ({
    open: async (stateDir) => {
      workers.push(
        await ChunkWorker.start({
          redis: redis.url,
          onChunk: (e) => (chunksStored += e.state === 'stored' ? 1 : 0),
        }),
      );
      return createJobRunner({ stateDir, redis: redis.url });
    },
    reference: referenceReport,
  }));

  it("the contract's chunks were computed by the BullMQ worker, not by the evaluation thread", () => {
    expect(chunksStored).toBeGreaterThan(0);
  });

  describe('faults', () => {
    let stateDir: string;
    const children: ChildProcess[] = [];
    beforeAll(async () => {
      stateDir = await mkdtemp(path.join(os.tmpdir(), 'advkit-jobs-bullmq-'));
    });
    afterAll(() => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    });

    /** `advkit worker` in a process of its own, with locks short enough to see a stalled chunk retried in seconds. */
    function spawnWorker(): { child: ChildProcess; output: () => string; started: Promise<void> } {
      const child = spawn(
        process.execPath,
        [
          path.join(packageRoot(), 'bin', 'advkit.js'),
          'worker',
          '--redis',
          redis.url,
          '--lock-duration',
          '2000',
          '--stalled-interval',
          '1000',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
      );
      children.push(child);
      let output = '';
      const started = new Promise<void>((resolve) => {
        child.stderr?.on('data', (d: Buffer) => {
          output += d.toString();
          if (/chunk \S+: started/.test(output)) resolve();
        });
      });
      return { child, output: () => output, started };
    }

    it('a coordinator closed mid-job: a new one on the same state dir and Redis resumes it to the same result', async () => {
      const worker = await ChunkWorker.start({ redis: redis.url });
      try {
        const first = await createJobRunner({ stateDir, redis: redis.url });
        const job = await first.submit({ ...TINY_SPEC });
        const state = evaluationStatePath(path.join(stateDir, 'jobs', job.id, 'state'));
        const until = Date.now() + 60_000;
        while (!existsSync(state) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        expect(existsSync(state)).toBe(true);
        await first.close();
        const second = await createJobRunner({ stateDir, redis: redis.url });
        try {
          const done = await waitForStatus(second, job.id);
          expect(done.status).toBe('completed');
          expect(done.notes.some((n) => n.startsWith('resumed:'))).toBe(true);
          expect(perPoint(done.result!.report)).toEqual(perPoint(await referenceReport()));
        } finally {
          await second.close();
        }
      } finally {
        await worker.close();
      }
    });

    it('a worker SIGKILLed mid-chunk: the chunk is retried elsewhere, the job completes with the single-process result; SIGTERM stops a worker cleanly', async () => {
      const a = spawnWorker();
      const b = spawnWorker();
      let runner: JobRunner | undefined;
      try {
        runner = await createJobRunner({ stateDir, redis: redis.url });
        // Only the two worker processes compute: the contract suite's in-process workers are closed by now.
        await Promise.all(workers.splice(0).map((w) => w.close()));
        const job = await runner.submit({ ...TINY_SPEC });
        await Promise.race([a.started, b.started]);
        const victim = /: started/.test(a.output()) ? a : b;
        const survivor = victim === a ? b : a;
        victim.child.kill('SIGKILL');
        const done = await waitForStatus(runner, job.id, ['completed', 'failed', 'cancelled'], 100_000);
        expect(done.error).toBeUndefined();
        expect(done.status).toBe('completed');
        expect(perPoint(done.result!.report)).toEqual(perPoint(await referenceReport()));
        // The survivor took the killed worker's chunk once its lock expired, and computed it again.
        const killed = /chunk (\S+): started/.exec(victim.output())?.[1];
        expect(killed).toBeDefined();
        expect(survivor.output()).toContain(`chunk ${killed}: stored`);
        const exit = new Promise<number | null>((resolve) => survivor.child.once('exit', resolve));
        survivor.child.kill('SIGTERM');
        expect(await exit).toBe(0);
        expect(survivor.output()).toContain('advkit worker: stopped');
      } finally {
        await runner?.close();
      }
    });
  });
});

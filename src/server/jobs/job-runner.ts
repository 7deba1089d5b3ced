import { AdvkitError, invalidArgument } from '../../errors.js';
import type { EvaluateProgress, EvaluateResult } from '../../tasks/evaluate.js';

/**
 * Evaluation jobs: an evaluate spec submitted now, run later (minutes to hours), watched and fetched by id. Every
 * backend (the embedded runner, the same runner with its chunks on BullMQ workers) implements this interface and
 * passes the one contract suite (`test-utils/job-runner-contract.ts`); the HTTP routes know only this interface.
 */
export interface JobRunner {
  /** Queues an evaluate spec (already guarded: no server paths, the model resolved); resolves once it is stored. */
  submit(spec: Record<string, unknown>): Promise<JobInfo>;
  /** The job's state now; NOT_FOUND for an id this runner does not know, INVALID_ARGUMENT for a malformed one. */
  get(id: string): Promise<JobInfo>;
  /** The HTML report of a completed job; INVALID_ARGUMENT with `details.status` while it is not completed. */
  report(id: string): Promise<Uint8Array>;
  /** Calls `listener` on every progress and status change of the job; returns the unsubscribe function. */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void;
  /** Cancels a queued or running job (its status becomes 'cancelled'); a finished job is left as it is. */
  cancel(id: string): Promise<JobInfo>;
  /** Jobs queued or running: what a new job waits behind. */
  depth(): Promise<number>;
  /** Stops taking work and stops the running jobs where they are; a new runner on the same state resumes them. */
  close(): Promise<void>;
}

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export const FINISHED: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export interface JobProgress {
  /** 0..1, an estimate from the stages seen so far (attack stages first, then the sanity checks). */
  fraction: number;
  /** 'queued', 'starting', 'attack', 'sanity', 'report'. */
  stage: string;
  /** One line for people: 'eps 0.1, apgd-ce: 8/16 points, robust 50.0%'. */
  detail: string;
}

export interface JobInfo {
  id: string;
  status: JobStatus;
  progress: JobProgress;
  /** The evaluate task's result, once completed. */
  result?: EvaluateResult;
  /** Why it failed (an AdvkitError's code and message), once failed. */
  error?: { code: string; message: string };
  /** Notes from the task (a resumed run, a bundled sample), in order. */
  notes: string[];
  /** ISO times. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export type JobEvent = { type: 'progress'; progress: JobProgress } | { type: 'status'; job: JobInfo };

/** A random UUID (RFC 4122 version 4), the only form of job id a runner issues or accepts. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The pattern as JSON Schema takes it, for route parameters. */
export const JOB_ID_PATTERN = JOB_ID.source;

/** Refuses anything but a job id (so an id never reaches a file path or a Redis key unchecked). */
export function checkJobId(id: string): void {
  if (!JOB_ID.test(id)) {
    throw invalidArgument(
      `'${id.slice(0, 64)}' is not a job id; expected a UUID as returned by POST /v1/evaluations.`,
      { option: 'id' },
    );
  }
}

export function unknownJob(id: string): AdvkitError {
  return new AdvkitError('NOT_FOUND', `There is no evaluation job ${id} on this server.`, { id });
}

export function notCompleted(job: JobInfo): AdvkitError {
  return invalidArgument(
    `Evaluation job ${job.id} is ${job.status}; its report exists once it is completed.`,
    { status: job.status },
  );
}

export const QUEUED_PROGRESS: JobProgress = { fraction: 0, stage: 'queued', detail: 'waiting for a worker' };

/** How many stages an evaluation has: budgets x attacks of the suite (a naive run beside it repeats them). */
export interface EvaluationPlan {
  eps: number;
  attacks: number;
}

/**
 * A job's progress from one of the evaluate task's progress events: the attack stages take the first 90%, the
 * sanity checks the rest. The runner keeps the fraction from going back (a defense's naive run starts over).
 */
export function jobProgress(p: EvaluateProgress, plan: EvaluationPlan): JobProgress {
  if (p.stage === 'sanity') {
    return {
      fraction: 0.9 + 0.1 * Math.min(1, p.fraction),
      stage: 'sanity',
      detail: `sanity checks: ${p.check}`,
    };
  }
  const within = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const stages = Math.max(1, plan.eps * plan.attacks);
  const run = p.run === undefined ? '' : `${p.run} `;
  return {
    fraction: Math.min(0.9, (0.9 * (p.epsIndex * plan.attacks + p.attackIndex + within)) / stages),
    stage: 'attack',
    detail:
      `${run}eps ${p.epsText}, ${p.attack}: ${p.done}/${p.total} points, ` +
      `robust ${(100 * p.robustAccuracy).toFixed(1)}%${p.resumed ? ' (resumed)' : ''}`,
  };
}

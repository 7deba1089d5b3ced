import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { AdvkitError } from '../../errors.js';
import type { EvaluateResult } from '../../tasks/evaluate.js';
import { checkJobId, unknownJob, type JobInfo } from './job-runner.js';

/**
 * Jobs on disk, one folder each: `<root>/jobs/<id>/` holds spec.json (as submitted), status.json (the JobInfo
 * without its result), result.json and report.html once completed, and state/ (the evaluation's resumable
 * state, the task's `ctx.stateDir`). Every file is replaced atomically (temporary file, then rename), so a kill at
 * any moment leaves the old content or the new one, and a runner started on the same root finds every job.
 */
export class JobStore {
  readonly jobsDir: string;
  private claimed = false;

  constructor(root: string) {
    this.jobsDir = path.join(root, 'jobs');
  }

  async init(): Promise<void> {
    await mkdir(this.jobsDir, { recursive: true });
  }

  /**
   * Makes this the only runner of these jobs: two runners on one state dir would both resume the same jobs. The
   * claim is `jobs/runner.pid`; a claim whose process is gone (a killed server) is taken over.
   */
  async claim(): Promise<void> {
    const lock = path.join(this.jobsDir, 'runner.pid');
    const owner = await readFile(lock, 'utf8').then(
      (text) => Number(text.trim()),
      () => Number.NaN,
    );
    if (HELD.has(this.jobsDir) || (Number.isInteger(owner) && owner !== process.pid && isAlive(owner))) {
      throw new AdvkitError(
        'INVALID_ARGUMENT',
        `The jobs in ${this.jobsDir} are run by another job runner (process ${HELD.has(this.jobsDir) ? process.pid : owner}); ` +
          `give each server its own --state-dir (or remove ${lock} if no such server runs).`,
      );
    }
    await writeFileAtomic(lock, new TextEncoder().encode(`${process.pid}\n`));
    HELD.add(this.jobsDir);
    this.claimed = true;
  }

  async release(): Promise<void> {
    if (!this.claimed) return;
    this.claimed = false;
    HELD.delete(this.jobsDir);
    await rm(path.join(this.jobsDir, 'runner.pid'), { force: true });
  }

  dir(id: string): string {
    checkJobId(id);
    return path.join(this.jobsDir, id);
  }

  /** The evaluation's own resumable state (the evaluate task's `ctx.stateDir`). */
  evaluationDir(id: string): string {
    return path.join(this.dir(id), 'state');
  }

  async create(info: JobInfo, spec: Record<string, unknown>): Promise<void> {
    await mkdir(this.evaluationDir(info.id), { recursive: true });
    await this.writeJson(info.id, 'spec.json', spec);
    await this.writeInfo(info);
  }

  async writeInfo(info: JobInfo): Promise<void> {
    // The result has its own file (result.json), written once with the report.
    await this.writeJson(info.id, 'status.json', { ...info, result: undefined });
  }

  async writeResult(id: string, result: EvaluateResult, report: Uint8Array): Promise<void> {
    await writeFileAtomic(path.join(this.dir(id), 'report.html'), report);
    await this.writeJson(id, 'result.json', result);
  }

  async readSpec(id: string): Promise<Record<string, unknown>> {
    const spec = await this.readJson(id, 'spec.json');
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      throw this.damaged(id, 'spec.json', 'is not a JSON object');
    }
    return { ...spec };
  }

  /** The job's status (with its result when completed); NOT_FOUND when there is no such job. */
  async readInfo(id: string): Promise<JobInfo> {
    // status.json is written by this store only; its fields are trusted once it parses as an object.
    const info = (await this.readJson(id, 'status.json')) as JobInfo;
    if (typeof info !== 'object' || info === null || info.id !== id) {
      throw this.damaged(id, 'status.json', 'is not the status of this job');
    }
    if (info.status === 'completed') info.result = (await this.readJson(id, 'result.json')) as EvaluateResult;
    return info;
  }

  async readReport(id: string): Promise<Uint8Array> {
    return new Uint8Array(await this.read(id, 'report.html'));
  }

  /** Every job on disk, oldest first. */
  async list(): Promise<JobInfo[]> {
    const names = await readdir(this.jobsDir).catch(() => []);
    const jobs: JobInfo[] = [];
    for (const name of names) {
      try {
        checkJobId(name);
        jobs.push(await this.readInfo(name));
      } catch {
        // Not a job folder, or one whose status.json was never written (a kill inside create()).
      }
    }
    return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  private async writeJson(id: string, file: string, value: unknown): Promise<void> {
    await writeFileAtomic(path.join(this.dir(id), file), new TextEncoder().encode(JSON.stringify(value)));
  }

  private async read(id: string, file: string): Promise<Buffer> {
    try {
      return await readFile(path.join(this.dir(id), file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw unknownJob(id);
      throw err;
    }
  }

  private async readJson(id: string, file: string): Promise<unknown> {
    const text = (await this.read(id, file)).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.damaged(id, file, 'is not valid JSON');
    }
  }

  private damaged(id: string, file: string, what: string): AdvkitError {
    const location = path.join(this.dir(id), file);
    return new AdvkitError('CORRUPT_DATA', `${location} ${what}; remove the job's folder to forget it.`, {
      file: location,
    });
  }
}

/** The jobs dirs claimed by runners of this process. */
const HELD = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

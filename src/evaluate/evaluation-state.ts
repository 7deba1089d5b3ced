import { AdvkitError } from '../errors.js';

/**
 * Where an evaluation keeps its progress so that a killed or cancelled run resumes where it stopped. The CLI's
 * store is a JSON file replaced atomically (src/evaluate/node/file-state-store.ts); tests use memory.
 */
export interface EvaluationStateStore {
  /** The saved state, or null when there is none. */
  load(): Promise<unknown>;
  save(state: EvaluationState): Promise<void>;
  /** Called once the evaluation is complete. */
  clear(): Promise<void>;
  /** Where it lives, for messages. */
  readonly location: string;
}

/**
 * The work done so far: the clean predictions and every finished chunk (a slice of the points one attack ran
 * on at one eps). Chunks depend only on the configuration and the chunks before them, so replaying the saved
 * ones and running the rest gives the result of an uninterrupted run.
 */
export interface EvaluationState {
  format: typeof STATE_FORMAT;
  /** Identifies the configuration (model, data, norm, eps, suite, seed, batch sizes): a mismatch refuses to resume. */
  key: string;
  cleanPredictions: number[];
  chunks: ChunkRecord[];
}

export interface ChunkRecord {
  eps: number;
  attack: number;
  chunk: number;
  /** Indices (into the evaluated set) of the points this chunk's attack broke. */
  broken: number[];
  gradients: number;
  queries: number;
  seconds: number;
  /** The attack's output for the gallery's points in this chunk (float32 values in base64). */
  gallery: { index: number; prediction: number; adversarial: string }[];
}

export const STATE_FORMAT = 'advkit-evaluation-state/1';

/** What to do about a damaged state, said once for every such error. */
const START_AFRESH = 'Delete it or run with --no-resume to start afresh.';

function damaged(location: string, what: string): AdvkitError {
  return new AdvkitError('CORRUPT_DATA', `${location} is damaged: ${what}. ${START_AFRESH}`, {
    file: location,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown, n = Number.POSITIVE_INFINITY): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < n;
}

function isAmount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/**
 * The saved state when it matches `key`; null when there is none; a clear error when it belongs to another run
 * (INVALID_ARGUMENT) or is damaged (CORRUPT_DATA): a chunk that lists points outside the evaluation, twice, or
 * with values of the wrong type would silently change the per-attack results if it were replayed.
 */
export function matchingState(
  saved: unknown,
  key: string,
  location: string,
  n: number,
): EvaluationState | null {
  if (saved === null || saved === undefined) return null;
  if (!isRecord(saved) || saved.format !== STATE_FORMAT || typeof saved.key !== 'string') {
    throw new AdvkitError(
      'INVALID_ARGUMENT',
      `${location} is not an advkit evaluation state (expected format '${STATE_FORMAT}'). Remove it to start afresh.`,
    );
  }
  if (saved.key !== key) {
    throw new AdvkitError(
      'INVALID_ARGUMENT',
      `${location} holds the progress of a different evaluation (other model, data, norm, eps, suite, seed or ` +
        `batch size). Run with the same options to resume, or remove the file to start afresh.`,
    );
  }
  const clean: unknown[] = Array.isArray(saved.cleanPredictions) ? saved.cleanPredictions : [];
  const cleanPredictions = clean.filter((p) => isIndex(p));
  if (clean.length !== n || cleanPredictions.length !== n) {
    throw damaged(
      location,
      `"cleanPredictions" must list one class index (an integer >= 0) for each of the ${n} points`,
    );
  }
  if (!Array.isArray(saved.chunks)) throw damaged(location, '"chunks" must be an array');
  const seen = new Set<string>();
  const chunks = saved.chunks.map((c, i) => {
    const chunk = parseChunk(c, n, (what) => damaged(location, `chunks[${i}] ${what}`));
    const id = `${chunk.eps}:${chunk.attack}:${chunk.chunk}`;
    if (seen.has(id)) {
      throw damaged(location, `chunks[${i}] repeats an earlier chunk (${describeChunk(chunk)})`);
    }
    seen.add(id);
    return chunk;
  });
  return { format: STATE_FORMAT, key, cleanPredictions, chunks };
}

function describeChunk(c: ChunkRecord): string {
  return `eps #${c.eps}, attack #${c.attack}, chunk #${c.chunk}`;
}

/** A chunk record whose every field has its type and range; `bad` makes the error for the first that does not. */
function parseChunk(v: unknown, n: number, bad: (what: string) => AdvkitError): ChunkRecord {
  if (!isRecord(v)) throw bad('must be an object');
  const { eps, attack, chunk, broken, gradients, queries, seconds, gallery } = v;
  if (!isIndex(eps) || !isIndex(attack) || !isIndex(chunk)) {
    throw bad('must have "eps", "attack" and "chunk" indices (integers >= 0)');
  }
  if (!Array.isArray(broken)) throw bad('"broken" must be an array of point indices');
  const points: unknown[] = broken;
  const wrong = points.find((i) => !isIndex(i, n));
  if (wrong !== undefined) {
    throw bad(`"broken" lists ${JSON.stringify(wrong)}, but points are numbered 0 to ${n - 1}`);
  }
  const brokenPoints = points.filter((i) => isIndex(i, n));
  if (new Set(brokenPoints).size !== brokenPoints.length) throw bad('"broken" lists a point more than once');
  if (!isAmount(gradients) || !isAmount(queries) || !isAmount(seconds)) {
    throw bad('must have "gradients", "queries" and "seconds" as finite numbers >= 0');
  }
  if (!Array.isArray(gallery)) throw bad('"gallery" must be an array');
  const entries: unknown[] = gallery;
  const images = entries.map((g, j) => {
    if (!isRecord(g) || !isIndex(g.index, n) || !isIndex(g.prediction) || typeof g.adversarial !== 'string') {
      throw bad(
        `gallery[${j}] must have a point "index" (0 to ${n - 1}), a class "prediction" and an "adversarial" string`,
      );
    }
    return { index: g.index, prediction: g.prediction, adversarial: g.adversarial };
  });
  return { eps, attack, chunk, broken: brokenPoints, gradients, queries, seconds, gallery: images };
}

/**
 * Checks a saved chunk against the points it was run on (known only while replaying, since they depend on the
 * chunks before it): it may list as broken or in its gallery only those points.
 */
export function checkResumedChunk(record: ChunkRecord, members: Int32Array, location: string): void {
  const attacked = new Set(members);
  const outside = [...record.broken, ...record.gallery.map((g) => g.index)].find((i) => !attacked.has(i));
  if (outside !== undefined) {
    throw damaged(
      location,
      `the chunk (${describeChunk(record)}) lists point ${outside}, which that chunk did not attack`,
    );
  }
}

/** An in-memory store (tests, browser pages). */
export class MemoryStateStore implements EvaluationStateStore {
  readonly location = 'memory';
  saved: EvaluationState | null = null;
  saves = 0;

  load(): Promise<unknown> {
    return Promise.resolve(this.saved === null ? null : structuredClone(this.saved));
  }

  save(state: EvaluationState): Promise<void> {
    this.saved = structuredClone(state);
    this.saves++;
    return Promise.resolve();
  }

  clear(): Promise<void> {
    this.saved = null;
    return Promise.resolve();
  }
}

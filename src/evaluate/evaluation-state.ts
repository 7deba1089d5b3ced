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

/** The saved state when it matches `key`; null when there is none; a clear error when it belongs to another run. */
export function matchingState(
  saved: unknown,
  key: string,
  location: string,
  n: number,
): EvaluationState | null {
  if (saved === null || saved === undefined) return null;
  if (!isState(saved, n)) {
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
  return saved;
}

function isState(v: unknown, n: number): v is EvaluationState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Partial<EvaluationState>;
  return (
    s.format === STATE_FORMAT &&
    typeof s.key === 'string' &&
    Array.isArray(s.cleanPredictions) &&
    s.cleanPredictions.length === n &&
    Array.isArray(s.chunks) &&
    s.chunks.every(isChunk)
  );
}

function isChunk(v: unknown): v is ChunkRecord {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Partial<ChunkRecord>;
  return (
    Number.isInteger(c.eps) &&
    Number.isInteger(c.attack) &&
    Number.isInteger(c.chunk) &&
    Array.isArray(c.broken) &&
    typeof c.gradients === 'number' &&
    typeof c.queries === 'number' &&
    typeof c.seconds === 'number' &&
    Array.isArray(c.gallery)
  );
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

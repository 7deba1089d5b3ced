import { invalidArgument } from '../errors.js';
import { evaluateChunk } from '../evaluate/evaluate-robustness.js';
import type { ChunkRecord } from '../evaluate/evaluation-state.js';
import type { EvaluateSpec, EvaluationChunkRequest } from './evaluate.js';
import { openEvaluation, type EvaluationSetup } from './evaluate-setup.js';
import { LruMap } from '../util/lru-map.js';

/** The evaluations a worker keeps open: chunks of one job arrive in runs, so the last few specs are cached. */
const CACHE_SIZE = 2;
// An evicted evaluation is freed once it has opened (one that failed to open holds nothing).
const open = new LruMap<string, Promise<EvaluationSetup>>(CACHE_SIZE, (setup) => {
  void setup.then((s) => s.dispose()).catch(() => undefined);
});

/**
 * Runs one chunk of the evaluation of `spec` (the worker side of the evaluate task's `executeChunks`): the model,
 * its defense and the data are opened as the task opens them, so the chunk's record is the one a single-process
 * `advkit evaluate` of the same spec would save. A request whose key differs from this machine's evaluation of the
 * spec (other weights, data or settings) is refused.
 */
export async function runEvaluationChunk(
  spec: EvaluateSpec,
  request: EvaluationChunkRequest,
  opts: { signal?: AbortSignal } = {},
): Promise<ChunkRecord> {
  const setup = await openCached(spec);
  const run = setup.runs.find((r) => r.run === request.run);
  if (run === undefined) {
    throw invalidArgument(
      `This evaluation has no '${request.run ?? 'undefended'}' run; it has: ${setup.runs.map((r) => r.run ?? 'undefended').join(', ')}.`,
    );
  }
  return evaluateChunk(run.target, { ...run.options, signal: opts.signal }, request);
}

/** Disposes the cached evaluations (a worker that stops). */
export async function closeEvaluationChunks(): Promise<void> {
  for (const s of await Promise.allSettled(open.clear())) if (s.status === 'fulfilled') s.value.dispose();
}

function openCached(spec: EvaluateSpec): Promise<EvaluationSetup> {
  const key = JSON.stringify(spec);
  const hit = open.get(key);
  if (hit !== undefined) return hit;
  const opening = openEvaluation(spec);
  open.set(key, opening);
  // A spec that fails to open is not kept: the next request tries again (and gets the same clear error).
  opening.catch(() => open.delete(key));
  return opening;
}

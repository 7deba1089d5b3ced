import { readFile, rm } from 'node:fs/promises';
import { writeAtomically } from '../../data/node/atomic-write.js';
import { AdvkitError } from '../../errors.js';
import { writeFileSynced } from '../../util/node/write-file-synced.js';
import type { EvaluationState, EvaluationStateStore } from '../evaluation-state.js';

/**
 * An evaluation's progress in one JSON file, replaced atomically after every chunk (synced temporary file,
 * then rename), so a kill at any moment leaves the previous state or the new one, never half of one.
 */
export class FileStateStore implements EvaluationStateStore {
  constructor(readonly location: string) {}

  async load(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AdvkitError(
        'INVALID_ARGUMENT',
        `${this.location} is not valid JSON, so the evaluation cannot resume from it. Remove it to start afresh.`,
      );
    }
  }

  async save(state: EvaluationState): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(state));
    await writeAtomically(this.location, (tmp) => writeFileSynced(tmp, bytes));
  }

  async clear(): Promise<void> {
    await rm(this.location, { force: true });
  }
}

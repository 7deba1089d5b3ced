import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matchingState, STATE_FORMAT, type EvaluationState } from '../evaluation-state.js';
import { FileStateStore } from './file-state-store.js';

describe('FileStateStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'advkit-state-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const state: EvaluationState = { format: STATE_FORMAT, key: 'k', cleanPredictions: [1, 2], chunks: [] };

  it('saves, loads and clears, leaving no temporary files', async () => {
    const store = new FileStateStore(path.join(dir, 'sub', 'run.state.json'));
    expect(await store.load()).toBeNull();
    await store.save(state);
    expect(await store.load()).toEqual(state);
    expect(await readdir(path.join(dir, 'sub'))).toEqual(['run.state.json']);
    await store.clear();
    expect(await store.load()).toBeNull();
  });

  it('says what to do with a file that is not JSON', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, '{"format": "advkit-eval');
    await expect(new FileStateStore(file).load()).rejects.toThrow(/not valid JSON.*Remove it/);
  });

  it('gives a valid-JSON state with impossible chunks to be refused, naming the file', async () => {
    const file = path.join(dir, 'evaluation.state.json');
    const chunk = {
      eps: 0,
      attack: 0,
      chunk: 0,
      broken: [999, -1],
      gradients: 1,
      queries: 0,
      seconds: 0,
      gallery: [],
    };
    await writeFile(file, JSON.stringify({ ...state, chunks: [chunk] }));
    const store = new FileStateStore(file);
    const saved = await store.load();
    expect(() => matchingState(saved, 'k', store.location, 2)).toThrow(
      `${file} is damaged: chunks[0] "broken" lists 999, but points are numbered 0 to 1. Delete it or run with --no-resume`,
    );
  });
});

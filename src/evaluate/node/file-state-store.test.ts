import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_FORMAT, type EvaluationState } from '../evaluation-state.js';
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
});

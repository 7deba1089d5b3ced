import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../checkpoint.js';
import { sampleCheckpoint } from '../test-utils/fixtures.js';
import { CHECKPOINT_FILE, FileCheckpointStore } from './file-checkpoint-store.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'advkit-ckpt-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('FileCheckpointStore', () => {
  it('returns null before the first write, then the last bytes written', async () => {
    const store = new FileCheckpointStore(path.join(dir, 'nested', 'run'));
    expect(await store.read()).toBeNull();
    await store.write(Uint8Array.from([1, 2, 3]));
    await store.write(Uint8Array.from([4, 5]));
    expect(Array.from((await store.read()) ?? [])).toEqual([4, 5]);
    expect(await fs.readdir(store.dir)).toEqual([CHECKPOINT_FILE]);
  });

  it('a process killed mid-write leaves the previous checkpoint loadable, and the stray file is cleaned', async () => {
    const store = new FileCheckpointStore(dir);
    const first = sampleCheckpoint();
    await store.write(encodeCheckpoint(first));
    // What a kill during write leaves: a partial temporary file beside the intact previous checkpoint.
    const next = encodeCheckpoint({ ...sampleCheckpoint(), step: 4 });
    const stray = path.join(dir, `${CHECKPOINT_FILE}.tmp-99999-deadbeef`);
    await fs.writeFile(stray, next.subarray(0, next.length >> 1));
    const loaded = decodeCheckpoint((await store.read()) ?? new Uint8Array(), store.location);
    expect(loaded.step).toBe(first.step);
    await store.write(next);
    expect(await fs.readdir(dir)).toEqual([CHECKPOINT_FILE]);
    expect(decodeCheckpoint((await store.read()) ?? new Uint8Array(), store.location).step).toBe(4);
  });

  it('a truncated checkpoint file is reported, never loaded', async () => {
    const store = new FileCheckpointStore(dir);
    const bytes = encodeCheckpoint(sampleCheckpoint());
    await fs.writeFile(store.location, bytes.subarray(0, bytes.length - 100));
    const partial = (await store.read()) ?? new Uint8Array();
    expect(() => decodeCheckpoint(partial, store.location)).toThrow(
      new RegExp(`${CHECKPOINT_FILE} is unusable: .*truncated or partly written`),
    );
  });
});

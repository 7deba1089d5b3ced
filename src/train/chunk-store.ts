/**
 * Where a long generation (an adversarially relabelled dataset, non-robust-dataset.ts) keeps its finished
 * chunks, so that a killed run resumes after the last chunk it saved. Each chunk is one named blob; `write` must
 * replace it atomically (after a crash, `read` returns the old bytes or the new ones, never a mix) and `read`
 * returns null when there is none. The Node store is a directory of files (node/file-chunk-store.ts); tests and
 * pages use memory.
 */
export interface ChunkStore {
  /** Where it lives, for messages (a directory, 'memory'). */
  readonly location: string;
  read(name: string): Promise<Uint8Array | null>;
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/** A store in memory. `writes` counts the writes, so tests can see what a resumed run did not redo. */
export class MemoryChunkStore implements ChunkStore {
  readonly location = 'memory';
  readonly blobs = new Map<string, Uint8Array>();
  writes = 0;

  read(name: string): Promise<Uint8Array | null> {
    const bytes = this.blobs.get(name);
    return Promise.resolve(bytes === undefined ? null : bytes.slice());
  }

  write(name: string, bytes: Uint8Array): Promise<void> {
    this.blobs.set(name, bytes.slice());
    this.writes++;
    return Promise.resolve();
  }
}

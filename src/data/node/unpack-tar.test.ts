import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { tarBytes } from '../test-utils/synthetic.js';
import { unpackTarMembers } from './unpack-tar.js';
import { scratchDir } from '../test-utils/scratch.js';

const a = new Uint8Array([1, 2, 3]);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function archive(): { file: string; out: string } {
  const t = { dir: scratchDir() };
  const file = path.join(t.dir, 'x.tar.gz');
  writeFileSync(
    file,
    gzipSync(
      tarBytes([
        { name: 'top/a.bin', data: a },
        { name: 'top/skip.bin', data: new Uint8Array(5) },
        { name: 'top/meta.txt', data: new TextEncoder().encode('hi') },
      ]),
    ),
  );
  return { file, out: path.join(t.dir, 'out') };
}

describe('unpackTarMembers', () => {
  it('writes the wanted members, checked, into one folder', async () => {
    const { file, out } = archive();
    await unpackTarMembers(file, out, { 'a.bin': sha(a), 'meta.txt': undefined });
    expect(readdirSync(out).sort()).toEqual(['a.bin', 'meta.txt']);
    expect(Array.from(readFileSync(path.join(out, 'a.bin')))).toEqual([1, 2, 3]);
  });

  it('rejects a member with the wrong sha256 and a missing member', async () => {
    const { file, out } = archive();
    await expect(unpackTarMembers(file, out, { 'a.bin': sha(new Uint8Array(1)) })).rejects.toThrow(
      /a\.bin does not match/,
    );
    await expect(unpackTarMembers(file, out, { 'b.bin': undefined })).rejects.toThrow(/lacks b\.bin/);
  });
});

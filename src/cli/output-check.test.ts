import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { assertWritableDir, assertWritableFile } from './output-check.js';
import { runCli } from './test-utils/run-cli.js';

let tmp: string;
beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-out-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('output locations are checked before any work starts', () => {
  it('a file where a folder is expected, a folder where a file is expected, a path under a file', () => {
    const file = path.join(tmp, 'file.txt');
    writeFileSync(file, 'x');
    const folder = path.join(tmp, 'folder.png');
    mkdirSync(folder);
    expect(() => assertWritableDir(file, '--out')).toThrow(
      /--out '.*file\.txt' is a file; expected a directory/,
    );
    expect(() => assertWritableFile(folder, '--out')).toThrow(/--out '.*folder\.png' is a directory/);
    expect(() => assertWritableDir(path.join(file, 'sub'), '--out')).toThrow(/is a file, not a directory/);
    expect(() => assertWritableDir(path.join(tmp, 'new', 'deeper'), '--out')).not.toThrow();
  });

  it('advkit evaluate and attack refuse an unusable --out with exit code 2 and write nothing', async () => {
    const file = path.join(tmp, 'taken');
    writeFileSync(file, 'keep');
    const evaluate = await runCli('evaluate', '--n', '2', '--suite', 'pgd', '--no-sanity', '--out', file);
    expect(evaluate.code).toBe(2);
    expect(evaluate.stderr).toMatch(/--out '.*taken' is a file; expected a directory/);
    expect(evaluate.stderr).not.toMatch(/eps 0\.1/); // no progress: nothing ran
    const folder = path.join(tmp, 'gallery.png');
    mkdirSync(folder);
    const attack = await runCli('attack', '--eps', '0.3', '--n', '2', '--out', folder);
    expect(attack.code).toBe(2);
    expect(attack.stderr).toMatch(/--out '.*gallery\.png' is a directory; expected a file path/);
    expect(existsSync(path.join(folder, 'gallery.json'))).toBe(false);
  });
});

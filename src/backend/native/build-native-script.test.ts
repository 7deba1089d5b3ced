import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../util/node/package-root.js';

/**
 * scripts/build-native.mjs, the install script, run on a copy of the package in a temporary folder (so that the
 * checkout's own addon is never touched): it exits 0 and prints one line whatever happens, and leaves no addon
 * behind when it skips or the build fails.
 */

const run = promisify(execFile);
const root = packageRoot();

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-build-native-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of what the install script needs: itself, native/'s sources, and the package's node_modules. */
function packageCopy(name: string): { dir: string; addon: string } {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  cpSync(path.join(root, 'scripts', 'build-native.mjs'), path.join(dir, 'scripts', 'build-native.mjs'));
  for (const file of ['advkit_native.cc', 'binding.gyp']) {
    cpSync(path.join(root, 'native', file), path.join(dir, 'native', file));
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return { dir, addon: path.join(dir, 'native', 'build', 'Release', 'advkit_native.node') };
}

/** A stand-in for an addon built by an earlier install. */
function earlierAddon(addon: string): void {
  mkdirSync(path.dirname(addon), { recursive: true });
  writeFileSync(addon, 'an earlier build');
}

async function installScript(dir: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const base = { ...process.env };
  for (const name of ['ADVKIT_NATIVE', 'ADVKIT_ONEDNN_INCLUDE', 'INIT_CWD', 'CXX']) delete base[name];
  const { stdout, stderr } = await run(process.execPath, ['scripts/build-native.mjs'], {
    cwd: dir,
    env: { ...base, ...env },
  });
  expect(stderr).toBe('');
  return stdout.split('\n').filter((line) => line !== '');
}

/** What a build on this machine needs, as the script checks it; CI installs it and requires it. */
const canBuild =
  process.env.ADVKIT_REQUIRE_NATIVE === '1' ||
  (process.platform === 'linux' &&
    existsSync('/usr/include/oneapi/dnnl/dnnl.hpp') &&
    ['g++', 'make'].every((tool) =>
      (process.env.PATH ?? '').split(path.delimiter).some((dir) => existsSync(path.join(dir, tool))),
    ));

describe('scripts/build-native.mjs', () => {
  it('skips on purpose with ADVKIT_NATIVE=0, removing an earlier build', async () => {
    const { dir, addon } = packageCopy('opt-out');
    earlierAddon(addon);
    expect(await installScript(dir, { ADVKIT_NATIVE: '0' })).toEqual([
      'advkit: native engine skipped (ADVKIT_NATIVE=0); advkit runs on wasm',
    ]);
    expect(existsSync(addon)).toBe(false);
  });

  it('says oneDNN is missing, and how to install it, without building', async () => {
    const { dir, addon } = packageCopy('no-onednn');
    earlierAddon(addon);
    const noHeaders = mkdtempSync(path.join(tmp, 'include-'));
    expect(await installScript(dir, { ADVKIT_ONEDNN_INCLUDE: noHeaders })).toEqual([
      'advkit: native engine skipped (oneDNN not found: apt-get install libdnnl-dev); advkit runs on wasm',
    ]);
    expect(existsSync(addon)).toBe(false);
    expect(existsSync(path.join(dir, 'native', 'build', 'Makefile'))).toBe(false);
  });

  it('names every missing tool in one line when there is no toolchain', async () => {
    const { dir } = packageCopy('no-tools');
    const emptyPath = mkdtempSync(path.join(tmp, 'bin-'));
    const lines = await installScript(dir, { PATH: emptyPath, PYTHON: '', npm_config_python: '' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^advkit: native engine skipped \(no C\+\+ compiler, no make, no python3\b/);
    expect(lines[0]).toContain('apt-get install g++ make python3');
    expect(lines[0]).toMatch(/; advkit runs on wasm$/);
  });

  it.skipIf(!canBuild)('keeps a failed build off the terminal, in a log, and leaves no addon', async () => {
    const { dir, addon } = packageCopy('broken');
    earlierAddon(addon);
    writeFileSync(path.join(dir, 'native', 'advkit_native.cc'), '#error broken on purpose\n');
    expect(await installScript(dir)).toEqual([
      'advkit: native engine skipped (the build failed, see native/build/build-native.log); advkit runs on wasm',
    ]);
    expect(existsSync(addon)).toBe(false);
    expect(readFileSync(path.join(dir, 'native', 'build', 'build-native.log'), 'utf8')).toContain(
      'broken on purpose',
    );
  });

  it.skipIf(!canBuild)('builds the addon and says which oneDNN it runs on', async () => {
    const { dir, addon } = packageCopy('builds');
    const lines = await installScript(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^advkit: native engine built in \d+ s \(oneDNN \d+\.\d+\.\d+, \w+\)$/);
    expect(existsSync(addon)).toBe(true);
  });
});

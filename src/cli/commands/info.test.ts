import { describe, expect, it } from 'vitest';
import { nativeAddonForTests } from '../../backend/native/test-utils/native-on.js';
import { runCli } from '../test-utils/run-cli.js';
import type { NativeStatus } from './info.js';

interface InfoJson {
  backend: string;
  engine: string;
  threads?: number;
  native: NativeStatus;
  dataDirs: string[];
}

async function info(...args: string[]): Promise<InfoJson> {
  const r = await runCli('info', '--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as InfoJson;
}

// The engine is process-wide and the native kernels stay registered once in use: wasm first, then the default.
describe('advkit info', () => {
  const addon = nativeAddonForTests();

  it('on wasm, says why the native engine is not in use', async () => {
    const out = await info('--backend', 'wasm');
    expect(out.engine).toBe('wasm');
    expect(out.threads).toBeGreaterThanOrEqual(1);
    expect(out.native.inUse).toBe(false);
    expect(out.native).toHaveProperty(
      'reason',
      addon !== undefined
        ? "the native engine is built, but the 'wasm' backend was chosen"
        : expect.stringContaining('the native engine'),
    );

    const text = await runCli('info', '--backend', 'wasm');
    expect(text.stdout).toMatch(/^engine: wasm \(\d+ thread\(s\)\)\n {2}not native: the native engine /m);
  });

  it.skipIf(addon === undefined)('by default runs on the native engine and names its oneDNN', async () => {
    const out = await info();
    expect(out.engine).toBe('native');
    expect(out.backend).toBe('native');
    expect(out.native).toEqual({
      inUse: true,
      onednn: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      isa: expect.any(String),
      threads: out.threads,
    });
    expect(out.threads).toBeGreaterThanOrEqual(1);

    const text = await runCli('info');
    expect(text.stdout).toMatch(/^engine: native \(oneDNN \d+\.\d+\.\d+, \w+, \d+ thread\(s\)\)$/m);
    expect(text.stdout).toContain('datasets are looked for in: ');
  });
});

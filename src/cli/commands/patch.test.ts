import { Command } from 'commander';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { AdvkitError } from '../../errors.js';
import { registerPatchCommand } from './patch.js';

async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const program = new Command('advkit').exitOverride();
  registerPatchCommand(program, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  await program.parseAsync(['node', 'advkit', 'patch', ...args]);
  return { stdout, stderr };
}

let tmp: string;
beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-patch-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('advkit patch', () => {
  it('trains a patch for the bundled MNIST model on dataset samples, reports it and writes the PNG', async () => {
    const out = path.join(tmp, 'patch.png');
    const common = [
      '--data',
      'mnist',
      '--n',
      '16',
      '--target',
      '3',
      '--size',
      '0.5',
      '--steps',
      '3',
      '--batch',
      '8',
    ];
    const r = await run(...common, '--trials', '1', '--backend', 'wasm', '--out', out, '--json');
    const summary = JSON.parse(r.stdout);
    expect(summary.target).toEqual({ index: 3, name: '3' });
    expect(summary.patch.pixels).toBe(14);
    expect(summary.labels).toBe('dataset');
    expect(summary.gradients).toBe(24);
    for (const e of [summary.train, summary.heldOut, summary.randomPatch]) {
      expect(e.evaluated + e.excluded).toBe(16);
      expect(e.successRate).toBeGreaterThanOrEqual(0);
      expect(e.successRate).toBeLessThanOrEqual(1);
    }
    expect(existsSync(out)).toBe(true);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([14, 14, 4]);
    const text = await run(...common, '--backend', 'wasm', '--out', out);
    expect(text.stdout).toMatch(/held-out images: \d+\.\d% \(\d+\/\d+ placements on \d+ images\)/);
    expect(text.stdout).toContain(`wrote ${out}`);
  });

  it('names a target that is not a class and suggests close names', async () => {
    const err = await run('--data', 'mnist', '--target', 'eleven', '--out', path.join(tmp, 'x.png')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdvkitError);
    expect((err as AdvkitError).code).toBe('INVALID_ARGUMENT');
    expect((err as AdvkitError).message).toContain("--target 'eleven'");
  });

  it('refuses --images together with --data, and a scale range upside down', async () => {
    const out = path.join(tmp, 'y.png');
    for (const args of [
      ['--images', tmp, '--data', 'mnist', '--target', '1', '--out', out],
      ['--target', '1', '--scale-min', '2', '--scale-max', '1', '--out', out],
    ]) {
      const err = await run(...args).catch((e: unknown) => e);
      expect((err as AdvkitError).code).toBe('INVALID_ARGUMENT');
    }
  });
});

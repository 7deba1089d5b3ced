import { Command } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  it('refuses an unwritable --out before any work (checked ahead of a missing model)', async () => {
    const folder = path.join(tmp, 'a-folder.png');
    mkdirSync(folder);
    const file = path.join(tmp, 'a-file');
    writeFileSync(file, 'x');
    for (const [out, expected] of [
      [folder, 'is a directory'],
      [path.join(file, 'patch.png'), 'is a file'],
    ]) {
      const err = await run('--model', path.join(tmp, 'no-model'), '--target', '1', '--out', out).catch(
        (e: unknown) => e,
      );
      expect((err as AdvkitError).code).toBe('INVALID_ARGUMENT');
      expect((err as AdvkitError).message).toContain('--out');
      expect((err as AdvkitError).message).toContain(expected);
    }
  });

  it('takes a bundled model name and reports an interrupted run as ABORTED', async () => {
    const out = path.join(tmp, 'robust.png');
    const tiny = ['--data', 'mnist', '--n', '4', '--target', '1', '--steps', '1', '--trials', '1'];
    const r = await run('--model', 'mnist-cnn-robust', ...tiny, '--out', out, '--json');
    expect(path.basename(JSON.parse(r.stdout).model)).toBe('mnist-cnn-robust');
    // Ctrl-C as soon as training starts.
    const program = new Command('advkit').exitOverride();
    const stderr = (t: string): void => {
      if (t.startsWith('training')) process.emit('SIGINT');
    };
    registerPatchCommand(program, { stdout: () => undefined, stderr });
    const args = ['node', 'advkit', 'patch', ...tiny, '--steps', '200', '--out', out];
    const err = await program.parseAsync(args).catch((e: unknown) => e);
    expect((err as AdvkitError).code).toBe('ABORTED');
  });
});

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-visualize-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = ['--model', 'mnist-cnn,mnist-cnn-robust', '--steps', '2', '--backend', 'wasm'];

describe('advkit visualize', () => {
  it('writes one PNG grid, a row per model and a column per class, and reports each picture', async () => {
    const out = path.join(tmp, 'grid.png');
    const r = await runCli('visualize', ...tiny, '--class', '0,7', '--jitter', '1', '--out', out, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ task: 'visualize', objective: 'class', columns: ['0', '7'], out });
    expect(summary.models.map((m: { name: string }) => m.name)).toEqual(['mnist-cnn', 'mnist-cnn-robust']);
    expect(r.stderr).toContain('mnist-cnn-robust (2/2): 2 images, 2 steps');
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe('png');
    const text = await runCli('visualize', ...tiny, '--class', '3', '--out', out);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /mnist-cnn-robust: [\d.]+ s, 2 image gradients\n {2}3: logit -?[\d.]+, predicted \d [\d.]+%/,
    );
    expect(text.stdout).toContain(`wrote ${out}`);
  });

  it('exits with 2 and one clear line for a class the model does not have, or a layer it does not have', async () => {
    const out = path.join(tmp, 'bad.png');
    const r = await runCli('visualize', ...tiny, '--class', 'cat', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown target class 'cat'");
    const layer = await runCli('visualize', ...tiny, '--layer', 'conv9', '--out', out);
    expect(layer.code).toBe(2);
    expect(layer.stderr).toContain('Layers with a 4-D activation');
    const channels = await runCli('visualize', ...tiny, '--channel', '1', '--out', out);
    expect(channels.code).toBe(2);
    expect(channels.stderr).toContain('--channel');
    expect(existsSync(out)).toBe(false);
  });

  it('checks --out before any work and names bad flag values', async () => {
    const r = await runCli('visualize', ...tiny, '--out', tmp);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a directory');
    const steps = await runCli('visualize', ...tiny, '--step-size', '0', '--out', path.join(tmp, 'x.png'));
    expect(steps.code).toBe(2);
    expect(steps.stderr).toContain('--step-size must be');
  });
});

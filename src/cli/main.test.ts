import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { runCli } from './test-utils/run-cli.js';

const run = runCli;

const sharedRoot = path.dirname(realDataRoot());
const darknetDir = path.join(
  process.env.ADVKIT_MODELS ?? path.join(sharedRoot, 'models'),
  'darknet-tiny-imagenet',
);

let tmp: string;
beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('advkit CLI', () => {
  it('has --help for every command', async () => {
    for (const cmd of ['predict', 'train', 'attack', 'attacks', 'patch', 'info']) {
      const r = await run(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: advkit ${cmd}`);
    }
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/predict[\s\S]*train/);
  });

  it('tells user mistakes apart (exit 2) with a one-line message and no stack trace', async () => {
    const unknown = await run('predict', '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");

    const badValue = await run('predict', '--n', 'ten');
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('--n must be a positive integer');

    const missing = await run('predict', '--model', path.join(tmp, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not found|does not exist/i);
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const badArch = await run('train', '--data', 'mnist', '--arch', 'vgg', '--out', path.join(tmp, 'x'));
    expect(badArch.code).toBe(2);
    expect(badArch.stderr).toContain("Unknown architecture 'vgg'");
    expect(existsSync(path.join(tmp, 'x'))).toBe(false);

    const notAModel = mkdtempSync(path.join(tmp, 'notes-'));
    writeFileSync(path.join(notAModel, 'notes.txt'), 'keep me');
    const refused = await run('train', '--data', 'mnist', '--arch', 'linear', '--out', notAModel);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('holds no model');
    expect(refused.stderr).not.toContain('training');
    expect(readFileSync(path.join(notAModel, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('predicts MNIST digits with the bundled model on defaults', async () => {
    const r = await run('predict', '--json', '--n', '50');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      predictions: { top: { confidence: number }[] }[];
      accuracy: number;
    };
    expect(out.predictions).toHaveLength(50);
    expect(out.predictions[0].top).toHaveLength(3);
    expect(out.accuracy).toBeGreaterThanOrEqual(0.96);

    const text = await run('predict', '--n', '3');
    expect(text.stdout).toContain('mnist/test#0: 7 ');
  });

  it('names a photo with the pretrained ImageNet model', async () => {
    const image = path.join(realDataRoot(), 'imagenet-samples', 'captum', 'swan-3299528_1280.jpg');
    const r = await run('predict', '--model', darknetDir, '--image', image, '--top', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { predictions: { top: { label: string }[] }[] };
    expect(out.predictions[0].top[0].label).toBe('black_swan');
  });

  it('scores the pretrained ImageNet model on a labelled image folder (Keras ids vs Darknet order)', async () => {
    const samples = path.join(realDataRoot(), 'imagenet-samples');
    const r = await run(
      ...['predict', '--model', darknetDir, '--data', path.join(samples, 'foolbox'), '--n', '20', '--json'],
      ...['--label-map', path.join(samples, 'imagenet_class_index.json')],
    );
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { accuracy: number }).accuracy).toBeGreaterThanOrEqual(0.7);
  });

  it('trains, saves with metadata, resumes, and the saved model predicts', async () => {
    const out = path.join(tmp, 'mlp');
    const args = ['train', '--data', 'mnist', '--arch', 'mlp', '--hidden', '32', '--n', '512'];
    const common = [...args, '--epochs', '3', '--batch-size', '32', '--lr', '0.003', '--out', out, '--json'];
    const r = await run(...common);
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(path.join(out, 'advkit.json'), 'utf8')) as {
      architecture: string;
      metrics: { testAccuracy: number };
      training: { epochs: number; command: string };
    };
    expect(meta.architecture).toBe('mlp');
    expect(meta.training.epochs).toBe(3);
    expect(meta.metrics.testAccuracy).toBeGreaterThan(0.6);

    const resumed = await run(...common, '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);

    const p = await run('predict', '--model', out, '--n', '5', '--json');
    expect(p.code, p.stderr).toBe(0);

    const noCheckpoint = await run(...args, '--out', path.join(tmp, 'other'), '--resume');
    expect(noCheckpoint.code).toBe(2);
    expect(noCheckpoint.stderr).toContain('no checkpoint');
  });
});

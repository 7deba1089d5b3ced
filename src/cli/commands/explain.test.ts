import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../../data/npy.js';
import { runCli } from '../test-utils/run-cli.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-explain-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = ['--model', 'mnist-cnn', '--n', '2', '--backend', 'wasm'];

function hasNumpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('advkit explain', () => {
  it('writes the picture and the raw maps, and prints the rows with the IG completeness gap', async () => {
    const out = path.join(tmp, 'explain.png');
    const maps = path.join(tmp, 'maps');
    const r = await runCli(
      'explain',
      ...tiny,
      '--method',
      'saliency,ig,gradcam',
      '--steps',
      '4',
      '--tolerance',
      '0',
      '--attack',
      'pgd:steps=3',
      '--eps',
      '0.3',
      '--out',
      out,
      '--save-maps',
      maps,
      '--json',
    );
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ task: 'explain', attack: { name: 'pgd', epsText: '0.3' } });
    expect(summary.methods.find((m: { name: string }) => m.name === 'ig').params).toMatchObject({ steps: 4 });
    expect(summary.models[0].rows).toHaveLength(4);
    expect(summary.models[0].rows[0].methods.ig).toMatchObject({ steps: 4, gap: expect.any(Number) });
    expect(r.stderr).toContain('mnist-cnn (1/1): 2 inputs, 4 rows');
    expect((await sharp(out).metadata()).format).toBe('png');
    expect(readdirSync(maps).sort()).toEqual([
      'gradcam.adversarial.npy',
      'gradcam.npy',
      'ig.adversarial.npy',
      'ig.npy',
      'saliency.adversarial.npy',
      'saliency.npy',
    ]);
    expect(decodeNpy(readFileSync(path.join(maps, 'ig.npy'))).shape).toEqual([2, 28, 28, 1]);
    expect(summary.written).toHaveLength(7);
    if (hasNumpy()) {
      const shape = execFileSync(
        'python3',
        [
          '-c',
          'import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape)',
          path.join(maps, 'gradcam.npy'),
        ],
        { encoding: 'utf8' },
      );
      expect(shape.trim()).toBe('float32 (2, 28, 28)');
    }

    const text = await runCli(
      'explain',
      ...tiny,
      '--method',
      'saliency,ig',
      '--steps',
      '4',
      '--max-steps',
      '8',
      '--faithfulness',
      '--sanity',
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /faithfulness of saliency \(clean\): deletion [\d.]+, insertion [\d.]+, score -?[\d.]+ \(random order -?[\d.]+\)/,
    );
    expect(text.stdout).toContain('randomization test: saliency passes');
    expect(text.stdout).toMatch(/mnist-cnn: saliency [\d.]+ s \(2 gradients\), ig [\d.]+ s/);
    expect(text.stdout).toMatch(
      / {2}mnist\/test#0 \(label 7\)\n {4}clean: 7 [\d.]+%, explained 7; ig \d+ steps, gap [\d.]+%/,
    );
    expect(text.stdout).not.toContain('wrote');
  });

  it('has a flag per method parameter, from the method schemas', async () => {
    const r = await runCli('explain', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Method parameters');
    for (const flag of [
      '--samples <value>',
      '--sigma <value>',
      '--steps <value>',
      '--baseline <black|blur|uniform>',
      '--ig-method <',
      '--window <value>',
      '--no-relu',
      '--layer <name>',
      '--method <list>',
      '--image <files...>',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(
      /--samples <value> +smoothgrad, smoothgrad-sq: noisy copies averaged per input \(default: 50\)/,
    );
  });

  it('exits with 2 and one clear line naming the flag, before any output is written', async () => {
    const out = path.join(tmp, 'bad.png');
    const cases: [string[], string][] = [
      [['--method', 'lime'], "Unknown explanation method 'lime'. Available: saliency"],
      [
        ['--method', 'saliency', '--samples', '5'],
        '--samples is a parameter of smoothgrad and smoothgrad-sq',
      ],
      [['--method', 'gradcam', '--layer', 'conv9'], "Unknown layer 'conv9'"],
      [['--target', 'cat'], "Unknown target class 'cat'"],
      [['--n', '0'], '--n must be a positive integer'],
      [['--attack', 'pgd'], 'pgd needs a budget: give --eps'],
      [['--eps', '0.1'], '--eps belongs to an attack; give --attack too'],
      [['--out', tmp], 'is a directory'],
      [['--out', path.join(tmp, 'x.jpg')], '--out must name a .png file'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(
        'explain',
        ...tiny,
        '--method',
        'saliency',
        ...args,
        ...(args.includes('--out') ? [] : ['--out', out]),
      );
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(message)]);
      expect(r.stderr).not.toContain('    at ');
    }
    const missing = await runCli(
      'explain',
      '--model',
      'mnist-cnn',
      '--image',
      path.join(tmp, 'no-such.png'),
      '--out',
      out,
    );
    expect([missing.code, missing.stderr]).toEqual([
      2,
      expect.stringContaining('no-such.png does not exist'),
    ]);
    expect(existsSync(out)).toBe(false);
  });
});

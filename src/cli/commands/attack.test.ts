import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACKS } from '../../attacks/registry.js';
import { writePng } from '../../data/node/image-file.js';
import { loadDataset } from '../../data/node/load-dataset.js';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { layoutAttackFigure, type AttackFigureRow } from '../../render/node/attack-figure.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { runCli, type CliRun } from '../test-utils/run-cli.js';

const run = (...args: string[]): Promise<CliRun> => runCli('attack', ...args);

const samples = path.join(realDataRoot(), 'imagenet-samples');
const darknetDir = path.join(
  process.env.ADVKIT_MODELS ?? path.join(path.dirname(realDataRoot()), 'models'),
  'darknet-tiny-imagenet',
);

let tmp: string;
let digits: Uint8Array;
const digitFile = (i: number): string => path.join(tmp, `digit${i}.png`);

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-attack-'));
  const test = await loadDataset('mnist', { split: 'test', download: false });
  digits = test.pixels.subarray(0, 3 * 784);
  for (const i of [0, 1, 2]) await writePng(digitFile(i), digits.subarray(i * 784, (i + 1) * 784), 28, 28, 1);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The layout the command draws for `rows` rows of 28x28 images (titles do not change sizes). */
function mnistLayout(rows: number): ReturnType<typeof layoutAttackFigure> {
  const img = { data: new Uint8Array(784), height: 28, width: 28, channels: 1 as const };
  const row: AttackFigureRow = {
    name: '',
    budget: '',
    original: img,
    adversarial: img,
    perturbation: img,
    clean: { label: '', confidence: 0 },
    adversarialPrediction: { label: '', confidence: 0 },
    success: false,
    distance: '',
  };
  return layoutAttackFigure(
    Array.from({ length: rows }, () => row),
    { title: 'x' },
  );
}

async function decodePng(
  file: string,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('advkit attack', () => {
  it('lists the attacks with their norms, budgets and parameter flags (attack --list and attacks)', async () => {
    const list = await run('--list');
    expect(list.code, list.stderr).toBe(0);
    for (const a of ATTACKS) expect(list.stdout).toContain(`${a.name}  ${a.title}`);
    expect(list.stdout).toContain('--rel-step-size');
    expect(list.stdout).toMatch(/norms: linf, l2, l1; budget: fixed/);

    const { code, stdout } = await runCli('attacks', '--json');
    expect(code).toBe(0);
    const listed = JSON.parse(stdout) as { name: string; norms: string[]; parameters: { flag: string }[] }[];
    expect(listed.map((a) => a.name)).toEqual(ATTACKS.map((a) => a.name));
    expect(listed.find((a) => a.name === 'pgd')?.parameters.map((p) => p.flag)).toContain('--random-start');

    const help = await run('--help');
    expect(help.stdout).toContain('Attack parameters');
    expect(help.stdout).toMatch(/--steps <value>/);
  });

  it('writes original | adversarial | perturbation for one image and prints before -> after', async () => {
    const out = path.join(tmp, 'one.png');
    const r = await run('--image', digitFile(0), '--eps', '0.3', '--steps', '20', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /digit0\.png \[eps 0\.3\]: 7 \d+\.\d% -> [0-689] \d+\.\d% {2}fooled \(Linf 0\.300 · L2 /,
    );
    expect(r.stdout).toContain(`wrote ${out}`);

    const png = await decodePng(out);
    const layout = mnistLayout(1);
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
    const [orig, adv, noise] = layout.panels[0];
    expect([orig, adv, noise].map((b) => [b.width, b.height])).toEqual([
      [224, 224],
      [224, 224],
      [224, 224],
    ]);
    // The original panel is the digit enlarged 8x with nearest neighbour.
    const at = (x: number, y: number): number => png.data[(y * png.width + x) * png.channels];
    for (const [px, py] of [
      [3, 3],
      [14, 10],
      [13, 20],
    ]) {
      expect(at(orig.left + px * 8 + 4, orig.top + py * 8 + 4)).toBe(digits[py * 28 + px]);
    }
    // Where the perturbation saturates it is white or black, never outside the panel.
    let changed = 0;
    for (let y = noise.top; y < noise.top + noise.height; y += 8) {
      for (let x = noise.left; x < noise.left + noise.width; x += 8) if (at(x, y) !== 128) changed++;
    }
    expect(changed).toBeGreaterThan(100);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('prints JSON with a result per image and eps, and draws a row per eps', async () => {
    const out = path.join(tmp, 'list.png');
    const before = tf.memory().numTensors;
    const r = await run(
      ...[
        '--image',
        digitFile(1),
        digitFile(2),
        '--attack',
        'fgsm',
        '--eps',
        '0.1,3/10',
        '--json',
        '--out',
        out,
      ],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const json = JSON.parse(r.stdout) as {
      attack: string;
      eps: number[];
      params: { loss: string };
      images: {
        source: string;
        clean: { label: string; confidence: number };
        results: {
          eps: number;
          prediction: { label: string };
          success: boolean;
          distances: { linf: number };
        }[];
      }[];
      cost: { gradientsPerImage: number }[];
      out: string;
    };
    expect(json.attack).toBe('fgsm');
    expect(json.eps).toEqual([0.1, 0.3]);
    expect(json.params).toEqual({ loss: 'ce' });
    expect(json.images.map((i) => i.clean.label)).toEqual(['2', '1']);
    for (const image of json.images) {
      expect(image.results.map((x) => x.eps)).toEqual([0.1, 0.3]);
      image.results.forEach((x) => expect(x.distances.linf).toBeLessThanOrEqual(x.eps + 1e-6));
    }
    expect(json.images[0].results[1].success).toBe(json.images[0].results[1].prediction.label !== '2');
    expect(json.cost.map((c) => c.gradientsPerImage)).toEqual([1, 1]);
    expect(json.out).toBe(out);
    const png = await decodePng(out);
    const layout = mnistLayout(4);
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
  });

  it('reaches a target class given by name or index', async () => {
    const r = await run('--image', digitFile(0), '--eps', '0.3', '--target', '3', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as {
      goal: string;
      images: { target: { label: string }; results: { success: boolean; prediction: { label: string } }[] }[];
    };
    expect(json.goal).toBe('target: 3 (class 3)');
    expect(json.images[0].target.label).toBe('3');
    expect(json.images[0].results[0]).toMatchObject({ success: true, prediction: { label: '3' } });
  });

  it('attacks a dataset sample: a gallery, a JSON summary beside it, a table', async () => {
    const out = path.join(tmp, 'gallery', 'mnist.png');
    const r = await run(
      '--data',
      'mnist',
      '--n',
      '8',
      '--eps',
      '0.1,0.3',
      '--steps',
      '10',
      '--seed',
      '3',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/eps +success +robust acc +median Linf +median L2/);
    expect(r.stdout).toMatch(/\n0\.3 +\d+\.\d% +\d+\.\d%/);
    const summary = JSON.parse(readFileSync(out.replace(/\.png$/, '.json'), 'utf8')) as {
      attack: string;
      n: number;
      seed: number;
      sample: string;
      cleanAccuracy: number;
      params: { steps: number };
      results: {
        eps: number;
        successRate: number;
        robustAccuracy: number;
        distances: { linf: { median: number | null }; l2: { mean: number | null } };
        gradientsPerExample: number;
        queriesPerExample: number;
        seconds: number;
      }[];
      model: string;
      gallery: string;
    };
    expect(summary).toMatchObject({
      attack: 'pgd',
      n: 8,
      seed: 3,
      sample: 'random (seed 3)',
      params: { steps: 10 },
    });
    expect(summary.cleanAccuracy).toBeGreaterThanOrEqual(7 / 8);
    expect(summary.results.map((x) => x.eps)).toEqual([0.1, 0.3]);
    const strong = summary.results[1];
    expect(strong.robustAccuracy).toBeLessThanOrEqual(1 / 8);
    expect(strong.successRate).toBeGreaterThanOrEqual(7 / 8);
    expect(strong.distances.linf.median).toBeLessThanOrEqual(0.3 + 1e-6);
    expect(strong.gradientsPerExample).toBeGreaterThan(0);
    expect(strong.gradientsPerExample).toBeLessThanOrEqual(10);
    expect(summary.model).toMatch(/mnist-cnn$/);
    expect(summary.gallery).toBe(out);
    const png = await decodePng(out);
    expect(png.width).toBeGreaterThan(3 * 84);
    expect(png.height).toBeGreaterThan(2 * 84);

    const json = await run(
      '--data',
      'mnist',
      '--n',
      '4',
      '--attack',
      'fgsm',
      '--eps',
      '0.2',
      '--eot',
      '3',
      '--json',
    );
    expect(json.code, json.stderr).toBe(0);
    const printed = JSON.parse(json.stdout) as {
      gallery: null;
      eot: number;
      results: { gradientsPerExample: number }[];
    };
    expect(printed.gallery).toBeNull();
    expect(printed.eot).toBe(3);
    expect(printed.results[0].gradientsPerExample).toBe(3);
  });

  it('--transfer-to crafts on the model and reports how many adversarial inputs fool the other model', async () => {
    const summary = path.join(tmp, 'transfer.json');
    const r = await run(
      '--n',
      '12',
      '--attack',
      'fgsm',
      '--eps',
      '0.3',
      '--transfer-to',
      bundledModelDir('mnist-cnn'),
      '--summary',
      summary,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /transfer to .*mnist-cnn \(clean accuracy 100\.0%\):\n {2}eps 0\.3: \d+\/\d+ transferred/,
    );
    const json = JSON.parse(readFileSync(summary, 'utf8')) as {
      results: { fooled: number }[];
      transfer: { results: { transferRate: number; eligible: number }[] };
    };
    // The same model on both sides: every example the attack fooled transfers.
    expect(json.transfer.results[0].transferRate).toBe(1);
    expect(json.transfer.results[0].eligible).toBe(json.results[0].fooled);
    const mismatch = await run('--n', '2', '--eps', '0.1', '--transfer-to', bundledModelDir('cifar-cnn'));
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/transfer needs the same input shape/);
  });

  it('names user mistakes in one line with exit code 2 and writes nothing', async () => {
    const out = path.join(tmp, 'never.png');
    const cases: [string[], RegExp][] = [
      [['--image', path.join(tmp, 'missing.png'), '--eps', '0.3'], /missing\.png does not exist/],
      [
        ['--image', digitFile(0), '--attack', 'nope', '--eps', '0.3'],
        /Unknown attack 'nope'\. Available: fgsm, bim, pgd/,
      ],
      [['--image', digitFile(0), '--eps', 'abc'], /--eps must be a number, a fraction such as 8\/255/],
      [['--image', digitFile(0), '--eps', '-0.1'], /--eps must be >= 0/],
      [['--image', digitFile(0)], /pgd needs a budget: give --eps/],
      [
        ['--image', digitFile(0), '--attack', 'fgsm', '--norm', 'l1', '--eps', '1'],
        /fgsm does not support --norm l1; it supports linf, l2/,
      ],
      [
        ['--image', digitFile(0), '--eps', '0.3', '--target', 'seven'],
        /--target 'seven' is not a class of this model\. .*0-9/,
      ],
      [
        ['--image', digitFile(0), '--eps', '0.3', '--target', '10'],
        /--target 10 is not a class of this model: indices go from 0 to 9/,
      ],
      [
        ['--image', digitFile(0), '--eps', '0.3', '--steps', '0'],
        /pgd: --steps must be an integer >= 1, got 0/,
      ],
      [
        ['--image', digitFile(0), '--eps', '0.3', '--random-start', 'maybe'],
        /pgd: --random-start must be true or false/,
      ],
      [
        ['--image', digitFile(0), '--attack', 'fgsm', '--eps', '0.3', '--steps', '5'],
        /fgsm does not take --steps\. Its parameters are: --loss\./,
      ],
      [['--image', digitFile(0), '--data', 'mnist', '--eps', '0.3'], /either --image or --data/],
      [['--data', 'nowhere-dataset', '--eps', '0.3'], /Unknown dataset 'nowhere-dataset'/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args, '--out', out);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
    const badOut = await run('--image', digitFile(0), '--eps', '0.3', '--out', path.join(tmp, 'x.jpg'));
    expect(badOut.code).toBe(2);
    expect(badOut.stderr).toContain("--out must name a .png file, got '");
    const unknown = await run('--image', digitFile(0), '--eps', '0.3', '--bogus', '1');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
  });
});

describe('advkit attack on the pretrained ImageNet model', () => {
  it('FGSM at eps 1/255 changes the label of a photo', async () => {
    const r = await run(
      ...['--model', darknetDir, '--image', path.join(samples, 'tfjs', 'cat.jpg'), '--attack', 'fgsm'],
      ...['--eps', '1/255', '--json'],
    );
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as {
      images: { clean: { label: string }; results: { success: boolean; prediction: { label: string } }[] }[];
    };
    const [image] = json.images;
    expect(image.clean.label).toBe('tabby');
    expect(image.results[0].success).toBe(true);
    expect(image.results[0].prediction.label).not.toBe('tabby');
  });

  it("a targeted L2 PGD turns a photo into a 'goldfish' and draws 224x224 panels", async () => {
    const out = path.join(tmp, 'goldfish.png');
    const r = await run(
      ...['--model', darknetDir, '--image', path.join(samples, 'captum', 'swan-3299528_1280.jpg')],
      ...['--attack', 'pgd', '--norm', 'l2', '--eps', '3', '--target', 'Goldfish', '--steps', '20'],
      ...['--rel-step-size', '0.1', '--out', out],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[eps 3\]: black_swan \d+\.\d% -> goldfish \d+\.\d% {2}reached the target/);
    const png = await decodePng(out);
    expect(png.width).toBe(2 * 16 + 3 * 224 + 2 * 12);
  });

  it('matches an image folder labelled in Keras order to the Darknet-order model by class name', async () => {
    const r = await run(
      ...['--model', darknetDir, '--data', path.join(samples, 'foolbox'), '--n', '2', '--attack', 'fgsm'],
      ...['--label-map', path.join(samples, 'imagenet_class_index.json'), '--eps', '2/255', '--json'],
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      cleanAccuracy: number;
      split: string;
      results: { successRate: number }[];
    };
    expect(summary.cleanAccuracy).toBe(1); // bull_mastiff and folding_chair, both right
    expect(summary.split).toBe('all');
    expect(summary.results[0].successRate).toBe(1);
  });

  it('suggests close class names for a misspelt target', async () => {
    const r = await run(
      '--model',
      darknetDir,
      '--image',
      path.join(samples, 'tfjs', 'cat.jpg'),
      '--eps',
      '1/255',
      '--target',
      'goldfsh',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--target 'goldfsh' is not a class of this model\. Did you mean: goldfish/);
  });
});

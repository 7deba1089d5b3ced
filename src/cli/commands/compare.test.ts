import { Command, CommanderError } from 'commander';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { AdvkitError } from '../../errors.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { parseAttacks, registerCompareCommand, type CompareSummary } from './compare.js';

interface Outcome {
  error: unknown;
  stdout: string;
  stderr: string;
}

/** Runs `advkit compare ...` on a program that has only this command; errors come back instead of exit codes. */
async function compare(...args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t) };
  const program = new Command('advkit')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerCompareCommand(program, io);
  program.commands.forEach((c) =>
    c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr }),
  );
  let error: unknown = null;
  try {
    await program.parseAsync(['node', 'advkit', 'compare', ...args]);
  } catch (err) {
    error = err;
  }
  return { error, stdout, stderr };
}

let tmp: string;
beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-compare-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const quick = ['--n', '10', '--attacks', 'fgsm,pgd:steps=5:rel-step-size=0.3', '--backend', 'wasm'];

describe('advkit compare', () => {
  it('writes the JSON and the Markdown table atomically and prints the table', async () => {
    const out = path.join(tmp, 'runs', 'mnist.json');
    const r = await compare(...quick, '--eps', '0.1,3/10', '--out', out);
    expect(r.error).toBeNull();
    const summary = JSON.parse(readFileSync(out, 'utf8')) as CompareSummary;
    expect(summary).toMatchObject({
      format: 'advkit-compare/1',
      norm: 'linf',
      eps: [0.1, 0.3],
      epsText: ['0.1', '3/10'],
      n: 10,
      dataset: { name: 'mnist', split: 'test', n: 10, sample: 'first n' },
      modelPaths: [bundledModelDir('mnist-cnn'), bundledModelDir('mnist-cnn-robust')],
    });
    expect(summary.attacks.map((a) => a.label)).toEqual(['FGSM', 'PGD-5']);
    expect(summary.attacks[1].params).toMatchObject({ steps: 5, relStepSize: 0.3 });
    const [standard, robust] = summary.models;
    expect(standard.name).toBe('mnist-cnn');
    expect(robust.worstCase[1]).toBeGreaterThan(standard.worstCase[1]);
    // Only the two files, no temporary leftovers.
    expect(readdirSync(path.dirname(out)).sort()).toEqual(['mnist.json', 'mnist.md']);
    const md = readFileSync(path.join(tmp, 'runs', 'mnist.md'), 'utf8');
    expect(md).toContain(
      '| model | clean | FGSM 0.1 | FGSM 3/10 | PGD-5 0.1 | PGD-5 3/10 | robust 0.1 | robust 3/10 |',
    );
    expect(md).toMatch(/\| mnist-cnn-robust \| \d+\.\d% \|/);
    expect(r.stdout).toMatch(/FGSM +PGD-5 +robust/);
    expect(r.stdout).toMatch(/model +clean +0\.1 +3\/10 +0\.1 +3\/10 +0\.1 +3\/10/);
    expect(r.stdout).toContain(`wrote ${out}, ${path.join(tmp, 'runs', 'mnist.md')}`);
  });

  it('prints JSON with --json and names the rows with --names', async () => {
    const r = await compare(
      ...quick,
      '--eps',
      '0.2',
      '--names',
      'standard,robust',
      '--attacks',
      'fgsm',
      '--json',
    );
    expect(r.error).toBeNull();
    const summary = JSON.parse(r.stdout) as CompareSummary;
    expect(summary.models.map((m) => m.name)).toEqual(['standard', 'robust']);
    expect(summary.models[0].worstCase).toEqual(summary.models[0].attacks[0].accuracy);
  });

  it('compares two-class CIFAR models on the images of their two classes', async () => {
    const r = await compare(
      '--models',
      'cifar-linear,cifar-linear-robust',
      '--n',
      '60',
      '--norm',
      'l2',
      '--eps',
      '1.25,100',
      '--json',
    );
    expect(r.error).toBeNull();
    const summary = JSON.parse(r.stdout) as CompareSummary;
    expect(summary.dataset).toMatchObject({ name: 'cifar10', n: 60 });
    expect(summary.dataset.notes.join('\n')).toContain('classes airplane, cat');
    const [standard, robust] = summary.models;
    // Seed 002: the robust linear model resists L2 1.25 and, like every model, falls at L2 100.
    expect(robust.worstCase[0]).toBeGreaterThan(standard.worstCase[0] + 0.2);
    expect(robust.worstCase[1]).toBe(0);
    expect(r.stderr).toContain('note: partial test set');
  });

  it.each([
    [['--eps', 'abc'], 'INVALID_ARGUMENT', /--eps must be a number/],
    [['--eps', '0.1,-1'], 'INVALID_ARGUMENT', /--eps must be >= 0/],
    [['--attacks', 'fgsm,nope'], 'INVALID_ARGUMENT', /Unknown attack 'nope'/],
    [['--attacks', 'pgd:foo=1'], 'INVALID_ARGUMENT', /'foo=1' in 'pgd:foo=1' is not a parameter of pgd/],
    [['--attacks', 'pgd:steps=0'], 'INVALID_ARGUMENT', /--steps must be an integer >= 1/],
    [['--attacks', 'fgsm,'], 'INVALID_ARGUMENT', /comma-separated list/],
    [['--out', 'table.csv'], 'INVALID_ARGUMENT', /--out must name a .json file/],
    [['--names', 'a'], 'INVALID_ARGUMENT', /one non-empty name per model \(2\), got 1/],
    [
      ['--models', 'no/such/model'],
      'NOT_FOUND',
      /no model directory 'no\/such\/model' .* and no bundled model of that name \(bundled: .*mnist-cnn-robust/,
    ],
  ] as const)('refuses %j before loading data', async (args, code, message) => {
    const r = await compare(...args);
    expect(r.error).toBeInstanceOf(AdvkitError);
    expect(r.error).toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('refuses models that cannot be compared and budgets it cannot guess', async () => {
    const mixed = [bundledModelDir('mnist-cnn'), bundledModelDir('cifar-cnn')].join(',');
    const shapes = await compare('--models', mixed, '--eps', '0.1', '--n', '5');
    expect(shapes.error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/input shapes 28x28x1 vs 32x32x3/),
    });
    const norm = await compare('--norm', 'l1', '--eps', '5', '--n', '5');
    expect(norm.error).toMatchObject({ message: expect.stringMatching(/fgsm does not support the l1 norm/) });
    const data = await compare('--data', 'cifar10', '--n', '5');
    expect(data.error).toMatchObject({
      message: expect.stringMatching(/'cifar10' has 32x32x3 images but the models expect 28x28x1/),
    });
    const guess = await compare('--data', 'fashion-mnist', '--n', '5');
    expect(guess.error).toMatchObject({
      message: expect.stringMatching(/Give --eps: there are no default budgets for linf on 'fashion-mnist'/),
    });
  });

  it('rejects bad flag values with a usage error', async () => {
    const r = await compare('--n', '0');
    expect(r.error).toBeInstanceOf(CommanderError);
    expect(r.stderr).toContain('--n must be a positive integer');
  });
});

describe('parseAttacks', () => {
  it('reads names with parameters in camelCase or kebab-case', () => {
    const specs = parseAttacks('fgsm, pgd:steps=20:relStepSize=0.1:random-start=false');
    expect(specs.map((s) => (typeof s.attack === 'string' ? s.attack : s.attack.name))).toEqual([
      'fgsm',
      'pgd',
    ]);
    expect(specs[1].params).toEqual({ steps: 20, relStepSize: 0.1, randomStart: false });
  });
});

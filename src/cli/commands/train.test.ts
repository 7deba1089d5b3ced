import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { runCli, type CliRun } from '../test-utils/run-cli.js';

const run = (...args: string[]): Promise<CliRun> => runCli('train', ...args);

let tmp: string;
beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-train-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const small = ['--data', 'mnist', '--arch', 'mlp', '--hidden', '16', '--n', '256', '--epochs', '1'];
const fast = ['--batch-size', '64', '--backend', 'wasm', '--eval-split', 'none'];

describe('advkit train --adversarial', () => {
  it('trains a robust model, shows clean and adversarial metrics, and records how in advkit.json', async () => {
    const out = path.join(tmp, 'pgd');
    const r = await run(
      ...small,
      ...fast,
      ...['--adversarial', 'pgd', '--eps', '8/255', '--attack-steps', '3', '--eps-warmup', '0.5'],
      ...['--clean-weight', '0.25', '--label-smoothing', '0.1', '--out', out, '--json'],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('adversarial pgd linf eps 0.03137');
    expect(r.stderr).toMatch(
      /epoch 1\/1: loss [\d.]+, clean acc [\d.]+%, adversarial acc [\d.]+% \(eps 0.0314\)/,
    );
    const summary = JSON.parse(r.stdout) as { adversarial: { method: string; eps: number } };
    expect(summary.adversarial).toMatchObject({ method: 'pgd', eps: 8 / 255 });
    const meta = JSON.parse(readFileSync(path.join(out, 'advkit.json'), 'utf8')) as {
      training: { adversarial: Record<string, unknown> };
      metrics: Record<string, number>;
    };
    expect(meta.training.adversarial).toEqual({
      method: 'pgd',
      norm: 'linf',
      eps: 8 / 255,
      epsWarmup: 0.5,
      steps: 3,
      stepSize: (2.5 * 8) / 255 / 3,
      randomStart: true,
      cleanWeight: 0.25,
    });
    expect(meta.metrics.trainAdversarialAccuracy).toBeGreaterThan(0);
    expect(meta.metrics.trainCleanAccuracy).toBeGreaterThan(0);
  });

  it('fgsm-rs records its guard; free and trades take their own flags', async () => {
    const fgsm = await run(
      ...small,
      ...fast,
      ...['--adversarial', 'fgsm-rs', '--eps', '0.1', '--guard-batch', '32', '--guard-steps', '2'],
      ...['--out', path.join(tmp, 'fgsm')],
    );
    expect(fgsm.code, fgsm.stderr).toBe(0);
    expect(fgsm.stderr).toMatch(/guard PGD acc [\d.]+%/);
    const meta = JSON.parse(readFileSync(path.join(tmp, 'fgsm', 'advkit.json'), 'utf8')) as {
      training: { guard: { source: string; count: number; robustAccuracy: number[] } };
    };
    expect(meta.training.guard).toMatchObject({ source: 'train', count: 32 });
    expect(meta.training.guard.robustAccuracy).toHaveLength(1);
    for (const flags of [
      ['--adversarial', 'free', '--replays', '2'],
      ['--adversarial', 'trades', '--beta', '3', '--attack-steps', '2', '--norm', 'l2'],
    ]) {
      const r = await run(
        ...small,
        ...fast,
        ...flags,
        '--eps',
        '0.3',
        '--out',
        path.join(tmp, flags[1]),
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { adversarial: { method: string } }).adversarial.method).toBe(flags[1]);
    }
  });

  it('refuses flags that do not fit (adversarial and schedule options), with the flag named', async () => {
    const out = ['--out', path.join(tmp, 'never')];
    const cases: [string[], RegExp][] = [
      [
        ['--eps', '0.3'],
        /--eps applies only to adversarial training: add --adversarial pgd\|fgsm-rs\|free\|trades/,
      ],
      [['--adversarial', 'pgd'], /--adversarial pgd needs --eps/],
      [
        ['--adversarial', 'pgd', '--eps', '0.3', '--beta', '6'],
        /--beta applies to --adversarial trades, not pgd/,
      ],
      [
        ['--adversarial', 'pgd', '--eps', '0.3', '--no-guard'],
        /--no-guard applies to --adversarial fgsm-rs, not pgd/,
      ],
      [['--adversarial', 'free', '--eps', '0.3', '--norm', 'l2'], /'free' supports the norm linf, not 'l2'/],
      [['--adversarial', 'pgd', '--eps', '2'], /'eps' 2 is outside \(0, 1\]/],
      [
        ['--adversarial', 'mart', '--eps', '0.3'],
        /--adversarial must be one of pgd, fgsm-rs, free, trades; got 'mart'/,
      ],
      [['--adversarial', 'pgd', '--eps', '-1'], /--eps must be a positive number/],
      [
        ['--adversarial', 'pgd', '--eps', '0.3', '--attack-steps', '0'],
        /--attack-steps must be a positive integer/,
      ],
      [
        ['--adversarial', 'pgd', '--eps', '0.3', '--clean-weight', '1'],
        /--clean-weight must be >= 0 and < 1/,
      ],
      [['--schedule', 'onecycle', '--pct-start', '0'], /--pct-start must be > 0 and <= 1, got '0'/],
      [['--schedule', 'onecycle', '--anneal', 'cubic'], /--anneal must be one of cos, linear/],
      [['--optimizer', 'adam', '--beta2', '1'], /--beta2 must be >= 0 and <= 0.999999, got '1'/],
    ];
    for (const [flags, message] of cases) {
      const r = await run(...small, ...fast, ...flags, ...out);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr, flags.join(' ')).toMatch(message);
    }
  });
});

describe('advkit train: flags, checkpoints and outputs', () => {
  it('every message names the flag typed, never a library option', async () => {
    const out = ['--out', path.join(tmp, 'never')];
    const cases: [string[], RegExp][] = [
      [['--schedule', 'step'], /The 'step' schedule needs --step-size \(epochs\) or --milestones \(epochs\)/],
      [['--step-size', '2'], /Training options --step-size and --milestones need schedule 'step'/],
      [['--schedule', 'onecycle', '--pct-start', '1'], /--pct-start must be in \(0, 1\), got 1/],
      [['--attack-step-size', '0.1'], /--attack-step-size applies only to adversarial training/],
      [['--adversarial', 'trades', '--eps', '0.3', '--random-start', 'false'], /--random-start applies to/],
      [['--hidden', '16,x'], /--hidden must be a comma-separated list of numbers, got '16,x'/],
    ];
    for (const [flags, message] of cases) {
      const r = await run(...small, ...fast, ...flags, ...out);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr, flags.join(' ')).toMatch(message);
      expect(r.stderr, flags.join(' ')).not.toMatch(/'(stepSize|pctStart|attackStepSize|randomStart)'/);
    }
  });

  it("refuses to discard an interrupted run's checkpoint without --resume or --restart (exit 2)", async () => {
    const out = path.join(tmp, 'left-over');
    mkdirSync(`${out}.checkpoint`, { recursive: true });
    writeFileSync(path.join(`${out}.checkpoint`, 'checkpoint.advkit'), 'an interrupted run');
    const r = await run(...small, ...fast, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /holds the checkpoint of a run that did not finish: add --resume to continue it, or --restart to discard it and start afresh/,
    );
    expect(r.stderr).not.toContain('training mlp');
    const restarted = await run(...small, ...fast, '--out', out, '--restart');
    expect(restarted.code, restarted.stderr).toBe(0);
    // A finished run's checkpoint stays: --resume saves the same model again, a plain rerun starts afresh.
    expect(existsSync(`${out}.checkpoint`)).toBe(true);
    const rerun = await run(...small, ...fast, '--out', out);
    expect(rerun.code, rerun.stderr).toBe(0);
    const resumed = await run(...small, ...fast, '--out', path.join(tmp, 'fresh'), '--resume');
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/--resume: no checkpoint at .*Run without --resume to start/);
  });

  it('an --out that is a file fails before any training', async () => {
    const file = path.join(tmp, 'out-file');
    writeFileSync(file, 'x');
    const r = await run(...small, ...fast, '--out', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out '.*out-file' is a file; expected a directory/);
    expect(r.stderr).not.toContain('training mlp');
  });

  it('--help lists every option of the spec and of the command', async () => {
    const r = await run('--help');
    for (const flag of [
      ...['--data', '--arch', '--out', '--n', '--eval-split', '--batch-size', '--weight-decay-mode'],
      ...['--pct-start', '--checkpoint-every', '--hidden', '--batch-norm', '--widen', '--mean', '--std'],
      ...['--adversarial', '--eps', '--attack-steps', '--attack-step-size', '--random-start', '--no-guard'],
      ...[
        '--guard-batch',
        '--guard-steps',
        '--checkpoint-dir',
        '--resume',
        '--restart',
        '--backend',
        '--json',
      ],
    ]) {
      expect(r.stdout, flag).toContain(flag);
    }
  });
});

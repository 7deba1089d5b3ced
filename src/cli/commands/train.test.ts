import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

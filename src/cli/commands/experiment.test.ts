import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { scratchDir } from '../../data/test-utils/scratch.js';
import { runCli } from '../test-utils/run-cli.js';

beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
});

const NRF = ['experiment', 'non-robust-features'];

describe('advkit experiment non-robust-features', () => {
  it('refuses bad flags with one line naming the flag and exit code 2, before any work', async () => {
    const out = path.join(scratchDir(), 'out');
    const file = path.join(scratchDir(), 'a-file');
    writeFileSync(file, 'x');
    for (const [args, expected] of [
      [['--variant', 'cifar100'], '--variant must be one of binary, cifar10'],
      [['--eps', '0'], '--eps must be a positive number'],
      [['--steps', '2.5'], '--steps must be a positive integer'],
      [['--datasets', 'det,random'], "--datasets must list det and/or rand, got 'random'"],
      [['--early-stop', 'maybe'], '--early-stop must be true or false'],
      [['--model', path.join(out, 'no-model')], 'no model directory'],
    ] as const) {
      const r = await runCli(...NRF, ...args, '--out', out);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(expected);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const onFile = await runCli(...NRF, '--out', file);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toContain("--out '");
    expect(onFile.stderr).toContain('is a file');
    expect((await runCli(...NRF)).stderr).toContain("required option '--out <dir>'");
    expect((await runCli(...NRF, '--out', out, '--epsilon', '1')).stderr).toContain(
      "unknown option '--epsilon'",
    );
    expect(existsSync(out)).toBe(false);
  });

  it('writes the result and the picture to --out, the state beside them, and says how to continue', async () => {
    const out = path.join(scratchDir(), 'nrf');
    const args = [...NRF, '--n', '20', '--steps', '2', '--step-size', '1', '--epochs', '1', '--out', out];
    const r = await runCli(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { task: string; datasets: { rule: string }[]; command: string };
    expect(result.task).toBe('non-robust-features');
    expect(result.datasets.map((d) => d.rule)).toEqual(['det']);
    expect(JSON.parse(readFileSync(path.join(out, 'non-robust-features.json'), 'utf8'))).toEqual(result);
    expect(existsSync(path.join(out, 'pairs.png'))).toBe(true);
    expect(existsSync(path.join(out, 'state', 'experiment.json'))).toBe(true);
    const text = await runCli(...args);
    expect(text.stdout).toMatch(
      /each image labelled with the other class: .* test accuracy \d+\.\d% \(chance 50\.0%\)/,
    );
    expect(text.stderr).toContain('note: continuing the run');
    const changed = await runCli(...args, '--eps', '1');
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('attack.eps was 2, now 1');
    expect(changed.stderr).toContain('--restart');
  });
});

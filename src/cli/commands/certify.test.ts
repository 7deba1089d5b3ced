import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-certify-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = ['--model', 'mnist-cnn', '--sigma', '0.25', '--n', '2', '--n0', '20', '--samples', '200'];

describe('advkit certify', () => {
  it('writes certify.json and certify.svg, prints certified accuracy per radius, and continues from its state', async () => {
    const out = path.join(tmp, 'run');
    const r = await runCli('certify', ...tiny, '--radii', '0,0.25', '--out', out, '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ task: 'certify', settings: { sigma: 0.25, samples: 200, n0: 20 } });
    expect(result.certifiedAccuracy.map((c: { radius: number }) => c.radius)).toEqual([0, 0.25]);
    expect(JSON.parse(readFileSync(path.join(out, 'certify.json'), 'utf8'))).toEqual(result);
    expect(readFileSync(path.join(out, 'certify.svg'), 'utf8')).toMatch(/^<svg/);
    expect(existsSync(path.join(out, 'state', 'certify-state.json'))).toBe(true);
    expect(r.stderr).toContain('certifying 2 of 2 images of mnist-cnn');

    const again = await runCli('certify', ...tiny, '--radii', '0,0.25', '--out', out);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('2 of 2 images read back');
    expect(again.stdout).toMatch(/L2 radius {2}certified accuracy\n0 +\d+\.\d%\n0\.25 +\d+\.\d%/);
    expect(again.stdout).toContain('2 read back from the state');
    expect(again.stdout).toContain('no radius exceeds sigma * Phi^-1(alpha^(1/N))');
    expect(again.stdout).toContain(
      `wrote ${path.join(out, 'certify.json')}, ${path.join(out, 'certify.svg')}, ${path.join(out, 'report.html')}`,
    );

    const other = await runCli('certify', ...tiny, '--seed', '1', '--out', out);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('seed was 0, now 1');
    expect(other.stderr).toContain('--restart');
    const restarted = await runCli('certify', ...tiny, '--seed', '1', '--restart', '--out', out);
    expect(restarted.code).toBe(0);
    expect(restarted.stderr).toContain('discarded the state of another run');
  });

  it('checks --out before any work and names bad flag values with what is expected', async () => {
    const file = path.join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const r = await runCli('certify', ...tiny, '--out', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a file; expected a directory');
    const out = path.join(tmp, 'bad');
    const cases: [string[], string][] = [
      [['--sigma', '0'], '--sigma must be a positive number'],
      [['--alpha', '1'], '--alpha must be > 0 and < 1'],
      [['--samples', '10'], '--samples (10, the noisy copies'],
      [['--radii', '0,x'], '--radii must be L2 radii >= 0'],
    ];
    for (const [flags, message] of cases) {
      const bad = await runCli('certify', ...tiny, ...flags, '--out', out);
      expect(bad.code, flags.join(' ')).toBe(2);
      expect(bad.stderr).toContain(message);
    }
    const noSigma = await runCli('certify', '--model', 'mnist-cnn', '--out', out);
    expect(noSigma.code).toBe(2);
    expect(noSigma.stderr).toContain('--sigma is required: the standard deviation of the Gaussian noise');
    expect(existsSync(path.join(out, 'certify.json'))).toBe(false);
  });
});

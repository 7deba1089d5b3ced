import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { runCli } from '../test-utils/run-cli.js';

let tmp: string;
beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-detect-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = [
  '--detector',
  'feature-squeezing',
  '--attacks',
  'fgsm,adaptive',
  '--squeezers',
  'bits:3',
  '--n',
  '10',
  '--calibration',
  '40',
  '--adaptive-steps',
  '5',
];

describe('advkit detect', () => {
  it('writes detect.json and detect.md, prints the table, and continues from its state', async () => {
    const out = path.join(tmp, 'run');
    const r = await runCli('detect', ...tiny, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/detector +FPR +attack +success +detected +adv\+undetected/);
    expect(r.stdout).toMatch(/feature-squeezing +\d+\.\d% +fgsm/);
    expect(r.stdout).toMatch(/feature-squeezing +\d+\.\d% +adaptive/);
    const result = JSON.parse(readFileSync(path.join(out, 'detect.json'), 'utf8'));
    expect(result).toMatchObject({ task: 'detect', model: { name: 'mnist-cnn' }, settings: { eps: 0.3 } });
    expect(readFileSync(path.join(out, 'detect.md'), 'utf8')).toContain('| detector | FPR (held out) |');
    expect(existsSync(path.join(out, 'state', 'detect-state.json'))).toBe(true);
    const again = await runCli('detect', ...tiny, '--out', out);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('2 rows read back from the state');
  });

  it('names bad flag values with what is expected, without a stack trace', async () => {
    const out = path.join(tmp, 'bad');
    const cases: [string[], string][] = [
      [['--detector', 'magnet'], "unknown detector 'magnet'"],
      [['--fpr', '0'], '--fpr must be > 0 and < 1'],
      [['--eps', '0.1,0.2'], 'one Linf budget'],
      [['--n', '0'], '--n must be a positive integer'],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli('detect', ...flags, '--out', out);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain('    at ');
    }
  });
});

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import type { EvaluationReport } from '../../evaluate/report-types.js';
import { runCli, type CliRun } from '../test-utils/run-cli.js';

const run = (...args: string[]): Promise<CliRun> => runCli('evaluate', ...args);

let tmp: string;
beforeAll(() => {
  process.env.ADVKIT_DATA = realDataRoot();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-evaluate-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('advkit evaluate', () => {
  it('writes the JSON report and the HTML page, prints the table, and leaves no state behind', async () => {
    const out = path.join(tmp, 'run');
    const r = await run(
      '--n',
      '6',
      '--eps',
      '0.1,0.3',
      '--suite',
      'pgd',
      '--no-sanity',
      '--gallery',
      '2',
      '--out',
      out,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mnist-cnn-robust on mnist test \(n=6\), Linf, suite pgd/);
    expect(r.stdout).toMatch(/^0\.3 +100\.0% +\d+\.\d% +\d+\.\d%$/m);
    expect(r.stdout).toMatch(/^sanity checks: skipped \(--no-sanity\); nothing was checked/m);
    expect(readdirSync(out).sort()).toEqual(['evaluation.json', 'report.html']);
    const report = JSON.parse(readFileSync(path.join(out, 'evaluation.json'), 'utf8')) as EvaluationReport;
    expect(report.eps).toEqual([0.1, 0.3]);
    expect(report.threat_model).toBe('Linf');
    expect(report.dataset).toMatchObject({ name: 'mnist', split: 'test', n: 6 });
    expect(report.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.sanity_checked).toBe(false);
    // the engine that ran: native where its addon was built at install, wasm otherwise
    expect(report.command).toMatch(
      /^advkit evaluate --data mnist --split test --n 6 --norm linf --eps 0.1,0.3 --suite pgd --seed 0 --batch-size 128 --backend (native|wasm)$/,
    );
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain(report.command);
    expect(html.match(/data:image\/png;base64/g)?.length).toBe(2 * 2 * 3);
  });

  it('refuses a damaged state file with what to do, and --no-resume starts afresh', async () => {
    const out = path.join(tmp, 'damaged');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'evaluation.state.json'), '{"format": "advkit-evalu');
    const args = [
      '--n',
      '4',
      '--eps',
      '0.3',
      '--suite',
      'pgd',
      '--no-sanity',
      '--gallery',
      '0',
      '--out',
      out,
    ];
    const refused = await run(...args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/evaluation\.state\.json is not valid JSON.*Remove it to start afresh/);
    const fresh = await run(...args, '--no-resume', '--eot', '2');
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['evaluation.json', 'report.html']);
    const report = JSON.parse(readFileSync(path.join(out, 'evaluation.json'), 'utf8')) as EvaluationReport;
    expect(report.suite.attacks.map((a) => a.eot)).toEqual([2]);
    expect(report.command).toMatch(/ --suite pgd --eot 2 --seed 0 /);
  });

  it('says what was wrong with bad options, before doing any work', async () => {
    const cases: [string[], RegExp][] = [
      [['--suite', 'strongest'], /Unknown suite or attack 'strongest'/],
      [['--eot', '0'], /--eot must be a positive integer, got '0'/],
      [['--eps', '0'], /--eps must be positive/],
      [['--eps', 'big'], /--eps must be a number/],
      [['--norm', 'l1', '--suite', 'square', '--eps', '5'], /'square' has no l1 version/],
      [['--data', 'cifar10', '--n', '2'], /32x32x3 images but the model expects 28x28x1/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args, '--out', path.join(tmp, 'bad'));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(path.join(tmp, 'bad', 'evaluation.json'))).toBe(false);
  });
});

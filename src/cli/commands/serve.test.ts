import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { runCli } from '../test-utils/run-cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-serve-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('advkit serve', () => {
  it('lists its flags', async () => {
    const r = await runCli('serve', '--help');
    expect(r.code).toBe(0);
    for (const flag of [
      '--models',
      '--host',
      '--port',
      '--api-keys',
      '--workers',
      '--cors',
      '--max-batch',
      '--max-cost',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('127.0.0.1');
  });

  it('refuses a missing or empty keys file and bad numbers as usage errors (exit 2)', async () => {
    const missing = await runCli('serve', '--api-keys', path.join(tmp, 'nope.txt'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--api-keys: cannot read .*nope\.txt/);
    const empty = path.join(tmp, 'empty.txt');
    writeFileSync(empty, '# no keys yet\n\n');
    expect((await runCli('serve', '--api-keys', empty)).stderr).toMatch(/holds no key/);
    const workers = await runCli('serve', '--workers', 'two');
    expect(workers.code).toBe(2);
    expect(workers.stderr).toContain("--workers must be a positive integer, got 'two'");
  });

  it('starts, prints its URL, serves with keys, and stops cleanly on SIGTERM', async () => {
    const keys = path.join(tmp, 'keys.txt');
    writeFileSync(keys, '# operators\n0123456789abcdef-key\n');
    let stdout = '';
    const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stdout += t) };
    const stateDir = path.join(tmp, 'state');
    const running = main(
      ['node', 'advkit', 'serve', '--port', '0', '--api-keys', keys, '--state-dir', stateDir, '--quiet'],
      io,
    );
    const until = Date.now() + 30_000;
    while (!/http:\/\/127\.0\.0\.1:\d+/.test(stdout) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)?.[0];
    expect(url).toBeDefined();
    expect(stdout).toContain('1 API keys');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    const models = await fetch(`${url}/v1/models`, {
      headers: { authorization: 'Bearer 0123456789abcdef-key' },
    });
    expect(models.status).toBe(200);
    // The evaluation jobs are served too (embedded runner, files under --state-dir), and run to completion.
    const auth = { authorization: 'Bearer 0123456789abcdef-key', 'content-type': 'application/json' };
    const submitted = await fetch(`${url}/v1/evaluations`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'mnist-cnn', n: 2, eps: '0.1', suite: 'apgd-ce', sanity: false }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    let status = '';
    for (const end = Date.now() + 60_000; Date.now() < end && status !== 'completed';) {
      await new Promise((r) => setTimeout(r, 250));
      const job = (await (await fetch(`${url}/v1/evaluations/${id}`, { headers: auth })).json()) as {
        status: string;
      };
      status = job.status;
      expect(status).not.toBe('failed');
    }
    expect(status).toBe('completed');
    expect(existsSync(path.join(stateDir, 'jobs', id, 'report.html'))).toBe(true);
    process.emit('SIGTERM');
    expect(await running).toBe(0);
    expect(stdout).toContain('SIGTERM, closing');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

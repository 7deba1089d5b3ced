import { describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

// Taking and computing chunks, SIGKILL and SIGTERM: src/server/jobs/bullmq-runner.test.ts runs `advkit worker`.
describe('advkit worker', () => {
  it('needs --redis', async () => {
    const run = await runCli('worker');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--redis');
  });

  it('refuses a --redis that is not a Redis URL, and a bad --concurrency, before connecting', async () => {
    const url = await runCli('worker', '--redis', 'http://localhost:6379');
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('not a Redis URL');
    const concurrency = await runCli('worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '0');
    expect(concurrency.code).toBe(2);
    expect(concurrency.stderr).toContain('--concurrency must be a positive integer');
  });
});

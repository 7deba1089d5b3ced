import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // wasm and the engine are process-global; run files in separate forks, two at a time (two cores).
    pool: 'forks',
    maxWorkers: 2,
  },
});

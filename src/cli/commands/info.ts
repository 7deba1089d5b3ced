import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { ADVKIT_VERSION } from '../../version.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { resolveDataDir } from '../../node.js';
import type { CliIo } from '../main.js';

export function registerInfoCommand(program: Command, io: CliIo): void {
  program
    .command('info')
    .description('Show the version, the compute backend in use and where datasets are looked for.')
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const backend = await initNodeBackend({ backend: opts.backend });
      const info = {
        advkit: ADVKIT_VERSION,
        tfjs: tf.version_core,
        node: process.version,
        backend,
        threads: backend === 'wasm' ? getThreadsCount() : undefined,
        dataDirs: resolveDataDir(),
      };
      if (opts.json) {
        io.stdout(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      io.stdout(
        [
          `advkit ${info.advkit} (tfjs ${info.tfjs}, node ${info.node})`,
          `backend: ${backend}${info.threads !== undefined ? ` (${info.threads} thread(s))` : ''}`,
          `datasets are looked for in: ${info.dataDirs.join(', ')}`,
        ].join('\n') + '\n',
      );
    });
}

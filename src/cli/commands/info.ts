import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { ADVKIT_VERSION } from '../../version.js';
import { engineName } from '../../backend/backend.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { loadNativeAddon } from '../../backend/native/load-native-node.js';
import { nativeEngineInfo } from '../../backend/native/native-kernels.js';
import { resolveDataDir } from '../../node.js';
import type { CliIo } from '../main.js';

/** The native engine: what it runs on when in use, otherwise why not. */
export type NativeStatus =
  { inUse: true; onednn: string; isa: string; threads: number } | { inUse: false; reason: string };

function nativeStatus(engine: string): NativeStatus {
  const info = nativeEngineInfo();
  if (engine === 'native' && info !== undefined) {
    return { inUse: true, onednn: info.onednn, isa: info.isa, threads: info.threads };
  }
  const load = loadNativeAddon();
  if ('reason' in load) return { inUse: false, reason: load.reason };
  return { inUse: false, reason: `the native engine is built, but the '${engine}' backend was chosen` };
}

function engineLine(engine: string, threads: number | undefined, native: NativeStatus): string {
  if (native.inUse) {
    return `engine: native (oneDNN ${native.onednn}, ${native.isa}, ${native.threads} thread(s))`;
  }
  const line = `engine: ${engine}${threads !== undefined ? ` (${threads} thread(s))` : ''}`;
  return `${line}\n  not native: ${native.reason}`;
}

export function registerInfoCommand(program: Command, io: CliIo): void {
  program
    .command('info')
    .description(
      'Show the version, the engine in use (and why not native) and where datasets are looked for.',
    )
    .option('--backend <name>', 'compute backend: native, wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const backend = await initNodeBackend({ backend: opts.backend });
      const engine = engineName();
      const native = nativeStatus(engine);
      const info = {
        advkit: ADVKIT_VERSION,
        tfjs: tf.version_core,
        node: process.version,
        backend,
        engine,
        threads: native.inUse ? native.threads : engine === 'wasm' ? getThreadsCount() : undefined,
        native,
        dataDirs: resolveDataDir(),
      };
      if (opts.json) {
        io.stdout(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      io.stdout(
        [
          `advkit ${info.advkit} (tfjs ${info.tfjs}, node ${info.node})`,
          engineLine(engine, info.threads, native),
          `datasets are looked for in: ${info.dataDirs.join(', ')}`,
        ].join('\n') + '\n',
      );
    });
}

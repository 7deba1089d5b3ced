import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, getThreadsCount, setThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import type { Worker } from 'node:worker_threads';
import { invalidArgument } from '../errors.js';

/**
 * Multithreaded tfjs wasm under Node.
 *
 * tfjs disables wasm threads in Node (tfjs issue #3830): it hands emscripten its pthread worker script and its
 * main script as `blob:` URLs, which Node's worker_threads cannot load. Here the threaded build is started
 * directly with both scripts as files (the worker script written once to the temp directory), then wrapped in
 * the package's own BackendWasm. Two more details make it work and exit cleanly:
 * - the C++ side sizes its XNNPACK thread pool as min(requested, logical cores / 2), assuming hyper-threading,
 *   so on a 2-core machine it never goes above 1; the core count it reads comes from os.cpus() in Node, which is
 *   widened for the moment the module starts;
 * - emscripten keeps its pthread workers referenced, which would keep Node alive after the program ends; they
 *   are unref'd (the thread pool waits on shared memory, not on the event loop).
 * Any failure falls back to the stock single-threaded backend.
 */

const require = createRequire(import.meta.url);
const WASM_PRIORITY = 2;
const START_TIMEOUT_MS = 30_000;

type WasmModule = ConstructorParameters<typeof BackendWasm>[0];
interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  PThread: { runningWorkers: Worker[]; unusedWorkers: Worker[] };
}
interface FactoryConfig {
  mainScriptUrlOrBlob: string;
  locateFile(file: string, prefix: string): string;
}
type ThreadedFactory = (config: FactoryConfig) => Promise<WasmModule & ThreadedModule>;

/** Threads for wasm: ADVKIT_THREADS when set (a positive integer), else the number of cores. */
export function resolveThreadCount(value: string | undefined = process.env.ADVKIT_THREADS): number {
  if (value === undefined || value.trim() === '') return os.availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw invalidArgument(`ADVKIT_THREADS must be a positive integer, got '${value}'.`, {
      ADVKIT_THREADS: value,
    });
  }
  return n;
}

/**
 * Make the 'wasm' backend start multithreaded with `threads` threads (no-op for 1 thread, or when wasm is
 * already running: a started backend cannot change its thread pool). Call before `tf.setBackend('wasm')`.
 */
export function useThreadedWasm(threads: number): void {
  if (threads <= 1 || tf.findBackend('wasm') !== null) return;
  const stockFactory = tf.findBackendFactory('wasm');
  if (stockFactory === null) return;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        return await startThreadedBackend(threads);
      } catch {
        return stockFactory();
      }
    },
    WASM_PRIORITY,
  );
}

/** Threads the running wasm backend uses (1 when it is single-threaded or not started). */
export function wasmThreadCount(): number {
  try {
    return getThreadsCount();
  } catch {
    return 1;
  }
}

async function startThreadedBackend(threads: number): Promise<BackendWasm> {
  const mainScript =
    require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const binary = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm');
  const factory = require(mainScript) as ThreadedFactory;
  const workerScript = writeWorkerScript();
  const realCpus = os.cpus;
  const cpus = realCpus();
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  let module: WasmModule & ThreadedModule;
  try {
    module = await withTimeout(
      factory({
        mainScriptUrlOrBlob: mainScript,
        locateFile: (file) => (file.endsWith('.worker.js') ? workerScript : binary),
      }),
    );
  } finally {
    os.cpus = realCpus;
  }
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  setThreadsCount(threads);
  const backend = new BackendWasm(module);
  for (const worker of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) worker.unref();
  return backend;
}

/** The emscripten pthread worker script as a file (written once per tfjs version, atomically). */
function writeWorkerScript(): string {
  const file = path.join(os.tmpdir(), `advkit-tfjs-wasm-${version_wasm}-threaded-simd.worker.cjs`);
  const source =
    require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
      wasmWorkerContents: string;
    };
  // The script is stored in a template string whose '\n' escapes became newlines inside string literals.
  const contents = source.wasmWorkerContents.replace(/\n/g, '\\n');
  // A worker that fails to start is fatal inside emscripten (it rethrows the worker's error), so make sure the
  // script at least compiles here, where a failure still falls back to one thread.
  new vm.Script(contents, { filename: file });
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === contents) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
  return file;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('threaded wasm did not start in time')), START_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

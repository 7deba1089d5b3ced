// The advkit engines that the benches put beside PyTorch, each measured in its own process (tfjs cannot swap a
// backend's kernels back and forth cleanly inside one):
//   native: tfjs wasm with its convolutions and matrix products on advkit's oneDNN addon (native/), `threads`
//           OpenMP threads; wasm itself single-threaded
//   wasm:   tfjs wasm with advkit's SIMD gradient kernels, on `threads` threads
// A record's `engine` is what actually ran, e.g. 'native-2t' or 'wasm-2t'.

export const ENGINES = ['native', 'wasm'];

/** The engines of an `--engines native,wasm` option, in the order given. */
export function parseEngines(text = ENGINES.join(',')) {
  const engines = text.split(',').filter((e) => e !== '');
  const unknown = engines.filter((e) => !ENGINES.includes(e));
  if (engines.length === 0 || unknown.length > 0) {
    console.error(`--engines takes a list of ${ENGINES.join(', ')}; got '${text}'.`);
    process.exit(2);
  }
  return [...new Set(engines)];
}

/**
 * In a worker: start `engine` on `threads` threads and return its label ('native-2t'). Fails when the engine
 * that runs is not the one asked for (the native addon missing makes initNodeBackend throw, with the reason).
 */
export async function startEngine(engine, threads) {
  const { initNodeBackend, wasmThreadCount } = await import('../dist/node.js');
  const { engineName } = await import('../dist/backend/backend.js');
  await initNodeBackend({ backend: engine, threads });
  const running = engineName();
  if (running !== engine) throw new Error(`asked for the ${engine} engine, ${running} is running`);
  return `${running}-${running === 'wasm' ? wasmThreadCount() : threads}t`;
}

/** What the env record says about the engine in use: the addon's oneDNN version and ISA for native. */
export async function engineInfo() {
  const { nativeKernelsAddon } = await import('../dist/backend/native/native-kernels.js');
  const info = nativeKernelsAddon()?.info();
  return info === undefined ? {} : { onednn: info.onednn, isa: info.isa, native_threads: info.threads };
}

/** a / b to two decimals; '-' when either is missing. */
export const ratio = (a, b) => (a > 0 && b > 0 ? (a / b).toFixed(2) : '-');

/** A markdown table. */
export const markdownTable = (header, rows) =>
  [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');

import { startWasmWithAdvkitKernels } from '../../kernels/test-utils/wasm-vs-cpu.js';
import { loadNativeAddon } from '../load-native-node.js';
import type { NativeAddon } from '../native-addon.js';
import { registerNativeKernels } from '../native-kernels.js';

/**
 * The native addon for tests, or undefined when it was not built (those tests then skip). With
 * ADVKIT_REQUIRE_NATIVE=1 (as CI sets it) a missing addon is an error instead.
 */
export function nativeAddonForTests(): NativeAddon | undefined {
  const load = loadNativeAddon();
  if ('addon' in load) return load.addon;
  if (process.env.ADVKIT_REQUIRE_NATIVE === '1') {
    throw new Error(`ADVKIT_REQUIRE_NATIVE=1 but ${load.reason}`);
  }
  return undefined;
}

const COUNTED = [
  'convForward',
  'convBackwardData',
  'convBackwardFilter',
  'matMul',
  'maxPoolForward',
  'maxPoolBackward',
  'binary',
  'unary',
  'sumRows',
  'channelAffine',
] as const;
export type CallCounts = Record<(typeof COUNTED)[number], number>;

/** The addon with a count of its kernel calls, so that tests can tell a native run from a fall-back. */
export function countingAddon(addon: NativeAddon): { addon: NativeAddon; calls: CallCounts } {
  const calls = Object.fromEntries(COUNTED.map((name) => [name, 0])) as CallCounts;
  const counted: Record<string, unknown> = { ...addon };
  for (const name of COUNTED) {
    const original = addon[name] as (...args: unknown[]) => void;
    counted[name] = (...args: unknown[]) => {
      calls[name]++;
      original(...args);
    };
  }
  return { addon: counted as unknown as NativeAddon, calls };
}

/** Start wasm with advkit's kernels and the (counted) native kernels over them; the counts, or undefined. */
export async function startWasmWithNativeKernels(): Promise<CallCounts | undefined> {
  await startWasmWithAdvkitKernels();
  const addon = nativeAddonForTests();
  if (addon === undefined) return undefined;
  const counted = countingAddon(addon);
  registerNativeKernels(counted.addon);
  return counted.calls;
}

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

export type CallCounts = Record<
  'convForward' | 'convBackwardData' | 'convBackwardFilter' | 'matMul' | 'maxPoolBackward',
  number
>;

/** The addon with a count of its kernel calls, so that tests can tell a native run from a fall-back. */
export function countingAddon(addon: NativeAddon): { addon: NativeAddon; calls: CallCounts } {
  const calls: CallCounts = {
    convForward: 0,
    convBackwardData: 0,
    convBackwardFilter: 0,
    matMul: 0,
    maxPoolBackward: 0,
  };
  const counted: NativeAddon = {
    ...addon,
    convForward: (...args) => {
      calls.convForward++;
      addon.convForward(...args);
    },
    convBackwardData: (...args) => {
      calls.convBackwardData++;
      addon.convBackwardData(...args);
    },
    convBackwardFilter: (...args) => {
      calls.convBackwardFilter++;
      addon.convBackwardFilter(...args);
    },
    matMul: (...args) => {
      calls.matMul++;
      addon.matMul(...args);
    },
    maxPoolBackward: (...args) => {
      calls.maxPoolBackward++;
      addon.maxPoolBackward(...args);
    },
  };
  return { addon: counted, calls };
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

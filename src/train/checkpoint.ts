import { AdvkitError } from '../errors.js';
import type { GuardState } from './adversarial/guard.js';
import type { OptimizerState } from '../optim/optimizers.js';
import type { ResolvedTrainOptions } from './options.js';

/**
 * The full state of a training run, enough to continue it to bit-identical weights: every model weight
 * (trainable or not, e.g. batch-norm moving statistics), the optimizer's slots and step count, the Rng
 * state, the position in the data, and the options and architecture it belongs to.
 */
export interface TrainingCheckpoint {
  options: ResolvedTrainOptions;
  /** What the weights fit: checked on resume so that a checkpoint is never loaded into another model. */
  model: { architecture: string; architectureOptions?: Record<string, unknown>; weightShapes: number[][] };
  /** What data the run used: checked on resume so that the data order is the same. */
  data: DataFingerprint;
  /** Optimizer steps done; epoch and batch are derived from it and stored for readers. */
  step: number;
  epoch: number;
  batch: number;
  rng: [number, number, number, number];
  /** Running sums of the epoch in progress, so that its reported loss and accuracy survive a resume. */
  epochTotals: EpochTotals;
  history: EpochMetrics[];
  /** Training seconds spent before this checkpoint (not counting time while stopped). */
  seconds: number;
  weights: Float32Array[];
  optimizer: OptimizerState;
  /** Named arrays a training method carries between steps (Free AT's perturbation, the guard's best weights). */
  extra?: Record<string, Float32Array[]>;
  /** The FGSM-RS guard's bookkeeping. */
  guard?: GuardState;
}

/**
 * Sums over the epoch in progress: the objective and accuracy of what the step trains on, and (adversarial
 * training) the clean and adversarial cross-entropy, correct and image counts. Checkpoints written before
 * adversarial training existed have only the first three.
 */
export interface EpochTotals {
  loss: number;
  correct: number;
  seen: number;
  cleanLoss?: number;
  cleanCorrect?: number;
  cleanSeen?: number;
  adversarialLoss?: number;
  adversarialCorrect?: number;
  adversarialSeen?: number;
}

export interface EpochMetrics {
  epoch: number;
  /** Mean training objective. */
  loss: number;
  /** Accuracy on what the step trains on: the batch for standard training, its adversarial examples otherwise. */
  accuracy: number;
  evalAccuracy?: number;
  lr: number;
  seconds: number;
  /** Adversarial training: clean and adversarial cross-entropy and accuracy on the training batches. */
  cleanLoss?: number;
  cleanAccuracy?: number;
  adversarialLoss?: number;
  adversarialAccuracy?: number;
  /** Adversarial training: the budget at the epoch's last step (below the target during the eps warm-up). */
  eps?: number;
  /** FGSM-RS guard: PGD accuracy on the guard batch after this epoch. */
  robustAccuracy?: number;
}

export interface DataFingerprint {
  name: string;
  split: string;
  count: number;
  shape: [number, number, number];
  /** CRC-32 of the labels and of the pixels, so that a different subset or order is caught. */
  crc32: number;
}

/**
 * Where checkpoints live. `write` must replace the previous checkpoint atomically: after a crash at any
 * point, `read` returns either the old bytes or the new bytes, never a mix. `read` returns null when there
 * is no checkpoint yet.
 */
export interface CheckpointStore {
  /** Human-readable location for messages (a path, a key). */
  readonly location: string;
  write(bytes: Uint8Array): Promise<void>;
  read(): Promise<Uint8Array | null>;
}

/** A store in memory, for tests and for browsers that do not need persistence. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly location = 'memory';
  private bytes: Uint8Array | null = null;

  async write(bytes: Uint8Array): Promise<void> {
    this.bytes = bytes.slice();
  }

  async read(): Promise<Uint8Array | null> {
    return this.bytes === null ? null : this.bytes.slice();
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial); `crc` continues a previous value. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// File layout: MAGIC (8 bytes) | version u32 | header length u32 | payload length u32 | CRC-32 of header and
// payload u32 | header (UTF-8 JSON) | payload (float32 arrays, little-endian, back to back: weights, optimizer
// slots by sorted name, then (version 2) the extra arrays by sorted name). Version 1 files (no extra arrays)
// are still read.
const MAGIC = 'ADVKCKPT';
const VERSION = 2;
const READABLE_VERSIONS = [1, 2];
const PREFIX = MAGIC.length + 16;

interface Header extends Omit<TrainingCheckpoint, 'weights' | 'optimizer' | 'extra'> {
  weightLengths: number[];
  optimizer: { kind: OptimizerState['kind']; iterations: number; slotLengths: Record<string, number[]> };
  extraLengths?: Record<string, number[]>;
}

export function encodeCheckpoint(ckpt: TrainingCheckpoint): Uint8Array {
  const { weights, optimizer, extra = {}, ...rest } = ckpt;
  const slotNames = Object.keys(optimizer.slots).sort();
  const extraNames = Object.keys(extra).sort();
  const arrays = [
    ...weights,
    ...slotNames.flatMap((name) => optimizer.slots[name]),
    ...extraNames.flatMap((name) => extra[name]),
  ];
  const header: Header = {
    ...rest,
    ...(extraNames.length > 0
      ? {
          extraLengths: Object.fromEntries(
            extraNames.map((name) => [name, extra[name].map((a) => a.length)]),
          ),
        }
      : {}),
    weightLengths: weights.map((w) => w.length),
    optimizer: {
      kind: optimizer.kind,
      iterations: optimizer.iterations,
      slotLengths: Object.fromEntries(
        slotNames.map((name) => [name, optimizer.slots[name].map((s) => s.length)]),
      ),
    },
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const payloadLength = arrays.reduce((sum, a) => sum + a.byteLength, 0);
  const out = new Uint8Array(PREFIX + headerBytes.length + payloadLength);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  view.setUint32(16, payloadLength, true);
  out.set(headerBytes, PREFIX);
  let offset = PREFIX + headerBytes.length;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) view.setFloat32(offset + 4 * i, a[i], true);
    offset += a.byteLength;
  }
  view.setUint32(20, crc32(out.subarray(PREFIX)), true);
  return out;
}

/** Parses and verifies a checkpoint; a truncated or damaged file gives CORRUPT_DATA naming `source`. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): TrainingCheckpoint {
  const corrupt = (what: string): AdvkitError =>
    new AdvkitError(
      'CORRUPT_DATA',
      `Checkpoint ${source} is unusable: ${what}. Delete it to start the run afresh.`,
      {
        file: source,
      },
    );
  if (bytes.length < PREFIX || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) {
    throw corrupt('it is not an advkit checkpoint (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (!READABLE_VERSIONS.includes(version)) {
    throw corrupt(
      `format version ${version} is not supported (this advkit reads versions ${READABLE_VERSIONS.join(' and ')}; a newer advkit wrote it?)`,
    );
  }
  const headerLength = view.getUint32(12, true);
  const payloadLength = view.getUint32(16, true);
  const expected = PREFIX + headerLength + payloadLength;
  if (bytes.length !== expected) {
    throw corrupt(`it has ${bytes.length} bytes, expected ${expected} (truncated or partly written)`);
  }
  if (crc32(bytes.subarray(PREFIX)) !== view.getUint32(20, true))
    throw corrupt('its checksum does not match');
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(PREFIX, PREFIX + headerLength)),
  ) as Header;
  let offset = PREFIX + headerLength;
  const readArray = (length: number): Float32Array => {
    const a = new Float32Array(length);
    for (let i = 0; i < length; i++) a[i] = view.getFloat32(offset + 4 * i, true);
    offset += 4 * length;
    return a;
  };
  const { weightLengths, optimizer, extraLengths, ...rest } = header;
  const weights = weightLengths.map(readArray);
  const slots: Record<string, Float32Array[]> = {};
  for (const name of Object.keys(optimizer.slotLengths).sort())
    slots[name] = optimizer.slotLengths[name].map(readArray);
  const extra: Record<string, Float32Array[]> = {};
  for (const name of Object.keys(extraLengths ?? {}).sort())
    extra[name] = (extraLengths ?? {})[name].map(readArray);
  if (offset !== bytes.length) throw corrupt('its payload does not match its header');
  return {
    ...rest,
    weights,
    optimizer: { kind: optimizer.kind, iterations: optimizer.iterations, slots },
    ...(extraLengths !== undefined ? { extra } : {}),
  };
}

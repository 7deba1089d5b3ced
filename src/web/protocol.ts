/**
 * Messages between the page (main.ts) and the worker that runs the model (worker.ts). Everything crosses as
 * plain data: pixels as bytes, maps as pictures already coloured, so the page needs none of tfjs.
 */
import type { PixelImage } from '../render/pixel-image.js';
import type { ClassScore } from './status-text.js';

/** A model the worker loads: absolute URLs (the worker's own location is not the page's). */
export interface ModelRef {
  /** What the page calls it: a bundled name or the URL. */
  name: string;
  url: string;
  labels?: string;
}

export interface ModelInfo {
  name: string;
  inputShape: readonly [number, number, number];
  bounds: readonly [number, number];
  classNames: readonly string[];
  /** From its advkit.json ('mnist', 'cifar10'), when it has one. */
  dataset?: string;
  seconds: number;
}

/** One input at the model's size, HWC bytes (0..255 map onto the model's bounds); label -1: unknown. */
export interface InputImage {
  pixels: Uint8Array;
  height: number;
  width: number;
  channels: 1 | 3;
  label: number;
}

export interface AttackRequest {
  attack: string;
  norm: string;
  /** Absent for a minimal attack run without a budget. */
  eps?: number;
  params: Record<string, unknown>;
  target?: number;
}

export type ToWorker =
  | { type: 'init'; backend?: string; wasmPath: string }
  | { type: 'load'; id: number; model: ModelRef }
  | { type: 'attack'; id: number; models: ModelRef[]; input: InputImage; attack: AttackRequest }
  | {
      type: 'explain';
      id: number;
      models: ModelRef[];
      method: string;
      input: InputImage;
      /** Also explain the last attack's adversarial input (when the input has not changed since). */
      withAdversarial: boolean;
    }
  | { type: 'patch'; id: number; models: ModelRef[]; input: InputImage; patch: PatchRequest }
  | { type: 'cancel' };

/** A patch pasted onto the input (Brown et al. 2017's operator, the library's applyPatch). */
export interface PatchRequest {
  /** The patch picture at its side in the model's pixels, with the model's channels. */
  image: InputImage;
  /** Top-left corner of the unrotated patch, in pixels. */
  x: number;
  y: number;
  rotation: number;
  shape: string;
  target?: number;
}

export interface Prediction {
  index: number;
  top5: ClassScore[];
}

export interface AttackOutcome {
  model: string;
  /** The label the attack was scored against (the sample's, else the clean prediction). */
  label: number;
  clean: Prediction;
  adversarial: Prediction;
  success: boolean;
  l2: number;
  linf: number;
  eps?: number;
  /** The pictures: the clean input, the adversarial one, the perturbation x10. */
  cleanImage: PixelImage;
  adversarialImage: PixelImage;
  perturbationImage: PixelImage;
  seconds: number;
  gradients: number;
  queries: number;
}

export interface ExplainOutcome {
  model: string;
  clean: PixelImage;
  adversarial?: PixelImage;
  cleanClass: string;
  adversarialClass?: string;
  /** Integrated Gradients' completeness gap per input (clean, adversarial). */
  gaps?: number[];
  seconds: number;
}

export type FromWorker =
  | { type: 'ready'; backend: string; seconds: number }
  | { type: 'loaded'; id: number; info: ModelInfo }
  | {
      type: 'progress';
      id: number;
      model: string;
      fraction: number;
      step?: number;
      loss?: number;
      top5?: ClassScore[];
    }
  | { type: 'attacked'; id: number; outcomes: AttackOutcome[] }
  | { type: 'explained'; id: number; method: string; outcomes: ExplainOutcome[] }
  | { type: 'cancelled'; id: number }
  | { type: 'error'; id: number; message: string };

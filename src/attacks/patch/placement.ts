import { invalidArgument } from '../../errors.js';
import type { Rng } from '../../util/rng.js';

/** The outline of a patch: the paper's patches are discs; squares cover the whole patch image. */
export type PatchShape = 'square' | 'circle';
export const PATCH_SHAPES: readonly PatchShape[] = ['square', 'circle'];

/** Where and how one image gets the patch. */
export interface Placement {
  /** Centre of the patch in image pixels (x to the right, y down; pixel (0, 0) covers [0, 1) x [0, 1)). */
  centerX: number;
  centerY: number;
  /** Side of the placed (unrotated) patch square in image pixels. */
  side: number;
  /** Rotation in degrees, counter-clockwise as seen on screen. */
  rotation: number;
}

/** A number, or a [min, max] range sampled uniformly per image. */
export type ValueOrRange = number | readonly [number, number];

export interface PlacementOptions {
  /** Multiplies the patch's own side (default 1). */
  scale?: ValueOrRange;
  /** Degrees (default 0). */
  rotation?: ValueOrRange;
  /** 'random' (default): uniform over the positions where the rotated patch lies inside the image; or the top-left
   * corner of the unrotated patch square, in pixels. */
  position?: 'random' | { x: number; y: number };
}

/**
 * One placement per image, drawn from `rng` where the options give ranges: scale, then rotation, then position,
 * so that the same seed always gives the same placements.
 */
export function drawPlacements(
  count: number,
  image: { height: number; width: number },
  patchSide: number,
  options: PlacementOptions,
  rng: Rng,
): Placement[] {
  const scale = checkRange(options.scale ?? 1, 'scale', (v) => v > 0, 'a number > 0');
  const rotation = checkRange(
    options.rotation ?? 0,
    'rotation',
    (v) => Math.abs(v) <= 360,
    'degrees in [-360, 360]',
  );
  const position = options.position ?? 'random';
  if (position !== 'random') {
    if (!Number.isFinite(position.x) || !Number.isFinite(position.y)) {
      throw invalidArgument(
        `position must be 'random' or { x, y } in pixels, got ${JSON.stringify(position)}.`,
      );
    }
  }
  const out: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const side = patchSide * sample(scale, rng);
    const angle = sample(rotation, rng);
    if (position === 'random') {
      // Half the extent of the rotated square's bounding box: the patch stays inside the image when it fits.
      const rad = (angle * Math.PI) / 180;
      const half = (side / 2) * (Math.abs(Math.cos(rad)) + Math.abs(Math.sin(rad)));
      out.push({
        centerX: uniformCentre(image.width, half, rng),
        centerY: uniformCentre(image.height, half, rng),
        side,
        rotation: angle,
      });
    } else {
      out.push({ centerX: position.x + side / 2, centerY: position.y + side / 2, side, rotation: angle });
    }
  }
  return out;
}

function uniformCentre(extent: number, half: number, rng: Rng): number {
  const room = extent - 2 * half;
  return room > 0 ? half + rng.next() * room : extent / 2;
}

function sample(range: readonly [number, number], rng: Rng): number {
  return range[0] === range[1] ? range[0] : range[0] + rng.next() * (range[1] - range[0]);
}

/** Normalises a number or [min, max] to a range, checking each end. */
export function checkRange(
  value: ValueOrRange,
  name: string,
  valid: (v: number) => boolean,
  expected: string,
): readonly [number, number] {
  const range: readonly [number, number] = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(range) || range.length !== 2) {
    throw invalidArgument(
      `${name} must be ${expected} or a [min, max] pair of them, got ${JSON.stringify(value)}.`,
    );
  }
  for (const v of range) {
    if (typeof v !== 'number' || !Number.isFinite(v) || !valid(v)) {
      throw invalidArgument(
        `${name} must be ${expected} (or a [min, max] pair of them), got ${JSON.stringify(value)}.`,
      );
    }
  }
  if (range[0] > range[1]) throw invalidArgument(`${name} range [${range[0]}, ${range[1]}] has min > max.`);
  return range;
}

/** The patch's own mask, side x side, 1 on the patch and 0 off it (row-major). */
export function patchMask(side: number, shape: PatchShape): Float32Array {
  const mask = new Float32Array(side * side);
  if (shape === 'square') return mask.fill(1);
  const r = side / 2;
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      const dy = i + 0.5 - r;
      const dx = j + 0.5 - r;
      mask[i * side + j] = dx * dx + dy * dy <= r * r ? 1 : 0;
    }
  }
  return mask;
}

/**
 * The sparse bilinear resampling that draws the patch onto a batch of images: for every covered output pixel
 * (`pixels`, flat indices into [n * h * w]) the four patch pixels it samples (`sources`, flat indices into
 * the patch's side * side pixels, laid out as four blocks of pixels.length, one per corner) with their bilinear
 * weights times the patch mask (`weights`), and per output pixel the total weight (`coverage`, [n * h * w]):
 * the image keeps 1 - coverage of itself. Geometry only: it holds no tensors, and the gradient to the patch
 * follows the same weights.
 */
export interface RenderPlan {
  batch: number;
  height: number;
  width: number;
  patchSide: number;
  pixels: Int32Array;
  sources: Int32Array;
  weights: Float32Array;
  coverage: Float32Array;
}

export function renderPlan(
  placements: readonly Placement[],
  image: { height: number; width: number },
  patchSide: number,
  mask: Float32Array,
): RenderPlan {
  const { height: h, width: w } = image;
  const boxes = placements.map((p) => box(p, h, w));
  const capacity = boxes.reduce((sum, b) => sum + (b.y1 - b.y0 + 1) * (b.x1 - b.x0 + 1), 0);
  const pixels = new Int32Array(capacity);
  const sources = new Int32Array(4 * capacity);
  const weights = new Float32Array(4 * capacity);
  const coverage = new Float32Array(placements.length * h * w);
  // The four bilinear taps of one output pixel: (row, column) offsets from the top-left tap.
  const tapRow = [0, 0, 1, 1];
  const tapCol = [0, 1, 0, 1];
  const src = new Int32Array(4);
  const wt = new Float32Array(4);
  let m = 0;
  placements.forEach((p, n) => {
    const rad = (p.rotation * Math.PI) / 180;
    const cos = Math.cos(rad);
    const sin = Math.sin(rad);
    // Patch pixels per image pixel; the patch's own pixel (a, b) has its centre at (a + 0.5, b + 0.5).
    const k = patchSide / p.side;
    const { x0, x1, y0, y1 } = boxes[n];
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - p.centerX;
        const dy = y + 0.5 - p.centerY;
        // Inverse rotation (screen coordinates, y down): image offset -> patch frame.
        const u = (cos * dx - sin * dy) * k + patchSide / 2 - 0.5;
        const v = (sin * dx + cos * dy) * k + patchSide / 2 - 0.5;
        const a0 = Math.floor(u);
        const b0 = Math.floor(v);
        const fu = u - a0;
        const fv = v - b0;
        let total = 0;
        for (let t = 0; t < 4; t++) {
          const a = a0 + tapCol[t];
          const b = b0 + tapRow[t];
          src[t] = 0;
          wt[t] = 0;
          if (a < 0 || b < 0 || a >= patchSide || b >= patchSide) continue;
          src[t] = b * patchSide + a;
          wt[t] = (tapCol[t] === 1 ? fu : 1 - fu) * (tapRow[t] === 1 ? fv : 1 - fv) * mask[src[t]];
          total += wt[t];
        }
        if (total <= 0) continue;
        const flat = (n * h + y) * w + x;
        pixels[m] = flat;
        coverage[flat] = total;
        for (let t = 0; t < 4; t++) {
          sources[t * capacity + m] = src[t];
          weights[t * capacity + m] = wt[t];
        }
        m++;
      }
    }
  });
  return {
    batch: placements.length,
    height: h,
    width: w,
    patchSide,
    pixels: pixels.slice(0, m),
    sources: compactTaps(sources, new Int32Array(4 * m), capacity, m),
    weights: compactTaps(weights, new Float32Array(4 * m), capacity, m),
    coverage,
  };
}

/** The image pixels the placed patch can touch (its rotated bounding box plus one pixel), clamped to the image. */
function box(p: Placement, h: number, w: number): { x0: number; x1: number; y0: number; y1: number } {
  const rad = (p.rotation * Math.PI) / 180;
  const reach = (p.side / 2) * (Math.abs(Math.cos(rad)) + Math.abs(Math.sin(rad))) + 1;
  return {
    y0: Math.max(0, Math.floor(p.centerY - reach)),
    y1: Math.min(h - 1, Math.ceil(p.centerY + reach)),
    x0: Math.max(0, Math.floor(p.centerX - reach)),
    x1: Math.min(w - 1, Math.ceil(p.centerX + reach)),
  };
}

/** The first m entries of each of the four tap blocks (each `capacity` long), made contiguous in `out`. */
function compactTaps<T extends Int32Array | Float32Array>(values: T, out: T, capacity: number, m: number): T {
  for (let t = 0; t < 4; t++) out.set(values.subarray(t * capacity, t * capacity + m), t * m);
  return out;
}

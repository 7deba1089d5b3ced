import sharp from 'sharp';

/** A trained patch as plain values: [side, side, channels] in the model's bounds, and its [side, side] mask. */
export interface PatchPixels {
  values: ArrayLike<number>;
  mask: ArrayLike<number>;
  side: number;
  channels: number;
  bounds: readonly [number, number];
}

/**
 * The patch as an RGBA PNG: its values mapped from the model's bounds onto 0..255 (grey patches as grey RGB),
 * transparent where the mask is 0, i.e. outside a disc patch, so it can be printed or pasted as it is.
 */
export async function patchPng({ values, mask, side, channels, bounds }: PatchPixels): Promise<Uint8Array> {
  const [lo, hi] = bounds;
  const rgba = new Uint8Array(side * side * 4);
  for (let p = 0; p < side * side; p++) {
    for (let k = 0; k < 3; k++) {
      const v = values[p * channels + (channels === 1 ? 0 : k)];
      rgba[p * 4 + k] = Math.round(((v - lo) / (hi - lo)) * 255);
    }
    rgba[p * 4 + 3] = Math.round(mask[p] * 255);
  }
  const png = await sharp(rgba, { raw: { width: side, height: side, channels: 4 } })
    .png()
    .toBuffer();
  return new Uint8Array(png);
}

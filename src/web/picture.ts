/** Pictures and bars on the page: PixelImages onto canvases, top-5 lists as labelled bars. */
import type { PixelImage } from '../render/pixel-image.js';
import type { ClassScore } from './status-text.js';

/** Draws `img` at its own size (CSS scales the canvas up, pixelated). */
export function drawPixels(canvas: HTMLCanvasElement, img: PixelImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const rgba = new ImageData(img.width, img.height);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let k = 0; k < 3; k++) rgba.data[p * 4 + k] = img.data[img.channels === 1 ? p : p * 3 + k];
    rgba.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(rgba, 0, 0);
}

export function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
}

/** An ordered list of the top classes, each with a bar as wide as its probability. */
export function topList(scores: readonly ClassScore[], highlight?: number): HTMLOListElement {
  const list = document.createElement('ol');
  list.className = 'top5';
  for (const s of scores) {
    const item = document.createElement('li');
    if (s.index === highlight) item.className = 'label';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = s.name;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(1, Math.round(s.probability * 100))}%`;
    bar.setAttribute('aria-hidden', 'true');
    const value = document.createElement('span');
    value.className = 'value';
    value.textContent = `${(s.probability * 100).toFixed(1)}%`;
    item.append(name, bar, value);
    list.append(item);
  }
  return list;
}

/** Any image (a photo, a drawing) as HWC bytes at the model's input size: stretched, grey when c is 1. */
export function imageToPixels(
  source: CanvasImageSource,
  height: number,
  width: number,
  channels: 1 | 3,
  invert = false,
): Uint8Array {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('This browser has no 2D canvas.');
  ctx.drawImage(source, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const out = new Uint8Array(height * width * channels);
  for (let p = 0; p < height * width; p++) {
    const [r, g, b] = [rgba[p * 4], rgba[p * 4 + 1], rgba[p * 4 + 2]];
    if (channels === 1) {
      const grey = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      out[p] = invert ? 255 - grey : grey;
    } else out.set([r, g, b], p * 3);
  }
  return out;
}

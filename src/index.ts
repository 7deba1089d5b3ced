/**
 * advkit's browser-safe core: nothing here imports Node built-ins, so bundlers can ship it to a page.
 * Node-only pieces (files, downloads, checkpoints on disk, the Node backend set-up) are in 'advkit/node'.
 */
export { AdvkitError, isUserError, type ErrorCode } from './errors.js';
export { ADVKIT_VERSION } from './version.js';
export { Rng } from './util/rng.js';
export { BACKEND_NAMES, activateBackend, parseBackendName, type BackendName } from './backend/backend.js';
export { registerWasmGradientKernels } from './backend/kernels/register-wasm-gradients.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './train/index.js';
export * from './attacks/index.js';
export * from './evaluate/index.js';
export * from './explain/index.js';
export * from './defend/index.js';
export { field, parseParams, type Field, type Params, type ParamsInput, type Schema } from './util/schema.js';
export {
  displaySize,
  imageFromValues,
  perturbationImage,
  resizeImage,
  toRgb,
  type PixelImage,
} from './render/pixel-image.js';
export {
  colorBar,
  colorize,
  normalizeMap,
  overlayHeatmap,
  pixelImportance,
  type ChannelReduction,
  type HeatmapScale,
} from './render/heatmap.js';
export { svgText, type TextItem } from './render/svg-text.js';
export * from './tasks/specs.js';

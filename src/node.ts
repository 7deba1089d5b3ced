/** advkit for Node: everything in the core plus files, downloads, on-disk checkpoints and the backend set-up. */
export * from './index.js';
export { initNodeBackend, type NodeBackendOptions } from './backend/node-backend.js';
export { resolveThreadCount, wasmThreadCount } from './backend/wasm-threads-node.js';
export * from './data/node/index.js';
export * from './models/node/index.js';
export * from './train/node/file-checkpoint-store.js';
export { FileChunkStore } from './train/node/file-chunk-store.js';
export { FileStateStore } from './evaluate/node/file-state-store.js';
export { renderReportHtml, type ReportGalleryItem } from './render/node/report-html.js';
export { perClassSvg, robustnessCurveSvg } from './render/node/report-charts.js';
export {
  layoutAttackFigure,
  renderAttackFigure,
  type AttackFigureLayout,
  type AttackFigureOptions,
  type AttackFigureRow,
  type ShownPrediction,
} from './render/node/attack-figure.js';
export {
  layoutGallery,
  renderGallery,
  type GalleryCell,
  type GalleryLayout,
  type GalleryOptions,
  type GallerySection,
} from './render/node/gallery.js';
export {
  renderCanvasPng,
  type CanvasSpec,
  type FigureBox,
  type PlacedImage,
} from './render/node/canvas-png.js';
export {
  heatmapCell,
  mapDisplay,
  renderExplainGrid,
  type ExplainGrid,
  type ExplainGridMap,
  type ExplainGridRow,
  type MapDisplay,
} from './render/node/explain-grid.js';
export * from './tasks/index.js';

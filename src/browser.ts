/** advkit for browsers: the core plus a backend start-up that prefers the GPU (webgpu, webgl), then wasm. */
export * from './index.js';
export {
  BROWSER_BACKEND_ORDER,
  initBrowserBackend,
  type BrowserBackendOptions,
} from './backend/browser-backend.js';

// The browser side of bench/browser, bundled by run.mjs with advkit's browser entry point (src/browser.ts) and
// run in headless Chromium: `window.benchBrowser.run(backend, settings, quick)` starts the backend, loads each
// model by URL from the bench's own server, reads the inputs node-worker.mjs wrote, and times every task with
// measure.mjs (the same loop as Node). Returns the records.
/* global window, fetch, TextDecoder */
import * as tf from '@tensorflow/tfjs-core';
import * as advkit from '../../src/browser.ts';
import { timeTask } from './measure.mjs';

async function bytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function inputsOf(name) {
  const { shape } = JSON.parse(new TextDecoder().decode(await bytes(`/inputs/${name}.json`)));
  return {
    shape,
    x: new Float32Array(await bytes(`/inputs/${name}.x.bin`)),
    labels: new Int32Array(await bytes(`/inputs/${name}.labels.bin`)),
  };
}

function modelUrl(spec) {
  return spec.shared === true ? `/shared-models/${spec.model}/model.json` : `/${spec.model}/model.json`;
}

window.benchBrowser = {
  async run(backend, settings, quick) {
    const started = await advkit.initBrowserBackend({ backend, wasmPath: '/wasm/' });
    const records = [
      { info: 'env', backend: started, tfjs: tf.version_core, userAgent: window.navigator.userAgent },
    ];
    if (started === 'webgl') {
      const gl = window.document.createElement('canvas').getContext('webgl2');
      const info = gl?.getExtension('WEBGL_debug_renderer_info');
      records[0].renderer = info
        ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL)
        : gl?.getParameter(gl.RENDERER);
    }
    if (started === 'wasm') records[0].wasmThreads = window.crossOriginIsolated === true;
    for (const [name, spec] of Object.entries(settings.models)) {
      const tasks = settings.tasks.filter((t) => t.models.includes(name));
      if (tasks.length === 0) continue;
      const labels =
        spec.labels === undefined ? undefined : modelUrl(spec).replace('model.json', spec.labels);
      const classifier = await advkit.loadClassifierFromUrl(modelUrl(spec), { labels });
      const inputs = await inputsOf(name);
      for (const task of tasks) {
        const record = await timeTask({
          tf,
          advkit,
          classifier,
          task,
          model: spec,
          inputs,
          n: quick ? task.quickN : task.n,
          reps: quick ? task.quickReps : task.reps,
        });
        records.push({ model: name, ...record });
      }
      classifier.dispose();
    }
    return records;
  },
};

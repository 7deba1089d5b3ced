/**
 * The task specs' schemas, browser-safe: what the HTTP API validates against, what OpenAPI documents and
 * what the playground's forms are built from (the CLI's flags come from the same objects).
 */
export { attackSchema } from './attack-spec.js';
export { certifyTaskSchema } from './certify-spec.js';
export { compareSchema } from './compare-spec.js';
export { detectTaskSchema } from './detect-spec.js';
export { evaluateSchema } from './evaluate-spec.js';
export { explainSchema } from './explain-spec.js';
export { patchSchema } from './patch-spec.js';
export { patchGradcamSchema } from './patch-gradcam-spec.js';
export { robustSaliencySchema } from './robust-saliency-spec.js';
export { predictSchema } from './predict-spec.js';
export { trainSchema } from './train-spec.js';
export { parseSpec } from './spec.js';
export { DEFAULT_EPS, defaultBudgets, parseBudgets, type Budget } from './budgets.js';
export type { Artifact, Task, TaskContext, TaskInput, TaskOutput, TaskResult } from './task.js';

/** The tasks (Node): every user-level job as a spec and a run function; the surfaces are adapters over these. */
export { attackTask, type AttackTaskResult } from './attack.js';
export { certifyTask, type CertifyProgress, type CertifyResult } from './certify.js';
export { compareTask, type CompareResult } from './compare.js';
export { detectTask, type DetectProgress, type DetectResult } from './detect.js';
export { evaluateTask, type EvaluateProgress, type EvaluateResult } from './evaluate.js';
export { explainTask, type ExplainResult, type ExplainTaskProgress } from './explain.js';
export { nonRobustFeaturesTask, type NonRobustFeaturesResult } from './non-robust-features.js';
export { patchTask, type PatchResult } from './patch.js';
export { patchGradcamTask, type PatchGradcamResult } from './patch-gradcam.js';
export { robustSaliencyTask, type RobustSaliencyResult } from './robust-saliency.js';
export { predictTask, type PredictResult } from './predict.js';
export { trainTask } from './train.js';
export { visualizeTask, type VisualizeResult } from './visualize.js';
import { attackTask } from './attack.js';
import { certifyTask } from './certify.js';
import { compareTask } from './compare.js';
import { detectTask } from './detect.js';
import { evaluateTask } from './evaluate.js';
import { explainTask } from './explain.js';
import { nonRobustFeaturesTask } from './non-robust-features.js';
import { patchTask } from './patch.js';
import { patchGradcamTask } from './patch-gradcam.js';
import { robustSaliencyTask } from './robust-saliency.js';
import { predictTask } from './predict.js';
import { trainTask } from './train.js';
import { visualizeTask } from './visualize.js';

/** Every task by name, for surfaces that dispatch on it (a server route, a queue worker). */
export const TASKS = {
  predict: predictTask,
  attack: attackTask,
  evaluate: evaluateTask,
  compare: compareTask,
  train: trainTask,
  patch: patchTask,
  visualize: visualizeTask,
  explain: explainTask,
  'non-robust-features': nonRobustFeaturesTask,
  'patch-gradcam': patchGradcamTask,
  'robust-saliency': robustSaliencyTask,
  certify: certifyTask,
  detect: detectTask,
} as const;

/** Adversarial-example detectors (browser-safe): feature squeezing, learned binary detectors, their adaptive attack. */
export {
  adaptiveDetectorAttack,
  attackWithDetector,
  DETECTED_CLASS,
  jointModel,
  type DetectorScale,
  type AdaptiveAttackOptions,
} from './adaptive-attack.js';
export {
  activationFeatures,
  activationOf,
  binaryActivationDetector,
  binaryInputDetector,
  unitInputs,
  type ActivationFeatures,
} from './binary-detector.js';
export { detectionRates, type DetectionRates, type DetectionRatesOptions } from './detection-rates.js';
export { detectorScores, flagRate, thresholdAtFpr, type Detector, type ScoreOptions } from './detector.js';
export {
  DEFAULT_SQUEEZERS,
  defaultSqueezers,
  featureSqueezing,
  parseSqueezers,
} from './feature-squeezing.js';

/** Defenses (browser-safe): randomized smoothing's prediction and certification, and the statistics they rest on. */
export {
  ABSTAIN,
  certifiedAccuracy,
  certify,
  certifySchema,
  sampleCounts,
  smoothedPredict,
  smoothedPredictSchema,
  type Certification,
  type CertifyOptions,
  type SmoothedPrediction,
  type SmoothedPredictOptions,
  type SmoothingProgress,
} from './randomized-smoothing.js';
export {
  binomialTestPValue,
  clopperPearsonLower,
  inverseRegularizedIncompleteBeta,
  logGamma,
  normalCdf,
  normalInverseCdf,
  regularizedIncompleteBeta,
} from './statistics.js';

import type { FaithfulnessResult } from './faithfulness.js';
import type { RandomizationResult } from './randomization.js';

/** What the sanity checks say about one method's attributions; an attribution result can carry it. */
export interface AttributionScores {
  /** Deletion and insertion of the maps' pixels (Petsiuk et al. 2018). */
  faithfulness?: FaithfulnessResult;
  /** The model-parameter randomization test of the method (Adebayo et al. 2018). */
  randomization?: RandomizationResult;
}

/** Explanations (browser-safe): attribution methods through the Model interface, their sanity checks, feature visualization. */
export {
  featureVisualizationSchema,
  visualizeFeatures,
  type FeatureTarget,
  type FeatureVisualization,
  type FeatureVisualizationOptions,
  type FeatureVisualizationParams,
  type VisualizationStep,
} from './feature-visualization.js';

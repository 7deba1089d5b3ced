import Type from 'typebox';
import { imagesField, defenseField, modelFields, sampleSourceFields } from './spec.js';

export const PREDICT_DEFAULT_MODEL = 'mnist-cnn';

/**
 * Raw inputs in the model's input space, [n, height, width, channels] within its bounds: what a program (the
 * HTTP server, a client that preprocessed its own images) gives instead of image files. Hidden from the CLI
 * ('x-cli': false), where nested numbers cannot be typed; checked against the model (shape, finite, bounds)
 * by `rawInputs` in model-data.ts.
 */
export const inputsField = Type.Optional(
  Type.Array(Type.Array(Type.Array(Type.Array(Type.Number()))), {
    minItems: 1,
    description: "raw inputs [n, height, width, channels] in the model's input space, within its bounds",
    'x-cli': false,
  }),
);

/** The predict task's spec: classify image files or dataset samples and give the top-k classes. */
export const predictSchema = Type.Object({
  model: Type.Optional(
    Type.String({ description: 'model directory (default: the bundled mnist-cnn)', 'x-placeholder': 'dir' }),
  ),
  labels: modelFields.labels,
  defense: defenseField,
  images: Type.Optional({
    ...imagesField.images,
    description: 'image file(s) to classify (PNG, JPEG, WebP, ...)',
  }),
  inputs: inputsField,
  ...sampleSourceFields,
  n: Type.Integer({ minimum: 1, default: 10, description: 'number of dataset samples' }),
  seed: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'pick the samples at random with this seed (default: the first n)',
    }),
  ),
  top: Type.Integer({ minimum: 1, default: 3, description: 'how many labels to show per image' }),
});

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AdvkitError, invalidArgument } from '../errors.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { Classifier } from './classifier.js';
import { classifierFromArtifacts } from './from-artifacts.js';
import type { Model } from './model.js';

/** A layer whose weights can be re-drawn. */
export interface WeightLayer {
  /** The layer's name in the network. */
  name: string;
  /** The layer class ('Conv2D', 'Dense', 'BatchNormalization'). */
  kind: string;
  /** How many values a re-draw replaces. */
  params: number;
}

/**
 * Batch-norm running statistics describe the data flowing through the trained layers below; they are not
 * parameters, and a random variance could be negative. They are kept.
 */
const STATISTICS = /moving_(mean|variance)(_\d+)?$/;

function redrawable(layer: tfl.layers.Layer): tfl.LayerVariable[] {
  return layer.weights.filter((w) => !STATISTICS.test(w.originalName));
}

function meanAndStd(values: ArrayLike<number>): [number, number] {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i];
  mean /= values.length;
  let variance = 0;
  for (let i = 0; i < values.length; i++) variance += (values[i] - mean) ** 2;
  return [mean, Math.sqrt(variance / values.length)];
}

/**
 * A copy of a classifier backed by a tfjs layers model, whose layers can be re-drawn at random and put back,
 * one at a time, without touching the original: what the model-parameter randomization test (Adebayo et al.
 * 2018) needs. `model` is the copy (attribution methods run on it as on any Model); dispose() frees it.
 */
export class RandomizableCopy {
  /** The copy, a Classifier like the original (same metadata, layers and names). */
  readonly model: Classifier;
  /** Every layer with weights, from the top (the logits) down: the order of the cascading test. */
  readonly layers: readonly WeightLayer[];
  private readonly source: tfl.LayersModel;
  private readonly copy: tfl.LayersModel;

  private constructor(model: Classifier, source: tfl.LayersModel) {
    if (!(model.net instanceof tfl.LayersModel)) throw new AdvkitError('INTERNAL', 'The copy is not a layers model.');
    this.model = model;
    this.copy = model.net;
    this.source = source;
    this.layers = this.copy.layers
      .filter((layer) => redrawable(layer).length > 0)
      .map((layer) => ({
        name: layer.name,
        kind: layer.getClassName(),
        params: redrawable(layer).reduce((sum, w) => sum + w.read().size, 0),
      }))
      .reverse();
  }

  /**
   * A copy of `model` (the caller keeps and disposes the original). UNSUPPORTED, saying why, for models
   * whose weights are out of reach: anything that is not a Classifier (a black box, a served model, a wrapper
   * such as a defense) and graph models. `purpose` names what needs the copy, for the messages.
   */
  static async of(model: Model, purpose = 'Randomizing layers'): Promise<RandomizableCopy> {
    if (!(model instanceof Classifier)) {
      throw new AdvkitError(
        'UNSUPPORTED',
        `${purpose} re-draws the model's weights layer by layer on a copy, and this model's weights are out of ` +
          'reach: it is not a classifier backed by a tfjs network (a black box, a model served over HTTP, or a ' +
          'wrapper such as a defense or a counted model). Run it on the classifier inside.',
      );
    }
    if (!(model.net instanceof tfl.LayersModel)) {
      throw new AdvkitError(
        'UNSUPPORTED',
        `${purpose} re-draws the model's weights layer by layer on a copy, and this classifier is a graph model ` +
          '(a converted TensorFlow SavedModel or GraphDef): its weights are constants folded into the graph, ' +
          'with no layers to randomize from the top down. Convert the model as a Keras (layers) model to run it.',
      );
    }
    const source = model.net;
    let artifacts: tf.io.ModelArtifacts | undefined;
    await source.save(
      tf.io.withSaveHandler((a) => {
        artifacts = a;
        return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) });
      }),
    );
    if (artifacts === undefined) throw new AdvkitError('INTERNAL', 'The model produced no artifacts when copied.');
    const copy = await classifierFromArtifacts({
      artifacts,
      metadata: model.metadata,
      source: `a copy of the model '${source.name}'`,
    });
    const out = new RandomizableCopy(copy, source);
    if (out.layers.length === 0) {
      out.dispose();
      throw new AdvkitError('UNSUPPORTED', `${purpose} needs layers with weights, and this model has none.`);
    }
    return out;
  }

  /**
   * Re-draws every weight of `layer` in the copy (batch-norm running statistics aside) i.i.d. from a Gaussian
   * with that weight tensor's own trained mean and standard deviation, seeded by `seed` and the layer's place
   * in the network (so a layer gets the same random weights however the calls are ordered). Matching the
   * trained scale keeps the activations and logits in their usual range: a randomized map then differs
   * because the weights lost their meaning, not because the signal vanished or exploded.
   */
  randomize(layer: string, seed: number): void {
    const index = this.indexOf(layer);
    const rng = new Rng(mixSeed(seed, index));
    const trained = redrawable(this.source.getLayer(layer));
    redrawable(this.copy.layers[index]).forEach((w, i) => {
      const value = trained[i].read();
      const [mean, std] = meanAndStd(value.dataSync());
      const values = new Float32Array(value.size);
      for (let j = 0; j < values.length; j++) values[j] = mean + std * rng.normal();
      const drawn = tf.tensor(values, value.shape);
      w.write(drawn);
      drawn.dispose();
    });
  }

  /** Puts the original's trained weights back into `layer` of the copy. */
  restore(layer: string): void {
    const index = this.indexOf(layer);
    const trained = redrawable(this.source.getLayer(layer));
    redrawable(this.copy.layers[index]).forEach((w, i) => w.write(trained[i].read()));
  }

  dispose(): void {
    this.model.dispose();
  }

  private indexOf(layer: string): number {
    const index = this.copy.layers.findIndex((l) => l.name === layer);
    if (index < 0 || !this.layers.some((l) => l.name === layer)) {
      throw invalidArgument(
        `Unknown layer '${layer}'. Layers with weights, top down: ${this.layers.map((l) => l.name).join(', ')}.`,
      );
    }
    return index;
  }
}

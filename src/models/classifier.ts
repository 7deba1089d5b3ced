import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { AdvkitError, invalidArgument } from '../errors.js';
import {
  GraphModelAccess,
  LayersModelAccess,
  type ActivationTap,
  type GraphNodeInfo,
  type LayerAccess,
  type ModelActivations,
} from './layer-access.js';
import type { ClassifierMetadata } from './metadata.js';
import type { Model } from './model.js';
import { applyPreprocessing, validatePreprocessing, type Preprocessing } from './preprocessing.js';

/** The network inside a Classifier: maps a preprocessed NHWC batch to logits. */
export type ClassifierNet = tfl.LayersModel | GraphModel;

export interface ClassifierOptions {
  /**
   * GraphModel only: the node whose output are the logits, when it is not the graph's output (e.g. the input
   * of a final Softmax node).
   */
  graphOutputNode?: string;
  /** GraphModel only: the nodes of its GraphDef, which name its intermediate activations. */
  graphNodes?: GraphNodeInfo[];
}

/**
 * An image classifier in pixel space. Inputs are NHWC batches with values in `bounds`; the preprocessing
 * (scale, per-channel mean/std) runs inside logits(), so attack budgets and clipping are always in pixel
 * space (as in Foolbox's `bounds` + `preprocessing` model wrapper). Outputs are logits, never probabilities.
 */
export class Classifier implements Model {
  readonly net: ClassifierNet;
  readonly inputShape: [number, number, number];
  readonly bounds: [number, number];
  readonly classNames: string[];
  readonly numClasses: number;
  readonly preprocessing: Preprocessing;
  metadata: ClassifierMetadata;
  readonly activations?: ModelActivations;
  private readonly graphOutputNode: string | undefined;
  private disposed = false;
  private logitsChecked = false;

  constructor(net: ClassifierNet, metadata: ClassifierMetadata, options: ClassifierOptions = {}) {
    const [h, w, c] = metadata.inputShape;
    if (![h, w, c].every((d) => Number.isInteger(d) && d > 0)) {
      throw invalidArgument(`inputShape must be [height, width, channels] of positive integers, got [${h}, ${w}, ${c}].`);
    }
    const [lo, hi] = metadata.bounds;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
      throw invalidArgument(`bounds must be [min, max] with min < max, got [${lo}, ${hi}].`);
    }
    if (metadata.classNames.length < 2) {
      throw invalidArgument(`A classifier needs at least 2 class names, got ${metadata.classNames.length}.`);
    }
    validatePreprocessing(metadata.preprocessing, c);
    const outputs = outputUnits(net);
    if (outputs !== undefined && outputs !== metadata.classNames.length) {
      throw invalidArgument(
        `The network has ${outputs} outputs but ${metadata.classNames.length} class names were given.`,
      );
    }
    this.net = net;
    this.metadata = metadata;
    this.inputShape = [h, w, c];
    this.bounds = [lo, hi];
    this.classNames = metadata.classNames;
    this.numClasses = metadata.classNames.length;
    this.preprocessing = metadata.preprocessing;
    this.graphOutputNode = options.graphOutputNode;
    const access = this.layerAccess(options.graphNodes);
    if (access !== undefined) this.activations = this.activationsOf(access);
  }

  /** Logits [n, numClasses] for a pixel-space batch x [n, h, w, c]. `training` switches dropout/batch-norm. */
  logits(x: tf.Tensor4D, opts: { training?: boolean } = {}): tf.Tensor2D {
    return this.logitsOf(x, (input) => this.runNet(input, opts.training === true));
  }

  /** Logits of x where `run` maps the preprocessed batch to the network's output. */
  private logitsOf(x: tf.Tensor4D, run: (input: tf.Tensor4D) => tf.Tensor): tf.Tensor2D {
    this.assertUsable();
    this.checkInput(x);
    return tf.tidy(() => {
      const input = applyPreprocessing(x, this.preprocessing);
      const out = run(input);
      if (out.size !== x.shape[0] * this.numClasses) {
        throw new AdvkitError(
          'UNSUPPORTED',
          `The network returned shape [${out.shape.join(', ')}], expected [${x.shape[0]}, ${this.numClasses}] logits.`,
        );
      }
      const logits: tf.Tensor2D = tf.reshape(out, [x.shape[0], this.numClasses]);
      if (!this.logitsChecked) this.checkFirstLogits(x, logits);
      return logits;
    });
  }

  /** Class probabilities softmax(logits), for display only: attacks and losses use logits(). */
  predict(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  /** The variables that training updates. A GraphModel has none: its weights are constants. */
  trainableVariables(): tf.Variable[] {
    this.assertUsable();
    if (this.net instanceof GraphModel) return [];
    return this.net.trainableWeights.map((w) => {
      const v = w.read();
      if (!(v instanceof tf.Variable)) {
        throw new AdvkitError('INTERNAL', `Layer weight '${w.name}' is not backed by a tf.Variable.`);
      }
      return v;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
  }

  private layerAccess(graphNodes: GraphNodeInfo[] | undefined): LayerAccess | undefined {
    if (!(this.net instanceof GraphModel)) return new LayersModelAccess(this.net);
    if (graphNodes === undefined) return undefined;
    return new GraphModelAccess(this.net, graphNodes, this.inputShape, this.graphOutputNode);
  }

  private activationsOf(access: LayerAccess): ModelActivations {
    return {
      layers: () => access.activationLayers(),
      defaultLayer: () => access.defaultActivationLayer(),
      layer: (name) => access.activationLayer(name),
      logits: (x: tf.Tensor4D, layer: string, tap: ActivationTap) =>
        this.logitsOf(x, (input) => access.runWithTap(input, layer, tap)),
    };
  }

  private runNet(input: tf.Tensor4D, training: boolean): tf.Tensor {
    if (this.net instanceof GraphModel) {
      const out = this.net.execute(input, this.graphOutputNode);
      if (Array.isArray(out)) {
        throw new AdvkitError('UNSUPPORTED', `The graph model has ${out.length} outputs; a classifier needs one.`);
      }
      return out;
    }
    const out = this.net.apply(input, { training });
    if (!(out instanceof tf.Tensor)) {
      throw new AdvkitError('UNSUPPORTED', 'The layers model must have exactly one output tensor (the logits).');
    }
    return out;
  }

  /**
   * A network with NaN or Infinity in its weights outputs them for every input, and every accuracy computed
   * from it is meaningless: the first batch's logits are read once (a synchronous read that adds no tensor, so
   * it is safe inside tf.tidy and tf.grad), and later passes pay nothing.
   */
  private checkFirstLogits(x: tf.Tensor4D, logits: tf.Tensor2D): void {
    const bad = logits.dataSync().find((v) => !Number.isFinite(v));
    if (bad === undefined) {
      this.logitsChecked = true;
      return;
    }
    // NaN pixels give NaN logits whatever the weights: the model is judged on a finite batch only.
    if (!x.dataSync().every((v) => Number.isFinite(v))) return;
    throw new AdvkitError(
      'CORRUPT_DATA',
      `The model's logits contain ${Number.isNaN(bad) ? 'NaN' : 'Infinity'} for a finite input batch: its weights ` +
        'are corrupt or its training diverged. Re-export or retrain the model.',
    );
  }

  private checkInput(x: tf.Tensor): void {
    const [h, w, c] = this.inputShape;
    if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
      throw invalidArgument(`Expected an input batch of shape [n, ${h}, ${w}, ${c}], got [${x.shape.join(', ')}].`);
    }
  }

  private assertUsable(): void {
    if (this.disposed) throw invalidArgument('This classifier has been disposed.');
  }
}

/** Units of a LayersModel's single output when its shape is known; undefined for graph models. */
function outputUnits(net: ClassifierNet): number | undefined {
  if (net instanceof GraphModel) return undefined;
  if (net.outputs.length !== 1) {
    throw new AdvkitError('UNSUPPORTED', `The layers model has ${net.outputs.length} outputs; a classifier needs one.`);
  }
  const dims = net.outputs[0].shape.slice(1);
  if (dims.some((d) => d === null)) return undefined;
  return dims.reduce<number>((a, d) => a * (d ?? 1), 1);
}

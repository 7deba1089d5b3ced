import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { AdvkitError, invalidArgument } from '../errors.js';

/** A 4-D activation inside a network, which Grad-CAM and channel visualization read and differentiate. */
export interface ActivationLayer {
  /** The layer's name (layers model) or the graph node's name (graph model). */
  name: string;
  /** [height, width, channels] of one input's activation. */
  shape: [number, number, number];
  /** The layer class ('Conv2D') or graph op ('Relu'). */
  kind: string;
}

/** Replaces a layer's output during one forward pass: return it unchanged to read it, or `a + delta` to differentiate. */
export type ActivationTap = (activation: tf.Tensor4D) => tf.Tensor4D;

/**
 * Access to a network's intermediate activations, by layer name (layers models) or graph node (graph models,
 * which can return and be fed an intermediate node). A model that has it exposes it as `Model.activations`;
 * methods that need it (Grad-CAM, channel visualization) say which methods work without it when it is absent.
 */
export interface LayerAccess {
  /** Every layer whose output is a 4-D activation, in execution order. */
  activationLayers(): ActivationLayer[];
  /**
   * The last 4-D activation before the global pooling or flatten that leads to the logits (Grad-CAM's layer);
   * undefined when the network has none (a linear model or an MLP flattens its input).
   */
  defaultActivationLayer(): ActivationLayer | undefined;
  /** The activation layer called `name`; an unknown name is an error that lists the usable ones. */
  activationLayer(name: string): ActivationLayer;
  /**
   * The network's output for a preprocessed batch, with `layer`'s output passed through `tap`. The caller
   * preprocesses (Classifier.logitsWithTap does) and disposes the result.
   */
  runWithTap(input: tf.Tensor4D, layer: string, tap: ActivationTap): tf.Tensor;
}

/**
 * A model's intermediate activations in pixel space (the model preprocesses): what Grad-CAM and channel
 * visualization need. `Model.activations` is absent for models without them (a black box, a served model).
 */
export interface ModelActivations {
  /** Every layer whose output is a 4-D activation, in execution order. */
  layers(): ActivationLayer[];
  /** The last 4-D activation before the global pooling or flatten; undefined when there is none. */
  defaultLayer(): ActivationLayer | undefined;
  /** The activation layer called `name`; an unknown name is an error that lists the usable ones. */
  layer(name: string): ActivationLayer;
  /** Logits [n, numClasses] of a pixel-space batch with `layer`'s output passed through `tap`. */
  logits(x: tf.Tensor4D, layer: string, tap: ActivationTap): tf.Tensor2D;
}

function shape3(shape: readonly (number | null)[] | undefined): [number, number, number] | undefined {
  if (shape === undefined || shape.length !== 4) return undefined;
  const [, h, w, c] = shape;
  return typeof h === 'number' && typeof w === 'number' && typeof c === 'number' ? [h, w, c] : undefined;
}

function unknownLayer(name: string, layers: ActivationLayer[]): AdvkitError {
  const listed = layers.map((l) => `${l.name} [${l.shape.join('x')}]`).join(', ');
  return invalidArgument(
    layers.length === 0
      ? `Unknown layer '${name}': this model has no 4-D activation (it has no convolutional feature maps).`
      : `Unknown layer '${name}'. Layers with a 4-D activation: ${listed}.`,
  );
}

/** A layers model's activations: a tap is installed by wrapping the layer's call() for one forward pass. */
export class LayersModelAccess implements LayerAccess {
  private cached: ActivationLayer[] | undefined;

  constructor(private readonly net: tfl.LayersModel) {}

  activationLayers(): ActivationLayer[] {
    this.cached ??= this.net.layers.flatMap((layer) => {
      if (layer.getClassName() === 'InputLayer' || layer.inboundNodes.length !== 1) return [];
      const shape = shape3(layer.outputShape as (number | null)[]);
      return shape === undefined ? [] : [{ name: layer.name, shape, kind: layer.getClassName() }];
    });
    return this.cached;
  }

  defaultActivationLayer(): ActivationLayer | undefined {
    // The first layer that takes a 4-D tensor to a lower rank (global pooling, flatten) reads the feature maps.
    const reducer = this.net.layers.find((layer) => {
      if (layer.inboundNodes.length !== 1 || layer.inboundNodes[0].inboundLayers.length !== 1) return false;
      const shapes = layer.inboundNodes[0].inputShapes;
      const input = Array.isArray(shapes[0]) ? shapes[0] : shapes;
      const out = layer.outputShape;
      return input.length === 4 && Array.isArray(out) && !Array.isArray(out[0]) && out.length < 4;
    });
    const source = reducer?.inboundNodes[0].inboundLayers[0];
    if (source === undefined) return undefined;
    return this.activationLayers().find((l) => l.name === source.name);
  }

  activationLayer(name: string): ActivationLayer {
    const found = this.activationLayers().find((l) => l.name === name);
    if (found === undefined) throw unknownLayer(name, this.activationLayers());
    return found;
  }

  runWithTap(input: tf.Tensor4D, layerName: string, tap: ActivationTap): tf.Tensor {
    this.activationLayer(layerName);
    const layer = this.net.getLayer(layerName);
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => {
      const out = call(inputs, kwargs);
      if (!(out instanceof tf.Tensor) || out.rank !== 4) {
        throw new AdvkitError('UNSUPPORTED', `Layer '${layerName}' did not return one 4-D tensor.`);
      }
      return tap(out as tf.Tensor4D);
    };
    try {
      const out = this.net.apply(input, { training: false });
      if (!(out instanceof tf.Tensor)) {
        throw new AdvkitError('UNSUPPORTED', 'The layers model must have exactly one output tensor (the logits).');
      }
      return out;
    } finally {
      // The instance property shadowed the prototype's call(); deleting it restores the layer.
      Reflect.deleteProperty(layer, 'call');
    }
  }
}

/** A node of a graph model's GraphDef: its name, op and data inputs (node names). */
export interface GraphNodeInfo {
  name: string;
  op: string;
  inputs: string[];
}

function nodeNameOf(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** The nodes of a graph-model topology (a TensorFlow GraphDef as JSON), in the order model.json lists them. */
export function graphNodesOf(graphDef: Record<string, unknown>): GraphNodeInfo[] {
  const nodes = Array.isArray(graphDef.node) ? graphDef.node : [];
  return nodes.flatMap((n: unknown) => {
    if (typeof n !== 'object' || n === null) return [];
    const { name, op, input } = n as { name?: unknown; op?: unknown; input?: unknown };
    if (typeof name !== 'string' || typeof op !== 'string') return [];
    const inputs = Array.isArray(input)
      ? input.filter((i): i is string => typeof i === 'string' && !i.startsWith('^')).map(nodeNameOf)
      : [];
    return [{ name, op, inputs }];
  });
}

const NOT_ACTIVATIONS = new Set(['Const', 'Placeholder', 'NoOp', 'Identity']);

/**
 * A graph model's activations: a node is read by executing it as an output, and tapped by feeding the edited
 * value back under the node's name (with the model input, for paths that bypass the node).
 */
export class GraphModelAccess implements LayerAccess {
  private shapes: Map<string, number[]> | undefined;

  constructor(
    private readonly net: GraphModel,
    private readonly nodes: GraphNodeInfo[],
    private readonly inputShape: readonly [number, number, number],
    private readonly outputNode: string | undefined,
  ) {}

  /** Output shapes of every computed node, from one forward pass on one zero input (cached). */
  private nodeShapes(): Map<string, number[]> {
    if (this.shapes !== undefined) return this.shapes;
    const names = this.nodes.filter((n) => !NOT_ACTIVATIONS.has(n.op)).map((n) => n.name);
    const shapes = new Map<string, number[]>();
    if (names.length > 0) {
      tf.tidy(() => {
        const outs = this.net.execute(tf.zeros([1, ...this.inputShape]), names);
        const list = Array.isArray(outs) ? outs : [outs];
        list.forEach((t, i) => shapes.set(names[i], t.shape));
      });
    }
    this.shapes = shapes;
    return shapes;
  }

  activationLayers(): ActivationLayer[] {
    const shapes = this.nodeShapes();
    return this.nodes.flatMap((n) => {
      const shape = shape3(shapes.get(n.name));
      return shape === undefined ? [] : [{ name: n.name, shape, kind: n.op }];
    });
  }

  defaultActivationLayer(): ActivationLayer | undefined {
    const shapes = this.nodeShapes();
    const reducer = this.nodes.find((n) => {
      const out = shapes.get(n.name);
      const data = shapes.get(n.inputs[0] ?? '');
      return out !== undefined && data !== undefined && data.length === 4 && out.length < 4;
    });
    const source = reducer?.inputs[0];
    return this.activationLayers().find((l) => l.name === source);
  }

  activationLayer(name: string): ActivationLayer {
    const found = this.activationLayers().find((l) => l.name === name);
    if (found === undefined) throw unknownLayer(name, this.activationLayers());
    return found;
  }

  runWithTap(input: tf.Tensor4D, node: string, tap: ActivationTap): tf.Tensor {
    this.activationLayer(node);
    const activation = this.net.execute(input, node);
    if (Array.isArray(activation)) throw new AdvkitError('UNSUPPORTED', `Node '${node}' has several outputs.`);
    const tapped = tap(activation as tf.Tensor4D);
    const out = this.net.execute({ [this.net.inputNodes[0]]: input, [node]: tapped }, this.outputNode);
    if (Array.isArray(out)) {
      throw new AdvkitError('UNSUPPORTED', `The graph model has ${out.length} outputs; a classifier needs one.`);
    }
    return out;
  }
}

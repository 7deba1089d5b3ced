import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { AdvkitError, invalidArgument } from '../errors.js';
import { ADVKIT_VERSION } from '../version.js';
import { Classifier, type ClassifierNet } from './classifier.js';
import { checkFiniteWeights } from './finite-weights.js';
import { graphNodesOf, type GraphNodeInfo } from './layer-access.js';
import { ADVKIT_MODEL_FORMAT, type ClassifierMetadata } from './metadata.js';
import type { Preprocessing } from './preprocessing.js';
import { findGraphSoftmax, stripLayersSoftmax } from './softmax.js';

/** Everything a classifier is assembled from; later fields override what metadata says. */
export interface ClassifierSource {
  artifacts: tf.io.ModelArtifacts;
  /** Parsed advkit.json, when the model has one. */
  metadata?: ClassifierMetadata;
  /** Where metadata came from, for error messages; default 'advkit.json'. */
  metadataSource?: string;
  classNames?: string[];
  /** Where classNames came from, for error messages. */
  classNamesSource?: string;
  preprocessing?: Preprocessing;
  inputShape?: [number, number, number];
  bounds?: [number, number];
  /** The model's location, for error messages. */
  source: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A tfjs graph model (converted TF SavedModel/GraphDef) rather than a layers (Keras) model. */
export function isGraphModelArtifacts(artifacts: tf.io.ModelArtifacts): boolean {
  if (artifacts.format === 'graph-model') return true;
  if (artifacts.format === 'layers-model') return false;
  return isRecord(artifacts.modelTopology) && Array.isArray(artifacts.modelTopology.node);
}

function signatureOutputNames(signature: unknown): string[] | undefined {
  if (!isRecord(signature) || !isRecord(signature.outputs)) return undefined;
  return Object.values(signature.outputs).flatMap((o) => (isRecord(o) && typeof o.name === 'string' ? [o.name] : []));
}

interface BuiltNet {
  net: ClassifierNet;
  graphOutputNode?: string;
  graphNodes?: GraphNodeInfo[];
  note?: string;
}

async function buildNet(artifacts: tf.io.ModelArtifacts, source: string): Promise<BuiltNet> {
  const topology = artifacts.modelTopology;
  if (!isRecord(topology)) {
    throw new AdvkitError('CORRUPT_DATA', `${source}: "modelTopology" must be a JSON object.`, { file: source });
  }
  try {
    if (isGraphModelArtifacts(artifacts)) {
      const { outputNode, note } = findGraphSoftmax(topology, signatureOutputNames(artifacts.signature));
      const net = await loadGraphModel(tf.io.fromMemory(artifacts));
      return { net, graphOutputNode: outputNode, graphNodes: graphNodesOf(topology), note };
    }
    const { topology: logitsTopology, note } = stripLayersSoftmax(topology);
    const net = await tfl.loadLayersModel(tf.io.fromMemory({ ...artifacts, modelTopology: logitsTopology }));
    return { net, note };
  } catch (err) {
    if (err instanceof AdvkitError) throw err;
    throw new AdvkitError('CORRUPT_DATA', `${source}: the model could not be built: ${(err as Error).message}`, {
      file: source,
    });
  }
}

/** The input size the network declares, [height, width, channels]; null where a dimension is free. */
function declaredInputDims(net: ClassifierNet): (number | null)[] | undefined {
  const dims = net.inputs[0]?.shape?.slice(1);
  return dims?.map((d) => (typeof d === 'number' && d > 0 ? d : null));
}

/**
 * The input shape advkit.json or the caller gives must be one the network accepts: a mismatch would otherwise
 * surface as a tfjs shape error deep inside the first forward pass.
 */
function checkInputShape(net: ClassifierNet, inputShape: [number, number, number], src: ClassifierSource): void {
  const declared = declaredInputDims(net);
  if (net.inputs.length !== 1 || declared === undefined) return;
  const fits = declared.length === 3 && declared.every((d, i) => d === null || d === inputShape[i]);
  if (fits) return;
  const network = `[${declared.map((d) => d ?? '?').join(', ')}]`;
  const given = `[${inputShape.join(', ')}]`;
  if (src.inputShape !== undefined) {
    throw invalidArgument(
      `inputShape ${given} does not fit the model ${src.source}, whose input is ${network} (height, width, channels).`,
    );
  }
  const file = src.metadataSource ?? 'advkit.json';
  throw new AdvkitError(
    'CORRUPT_DATA',
    `${file} gives inputShape ${given} but the model ${src.source} takes inputs of ${network}: the two files ` +
      `do not belong together; fix inputShape in ${file}.`,
    { file },
  );
}

function inferInputShape(net: ClassifierNet, source: string): [number, number, number] {
  const shape = net.inputs[0]?.shape;
  const dims = shape?.slice(1) ?? [];
  if (net.inputs.length !== 1 || dims.length !== 3 || !dims.every((d) => typeof d === 'number' && d > 0)) {
    throw invalidArgument(
      `${source}: cannot infer the input shape from the model (input shape ${JSON.stringify(shape ?? null)}); ` +
        'give inputShape as [height, width, channels].',
    );
  }
  return [dims[0] as number, dims[1] as number, dims[2] as number];
}

/** Number of logits, from the output shape when it is static, else from one forward pass on zeros. */
function countOutputs(net: ClassifierNet, inputShape: [number, number, number], graphOutputNode?: string): number {
  if (net instanceof tfl.LayersModel && net.outputs.length === 1) {
    const dims = net.outputs[0].shape.slice(1);
    if (dims.every((d) => d !== null)) return dims.reduce<number>((a, d) => a * (d ?? 1), 1);
  }
  return tf.tidy(() => {
    const probe = tf.zeros([1, ...inputShape]);
    const out = net instanceof tfl.LayersModel ? net.predict(probe) : net.execute(probe, graphOutputNode);
    if (Array.isArray(out)) throw new AdvkitError('UNSUPPORTED', 'The model has several outputs; a classifier needs one.');
    return out.size;
  });
}

/**
 * Builds a Classifier from model artifacts (a parsed model.json with its weights) plus optional metadata and
 * overrides. A final softmax is removed (and said so in metadata.notes) so that logits() returns logits.
 * CORRUPT_DATA when the weights hold NaN or Infinity, or advkit.json's inputShape contradicts the network's.
 */
export async function classifierFromArtifacts(src: ClassifierSource): Promise<Classifier> {
  checkFiniteWeights(src.artifacts, src.source);
  const { net, graphOutputNode, graphNodes, note } = await buildNet(src.artifacts, src.source);
  try {
    const inputShape = src.inputShape ?? src.metadata?.inputShape ?? inferInputShape(net, src.source);
    checkInputShape(net, inputShape, src);
    const numClasses = countOutputs(net, inputShape, graphOutputNode);
    const classNames =
      src.classNames ?? src.metadata?.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i));
    if (classNames.length !== numClasses) {
      const from = src.classNamesSource ?? (src.classNames !== undefined ? 'the given class names' : 'advkit.json');
      throw invalidArgument(`${from} lists ${classNames.length} classes but the model ${src.source} has ${numClasses} outputs.`);
    }
    const notes = [...(src.metadata?.notes ?? [])];
    if (note !== undefined && !notes.includes(note)) notes.push(note);
    const metadata: ClassifierMetadata = {
      ...(src.metadata ?? { format: ADVKIT_MODEL_FORMAT, advkitVersion: ADVKIT_VERSION, architecture: 'external' }),
      inputShape,
      bounds: src.bounds ?? src.metadata?.bounds ?? [0, 1],
      preprocessing: src.preprocessing ?? src.metadata?.preprocessing ?? {},
      classNames,
    };
    if (notes.length > 0) metadata.notes = notes;
    return new Classifier(net, metadata, { graphOutputNode, graphNodes });
  } catch (err) {
    net.dispose();
    throw err;
  }
}

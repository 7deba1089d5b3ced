/**
 * Finding and removing a final softmax, so that a Classifier always exposes logits. Attacks and AutoAttack's
 * checks (Croce & Hein 2020) need pre-softmax outputs: a softmax output saturates and hides gradients.
 * Both functions work on the serialized topology (model.json), before the model is built.
 */

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface LayersLogitsResult {
  /** The topology to build: the input itself when nothing was changed, else a modified copy. */
  topology: Json;
  /** Set when the topology was changed or could not be checked; goes to metadata.notes. */
  note?: string;
}

/** The Keras {class_name, config} of a layers-model topology (model.json may nest it under model_config). */
function modelConfigOf(topology: Json): Json | undefined {
  const inner = isRecord(topology.model_config) ? topology.model_config : topology;
  return typeof inner.class_name === 'string' ? inner : undefined;
}

function layerList(model: Json): unknown[] | undefined {
  const config = model.config;
  if (Array.isArray(config)) return config; // old Keras Sequential: config is the layer list
  if (isRecord(config) && Array.isArray(config.layers)) return config.layers;
  return undefined;
}

function isSoftmaxLayer(layer: Json): boolean {
  const config = isRecord(layer.config) ? layer.config : {};
  return layer.class_name === 'Softmax' || (layer.class_name === 'Activation' && config.activation === 'softmax');
}

/**
 * Returns a layers-model topology whose output is the pre-softmax value of the input topology:
 * a final Activation('softmax') / Softmax layer is dropped, and a final layer with activation 'softmax'
 * (e.g. Dense) gets activation 'linear' (its weights are unchanged).
 */
export function stripLayersSoftmax(topology: Json): LayersLogitsResult {
  const copy = structuredClone(topology);
  const model = modelConfigOf(copy);
  const layers = model === undefined ? undefined : layerList(model);
  const unchecked = {
    topology,
    note: 'The model topology has an unfamiliar layout; whether it ends in a softmax could not be checked.',
  };
  if (model === undefined || layers === undefined || layers.length === 0) return unchecked;

  let lastIndex = layers.length - 1;
  if (model.class_name !== 'Sequential') {
    const config = isRecord(model.config) ? model.config : {};
    const outputs = config.output_layers;
    if (!Array.isArray(outputs) || outputs.length !== 1 || !Array.isArray(outputs[0])) return unchecked;
    const outputName = outputs[0][0];
    lastIndex = layers.findIndex((l) => isRecord(l) && l.name === outputName);
  }
  const last = layers[lastIndex];
  if (!isRecord(last)) return unchecked;
  const lastConfig = isRecord(last.config) ? last.config : {};
  const lastName = String(last.name ?? lastConfig.name ?? `#${lastIndex}`);

  if (isSoftmaxLayer(last)) {
    if (model.class_name === 'Sequential') {
      if (layers.length < 2) return unchecked;
      layers.splice(lastIndex, 1);
    } else {
      // Keras inbound_nodes: [[[layerName, nodeIndex, tensorIndex, kwargs]]] for a single-input layer.
      const inbound = last.inbound_nodes;
      const node = Array.isArray(inbound) && inbound.length === 1 ? inbound[0] : undefined;
      const first = Array.isArray(node) && node.length === 1 ? node[0] : undefined;
      if (!Array.isArray(first) || !isRecord(model.config)) return unchecked;
      model.config.output_layers = [[first[0], first[1], first[2]]];
      layers.splice(lastIndex, 1);
    }
    return { topology: copy, note: `Removed the final softmax layer '${lastName}': logits are its input.` };
  }
  if (lastConfig.activation === 'softmax') {
    lastConfig.activation = 'linear';
    return {
      topology: copy,
      note: `The final layer '${lastName}' had a softmax activation; it was set to linear to expose logits.`,
    };
  }
  return { topology };
}

export interface GraphLogitsResult {
  /** The node to execute for logits when it is not the graph's output (the input of a final Softmax). */
  outputNode?: string;
  note?: string;
}

function nodeName(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

/**
 * Looks for a final Softmax node in a graph-model topology (a TensorFlow GraphDef as JSON), following
 * Identity nodes back from the single output. `signatureOutputs` are the output tensor names of the model's
 * signature, when model.json has one.
 */
export function findGraphSoftmax(graphDef: Json, signatureOutputs?: string[]): GraphLogitsResult {
  const unchecked = {
    note: 'The graph model has no single identifiable output; whether it ends in a softmax could not be checked.',
  };
  const nodes = Array.isArray(graphDef.node) ? graphDef.node.filter(isRecord) : [];
  const byName = new Map<string, Json>();
  for (const node of nodes) if (typeof node.name === 'string') byName.set(node.name, node);
  if (byName.size === 0) return unchecked;

  const inputsOf = (node: Json): string[] =>
    Array.isArray(node.input) ? node.input.filter((i): i is string => typeof i === 'string' && !i.startsWith('^')) : [];
  let outputs: string[];
  if (signatureOutputs !== undefined && signatureOutputs.length > 0) {
    outputs = signatureOutputs.map(nodeName);
  } else {
    const consumed = new Set(nodes.flatMap((n) => inputsOf(n).map(nodeName)));
    outputs = [...byName.keys()].filter((name) => !consumed.has(name) && byName.get(name)?.op !== 'NoOp');
  }
  if (outputs.length !== 1) return unchecked;

  let node = byName.get(outputs[0]);
  const seen = new Set<string>();
  while (node !== undefined && node.op === 'Identity' && !seen.has(String(node.name))) {
    seen.add(String(node.name));
    const [input] = inputsOf(node);
    node = input === undefined ? undefined : byName.get(nodeName(input));
  }
  if (node === undefined) return unchecked;
  if (node.op !== 'Softmax') return {};
  const [logits] = inputsOf(node);
  if (logits === undefined) return unchecked;
  return {
    outputNode: nodeName(logits),
    note: `Removed the final Softmax node '${String(node.name)}': logits are read from '${nodeName(logits)}'.`,
  };
}

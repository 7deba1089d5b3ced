import { describe, expect, it } from 'vitest';
import { findGraphSoftmax, stripLayersSoftmax } from './softmax.js';

const dense = (name: string, activation: string) => ({ class_name: 'Dense', config: { name, units: 3, activation } });

describe('stripLayersSoftmax', () => {
  it('sets a final softmax activation to linear, leaving the input untouched', () => {
    const topology = { class_name: 'Sequential', config: { name: 's', layers: [dense('a', 'relu'), dense('b', 'softmax')] } };
    const { topology: out, note } = stripLayersSoftmax(topology);
    expect(out).toMatchObject({ config: { layers: [{ config: { activation: 'relu' } }, { config: { activation: 'linear' } }] } });
    expect(topology.config.layers[1].config.activation).toBe('softmax');
    expect(note).toMatch(/'b' had a softmax activation/);
  });

  it('drops a final Softmax layer of an old-Keras Sequential (config is the layer list, under model_config)', () => {
    const topology = {
      keras_version: '2.1.6',
      model_config: { class_name: 'Sequential', config: [dense('a', 'linear'), { class_name: 'Softmax', config: { name: 'sm' } }] },
    };
    const { topology: out, note } = stripLayersSoftmax(topology);
    expect((out.model_config as { config: unknown[] }).config).toHaveLength(1);
    expect(note).toMatch(/Removed the final softmax layer 'sm'/);
  });

  it('leaves a logits model alone, and says when a layout is unfamiliar', () => {
    const topology = { class_name: 'Sequential', config: { layers: [dense('a', 'linear')] } };
    expect(stripLayersSoftmax(topology)).toEqual({ topology });
    expect(stripLayersSoftmax({ something: 1 }).note).toMatch(/could not be checked/);
  });
});

describe('findGraphSoftmax', () => {
  const node = (name: string, op: string, input: string[] = []) => ({ name, op, input });
  const graph = (...nodes: object[]) => ({ node: nodes });

  it('finds a final Softmax (through Identity) and reads logits from its input', () => {
    const g = graph(
      node('x', 'Placeholder'),
      node('w', 'Const'),
      node('mm', 'MatMul', ['x', 'w']),
      node('b', 'Const'),
      node('logits', 'BiasAdd', ['mm', 'b']),
      node('probs', 'Softmax', ['logits:0']),
      node('Identity', 'Identity', ['probs']),
    );
    expect(findGraphSoftmax(g)).toEqual({
      outputNode: 'logits',
      note: "Removed the final Softmax node 'probs': logits are read from 'logits'.",
    });
    expect(findGraphSoftmax(g, ['Identity:0']).outputNode).toBe('logits');
  });

  it('returns nothing for a logits graph and a note when the output is ambiguous', () => {
    expect(findGraphSoftmax(graph(node('x', 'Placeholder'), node('y', 'Relu', ['x'])))).toEqual({});
    expect(findGraphSoftmax(graph(node('x', 'Placeholder'), node('y', 'Relu', ['x']), node('z', 'Tanh', ['x']))).note).toMatch(
      /could not be checked/,
    );
  });
});

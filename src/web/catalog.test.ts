import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getAttack } from '../attacks/registry.js';
import { getMethod } from '../explain/registry.js';
import { BUNDLED_MODELS, SAMPLE_SETS, bundledModel, bundledModelPath, sampleSetFor } from './catalog.js';
import { PLAYGROUND_ATTACKS, PLAYGROUND_METHODS, PLAYGROUND_PRESETS, methodName } from './methods.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe("the playground's catalog", () => {
  it('names bundled models and samples that exist, each model with a twin', () => {
    for (const m of BUNDLED_MODELS) {
      expect(existsSync(path.join(root, bundledModelPath(m.name))), m.name).toBe(true);
      expect(bundledModel(m.twin)?.twin).toBe(m.name);
    }
    for (const set of Object.values(SAMPLE_SETS)) {
      for (const file of set.files) expect(existsSync(path.join(root, file)), file).toBe(true);
    }
  });

  it('finds the samples a model takes, by dataset or by input shape', () => {
    expect(sampleSetFor('mnist', [28, 28, 1])).toBe(SAMPLE_SETS.mnist);
    expect(sampleSetFor(undefined, [32, 32, 3])).toBe(SAMPLE_SETS.cifar10);
    expect(sampleSetFor(undefined, [224, 224, 3])).toBeUndefined();
  });

  it("offers only the library's attacks and methods, with presets the schemas accept", () => {
    for (const name of PLAYGROUND_ATTACKS) expect(getAttack(name).name).toBe(name);
    for (const m of PLAYGROUND_METHODS) expect(getMethod(methodName(m.value)).name).toBe(m.method);
    expect(methodName('integrated-gradients')).toBe('ig');
    for (const [attack, preset] of Object.entries(PLAYGROUND_PRESETS)) {
      expect(Object.keys(preset).every((key) => key in getAttack(attack).schema)).toBe(true);
    }
  });
});

import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { packageRoot } from '../util/node/package-root.js';
import { ModelCatalog } from './model-catalog.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AdvkitError ? err.code : 'not an AdvkitError';
  }
  return undefined;
}

describe('ModelCatalog', () => {
  it('lists the bundled models with their advkit.json facts and resolves a name to its directory', async () => {
    const catalog = await ModelCatalog.open({});
    const names = catalog.list().map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining(['mnist-cnn', 'mnist-cnn-robust', 'cifar-cnn', 'cifar-linear']),
    );
    expect(catalog.get('cifar-linear')).toMatchObject({
      dataset: 'cifar10',
      inputShape: [32, 32, 3],
      classes: ['airplane', 'cat'],
      bounds: [0, 1],
      source: 'bundled',
    });
    expect(catalog.get('mnist-cnn-robust').metrics.pgd40Accuracy).toBeGreaterThan(0.9);
    expect(catalog.resolve('mnist-cnn')).toBe(path.join(packageRoot(), 'models', 'mnist-cnn'));
  });

  it('refuses paths (INVALID_ARGUMENT) and unknown names (NOT_FOUND, listing the known ones)', async () => {
    const catalog = await ModelCatalog.open({});
    for (const bad of [
      '../mnist-cnn',
      '/etc',
      'models/mnist-cnn',
      '..',
      'a..b',
      '',
      '.hidden',
      'x'.repeat(101),
    ]) {
      expect(
        codeOf(() => catalog.resolve(bad)),
        bad,
      ).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => catalog.get('nope'))).toBe('NOT_FOUND');
    expect(() => catalog.get('nope')).toThrow(/mnist-cnn/);
  });

  it('adds the model folders of --models, which shadow a bundled name, and skips folders without a model', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'advkit-catalog-'));
    dirs.push(dir);
    cpSync(path.join(packageRoot(), 'models', 'mnist-cnn'), path.join(dir, 'my-digits'), { recursive: true });
    cpSync(path.join(packageRoot(), 'models', 'mnist-cnn'), path.join(dir, 'cifar-cnn'), { recursive: true });
    mkdirSync(path.join(dir, 'empty'));
    writeFileSync(path.join(dir, 'notes.txt'), 'not a model');
    const catalog = await ModelCatalog.open({ modelsDir: dir });
    expect(catalog.get('my-digits')).toMatchObject({ source: 'models-dir', inputShape: [28, 28, 1] });
    expect(catalog.resolve('my-digits')).toBe(path.join(dir, 'my-digits'));
    expect(catalog.get('cifar-cnn').source).toBe('models-dir');
    expect(catalog.list().map((m) => m.name)).not.toContain('empty');
    await expect(ModelCatalog.open({ modelsDir: path.join(dir, 'missing') })).rejects.toThrow(
      /not a directory/,
    );
  });
});

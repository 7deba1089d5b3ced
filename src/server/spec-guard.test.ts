import { beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { ModelCatalog } from './model-catalog.js';
import { guardTaskSpec, isPathField, TASK_SCHEMAS } from './spec-guard.js';

let catalog: ModelCatalog;
beforeAll(async () => {
  catalog = await ModelCatalog.open({});
});

function refusal(fn: () => unknown): AdvkitError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AdvkitError) return err;
  }
  throw new Error('expected an AdvkitError');
}

describe('guardTaskSpec', () => {
  it('refuses every path field of every served task, naming it', () => {
    for (const [task, schema] of Object.entries(TASK_SCHEMAS)) {
      const paths = Object.entries(schema.properties).filter(([key, prop]) => isPathField(key, prop));
      expect(paths.map(([key]) => key)).toEqual(expect.arrayContaining(['labels', 'dataDir']));
      for (const [key] of paths) {
        const err = refusal(() =>
          guardTaskSpec(task as 'attack', { [key]: '/etc/passwd' }, catalog, 'mnist-cnn'),
        );
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toContain(`'${key}'`);
      }
    }
    expect(isPathField('patch', TASK_SCHEMAS.explain.properties.patch)).toBe(true);
    expect(refusal(() => guardTaskSpec('predict', { out: '/tmp/x' }, catalog)).message).toContain("'out'");
  });

  it('turns model names into served directories and refuses paths and foreign data', () => {
    const spec = guardTaskSpec('attack', { eps: 0.1, transferTo: 'mnist-cnn-robust' }, catalog, 'mnist-cnn');
    expect(spec.model).toBe(catalog.resolve('mnist-cnn'));
    expect(spec.transferTo).toBe(catalog.resolve('mnist-cnn-robust'));
    expect(guardTaskSpec('evaluate', { model: 'cifar-cnn' }, catalog).model).toBe(
      catalog.resolve('cifar-cnn'),
    );
    expect(guardTaskSpec('explain', { model: 'cifar-cnn,cifar-cnn-robust' }, catalog).model).toEqual([
      catalog.resolve('cifar-cnn'),
      catalog.resolve('cifar-cnn-robust'),
    ]);
    expect(refusal(() => guardTaskSpec('predict', { model: '../../etc' }, catalog)).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(refusal(() => guardTaskSpec('predict', { model: 'nope' }, catalog)).code).toBe('NOT_FOUND');
    expect(refusal(() => guardTaskSpec('evaluate', { data: '/data/imagenet' }, catalog)).message).toMatch(
      /mnist, fashion-mnist, cifar10/,
    );
    expect(guardTaskSpec('evaluate', { data: 'fashion-mnist' }, catalog).data).toBe('fashion-mnist');
    expect(refusal(() => guardTaskSpec('predict', [], catalog)).code).toBe('INVALID_ARGUMENT');
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { caughtAdvkitError } from '../data/test-utils/scratch.js';
import { attackTask } from './attack.js';
import type { ImagesResult } from './attack-images.js';
import { explainTask } from './explain.js';
import { predictTask } from './predict.js';
import { predictSchema } from './predict-spec.js';
import { schemaKeyword } from './spec.js';

/**
 * Raw inputs (`inputs`, [n, h, w, c] in the model's input space) in place of image files, as programs such as the
 * HTTP server give them: checked against the model before any work, named inputs#i in results.
 */
const fill = (n: number, value: number): number[][][][] =>
  Array.from({ length: n }, () =>
    Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => [value])),
  );

beforeAll(async () => {
  await initNodeBackend({ threads: 1 });
});

describe('raw inputs', () => {
  it('are hidden from the CLI and classified like images', async () => {
    expect(schemaKeyword(predictSchema.properties.inputs, 'x-cli')).toBe(false);
    const { result } = await predictTask.run({ inputs: fill(2, 0), top: 2 });
    expect(result.predictions.map((p) => p.source)).toEqual(['inputs#0', 'inputs#1']);
    expect(result.predictions[0].top).toHaveLength(2);
    expect(result.predictions[0].top).toEqual(result.predictions[1].top);
  });

  it('are refused with what is expected: shape, non-finite values, out of bounds, with data', async () => {
    const wrongShape = await caughtAdvkitError(predictTask.run({ inputs: [[[[0, 0]]]] }));
    expect(wrongShape.code).toBe('INVALID_ARGUMENT');
    expect(wrongShape.message).toMatch(/inputs\[0\] has 1 rows, not 28; expected \[n, 28, 28, 1\]/);
    // NaN is refused by the spec's schema (JSON Schema numbers are finite); over HTTP, JSON cannot carry it.
    const nan = fill(1, 0);
    nan[0][5][6][0] = Number.NaN;
    const notFinite = await caughtAdvkitError(predictTask.run({ inputs: nan }));
    expect(notFinite.code).toBe('INVALID_ARGUMENT');
    expect(notFinite.message).toMatch(/^predict: inputs must be/);
    expect((await caughtAdvkitError(predictTask.run({ inputs: fill(1, -0.5) }))).message).toMatch(
      /is -0\.5, outside the bounds; .*values in \[0, 1\]/,
    );
    expect((await caughtAdvkitError(predictTask.run({ inputs: fill(1, 0), data: 'mnist' }))).message).toMatch(
      /either/,
    );
  });

  it('are attacked, with each adversarial image as a PNG artifact when asked', async () => {
    const { result, artifacts } = await attackTask.run({
      inputs: fill(2, 0.5),
      eps: [0.05, 0.1],
      params: { steps: 3 },
      adversarialImages: true,
    });
    const images = result as ImagesResult;
    expect(images.images.map((i) => i.source)).toEqual(['inputs#0', 'inputs#1']);
    expect(artifacts.map((a) => a.name).sort()).toEqual([
      'adversarial-0-0.png',
      'adversarial-0-1.png',
      'adversarial-1-0.png',
      'adversarial-1-1.png',
    ]);
    expect(artifacts.every((a) => a.mediaType === 'image/png' && a.bytes.length > 0)).toBe(true);
    expect(
      (await attackTask.run({ inputs: fill(1, 0.5), eps: 0.05, params: { steps: 1 } })).artifacts,
    ).toEqual([]);
  });

  it('are explained', async () => {
    const { result } = await explainTask.run({
      model: 'mnist-cnn',
      inputs: fill(1, 0.3),
      methods: 'saliency',
      picture: false,
    });
    expect(result.inputs.map((i) => i.source)).toEqual(['inputs#0']);
    expect(result.data.mode).toBe('images');
  });
});

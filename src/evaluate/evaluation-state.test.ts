import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistFixture, type MnistFixture } from '../attacks/test-utils/mnist-fixture.js';
import { AdvkitError } from '../errors.js';
import { evaluateRobustness } from './evaluate-robustness.js';
import {
  checkResumedChunk,
  matchingState,
  MemoryStateStore,
  STATE_FORMAT,
  type ChunkRecord,
  type EvaluationState,
} from './evaluation-state.js';

const chunk = (extra: Partial<Record<keyof ChunkRecord, unknown>> = {}): Record<string, unknown> => ({
  eps: 0,
  attack: 0,
  chunk: 0,
  broken: [1],
  gradients: 10,
  queries: 0,
  seconds: 0.5,
  gallery: [{ index: 0, prediction: 3, adversarial: 'AAAA' }],
  ...extra,
});

const state = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  format: STATE_FORMAT,
  key: 'k',
  cleanPredictions: [7, 2, 1, 0],
  chunks: [chunk()],
  ...extra,
});

function refusal(saved: unknown): AdvkitError {
  try {
    matchingState(saved, 'k', '/out/evaluation.state.json', 4);
  } catch (err) {
    expect(err).toBeInstanceOf(AdvkitError);
    return err as AdvkitError;
  }
  throw new Error('expected the state to be refused');
}

describe('matchingState', () => {
  it('accepts a sound state and returns it', () => {
    expect(matchingState(state(), 'k', 'memory', 4)).toEqual(state());
    expect(matchingState(null, 'k', 'memory', 4)).toBeNull();
  });

  it.each([
    [
      'points that do not exist',
      { broken: [999, -1] },
      /chunks\[0\] "broken" lists 999, but points are numbered 0 to 3/,
    ],
    ['a point twice', { broken: [1, 1] }, /chunks\[0\] "broken" lists a point more than once/],
    ['a point of the wrong type', { broken: ['1'] }, /chunks\[0\] "broken" lists "1"/],
    ['a fractional index', { broken: [1.5] }, /"broken" lists 1.5/],
    ['a broken list that is not a list', { broken: 3 }, /"broken" must be an array/],
    ['a negative chunk index', { chunk: -1 }, /"eps", "attack" and "chunk" indices/],
    [
      'a count of the wrong type',
      { gradients: '10' },
      /"gradients", "queries" and "seconds" as finite numbers/,
    ],
    [
      'a gallery point outside the evaluation',
      { gallery: [{ index: 4, prediction: 1, adversarial: '' }] },
      /gallery\[0\]/,
    ],
  ])('refuses a chunk listing %s (CORRUPT_DATA, with the file and what to do)', (_, change, message) => {
    const err = refusal(state({ chunks: [chunk(change)] }));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(
      /^\/out\/evaluation\.state\.json is damaged: .*Delete it or run with --no-resume/,
    );
  });

  it('refuses a chunk saved twice and clean predictions that do not fit the evaluation', () => {
    expect(refusal(state({ chunks: [chunk(), chunk({ broken: [] })] })).message).toMatch(
      /chunks\[1\] repeats an earlier chunk \(eps #0, attack #0, chunk #0\)/,
    );
    expect(refusal(state({ cleanPredictions: [1, 2, 3] })).code).toBe('CORRUPT_DATA');
    expect(refusal(state({ cleanPredictions: [1, 2, 3, null] })).message).toMatch(
      /"cleanPredictions" must list/,
    );
    expect(refusal(state({ chunks: {} })).message).toMatch(/"chunks" must be an array/);
  });

  it('still tells another run or another format apart (INVALID_ARGUMENT)', () => {
    expect(refusal(state({ key: 'other' })).message).toMatch(/different evaluation/);
    expect(refusal({ format: 'x' }).message).toMatch(/not an advkit evaluation state/);
    expect(refusal([]).code).toBe('INVALID_ARGUMENT');
  });
});

describe('checkResumedChunk', () => {
  const record = chunk({ broken: [5, 6], gallery: [] });
  const parsed = matchingState(
    state({ cleanPredictions: new Array(8).fill(0), chunks: [record] }),
    'k',
    'f',
    8,
  );

  it('accepts points the chunk attacked and refuses any other', () => {
    const saved = parsed?.chunks[0];
    if (saved === undefined) throw new Error('expected a chunk');
    expect(() => checkResumedChunk(saved, Int32Array.from([4, 5, 6]), 'f')).not.toThrow();
    expect(() => checkResumedChunk(saved, Int32Array.from([0, 1, 5]), 'f')).toThrow(
      /f is damaged: the chunk \(eps #0, attack #0, chunk #0\) lists point 6, which that chunk did not attack/,
    );
  });
});

describe('resuming an evaluation from a damaged state', () => {
  let f: MnistFixture;
  beforeAll(async () => {
    f = await loadMnistFixture(8);
  });
  afterAll(() => f.dispose());

  it('refuses a chunk that lists a point of another chunk, before attacking anything', async () => {
    const options = { x: f.x, labels: f.labels, norm: 'linf' as const, eps: 0.15, suite: ['pgd'], seed: 1 };
    const store = new MemoryStateStore();
    const controller = new AbortController();
    const save = store.save.bind(store);
    store.save = async (s: EvaluationState) => {
      await save(s);
      controller.abort();
    };
    const killed = evaluateRobustness(f.classifier, {
      ...options,
      chunkSize: 4,
      state: store,
      signal: controller.signal,
    });
    await expect(killed).rejects.toMatchObject({ code: 'ABORTED' });
    const saved = store.saved;
    if (saved === null) throw new Error('expected a saved state');
    // Chunk 0 attacked the first four correctly classified points, so never point 7.
    saved.chunks[0].broken = [7];
    store.save = save;
    const saves = store.saves;
    const resumed = evaluateRobustness(f.classifier, { ...options, chunkSize: 4, state: store });
    await expect(resumed).rejects.toMatchObject({
      code: 'CORRUPT_DATA',
      message: expect.stringMatching(/lists point 7/),
    });
    expect(store.saves).toBe(saves);
  });
});

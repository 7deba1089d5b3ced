import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import type { Classifier } from '../../models/classifier.js';
import { createClassifier } from '../../models/create-classifier.js';
import { blobDataset } from '../test-utils/fixtures.js';
import {
  assertAdversarialFits,
  maxEps,
  resolveAdversarialOptions,
  type AdversarialMethod,
  type AdversarialOptions,
} from './options.js';

/** A method name from an untyped caller (JSON, a CLI flag) that the type system would reject. */
function unchecked(value: string): AdversarialMethod {
  return value as AdversarialMethod;
}

describe('resolveAdversarialOptions', () => {
  it("fills in each paper's defaults", () => {
    expect(resolveAdversarialOptions({ method: 'pgd', eps: 0.3 })).toEqual({
      method: 'pgd',
      norm: 'linf',
      eps: 0.3,
      epsWarmup: 0,
      steps: 10,
      stepSize: 0.075, // 2.5 * eps / steps
      randomStart: true,
      cleanWeight: 0,
    });
    expect(resolveAdversarialOptions({ method: 'pgd', eps: 0.3, steps: 40 }).stepSize).toBeCloseTo(0.01875);
    expect(resolveAdversarialOptions({ method: 'fgsm-rs', eps: 8 / 255 })).toEqual({
      method: 'fgsm-rs',
      norm: 'linf',
      eps: 8 / 255,
      epsWarmup: 0,
      stepSize: 10 / 255, // alpha = 1.25 * eps
      randomStart: true,
      cleanWeight: 0,
      guard: { batchSize: 256, steps: 10 },
    });
    expect(resolveAdversarialOptions({ method: 'free', eps: 0.1 })).toEqual({
      method: 'free',
      norm: 'linf',
      eps: 0.1,
      epsWarmup: 0,
      replays: 8,
      stepSize: 0.1,
      cleanWeight: 0,
    });
    expect(resolveAdversarialOptions({ method: 'trades', eps: 0.2, norm: 'l2', epsWarmup: 1.5 })).toEqual({
      method: 'trades',
      norm: 'l2',
      eps: 0.2,
      epsWarmup: 1.5,
      steps: 10,
      stepSize: 0.05, // eps / 4
      beta: 6,
    });
    expect(resolveAdversarialOptions({ method: 'fgsm-rs', eps: 0.1, guard: false }).method).toBe('fgsm-rs');
    expect(resolveAdversarialOptions({ method: 'fgsm-rs', eps: 0.1, guard: { steps: 5 } })).toMatchObject({
      guard: { batchSize: 256, steps: 5 },
    });
  });

  it('names the bad option, the method and what is expected', () => {
    const bad: [AdversarialOptions, RegExp][] = [
      [
        { method: unchecked('mart'), eps: 0.1 },
        /Unknown adversarial training method 'mart'; expected one of pgd, fgsm-rs, free, trades/,
      ],
      [{ method: 'pgd', eps: 0 }, /'eps' must be a positive number \(the budget in input units\), got 0/],
      [{ method: 'pgd', eps: -0.1 }, /'eps' must be a positive number/],
      [{ method: 'pgd', eps: NaN }, /'eps' must be a positive number/],
      [{ method: 'pgd', eps: 0.1, steps: 0 }, /'steps' must be an integer >= 1, got 0/],
      [{ method: 'trades', eps: 0.1, steps: 2.5 }, /'steps' must be an integer >= 1, got 2.5/],
      [{ method: 'trades', eps: 0.1, beta: -1 }, /'beta' must be a number >= 0, got -1/],
      [{ method: 'free', eps: 0.1, replays: 0 }, /'replays' must be an integer >= 1, got 0/],
      [{ method: 'pgd', eps: 0.1, stepSize: 0 }, /'stepSize' must be a positive number/],
      [{ method: 'pgd', eps: 0.1, epsWarmup: -1 }, /'epsWarmup' must be a number of epochs >= 0/],
      [
        { method: 'pgd', eps: 0.1, cleanWeight: 1 },
        /'cleanWeight' must be in \[0, 1\) \(1 would be standard training\), got 1/,
      ],
      [{ method: 'fgsm-rs', eps: 0.1, norm: 'l2' }, /'fgsm-rs' supports the norm linf, not 'l2'/],
      [{ method: 'free', eps: 0.1, norm: 'l2' }, /'free' supports the norm linf, not 'l2'/],
      [{ method: 'pgd', eps: 0.1, norm: 'l1' as 'linf' }, /'pgd' supports the norms linf, l2, not 'l1'/],
      [{ method: 'pgd', eps: 0.1, beta: 6 }, /Adversarial option 'beta' is for method 'trades', not 'pgd'/],
      [
        { method: 'trades', eps: 0.1, cleanWeight: 0.5 },
        /'cleanWeight' is for method 'pgd' or 'fgsm-rs' or 'free', not 'trades'/,
      ],
      [{ method: 'pgd', eps: 0.1, guard: true }, /'guard' is for method 'fgsm-rs', not 'pgd'/],
      [{ method: 'fgsm-rs', eps: 0.1, steps: 3 }, /'steps' is for method 'pgd' or 'trades', not 'fgsm-rs'/],
      [{ method: 'fgsm-rs', eps: 0.1, guard: { batchSize: 0 } }, /'guard.batchSize' must be an integer >= 1/],
    ];
    for (const [opts, message] of bad) {
      expect(() => resolveAdversarialOptions(opts), JSON.stringify(opts)).toThrow(message);
    }
  });
});

describe('assertAdversarialFits', () => {
  let classifier: Classifier;
  beforeAll(async () => {
    await initNodeBackend({ backend: 'cpu' });
    classifier = createClassifier('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed: 0, hiddenSizes: [4] });
  });
  afterAll(() => classifier.dispose());
  const data = blobDataset({ count: 10 });

  it('accepts eps up to the bounds range (linf) or the diagonal of the box (l2)', () => {
    expect(maxEps('linf', [0, 1], 64)).toBe(1);
    expect(maxEps('l2', [0, 1], 64)).toBe(8);
    expect(() =>
      assertAdversarialFits(resolveAdversarialOptions({ method: 'pgd', eps: 1 }), classifier, data),
    ).not.toThrow();
    expect(() =>
      assertAdversarialFits(resolveAdversarialOptions({ method: 'pgd', eps: 1.5 }), classifier, data),
    ).toThrow(/'eps' 1.5 is outside \(0, 1\]: the model's inputs lie in \[0, 1\]/);
    const l2 = resolveAdversarialOptions({ method: 'pgd', norm: 'l2', eps: 9 });
    expect(() => assertAdversarialFits(l2, classifier, data)).toThrow(
      /'eps' 9 is outside \(0, 8\].*8x8x1 values/,
    );
  });

  it('refuses a dataset without a label for every image', () => {
    const adv = resolveAdversarialOptions({ method: 'pgd', eps: 0.1 });
    expect(() => assertAdversarialFits(adv, classifier, { ...data, labels: new Int32Array(0) })).toThrow(
      /needs a label for every image, but dataset 'blobs' \(train\) has 0 labels for 10 images/,
    );
    const unlabelled = { ...data, labels: Int32Array.from(data.labels, (l, i) => (i === 3 ? -1 : l)) };
    expect(() => assertAdversarialFits(adv, classifier, unlabelled)).toThrow(
      /image 3 of dataset 'blobs' \(train\) has label -1; expected 0..3/,
    );
  });
});

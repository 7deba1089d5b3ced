import { describe, expect, it } from 'vitest';
import { pgd } from '../attacks/pgd.js';
import { runAttack } from '../attacks/run-attack.js';
import { loadMnistFixture } from '../attacks/test-utils/mnist-fixture.js';
import { loadClassifier } from '../models/node/load-classifier.js';
import { bundledModelDir } from '../models/node/package-root.js';
import { evaluateRobustness } from './evaluate-robustness.js';

/**
 * The AutoAttack protocol's bars on the bundled models (issue 5): the standard suite is at least as strong as
 * PGD-40 on the adversarially trained model, and leaves nothing of the standard model at Linf 0.3. A small
 * sample keeps it fast; the full-size figures are in the README.
 */
describe('the standard suite on the bundled MNIST models (Linf 0.3, first 16 test images)', () => {
  it('is at least as strong as PGD-40 on the robust model and leaves 0% of the standard one', async () => {
    const f = await loadMnistFixture(16);
    const robust = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
    try {
      const options = { x: f.x, labels: f.labels, norm: 'linf' as const, eps: 0.3, seed: 0 };
      const standard = await evaluateRobustness(f.classifier, options);
      expect(standard.perEps[0].robustAccuracy).toBe(0);
      const suite = await evaluateRobustness(robust, options);
      const pgd40 = await runAttack(robust, pgd, {
        ...options,
        params: { steps: 40 },
        keepAdversarial: false,
      });
      const aa = suite.perEps[0].robustAccuracy;
      expect(aa).toBeLessThanOrEqual(pgd40.results[0].accuracy);
      // A floor against regressions in the model or a broken protocol (the model keeps ~75% under the full suite).
      expect(aa).toBeGreaterThanOrEqual(0.5);
      expect(suite.perEps[0].steps.map((s) => s.name)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    } finally {
      robust.dispose();
      f.dispose();
    }
  }, 600_000);
});

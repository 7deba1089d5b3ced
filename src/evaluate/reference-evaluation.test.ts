import { describe, expect, it } from 'vitest';
import { pgd } from '../attacks/pgd.js';
import { runAttack } from '../attacks/run-attack.js';
import { loadMnistFixture } from '../attacks/test-utils/mnist-fixture.js';
import { loadClassifier } from '../models/node/load-classifier.js';
import { bundledModelDir } from '../models/node/package-root.js';
import { evaluateRobustness } from './evaluate-robustness.js';

/**
 * The AutoAttack protocol's bars on the bundled models (issue 5): on the adversarially trained model the standard
 * suite is at least as strong as PGD-40 and its accuracy is within the published range for MNIST at Linf 0.3; it
 * leaves nothing of the standard model. A small sample keeps it fast; the full-size figures are in the README.
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
      // Within the published range (Madry et al.'s model: AutoAttack 88.5%, PGD-100 92.5%), allowing for the small
      // sample: on these 16 points 93.75% (PGD-40: 100%); on the first 1,000, APGD-CE + APGD-T leave 89.5% and
      // PGD-40 on all 10,000 test images 95.05%. The earlier FGSM-RS model, at ~72%, fails this floor.
      expect(aa).toBeGreaterThanOrEqual(0.85);
      expect(suite.perEps[0].steps.map((s) => s.name)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    } finally {
      robust.dispose();
      f.dispose();
    }
  }, 600_000);
});

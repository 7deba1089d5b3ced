import * as tf from '@tensorflow/tfjs-core';

/**
 * Attack losses on logits (never on probabilities), per example, oriented so that the attacker maximises
 * them. With `targets` they are the targeted forms (reaching the target raises the loss).
 * - 'ce': cross-entropy of the true label; targeted: minus the cross-entropy of the target.
 * - 'cw': the margin of Carlini & Wagner 2017 (eq. f6): max_{j != y} z_j - z_y, capped at `confidence`;
 *   targeted: z_t - max_{j != t} z_j, capped likewise.
 * - 'dlr': Difference of Logits Ratio (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with
 *   an ensemble of diverse parameter-free attacks", eq. 5 and its targeted form): shift- and scale-invariant,
 *   -(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3); targeted -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2), where
 *   z_pi is the sorted logits.
 */
export type LossName = 'ce' | 'cw' | 'dlr';
export const LOSS_NAMES: readonly LossName[] = ['ce', 'cw', 'dlr'];

export interface LossOptions {
  /** Targets per example, or null for untargeted. */
  targets: tf.Tensor1D | null;
  /** The C&W confidence kappa: the margin stops rewarding beyond it. Infinity by default (no cap). */
  confidence?: number;
}

export function attackLoss(
  name: LossName,
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  opts: LossOptions,
): tf.Tensor1D {
  return tf.tidy((): tf.Tensor1D => {
    switch (name) {
      case 'ce': {
        // CE = softplus(s) with s the log-odds against the true class (targeted: minus that of the target),
        // computed without the cancellation of 1 - p_y.
        const s = logOdds(logits, opts.targets ?? labels);
        return opts.targets ? tf.neg(tf.softplus(s)) : tf.softplus(s);
      }
      case 'cw': {
        const cls = opts.targets ?? labels;
        const margin: tf.Tensor1D = tf.sub(classLogit(logits, cls), maxOther(logits, cls));
        const oriented = opts.targets ? margin : tf.neg(margin);
        const cap = opts.confidence ?? Infinity;
        return Number.isFinite(cap) ? tf.minimum(oriented, cap) : oriented;
      }
      case 'dlr':
        return dlr(logits, labels, opts.targets);
    }
  });
}

/**
 * What the gradient attacks ascend: a strictly increasing transform of attackLoss per example, so that
 * normalised steps (sign, L2, L1) are the same in exact arithmetic, but whose gradient does not vanish on
 * confident predictions. For 'ce' it is the log-odds s = logsumexp_{j != y}(z_j - z_y) (CE = softplus(s), and
 * softplus' factor sigmoid(s) ~ e^-40 on a confident MNIST model drowns the float32 gradient in rounding noise:
 * FGSM at eps 0.3 left 18% accuracy with CE's gradient and 4% with this one). 'cw' and 'dlr' are unchanged.
 */
export function attackObjective(
  name: LossName,
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  opts: LossOptions,
): tf.Tensor1D {
  if (name !== 'ce') return attackLoss(name, logits, labels, opts);
  return tf.tidy(() => {
    const s = logOdds(logits, opts.targets ?? labels);
    return opts.targets ? tf.neg(s) : s;
  });
}

/**
 * A preset loss as the iterative engine's objective: attackObjective of `name` on the logits of the examples
 * `rows`, against their labels (and targets, when the goal is targeted).
 */
export function presetObjective(
  name: LossName,
  labels: Int32Array,
  targets: Int32Array | null,
  opts: { confidence?: number } = {},
): (logits: tf.Tensor2D, rows: Int32Array) => tf.Tensor1D {
  return (logits, rows) =>
    tf.tidy(() =>
      attackObjective(
        name,
        logits,
        tf.tensor1d(
          rows.map((r) => labels[r]),
          'int32',
        ),
        {
          targets:
            targets === null
              ? null
              : tf.tensor1d(
                  rows.map((r) => targets[r]),
                  'int32',
                ),
          confidence: opts.confidence,
        },
      ),
    );
}

/** logsumexp_{j != cls}(z_j - z_cls) per row: log((1 - p_cls) / p_cls), without rounding 1 - p_cls. */
function logOdds(logits: tf.Tensor2D, cls: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const mask = tf.oneHot(tf.cast(cls, 'int32'), logits.shape[1]);
    const spread = tf.add(tf.sub(tf.max(logits, 1, true), tf.min(logits, 1, true)), 1);
    const shifted = tf.sub(
      tf.sub(logits, tf.reshape(classLogit(logits, cls), [-1, 1])),
      tf.mul(mask, tf.mul(spread, 100)),
    );
    return tf.logSumExp(shifted, 1);
  });
}

/** z[i, cls[i]] for each row. */
export function classLogit(logits: tf.Tensor2D, cls: tf.Tensor1D): tf.Tensor1D {
  return tf.sum(tf.mul(logits, tf.oneHot(tf.cast(cls, 'int32'), logits.shape[1])), 1);
}

/** max_{j != cls[i]} z[i, j] for each row. */
export function maxOther(logits: tf.Tensor2D, cls: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy((): tf.Tensor1D => {
    const mask = tf.oneHot(tf.cast(cls, 'int32'), logits.shape[1]);
    // Push the excluded class far below every other logit, in the logits' own scale.
    const spread = tf.add(tf.sub(tf.max(logits, 1, true), tf.min(logits, 1, true)), 1);
    return tf.max(tf.sub(logits, tf.mul(mask, spread)), 1);
  });
}

function dlr(logits: tf.Tensor2D, labels: tf.Tensor1D, targets: tf.Tensor1D | null): tf.Tensor1D {
  const z = sortedLogits(logits, targets === null ? 3 : 4);
  const zy = classLogit(logits, labels);
  if (targets === null) {
    const denom: tf.Tensor1D = tf.add(tf.sub(z[0], z[2]), 1e-12);
    return tf.neg(tf.div<tf.Tensor1D>(tf.sub(zy, maxOther(logits, labels)), denom));
  }
  const denom: tf.Tensor1D = tf.add(tf.sub(z[0], tf.mul(0.5, tf.add(z[2], z[3]))), 1e-12);
  return tf.neg(tf.div<tf.Tensor1D>(tf.sub(zy, classLogit(logits, targets)), denom));
}

/**
 * The `count` largest logits per row, largest first (the smallest repeats when there are fewer classes). The
 * indices come from argMax, whose gradient is zero, so the values are differentiable in the logits (tf.topk
 * has no gradient in tfjs 4.22).
 */
export function sortedLogits(logits: tf.Tensor2D, count: number): tf.Tensor1D[] {
  return tf.tidy(() => {
    const k = logits.shape[1];
    // Below every logit of its row, in the row's own scale.
    const spread = tf.add(tf.sub(tf.max(logits, 1, true), tf.min(logits, 1, true)), 1);
    const out: tf.Tensor1D[] = [];
    let rest: tf.Tensor2D = logits;
    for (let i = 0; i < count; i++) {
      const index: tf.Tensor1D = tf.argMax(rest, 1);
      out.push(classLogit(logits, index));
      if (i + 1 < Math.min(count, k)) rest = tf.sub(rest, tf.mul(tf.oneHot(index, k), spread));
    }
    return out;
  });
}

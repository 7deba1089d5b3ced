/**
 * APGD's step-size schedule (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble
 * of diverse parameter-free attacks", sec. 3.2), per example: the step size starts at 2 * eps and is halved at a
 * checkpoint w_j when
 * - condition 1: the loss rose in fewer than rho * (w_j - w_{j-1}) of the steps since the last checkpoint, or
 * - condition 2: the step size was not halved at the last checkpoint and the best loss has not risen since;
 * an example whose step size is halved restarts from its best point (the caller moves it there).
 */

/**
 * The checkpoints w_j = ceil(p_j * steps), with p_0 = 0, p_1 = 0.22 and p_{j+1} = p_j + max(p_j - p_{j-1} -
 * 0.03, 0.06); only those strictly inside the run (a checkpoint after the last step decides nothing), without
 * repeats (short runs round several p_j to the same step). For 100 steps: 22, 41, 57, 70, 80, 87, 93, 99.
 */
export function apgdCheckpoints(steps: number): number[] {
  // In hundredths, so that the sums are exact (0.22 + 0.19 is 0.41000000000000003 in floating point, whose
  // ceil(* 100) would be 42).
  const out: number[] = [];
  let previous = 0;
  let current = 22;
  for (;;) {
    const w = Math.ceil((current * steps) / 100);
    if (w >= steps) return out;
    if (w > (out.at(-1) ?? 0)) out.push(w);
    const next = current + Math.max(current - previous - 3, 6);
    previous = current;
    current = next;
  }
}

export interface StepControlOptions {
  steps: number;
  /** The initial step size (2 * eps in the paper for Linf and L2). */
  stepSize: number;
  /** Condition 1's threshold on the fraction of steps that raised the loss. */
  rho: number;
}

/** What one step changed for the rows still running. */
export interface StepOutcome {
  /** 1 where the new iterate's loss beats the row's best: the caller keeps that point and its gradient. */
  improved: Uint8Array;
  /** At a checkpoint, 1 where the step size was halved: the caller restarts the row from its best point. */
  halved: Uint8Array | null;
}

/**
 * The per-example state of the schedule for the rows of one run (step sizes, best loss, the counts of
 * condition 1 and what condition 2 remembers from the last checkpoint), fed with each iterate's loss.
 */
export class ApgdStepControl {
  /** The current step size per row. */
  stepSizes: Float32Array;
  /** The highest loss seen per row. */
  bestLoss: Float32Array;
  private lastLoss: Float32Array;
  /** Steps since the last checkpoint that raised the loss (condition 1). */
  private increases: Float32Array;
  private bestAtCheckpoint: Float32Array;
  /** 1 where the last checkpoint halved the step size (condition 2). */
  private halvedAtCheckpoint: Float32Array;
  private readonly checkpoints: number[];
  private readonly rho: number;
  private stepsDone = 0;
  private nextCheckpoint = 0;
  private lastCheckpoint = 0;

  /** `initialLoss`: the loss of the starting point per row. */
  constructor(initialLoss: ArrayLike<number>, o: StepControlOptions) {
    const n = initialLoss.length;
    this.stepSizes = new Float32Array(n).fill(o.stepSize);
    this.bestLoss = Float32Array.from(initialLoss);
    this.lastLoss = Float32Array.from(initialLoss);
    this.increases = new Float32Array(n);
    this.bestAtCheckpoint = Float32Array.from(initialLoss);
    // As the reference code does, condition 2 cannot fire at the first checkpoint (it counts as a halving).
    this.halvedAtCheckpoint = new Float32Array(n).fill(1);
    this.checkpoints = apgdCheckpoints(o.steps);
    this.rho = o.rho;
  }

  /** Records the loss of the iterate one step on (per row) and applies the schedule if a checkpoint is reached. */
  observe(loss: ArrayLike<number>): StepOutcome {
    const n = this.bestLoss.length;
    const improved = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (loss[i] > this.lastLoss[i]) this.increases[i]++;
      this.lastLoss[i] = loss[i];
      if (loss[i] > this.bestLoss[i]) {
        this.bestLoss[i] = loss[i];
        improved[i] = 1;
      }
    }
    this.stepsDone++;
    if (this.stepsDone !== this.checkpoints[this.nextCheckpoint]) return { improved, halved: null };
    const span = this.stepsDone - this.lastCheckpoint;
    const halved = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const oscillating = this.increases[i] < this.rho * span;
      const stalled = this.halvedAtCheckpoint[i] === 0 && this.bestAtCheckpoint[i] >= this.bestLoss[i];
      halved[i] = Number(oscillating || stalled);
      if (halved[i] === 1) this.stepSizes[i] /= 2;
      this.halvedAtCheckpoint[i] = halved[i];
      this.bestAtCheckpoint[i] = this.bestLoss[i];
      this.increases[i] = 0;
    }
    this.lastCheckpoint = this.stepsDone;
    this.nextCheckpoint++;
    return { improved, halved };
  }

  /** Keeps only the rows `rows` (indices into the current rows), e.g. when the others have met the goal. */
  keep(rows: Int32Array): void {
    const pick = (a: Float32Array): Float32Array => Float32Array.from(rows, (r) => a[r]);
    this.stepSizes = pick(this.stepSizes);
    this.bestLoss = pick(this.bestLoss);
    this.lastLoss = pick(this.lastLoss);
    this.increases = pick(this.increases);
    this.bestAtCheckpoint = pick(this.bestAtCheckpoint);
    this.halvedAtCheckpoint = pick(this.halvedAtCheckpoint);
  }
}

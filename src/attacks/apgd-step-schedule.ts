/**
 * APGD's step-size schedules, per example, fed with each iterate's loss: the caller keeps the best point of each
 * example and moves it back there when its step size changes at a checkpoint.
 * - Linf and L2 (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 *   parameter-free attacks", sec. 3.2): the step size starts at 2 * eps and is halved at a checkpoint w_j when
 *   condition 1: the loss rose in fewer than rho * (w_j - w_{j-1}) of the steps since the last checkpoint, or
 *   condition 2: the step size was not halved at the last checkpoint and the best loss has not risen since.
 * - L1 (Croce & Hein 2021, "Mind the box: l1-APGD for sparse adversarial attacks on image classifiers", sec. 3.3,
 *   as the reference code fra31/auto-attack does it): the step moves the fraction `sparsity` of the input values;
 *   every 4% of the steps the sparsity becomes that of the best point / 1.5, and the step size goes back to eps
 *   where the best point got sparser (by 5% or more), else shrinks by 1.5 (down to eps / 10).
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

/** What the engine asks of a schedule, for the rows of one run. */
export interface StepControl {
  /** The current step size per row. */
  readonly stepSizes: Float32Array;
  /** The highest loss seen per row. */
  readonly bestLoss: Float32Array;
  /** Records the loss of the iterate one step on; 1 where it beats the row's best (keep that point). */
  observe(loss: ArrayLike<number>): Uint8Array;
  /**
   * After observe (and after the caller updated its best points): at a checkpoint, 1 where the step size changed
   * and the row restarts from its best point; null between checkpoints. `bestL0` gives the number of input
   * values each row's best point changes (only the L1 schedule reads it).
   */
  checkpoint(bestL0: () => Float32Array): Uint8Array | null;
  /** Keeps only the rows `rows` (indices into the current rows), e.g. when the others have met the goal. */
  keep(rows: Int32Array): void;
}

/** The loss bookkeeping both schedules share. */
abstract class LossTrack {
  stepSizes: Float32Array;
  bestLoss: Float32Array;
  protected lastLoss: Float32Array;
  /** Steps since the last checkpoint that raised the loss. */
  protected increases: Float32Array;
  protected stepsDone = 0;

  constructor(initialLoss: ArrayLike<number>, stepSize: number) {
    this.stepSizes = new Float32Array(initialLoss.length).fill(stepSize);
    this.bestLoss = Float32Array.from(initialLoss);
    this.lastLoss = Float32Array.from(initialLoss);
    this.increases = new Float32Array(initialLoss.length);
  }

  observe(loss: ArrayLike<number>): Uint8Array {
    const improved = new Uint8Array(this.bestLoss.length);
    for (let i = 0; i < improved.length; i++) {
      if (loss[i] > this.lastLoss[i]) this.increases[i]++;
      this.lastLoss[i] = loss[i];
      if (loss[i] > this.bestLoss[i]) {
        this.bestLoss[i] = loss[i];
        improved[i] = 1;
      }
    }
    this.stepsDone++;
    return improved;
  }

  keep(rows: Int32Array): void {
    this.stepSizes = pickRows(this.stepSizes, rows);
    this.bestLoss = pickRows(this.bestLoss, rows);
    this.lastLoss = pickRows(this.lastLoss, rows);
    this.increases = pickRows(this.increases, rows);
  }
}

export interface StepControlOptions {
  steps: number;
  /** The initial step size (2 * eps in the paper). */
  stepSize: number;
  /** Condition 1's threshold on the fraction of steps that raised the loss. */
  rho: number;
}

/** The Linf / L2 schedule: halvings at the checkpoints of apgdCheckpoints. */
export class ApgdStepControl extends LossTrack implements StepControl {
  private bestAtCheckpoint: Float32Array;
  /** 1 where the last checkpoint halved the step size (condition 2). */
  private halvedAtCheckpoint: Float32Array;
  private readonly checkpoints: number[];
  private readonly rho: number;
  private nextCheckpoint = 0;
  private lastCheckpoint = 0;

  /** `initialLoss`: the loss of the starting point per row. */
  constructor(initialLoss: ArrayLike<number>, o: StepControlOptions) {
    super(initialLoss, o.stepSize);
    this.bestAtCheckpoint = Float32Array.from(initialLoss);
    // As the reference code does, condition 2 cannot fire at the first checkpoint (it counts as a halving).
    this.halvedAtCheckpoint = new Float32Array(initialLoss.length).fill(1);
    this.checkpoints = apgdCheckpoints(o.steps);
    this.rho = o.rho;
  }

  checkpoint(): Uint8Array | null {
    if (this.stepsDone !== this.checkpoints[this.nextCheckpoint]) return null;
    const span = this.stepsDone - this.lastCheckpoint;
    const halved = new Uint8Array(this.bestLoss.length);
    for (let i = 0; i < halved.length; i++) {
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
    return halved;
  }

  override keep(rows: Int32Array): void {
    super.keep(rows);
    this.bestAtCheckpoint = pickRows(this.bestAtCheckpoint, rows);
    this.halvedAtCheckpoint = pickRows(this.halvedAtCheckpoint, rows);
  }
}

export interface L1StepControlOptions {
  steps: number;
  /** The largest step size (eps, the L1 length of a step), also the initial one. */
  stepSize: number;
  /** Input values per example. */
  dim: number;
  /** How many input values the starting point changes, per row. */
  startL0: Float32Array;
}

/** The L1 schedule of l1-APGD: adaptive sparsity and step size. */
export class ApgdL1StepControl extends LossTrack implements StepControl {
  /** The fraction of input values a step moves, per row. */
  sparsity: Float32Array;
  private previousL0: Float32Array;
  private readonly interval: number;
  private readonly maxStep: number;
  private readonly dim: number;

  constructor(initialLoss: ArrayLike<number>, o: L1StepControlOptions) {
    super(initialLoss, o.stepSize);
    this.dim = o.dim;
    this.maxStep = o.stepSize;
    this.interval = Math.max(Math.floor(0.04 * o.steps), 1);
    this.previousL0 = Float32Array.from(o.startL0);
    this.sparsity = Float32Array.from(o.startL0, (l0) => l0 / o.dim / 1.5);
  }

  checkpoint(bestL0: () => Float32Array): Uint8Array | null {
    if (this.stepsDone % this.interval !== 0) return null;
    const l0 = bestL0();
    const reset = new Uint8Array(l0.length);
    for (let i = 0; i < l0.length; i++) {
      // 0 / 0 is NaN, which is not < 0.95: an unchanged point does not count as sparser.
      reset[i] = Number(l0[i] / this.previousL0[i] < 0.95);
      this.sparsity[i] = l0[i] / this.dim / 1.5;
      const step = reset[i] === 1 ? this.maxStep : this.stepSizes[i] / 1.5;
      this.stepSizes[i] = Math.min(this.maxStep, Math.max(this.maxStep / 10, step));
      this.previousL0[i] = l0[i];
    }
    return reset;
  }

  override keep(rows: Int32Array): void {
    super.keep(rows);
    this.sparsity = pickRows(this.sparsity, rows);
    this.previousL0 = pickRows(this.previousL0, rows);
  }
}

function pickRows(a: Float32Array, rows: Int32Array): Float32Array {
  return Float32Array.from(rows, (r) => a[r]);
}

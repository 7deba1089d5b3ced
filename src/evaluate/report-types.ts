import type { Norm } from '../attacks/types.js';

/**
 * The JSON an evaluation writes (`advkit evaluate`), browser-safe and plain data only. Field names follow
 * RobustBench's where it has one (`clean_acc`, `autoattack_acc`, `threat_model`, `eps`); the rest are advkit's.
 * Accuracies are fractions in 0..1; costs are per evaluated point.
 */
export interface EvaluationReport {
  /** Bumped when a field changes meaning. */
  format: 'advkit-evaluation/1';
  advkit: { version: string; tfjs: string; backend: string };
  model: { name: string; path: string | null; sha256: string | null; architecture: string | null };
  dataset: {
    name: string;
    split: string;
    /** Points evaluated. */
    n: number;
    /** sha256 over the evaluated inputs (float32 bytes) and labels (int32 bytes). */
    sha256: string;
    /** Set when the points came from the sample bundled with advkit: what it holds. */
    sample?: string;
    /** Facts about the data a reader must know (a partial split, a sample, a clamped count). */
    notes?: string[];
  };
  /** RobustBench's spelling of the norm: 'Linf', 'L2', 'L1'. */
  threat_model: ThreatModel;
  norm: Norm;
  /** The budgets, ascending, in input space. */
  eps: number[];
  suite: { name: string; attacks: SuiteAttackRecord[] };
  seed: number;
  clean_acc: number;
  /** One entry per eps, in the order of `eps`. */
  robust: EpsResult[];
  /** The classes' display names, indexed by class (for per-class tables). */
  class_names: string[];
  /** False when the sanity checks were skipped (advkit evaluate --no-sanity): `flags` is then empty unchecked. */
  sanity_checked: boolean;
  flags: SanityFlag[];
  /** Set when the model was evaluated behind an input-transform defense: how, and the naive run beside it. */
  defense?: DefenseRecord;
  /** Exact command line that reproduces the report (or the library call, when run from code). */
  command: string;
  started: string;
  seconds: number;
}

export type ThreatModel = 'Linf' | 'L2' | 'L1';

/**
 * How a defended model was evaluated (Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a False Sense
 * of Security"). `adaptive`: gradients through BPDA where a transform has none, and EOT over a random chain,
 * the evaluation a defense must face; `naive`: plain backpropagation (a zero gradient through rounding and the
 * like) and no EOT, which overstates robustness and is kept only to show by how much.
 */
export interface DefenseRecord {
  /** The chain, as `advkit ... --defense` takes it ('jpeg:75,bits:4'). */
  spec: string;
  /** Every transform has its own gradient (no BPDA needed). */
  differentiable: boolean;
  /** Some transform draws at random at every call. */
  random: boolean;
  /** How the report's own numbers (robust, flags) were attacked. */
  gradients: 'adaptive' | 'naive';
  /** What the reader must know about that, in words. */
  note: string;
  /** The naive evaluation of the same points, when it ran beside the adaptive one. */
  naive?: NaiveDefenseRun;
}

/** A naive (plain-gradient, no-EOT) evaluation beside the adaptive one, on the same points. */
export interface NaiveDefenseRun {
  suite: { name: string; attacks: SuiteAttackRecord[] };
  clean_acc: number;
  robust: { eps: number; autoattack_acc: number; by_attack: AttackStepRecord[] }[];
  sanity_checked: boolean;
  /** Its own sanity flags: masked gradients, a random model attacked without EOT. */
  flags: SanityFlag[];
}

export interface SuiteAttackRecord {
  /** Name in the suite ('apgd-ce', 'apgd-t', 'fab-t', 'square'). */
  name: string;
  /** The registry attack it runs. */
  attack: string;
  params: Record<string, unknown>;
  /** Passes averaged per gradient (Expectation over Transformation); 1 without. */
  eot: number;
}

export interface EpsResult {
  eps: number;
  /** Per-example worst case over the suite: robust accuracy at this eps. */
  autoattack_acc: number;
  /** In suite order: accuracy after each attack (cumulative worst case so far) and what it cost. */
  by_attack: AttackStepRecord[];
  per_class: ClassAccuracy[];
  /**
   * Per point, in the evaluated order: the index into the suite of the attack that broke it, -1 when it stayed
   * robust, -2 when it was misclassified clean. What a distributed or resumed run must reproduce exactly (absent in
   * reports written before it).
   */
  broken_by?: number[];
}

export interface AttackStepRecord {
  name: string;
  /** Robust accuracy after this attack ran on the points still robust. */
  accuracy_after: number;
  /** Points this attack broke that every earlier attack had not. */
  newly_broken: number;
  /** Points it ran on. */
  attacked: number;
  /** Per point of the whole evaluated set. */
  gradients_per_point: number;
  queries_per_point: number;
  seconds: number;
}

export interface ClassAccuracy {
  class: number;
  n: number;
  clean_acc: number;
  robust_acc: number;
}

/**
 * A warning that the evaluation may overstate robustness (Carlini et al. 2019, "On Evaluating Adversarial
 * Robustness"; Croce & Hein 2020's checks), with what to do about it.
 */
export interface SanityFlag {
  id: SanityCheckId;
  /** 'warning': the numbers are suspect; 'info': worth knowing, not wrong. */
  severity: 'warning' | 'info';
  title: string;
  /** What was measured, with numbers. */
  detail: string;
  /** What to do about it. */
  advice: string;
}

export type SanityCheckId =
  | 'probability-outputs'
  | 'masked-gradients'
  | 'randomized-model'
  | 'non-monotone-eps'
  | 'large-eps-not-zero'
  | 'black-box-beats-white-box'
  | 'not-converged';

export function threatModel(norm: Norm): ThreatModel {
  return norm === 'linf' ? 'Linf' : norm === 'l2' ? 'L2' : 'L1';
}

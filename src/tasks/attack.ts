import { getAttack } from '../attacks/registry.js';
import type { AttackProgress } from '../attacks/run-attack.js';
import type { Attack, Norm } from '../attacks/types.js';
import { invalidArgument } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import type { Model } from '../models/model.js';
import { parseParams, type Schema } from '../util/schema.js';
import { attackDataset, type AttackSummary } from './attack-dataset.js';
import { attackImages, type ImagesResult } from './attack-images.js';
import { ATTACK_DEFAULTS, attackSchema } from './attack-spec.js';
import { resolveTarget, type ResolvedTarget } from './attack-target.js';
import { assertBudgetsFit, parseBudgets, type Budget } from './budgets.js';
import { openModel } from './model-source.js';
import { parseSpec } from './spec.js';
import type { Task, TaskContext } from './task.js';
import { engineName } from '../backend/backend.js';

export type AttackTaskResult = ImagesResult | AttackSummary;

/** Everything a mode needs, checked: the loaded model, the attack with its parameters, goal and budgets. */
export interface AttackJob {
  model: Classifier;
  /** What is attacked and scored: `model`, or `model` behind the spec's defense (BPDA through it, EOT if random). */
  attacked: Model;
  /** The defense's chain (`jpeg:75,bits:4`), when there is one. */
  defense?: string;
  modelDir: string;
  backend: string;
  attack: Attack<Schema>;
  /** The parameters given (runAttack fills in the defaults). */
  params: Record<string, unknown>;
  norm: Norm;
  /** Undefined for a minimal attack run without a budget. */
  budgets: Budget[] | undefined;
  target: ResolvedTarget;
  seed: number;
  batchSize: number;
  /** Passes averaged per gradient (EOT), for randomized models. */
  eot: number;
  /** Render the picture artifact. */
  pictures: boolean;
  /** Image mode: each adversarial image as a PNG artifact of its own (for programs, e.g. the HTTP server). */
  adversarialImages?: boolean;
  /** Dataset mode: examples shown in the gallery. */
  galleryCount?: number;
  signal?: AbortSignal;
  onProgress: (p: AttackProgress) => void;
  /** The model that classifies the adversarial inputs crafted on `model` (transfer). */
  transfer?: { model: Classifier; dir: string };
}

/**
 * One attack on image files or on a dataset sample, through the guarded entry point `runAttack` (it
 * validates, projects onto the eps-ball and the bounds, and scores every result): the result per image or
 * the summary per budget, and the picture as an artifact when asked for.
 */
export const attackTask: Task<typeof attackSchema, AttackTaskResult, AttackProgress> = {
  name: 'attack',
  title: 'Run one attack on images or a dataset sample, at one or more budgets',
  schema: attackSchema,
  async run(input, ctx: TaskContext<AttackProgress> = {}) {
    if (
      typeof input === 'object' &&
      input !== null &&
      (input.images !== undefined || input.inputs !== undefined) &&
      input.split !== undefined
    ) {
      throw invalidArgument('--split is for dataset mode (--data); image files have no split.');
    }
    const spec = parseSpec(attackSchema, input, 'attack');
    const attack = getAttack(spec.attack);
    const params = spec.params ?? {};
    parseParams(attack.schema, params, attack.name);
    const norm = chooseNorm(attack, spec.norm);
    const budgets = spec.eps === undefined ? undefined : parseBudgets(spec.eps);
    checkOptions(attack, spec, budgets);
    const source = await openModel(spec.model, {
      defaultName: ATTACK_DEFAULTS.model,
      labels: spec.labels,
      defense: spec.defense,
      defenseSeed: spec.seed ?? 0,
    });
    let transfer: AttackJob['transfer'];
    try {
      if (budgets !== undefined) assertBudgetsFit(budgets, source.model.bounds, norm);
      if (spec.transferTo !== undefined) {
        const t = await openModel(spec.transferTo, { defaultName: spec.transferTo, flag: '--transfer-to' });
        transfer = { model: t.model, dir: t.dir };
      }
      const job: AttackJob = {
        model: source.model,
        attacked: source.target,
        ...(source.defense !== undefined ? { defense: source.defense.spec } : {}),
        modelDir: source.dir,
        backend: engineName(),
        attack,
        params,
        norm,
        budgets,
        target: resolveTarget(spec.target, source.model.classNames),
        seed: spec.seed ?? 0,
        batchSize: spec.batchSize,
        eot: spec.eot,
        pictures: spec.pictures,
        adversarialImages: spec.adversarialImages,
        galleryCount: spec.gallery,
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress?.(p),
        transfer,
      };
      const out =
        spec.images !== undefined || spec.inputs !== undefined
          ? await attackImages(job, spec)
          : await attackDataset(job, { ...spec, data: spec.data });
      if (source.defense?.random === true && spec.eot === 1) {
        out.result.notes.push(
          `the defense ${source.defense.spec} is random: an attack without EOT underestimates it (Athalye et al. 2018); give --eot 20`,
        );
      }
      for (const note of out.result.notes) ctx.onNote?.(note);
      return out;
    } finally {
      source.model.dispose();
      transfer?.model.dispose();
    }
  },
};

/** The norm asked for, or linf when the attack has it, else its first. */
function chooseNorm(attack: Attack<Schema>, norm: Norm | undefined): Norm {
  const chosen = norm ?? (attack.norms.includes('linf') ? 'linf' : attack.norms[0]);
  if (!attack.norms.includes(chosen)) {
    throw invalidArgument(
      `${attack.name} does not support --norm ${chosen}; it supports ${attack.norms.join(', ')}.`,
    );
  }
  return chosen;
}

/** Mistakes we can name before loading anything. */
function checkOptions(
  attack: Attack<Schema>,
  spec: {
    images?: string[];
    inputs?: unknown;
    data?: string;
    target?: string;
    gallery?: number;
    transferTo?: string;
  },
  budgets: Budget[] | undefined,
): void {
  const direct = spec.images !== undefined || spec.inputs !== undefined;
  if (direct && spec.data) throw invalidArgument('Give either --image or --data, not both.');
  if (budgets === undefined && attack.budget === 'fixed') {
    throw invalidArgument(
      `${attack.name} needs a budget: give --eps (e.g. --eps 8/255 for linf, --eps 0.5 for l2 on [0, 1] inputs).`,
    );
  }
  if (spec.target !== undefined && !attack.targeted) {
    throw invalidArgument(`${attack.name} only runs untargeted; remove --target.`);
  }
  if (direct && (spec.gallery !== undefined || spec.transferTo !== undefined)) {
    throw invalidArgument(
      '--summary, --gallery and --transfer-to are for dataset mode (--data); with --image, use --out and --json.',
    );
  }
}

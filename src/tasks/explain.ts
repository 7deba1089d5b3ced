import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Static } from 'typebox';
import { applyPatch } from '../attacks/patch/apply-patch.js';
import type { PatchShape } from '../attacks/patch/placement.js';
import { getAttack } from '../attacks/registry.js';
import { runAttack } from '../attacks/run-attack.js';
import type { Attack, Norm } from '../attacks/types.js';
import { engineName } from '../backend/backend.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import { explain } from '../explain/explain.js';
import { deletionInsertion, type FaithfulnessResult } from '../explain/sanity/faithfulness.js';
import { randomizationTest } from '../explain/sanity/randomization.js';
import { getMethod } from '../explain/registry.js';
import { classIndex } from '../explain/targets.js';
import type { AttributionMethod, InputDetails, MapKind } from '../explain/types.js';
import { parseDefense } from '../defend/transforms/parse-defense.js';
import type { Classifier } from '../models/classifier.js';
import type { Model } from '../models/model.js';
import type { Schema } from '../util/schema.js';
import { adversarialOf, className, top1, type Top1 } from './attack-shared.js';
import { assertBudgetsFit, parseBudgets, type Budget } from './budgets.js';
import { parseAttacks } from './compare.js';
import {
  defaultExplainBatch,
  EXPLAIN_METHOD_PARAMS,
  EXPLAIN_TARGETS,
  explainSchema,
} from './explain-spec.js';
import { explainArtifacts, type ModelRows } from './explain-output.js';
import { loadGivenInputs, loadModelSample, type DataInfo } from './model-data.js';
import { openModel } from './model-source.js';
import { decodePatch } from './patch-gradcam.js';
import { parseSpec } from './spec.js';
import type { Task, TaskContext, TaskResult } from './task.js';

/** Which version of an input a row shows. */
export type ExplainVariant = 'clean' | 'adversarial' | 'patched';

export interface ShownClass {
  index: number;
  name: string;
}

/** One row: an input (clean, attacked or patched) under one model, its prediction and what each method said. */
export interface ExplainedRow {
  /** Index into `inputs`. */
  input: number;
  variant: ExplainVariant;
  prediction: ShownClass & { confidence: number };
  /** The class whose logit was explained. */
  target: ShownClass;
  /** Adversarial and patched rows: whether the prediction left the clean label (the clean prediction for files). */
  fooled?: boolean;
  /** Adversarial rows: the perturbation's size. */
  distance?: { linf: number; l2: number };
  /** Per method, what it reports for this input: IG's steps and completeness gap, Grad-CAM's layer, ... */
  methods: Record<string, InputDetails>;
}

export interface ExplainedModel {
  name: string;
  dir: string;
  /** The input-transform defense in front of the model (`jpeg:75`), when there was one. */
  defense?: string;
  /** Rows per pass used for this model. */
  batchSize: number;
  /** Per method: gradients and queries spent on all its rows, and the time. */
  cost: Record<string, { gradients: number; queries: number; seconds: number }>;
  /** With an attack: its success rate on these inputs and the gradients it spent. */
  attack?: { successRate: number; gradients: number; seconds: number };
  /** With faithfulness: per method, per variant, the mean deletion and insertion AUCs. */
  faithfulness?: Record<string, Partial<Record<ExplainVariant, FaithfulnessSummary>>>;
  /** With sanity: per method, the randomization test on the clean inputs. */
  sanity?: Record<string, SanitySummary>;
  /** Clean rows first, then (with an attack) the adversarial rows, then (with a patch) the patched ones. */
  rows: ExplainedRow[];
}

/**
 * Deletion and insertion (explain/sanity/faithfulness.ts) over one variant's rows: the mean areas under the
 * target logit normalized to 1 at the input and 0 at the fully replaced image. Deletion lower is better,
 * insertion higher; score = insertion - deletion, to be read against the random order's.
 */
export interface FaithfulnessSummary {
  deletion: number;
  insertion: number;
  score: number;
  random: { deletion: number; insertion: number; score: number } | null;
}

/** The model-parameter randomization test of one method (explain/sanity/randomization.ts). */
export interface SanitySummary {
  passed: boolean;
  /** The maps did not change with the weights: the method shows the input, not the model. */
  flagged: boolean;
  /** Mean |Spearman| of the absolute maps at full randomization; passed below `threshold`. */
  measure: number;
  threshold: number;
  detail: string;
  /** Per layer re-drawn (top down, cumulative): the rank correlations with the trained model's maps. */
  steps: { layer: string; spearman: number; spearmanAbs: number }[];
  gradients: number;
}

export interface ExplainResult extends TaskResult {
  task: 'explain';
  backend: string;
  /** The target rule as given: predicted, original, label, or a class. */
  target: string;
  /** The methods in column order, with their settings (defaults filled in). */
  methods: { name: string; title: string; output: MapKind; params: Record<string, unknown> }[];
  /** Grad-CAM's layer when one was named. */
  layer: string | null;
  attack: {
    name: string;
    norm: Norm;
    eps: number | null;
    /** The budget as the user wrote it ('2/255'). */
    epsText: string | null;
    params: Record<string, unknown>;
  } | null;
  patch: { file: string; side: number; shape: string } | null;
  seed: number;
  data: { mode: 'images' | 'dataset' } & Partial<Omit<DataInfo, 'notes'>> & { notes: string[] };
  /** The inputs in the order given: the file or dataset row, and the label where the data has one. */
  inputs: { source: string; label: ShownClass | null }[];
  models: ExplainedModel[];
  seconds: number;
}

export type ExplainTaskProgress =
  | { stage: 'model'; model: string; index: number; models: number; inputs: number; rows: number }
  | { stage: 'attack'; model: string; attack: string; fraction: number }
  | { stage: 'method' | 'faithfulness' | 'sanity'; model: string; method: string; fraction: number };

export type ExplainSpec = Parameters<typeof explainTask.run>[0];

const SCHEMA_VERSION = 1;

/** An attack the spec asked for, parsed and checked before any model is loaded. */
interface AttackPlan {
  attack: Attack<Schema>;
  params: Record<string, unknown>;
  norm: Norm;
  budget: Budget | undefined;
}

/** Everything checked before a model is loaded: what to explain, how, and under which models. */
interface ExplainJob {
  spec: Static<typeof explainSchema>;
  methods: AttributionMethod<Schema>[];
  /** Per method, the parameters given for it. */
  params: Map<string, Record<string, unknown>>;
  attack: AttackPlan | undefined;
  patch: { file: string; png: Uint8Array } | undefined;
  refs: string[];
  names: string[];
  seed: number;
}

/** What one model's part adds to the result besides its rows: the inputs as it saw them, the settings used. */
interface ModelPart {
  rows: ModelRows;
  inputs: ExplainResult['inputs'];
  data: DataInfo | undefined;
  settings: Map<string, Record<string, unknown>>;
  patch: ExplainResult['patch'];
  classNames: readonly string[];
}

/**
 * Attribution maps of image files or a dataset sample by one or more methods (explain/), under one or more
 * models: a row per input, and with an attack (or a patch) a row for the attacked (patched) input right under
 * its clean one, each explained for its own prediction by default. The result has, per row, the prediction,
 * the class explained and what each method reports (IG's steps and completeness gap); the artifacts are the
 * picture 'explain.png' and, with saveMaps, the raw maps as NumPy files 'maps/<method>.npy' ('maps/<model>/...'
 * for several models; '<method>.adversarial.npy' and '<method>.patched.npy' for the other rows), float32 in
 * the inputs' order: [n, h, w, c] for the gradient family, [n, h, w] for Grad-CAM and occlusion.
 */
export const explainTask: Task<typeof explainSchema, ExplainResult, ExplainTaskProgress> = {
  name: 'explain',
  title: 'Attribution maps of inputs (and of their adversarial or patched versions) by several methods',
  schema: explainSchema,
  async run(input, ctx: TaskContext<ExplainTaskProgress> = {}) {
    const started = Date.now();
    const job = await prepare(input, ctx);
    const parts: ModelPart[] = [];
    for (const m of job.refs.keys()) {
      parts.push(await explainModel(job, m, parts[0], ctx));
    }
    const [first] = parts;
    const { notes, ...info } = first.data ?? { notes: [] };
    const result: ExplainResult = {
      task: 'explain',
      schemaVersion: SCHEMA_VERSION,
      backend: engineName(),
      target: job.spec.target,
      methods: job.methods.map((m) => ({
        name: m.name,
        title: m.title,
        output: m.output,
        params: first.settings.get(m.name) ?? {},
      })),
      layer: job.spec.layer ?? null,
      attack:
        job.attack === undefined
          ? null
          : {
              name: job.attack.attack.name,
              norm: job.attack.norm,
              eps: job.attack.budget?.value ?? null,
              epsText: job.attack.budget?.text ?? null,
              params: job.attack.params,
            },
      patch: first.patch,
      seed: job.seed,
      data: {
        mode: job.spec.images !== undefined || job.spec.inputs !== undefined ? 'images' : 'dataset',
        ...info,
        notes,
      },
      inputs: first.inputs,
      models: parts.map((p) => p.rows.model),
      seconds: (Date.now() - started) / 1000,
    };
    const rows = parts.map((p) => p.rows);
    return { result, artifacts: await explainArtifacts(result, rows, job.methods, job.spec) };
  },
};

/** The spec checked, and everything that can be refused refused, before any model is loaded. */
async function prepare(input: unknown, ctx: TaskContext<ExplainTaskProgress>): Promise<ExplainJob> {
  const given = givenKeys(input);
  const direct = given.has('images') || given.has('inputs');
  if (direct && given.has('split')) {
    throw invalidArgument("explain: 'split' is for dataset mode ('data'); image files have no split.", {
      option: 'split',
    });
  }
  if (direct && given.has('n')) {
    throw invalidArgument("explain: 'n' counts dataset inputs ('data'); with image files, give the files.", {
      option: 'n',
    });
  }
  const spec = parseSpec(explainSchema, input, 'explain');
  const methods = parseMethods(spec.methods);
  const params = paramsOf(methods, spec, given);
  if (spec.layer !== undefined && !methods.some((m) => m.access === 'activations')) {
    throw invalidArgument("explain: 'layer' is the layer Grad-CAM reads; add gradcam to 'methods'.", {
      option: 'layer',
    });
  }
  if (spec.defense !== undefined && parseDefense(spec.defense).length > 0) {
    const layered = methods.find((m) => m.access === 'activations');
    if (layered !== undefined) {
      throw invalidArgument(
        `explain: ${layered.name} reads the model's layers, which behind a defense see the transformed image, ` +
          "not the input; explain a defended model with gradient methods or occlusion, or drop 'defense'.",
        { option: 'methods' },
      );
    }
    if (spec.sanity) {
      throw invalidArgument(
        "explain: the randomization test ('sanity') randomizes a model's layers and does not run behind a " +
          "defense; drop 'sanity' or 'defense'.",
        { option: 'sanity' },
      );
    }
  }
  const attack = attackPlan(spec);
  const refs = listOf(spec.model, 'model');
  if (refs.length === 0) {
    throw invalidArgument(
      "explain: give 'model': a model directory or bundled name (e.g. cifar-cnn), or several, comma-separated.",
      { option: 'model' },
    );
  }
  if ((spec.images !== undefined || spec.inputs !== undefined) && spec.data !== undefined) {
    throw invalidArgument("explain: give either 'images' or 'data', not both.", { option: 'images' });
  }
  if (spec.images !== undefined && spec.images.length === 0) {
    throw invalidArgument("explain: 'images' names no file.", { option: 'images' });
  }
  if (spec.target === 'label' && (spec.images !== undefined || spec.inputs !== undefined)) {
    throw invalidArgument(
      "explain: target 'label' needs labelled inputs ('data'); image files have none. Use predicted, original " +
        'or a class.',
      { option: 'target' },
    );
  }
  if (spec.patchSize !== undefined && spec.patch === undefined) {
    throw invalidArgument("explain: 'patchSize' is the size of 'patch'; give 'patch' too.", {
      option: 'patchSize',
    });
  }
  if (spec.patch !== undefined && !existsSync(spec.patch)) {
    throw new AdvkitError('NOT_FOUND', `explain: 'patch' ${spec.patch} does not exist.`, { option: 'patch' });
  }
  if (spec.target === 'original' && attack === undefined && spec.patch === undefined) {
    ctx.onNote?.(
      "target 'original' is the prediction itself on clean rows; it differs only with an attack or a patch",
    );
  }
  const patch =
    spec.patch === undefined
      ? undefined
      : { file: spec.patch, png: new Uint8Array(await readFile(spec.patch)) };
  return { spec, methods, params, attack, patch, refs, names: modelNames(refs), seed: spec.seed ?? 0 };
}

/** One model: its inputs, their attacked and patched versions, every method on every row, the checks asked for. */
async function explainModel(
  job: ExplainJob,
  m: number,
  first: ModelPart | undefined,
  ctx: TaskContext<ExplainTaskProgress>,
): Promise<ModelPart> {
  const { spec, seed } = job;
  const name = job.names[m];
  const source = await openModel(job.refs[m], {
    defaultName: job.refs[m],
    labels: spec.labels,
    defense: spec.defense,
    defenseSeed: seed,
  });
  const model = source.model;
  // What is classified, attacked and explained: the model, or the model behind the defense.
  const seen = source.target;
  const owned: tf.Tensor[] = [];
  try {
    if (job.attack?.budget !== undefined) {
      assertBudgetsFit([job.attack.budget], model.bounds, job.attack.norm, "'eps'");
    }
    const target = targetRule(model, name, spec.target);
    if (
      first !== undefined &&
      spec.images === undefined &&
      spec.inputs === undefined &&
      !sameClasses(model, first.classNames)
    ) {
      // A dataset narrowed to a model's classes is another sample: only image files are the same inputs.
      throw invalidArgument(
        `explain: ${name} has other classes than ${job.names[0]}, so it would get other dataset inputs; ` +
          "explain them on the same image files ('images') instead.",
        { option: 'model' },
      );
    }
    const data = await loadInputs(model, spec, spec.data ?? first?.data?.name);
    const { x, labels } = data;
    owned.push(x);
    if (m === 0) for (const note of data.info?.notes ?? []) ctx.onNote?.(note);
    const n = x.shape[0];
    const variants = variantsOf(job.attack, job.patch !== undefined);
    ctx.onProgress?.({
      stage: 'model',
      model: name,
      index: m,
      models: job.refs.length,
      inputs: n,
      rows: n * variants.length,
    });
    const batchSize = spec.batchSize ?? defaultExplainBatch(model.inputShape);
    const clean = await top1(seen, x, batchSize);
    const explained: ExplainedModel = {
      name,
      dir: source.dir,
      ...(source.defense !== undefined ? { defense: source.defense.spec } : {}),
      batchSize,
      cost: {},
      rows: [],
    };
    const stacked: tf.Tensor4D[] = [x];
    const predictions: Top1[][] = [clean];
    const extra: Partial<ExplainedRow>[][] = [clean.map(() => ({}))];
    // Attacks aim at the label, and success is judged by it; image files have none but the clean prediction.
    const reference = labels ?? Int32Array.from(clean, (t) => t.index);
    if (job.attack !== undefined) {
      const plan = job.attack;
      const t0 = Date.now();
      const run = await runAttack(seen, plan.attack, {
        x,
        labels: reference,
        eps: plan.budget?.value,
        norm: plan.norm,
        params: plan.params,
        batchSize,
        seed,
        signal: ctx.signal,
        onProgress: (p) =>
          ctx.onProgress?.({ stage: 'attack', model: name, attack: plan.attack.name, fraction: p.fraction }),
      });
      const result = run.results[0];
      const adv = adversarialOf(result);
      owned.push(adv);
      stacked.push(adv);
      predictions.push(await top1(seen, adv, batchSize));
      extra.push(
        Array.from({ length: n }, (_, i) => ({
          fooled: result.success[i] === 1,
          distance: { linf: result.distances.linf[i], l2: result.distances.l2[i] },
        })),
      );
      explained.attack = {
        successRate: result.successRate,
        gradients: result.cost.gradients,
        seconds: (Date.now() - t0) / 1000,
      };
    }
    let patch: ExplainResult['patch'] = null;
    if (job.patch !== undefined) {
      const patched = await pastePatchOn(model, x, { ...job.patch, size: spec.patchSize, seed });
      owned.push(patched.x);
      stacked.push(patched.x);
      const after = await top1(seen, patched.x, batchSize);
      predictions.push(after);
      extra.push(after.map((t, i) => ({ fooled: t.index !== reference[i] })));
      patch = { file: path.resolve(job.patch.file), side: patched.side, shape: patched.shape };
    }
    const all = stacked.length === 1 ? x : tf.concat(stacked, 0);
    if (all !== x) owned.push(all);
    const targets = targetsOf(target, predictions, labels);
    const kept: ModelRows = {
      model: explained,
      shape: model.inputShape,
      bounds: model.bounds,
      images: splitRows((await all.data()) as Float32Array, variants),
      maps: new Map(),
    };
    const details: Record<string, InputDetails>[] = Array.from({ length: all.shape[0] }, () => ({}));
    const settings = new Map<string, Record<string, unknown>>();
    for (const method of job.methods) {
      const out = await runMethod({
        model: seen,
        method,
        x: all,
        n,
        variants,
        targets,
        params: job.params.get(method.name) ?? {},
        layer: method.access === 'activations' ? spec.layer : undefined,
        batchSize,
        seed,
        faithfulness: spec.faithfulness,
        sanity: spec.sanity,
        signal: ctx.signal,
        progress: (stage, fraction) =>
          ctx.onProgress?.({ stage, model: name, method: method.name, fraction }),
      });
      kept.maps.set(method.name, out.maps);
      out.details.forEach((d, r) => (details[r][method.name] = d));
      explained.cost[method.name] = out.cost;
      if (out.faithfulness !== undefined) (explained.faithfulness ??= {})[method.name] = out.faithfulness;
      if (out.sanity !== undefined) (explained.sanity ??= {})[method.name] = out.sanity;
      settings.set(method.name, out.params);
    }
    variants.forEach((variant, v) => {
      for (let i = 0; i < n; i++) {
        const r = v * n + i;
        const p = predictions[v][i];
        explained.rows.push({
          input: i,
          variant,
          prediction: { index: p.index, name: className(model, p.index), confidence: p.confidence },
          target: { index: targets[r], name: className(model, targets[r]) },
          ...extra[v][i],
          methods: details[r],
        });
      }
    });
    const inputs = data.sources.map((s, i) => ({
      source: s,
      label: labels === undefined ? null : { index: labels[i], name: className(model, labels[i]) },
    }));
    return { rows: kept, inputs, data: data.info, settings, patch, classNames: model.classNames };
  } catch (err) {
    throw withModelName(err, job.refs.length > 1 ? name : undefined);
  } finally {
    tf.dispose(owned);
    model.dispose();
  }
}

function sameClasses(model: Classifier, classNames: readonly string[]): boolean {
  return model.numClasses === classNames.length && model.classNames.every((c, i) => c === classNames[i]);
}

/** The inputs of one model: the image files, or the dataset sample (the first model's dataset for every model). */
async function loadInputs(
  model: Classifier,
  spec: ExplainJob['spec'],
  dataName: string | undefined,
): Promise<{
  x: tf.Tensor4D;
  labels: Int32Array | undefined;
  sources: string[];
  info: DataInfo | undefined;
}> {
  const given = await loadGivenInputs(model, spec);
  if (given !== undefined) {
    const sources = spec.images !== undefined ? given.sources.map((f) => path.basename(f)) : given.sources;
    return { x: given.x, labels: undefined, sources, info: undefined };
  }
  const sample = await loadModelSample(model, {
    data: dataName ?? model.metadata.dataset ?? 'mnist',
    split: spec.split,
    dataDir: spec.dataDir,
    labelMap: spec.labelMap,
    n: spec.n,
    seed: spec.seed,
  });
  return { x: sample.x, labels: sample.labels, sources: sample.sources, info: sample.info };
}

/** Rows stacked variant after variant (the same count each), as one array per variant. */
function splitRows(
  values: Float32Array,
  variants: readonly ExplainVariant[],
): Map<ExplainVariant, Float32Array> {
  const per = values.length / variants.length;
  return new Map(variants.map((variant, v) => [variant, values.slice(v * per, (v + 1) * per)]));
}

/** The spec keys the caller gave (defaults are not given). */
function givenKeys(input: unknown): Set<string> {
  if (typeof input !== 'object' || input === null) return new Set();
  return new Set(Object.entries(input).flatMap(([k, v]) => (v === undefined ? [] : [k])));
}

/** A comma-separated text or a list as its non-empty items. */
function listOf(value: string | readonly string[] | undefined, option: string): string[] {
  if (value === undefined) return [];
  const items = (typeof value === 'string' ? value.split(',') : [...value]).map((v) => v.trim());
  const out = items.filter((v) => v !== '');
  if (out.length === 0) throw invalidArgument(`explain: '${option}' is empty.`, { option });
  return out;
}

/** The methods asked for, in the order given, each once; an unknown one lists the methods. */
function parseMethods(value: string | readonly string[]): AttributionMethod<Schema>[] {
  const names = [...new Set(listOf(value, 'methods'))];
  return names.map((name) => {
    try {
      return getMethod(name);
    } catch (err) {
      if (!(err instanceof AdvkitError)) throw err;
      throw new AdvkitError(err.code, err.message, { ...err.details, option: 'methods' });
    }
  });
}

/**
 * Each method's parameters from the spec's options (a parameter given once goes to every method that takes
 * it). An option given for methods that are not asked for is refused: it would silently do nothing.
 */
function paramsOf(
  methods: readonly AttributionMethod<Schema>[],
  values: Readonly<Record<string, unknown>>,
  given: ReadonlySet<string>,
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>(methods.map((m) => [m.name, {}]));
  for (const option of EXPLAIN_METHOD_PARAMS) {
    const users = option.methods.filter((name) => out.has(name));
    if (users.length === 0) {
      if (given.has(option.key)) {
        throw invalidArgument(
          `explain: '${option.key}' is a parameter of ${option.methods.join(' and ')}, which 'methods' does not ` +
            `include (${methods.map((m) => m.name).join(', ')}).`,
          { option: option.key },
        );
      }
      continue;
    }
    const value = values[option.key];
    if (value === undefined) continue;
    for (const name of users) {
      const params = out.get(name);
      if (params !== undefined) params[option.param] = value;
    }
  }
  return out;
}

/** The attack, its parameters, norm and budget, checked before anything is loaded. */
function attackPlan(spec: { attack?: string; norm?: Norm; eps?: string | number }): AttackPlan | undefined {
  if (spec.attack === undefined) {
    const stray = spec.eps !== undefined ? 'eps' : spec.norm !== undefined ? 'norm' : undefined;
    if (stray !== undefined) {
      throw invalidArgument(`explain: '${stray}' belongs to an attack; give 'attack' too (e.g. pgd).`, {
        option: stray,
      });
    }
    return undefined;
  }
  let parsed: ReturnType<typeof parseAttacks>;
  try {
    parsed = parseAttacks(spec.attack);
  } catch (err) {
    if (!(err instanceof AdvkitError)) throw err;
    throw new AdvkitError(err.code, err.message.replace(/^--attacks:/, "explain: 'attack':"), {
      ...err.details,
      option: 'attack',
    });
  }
  if (parsed.length !== 1) {
    throw invalidArgument(`explain: 'attack' takes one attack, got ${parsed.length} (${spec.attack}).`, {
      option: 'attack',
    });
  }
  const attack = typeof parsed[0].attack === 'string' ? getAttack(parsed[0].attack) : parsed[0].attack;
  const norm = spec.norm ?? (attack.norms.includes('linf') ? 'linf' : attack.norms[0]);
  if (!attack.norms.includes(norm)) {
    throw invalidArgument(
      `explain: ${attack.name} does not support norm ${norm}; it supports ${attack.norms.join(', ')}.`,
      {
        option: 'norm',
      },
    );
  }
  const budgets = spec.eps === undefined ? undefined : parseBudgets(spec.eps, { name: "'eps'" });
  if (budgets !== undefined && budgets.length !== 1) {
    throw invalidArgument(`explain: 'eps' is one budget, got ${budgets.length} (${String(spec.eps)}).`, {
      option: 'eps',
    });
  }
  if (budgets === undefined && attack.budget === 'fixed') {
    throw invalidArgument(
      `explain: ${attack.name} needs a budget: give 'eps' (e.g. 2/255 for linf on [0, 1] inputs).`,
      { option: 'eps' },
    );
  }
  return { attack, params: { ...(parsed[0].params ?? {}) }, norm, budget: budgets?.[0] };
}

/** The rows of each input, in order: clean, then attacked. */
function variantsOf(plan: AttackPlan | undefined, patched: boolean): ExplainVariant[] {
  return [
    'clean',
    ...(plan !== undefined ? (['adversarial'] as const) : []),
    ...(patched ? (['patched'] as const) : []),
  ];
}

/**
 * The inputs with the patch (a PNG as advkit patch writes it, read by decodePatch) pasted at a seeded random
 * place: at its own pixel size, or at `size` of the image side.
 */
async function pastePatchOn(
  model: Classifier,
  x: tf.Tensor4D,
  patch: { png: Uint8Array; file: string; size: number | undefined; seed: number },
): Promise<{ x: tf.Tensor4D; side: number; shape: PatchShape }> {
  const decoded = await decodePatch(patch.png, model, patch.file);
  const [h, w, c] = model.inputShape;
  const side = patch.size === undefined ? decoded.side : Math.max(1, Math.round(patch.size * Math.min(h, w)));
  if (side > Math.min(h, w)) {
    throw invalidArgument(
      `explain: the patch is ${side} pixels wide, larger than the model's ${h}x${w} input; give 'patchSize' ` +
        '(its side as a fraction of the image side, e.g. 0.25).',
      { option: 'patchSize' },
    );
  }
  const values = tf.tensor3d(decoded.values, [decoded.side, decoded.side, c]);
  try {
    const pasted = applyPatch(x, values, {
      shape: decoded.shape,
      scale: side / decoded.side,
      seed: patch.seed,
    });
    return { x: pasted, side, shape: decoded.shape };
  } finally {
    values.dispose();
  }
}

/** Names shown for the models: their base names, numbered where two are the same. */
function modelNames(refs: readonly string[]): string[] {
  const base = refs.map((r) => path.basename(path.resolve(r)));
  return base.map((b, i) => (base.indexOf(b) === base.lastIndexOf(b) ? b : `${b} (${i + 1})`));
}

type TargetRule = { kind: 'predicted' | 'original' | 'label' } | { kind: 'class'; index: number };

function targetRule(model: Classifier, modelName: string, target: string): TargetRule {
  const known = EXPLAIN_TARGETS.find((t) => t === target.trim().toLowerCase());
  if (known !== undefined) return { kind: known };
  try {
    return { kind: 'class', index: classIndex(model, target) };
  } catch (err) {
    if (!(err instanceof AdvkitError)) throw err;
    throw new AdvkitError(
      err.code,
      `explain: ${modelName}: ${err.message} Or give ${EXPLAIN_TARGETS.join(', ')}.`,
      { ...err.details, option: 'target' },
    );
  }
}

/** The class explained on each row (variant-major, as the rows are stacked). */
function targetsOf(
  rule: TargetRule,
  predictions: readonly Top1[][],
  labels: Int32Array | undefined,
): Int32Array {
  const n = predictions[0].length;
  const out = new Int32Array(n * predictions.length);
  predictions.forEach((preds, v) => {
    for (let i = 0; i < n; i++) {
      out[v * n + i] =
        rule.kind === 'class'
          ? rule.index
          : rule.kind === 'original'
            ? predictions[0][i].index
            : rule.kind === 'label' && labels !== undefined
              ? labels[i]
              : preds[i].index;
    }
  });
  return out;
}

/** A model's error, naming the model when there are several. */
function withModelName(err: unknown, name: string | undefined): unknown {
  if (name === undefined || !(err instanceof AdvkitError) || err.message.includes(`${name}:`)) return err;
  const message = err.message.startsWith('explain: ')
    ? err.message.replace(/^explain: /, `explain: ${name}: `)
    : `${name}: ${err.message}`;
  return new AdvkitError(err.code, message, err.details);
}

interface MethodJob {
  model: Model;
  method: AttributionMethod<Schema>;
  /** Every row: the n clean inputs, then each other variant's n rows. */
  x: tf.Tensor4D;
  n: number;
  variants: readonly ExplainVariant[];
  targets: Int32Array;
  params: Record<string, unknown>;
  layer: string | undefined;
  batchSize: number;
  seed: number;
  faithfulness: boolean;
  sanity: boolean;
  signal: AbortSignal | undefined;
  progress: (stage: 'method' | 'faithfulness' | 'sanity', fraction: number) => void;
}

interface MethodOutcome {
  maps: Map<ExplainVariant, Float32Array>;
  /** Per row: the method's details, and the row's deletion and insertion AUCs when scored. */
  details: InputDetails[];
  params: Record<string, unknown>;
  cost: ExplainedModel['cost'][string];
  faithfulness?: Partial<Record<ExplainVariant, FaithfulnessSummary>>;
  sanity?: SanitySummary;
}

/** One method on every row of one model, then the checks asked for; leaves no tensor behind. */
async function runMethod(job: MethodJob): Promise<MethodOutcome> {
  const t0 = Date.now();
  const a = await explain(job.model, job.method, {
    x: job.x,
    target: job.targets,
    params: job.params,
    layer: job.layer,
    batchSize: job.batchSize,
    seed: job.seed,
    signal: job.signal,
    onProgress: (p) => job.progress('method', p.fraction),
  });
  const cost = { ...a.cost, seconds: 0 };
  const details = a.details.map((d) => ({ ...d }));
  let faithfulness: MethodOutcome['faithfulness'];
  let values: Float32Array;
  try {
    values = (await a.maps.data()) as Float32Array;
    cost.seconds = (Date.now() - t0) / 1000;
    if (job.faithfulness) {
      job.progress('faithfulness', 0);
      const f = await deletionInsertion(job.model, job.x, a.maps, a.targets, {
        seed: job.seed,
        batchSize: job.batchSize,
        signal: job.signal,
      });
      f.deletion.aucPerInput.forEach((auc, r) => {
        if (Number.isFinite(auc)) details[r].deletionAuc = auc;
        const insertion = f.insertion.aucPerInput[r];
        if (Number.isFinite(insertion)) details[r].insertionAuc = insertion;
      });
      faithfulness = Object.fromEntries(
        job.variants.map((variant, v) => [variant, faithfulnessOf(f, v * job.n, job.n)]),
      );
      job.progress('faithfulness', 1);
    }
  } finally {
    a.maps.dispose();
  }
  let sanity: SanitySummary | undefined;
  if (job.sanity) {
    const clean = tf.slice(job.x, [0, 0, 0, 0], [job.n, -1, -1, -1]);
    try {
      const r = await randomizationTest(job.model, job.method, {
        x: clean,
        target: job.targets.slice(0, job.n),
        params: job.params,
        layer: job.layer,
        batchSize: job.batchSize,
        seed: job.seed,
        signal: job.signal,
        onProgress: (p) => job.progress('sanity', p.fraction),
      });
      sanity = {
        passed: r.passed,
        flagged: r.flagged,
        measure: r.measure,
        threshold: r.threshold,
        detail: r.detail,
        steps: r.steps.map((s) => ({ layer: s.layer, spearman: s.spearman, spearmanAbs: s.spearmanAbs })),
        gradients: r.cost.gradients,
      };
    } finally {
      clean.dispose();
    }
  }
  return {
    maps: splitRows(values, job.variants),
    details,
    params: a.params,
    cost,
    ...(faithfulness !== undefined ? { faithfulness } : {}),
    ...(sanity !== undefined ? { sanity } : {}),
  };
}

/** The mean of the finite values of rows [start, start + n). */
function meanOf(values: readonly number[], start: number, n: number): number {
  const finite = values.slice(start, start + n).filter((v) => Number.isFinite(v));
  return finite.length === 0 ? Number.NaN : finite.reduce((a, v) => a + v, 0) / finite.length;
}

/** One variant's rows of a deletion-insertion result, summarized. */
function faithfulnessOf(f: FaithfulnessResult, start: number, n: number): FaithfulnessSummary {
  const deletion = meanOf(f.deletion.aucPerInput, start, n);
  const insertion = meanOf(f.insertion.aucPerInput, start, n);
  const random =
    f.random === undefined
      ? null
      : (() => {
          const d = meanOf(f.random.deletion.aucPerInput, start, n);
          const i = meanOf(f.random.insertion.aucPerInput, start, n);
          return { deletion: d, insertion: i, score: i - d };
        })();
  return { deletion, insertion, score: insertion - deletion, random };
}

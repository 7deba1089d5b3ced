import type * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { getAttack } from '../attacks/registry.js';
import { invalidArgument } from '../errors.js';
import {
  assertComparable,
  compareRobustness,
  type CompareAttackSpec,
  type ComparedModel,
  type CompareProgress,
  type RobustnessComparison,
} from '../evaluate/compare.js';
import type { Model } from '../models/model.js';
import { checkValue, parseParams } from '../util/schema.js';
import { ADVKIT_VERSION } from '../version.js';
import { defaultBudgets, parseBudgets } from './budgets.js';
import { COMPARE_DEFAULTS, compareSchema } from './compare-spec.js';
import { compareMarkdown } from './compare-table.js';
import { fieldFromText } from './field-text.js';
import { loadModelSample, type DataRequest } from './model-data.js';
import { openModel, type ModelSource } from './model-source.js';
import { flagFor, reproduceCommand } from './reproduce.js';
import { parseSpec } from './spec.js';
import { jsonArtifact, type Task, type TaskContext, type TaskResult } from './task.js';
import { engineName } from '../backend/backend.js';

/** What compare.json holds (the advkit-compare/1 format) and `advkit compare --json` prints. */
export interface CompareSummary extends RobustnessComparison {
  format: 'advkit-compare/1';
  advkit: string;
  backend: string;
  /** The budgets as given ('8/255'), in the order of `eps` (ascending). */
  epsText: string[];
  dataset: { name: string; split: string; n: number; sample: string; notes: string[] };
  /** Model directories, in the order of `models`. */
  modelPaths: string[];
  /** The command line that reproduces the comparison. */
  command: string;
  seconds: number;
}

export interface CompareResult extends TaskResult, CompareSummary {
  task: 'compare';
}

export type CompareSpec = Parameters<typeof compareTask.run>[0];

/**
 * Clean and adversarial accuracy of several models (a standard one next to an adversarially trained one) on
 * the same images, with the same untargeted attacks, budgets and seed, plus the per-example worst case over
 * the attacks. The models must agree on input shape and classes; a model with other bounds gets the same
 * images and budgets in its own units. Artifacts: compare.json and compare.md (a Markdown table).
 */
export const compareTask: Task<typeof compareSchema, CompareResult, CompareProgress> = {
  name: 'compare',
  title: 'Clean and adversarial accuracy of several models on the same images, attacks and budgets',
  schema: compareSchema,
  async run(input, ctx: TaskContext<CompareProgress> = {}) {
    const started = Date.now();
    const spec = parseSpec(compareSchema, input, 'compare');
    const attacks = parseAttacks(spec.attacks);
    const refs = modelRefs(spec.models ?? COMPARE_DEFAULTS.models);
    const givenNames = spec.names === undefined ? undefined : rowNames(spec.names, refs.length);
    const sources: ModelSource[] = [];
    const inputs: tf.Tensor4D[] = [];
    try {
      for (const ref of refs) sources.push(await openModel(ref, { defaultName: ref, flag: '--models' }));
      const names = givenNames ?? defaultNames(sources);
      const compared: ComparedModel[] = sources.map((s, i) => ({ name: names[i], classifier: s.model }));
      // Refused before the data is loaded: models that cannot share one sample.
      assertComparable(compared);
      const first = sources[0].model;
      const dataName = spec.data ?? first.metadata.dataset ?? 'mnist';
      const budgets =
        spec.eps === undefined
          ? defaultBudgets(dataName, spec.norm, first.bounds)
          : parseBudgets(spec.eps, { bounds: first.bounds, norm: spec.norm });
      const request: DataRequest = {
        data: dataName,
        split: spec.split,
        dataDir: spec.dataDir,
        n: spec.n,
        seed: spec.seed,
      };
      const sample = await loadModelSample(first, request);
      inputs.push(sample.x);
      const notes = [...sample.info.notes];
      for (const [i, m] of compared.entries()) {
        if (m.classifier.bounds.join(',') === first.bounds.join(',')) continue;
        // The same request gives the same images (same classes, same indices), in this model's units.
        const own = await loadModelSample(sources[i].model, request);
        inputs.push(own.x);
        m.x = own.x;
        notes.push(
          `${m.name} takes inputs in [${m.classifier.bounds.join(', ')}]: it gets the same images, and budgets ` +
            `x${Number((range(m.classifier) / range(first)).toPrecision(4))}, in its own units`,
        );
      }
      for (const note of notes) ctx.onNote?.(note);
      const comparison = await compareRobustness(compared, {
        x: sample.x,
        labels: sample.labels,
        norm: spec.norm,
        eps: budgets.map((b) => b.value),
        attacks,
        seed: spec.seed ?? 0,
        batchSize: spec.batchSize,
        signal: ctx.signal,
        onProgress: ctx.onProgress,
      });
      const epsText = budgets.map((b) => b.text);
      const result: CompareResult = {
        task: 'compare',
        schemaVersion: 1,
        format: 'advkit-compare/1',
        advkit: ADVKIT_VERSION,
        backend: engineName(),
        ...comparison,
        epsText,
        dataset: {
          name: sample.info.name,
          split: sample.info.split,
          n: comparison.n,
          sample: spec.seed === undefined ? 'first n' : `random (seed ${spec.seed})`,
          notes,
        },
        modelPaths: sources.map((s) => path.resolve(s.dir)),
        command: reproduceCommand('compare', [
          ['models', refs.join(',')],
          ['names', givenNames?.join(',')],
          ['data', dataName],
          ['split', spec.split],
          ['n', spec.n],
          ['seed', spec.seed],
          ['norm', spec.norm],
          ['eps', epsText.join(',')],
          ['attacks', attacksText(attacks)],
          ['batchSize', spec.batchSize],
          ['backend', engineName()],
        ]),
        seconds: (Date.now() - started) / 1000,
      };
      return {
        result,
        artifacts: [
          jsonArtifact('compare.json', result),
          {
            name: 'compare.md',
            mediaType: 'text/markdown',
            bytes: new TextEncoder().encode(compareMarkdown(result)),
          },
        ],
      };
    } finally {
      inputs.forEach((x) => x.dispose());
      sources.forEach((s) => s.model.dispose());
    }
  },
};

function range(model: Model): number {
  return model.bounds[1] - model.bounds[0];
}

function splitList(value: string | readonly string[]): string[] {
  return (typeof value === 'string' ? value.split(',') : [...value]).map((s) => s.trim());
}

function modelRefs(value: string | readonly string[]): string[] {
  const refs = splitList(value);
  if (refs.length === 0 || refs.some((r) => r === '')) {
    throw invalidArgument(`--models must be comma-separated model directories; got '${String(value)}'.`);
  }
  return refs;
}

function rowNames(value: string | readonly string[], count: number): string[] {
  const names = splitList(value);
  if (names.length !== count || names.some((n) => n === '')) {
    throw invalidArgument(
      `--names must give one non-empty name per model (${count}), got ${names.length}: '${String(value)}'.`,
    );
  }
  return names;
}

/** Each directory's name, or the references themselves where two directories share a name. */
function defaultNames(sources: readonly ModelSource[]): string[] {
  const base = sources.map((s) => s.name);
  return new Set(base).size === base.length ? base : sources.map((s) => s.ref);
}

type AttackItem = Exclude<CompareSpec['attacks'], string | undefined>[number];

/**
 * The attacks of a comparison: 'fgsm,pgd:steps=100:restarts=2' (each parameter checked against the attack's
 * schema, written camelCase or kebab-case), or a list of such texts and { attack, params, label } objects.
 * Only the parameters given are kept; runAttack fills in the defaults.
 */
export function parseAttacks(value: string | readonly AttackItem[]): CompareAttackSpec[] {
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (items.length === 0 || items.some((s) => s === '')) {
    throw invalidArgument(
      `--attacks must be a comma-separated list such as fgsm,pgd; got '${String(value)}'.`,
    );
  }
  return items.map((item): CompareAttackSpec => {
    if (typeof item === 'string') return parseAttackText(item);
    const attack = getAttack(item.attack);
    parseParams(attack.schema, item.params, attack.name);
    return { attack, ...(item.params !== undefined ? { params: item.params } : {}), label: item.label };
  });
}

function parseAttackText(item: string): CompareAttackSpec {
  const [name, ...assignments] = item.split(':').map((s) => s.trim());
  const attack = getAttack(name);
  const params: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const m = /^([A-Za-z][\w-]*)=(.+)$/.exec(assignment);
    const key = m?.[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (m === null || key === undefined || !Object.hasOwn(attack.schema, key)) {
      const known = Object.keys(attack.schema).map((k) => flagFor(k).slice(2));
      throw invalidArgument(
        `--attacks: '${assignment}' in '${item}' is not a parameter of ${attack.name} written as name=value; ` +
          `its parameters are ${known.length === 0 ? '(none)' : known.join(', ')}.`,
      );
    }
    const field = attack.schema[key];
    params[key] = checkValue(field, fieldFromText(field, m[2].trim()), `${attack.name}: ${flagFor(key)}`);
  }
  return { attack, params };
}

/** The attacks as --attacks text, for the reproduce line. */
function attacksText(attacks: readonly CompareAttackSpec[]): string {
  return attacks
    .map((a) => {
      const name = typeof a.attack === 'string' ? a.attack : a.attack.name;
      const params = Object.entries(a.params ?? {}).map(([k, v]) => `:${k}=${String(v)}`);
      return name + params.join('');
    })
    .join(',');
}

import type { Command } from 'commander';
import path from 'node:path';
import { initNodeBackend } from '../../backend/node-backend.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { invalidArgument } from '../../errors.js';
import {
  explainTask,
  type ExplainResult,
  type ExplainedModel,
  type ExplainedRow,
  type FaithfulnessSummary,
} from '../../tasks/explain.js';
import { EXPLAIN_METHOD_PARAMS, explainSchema } from '../../tasks/explain-spec.js';
import { withInterrupt } from '../interrupt.js';
import type { CliIo } from '../main.js';
import { assertWritableDir, assertWritableFile } from '../output-check.js';
import { createProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput, withFlagNames } from '../spec-flags.js';

interface ExplainCliOnly {
  out?: string;
  saveMaps?: string;
  backend?: string;
  json?: boolean;
}

export const METHOD_PARAMETERS_HEADING =
  'Method parameters (each goes to the methods named before its help):';

/** The task's options that the command sets from its own flags (--out, --save-maps). */
const SET_BY_COMMAND = ['picture', 'saveMaps'];

/**
 * `advkit explain`: flags -> the explain task's spec (the methods' parameters are flags generated from their
 * schemas); a summary as text or JSON; the picture at --out and the raw maps as .npy files under --save-maps.
 */
export function registerExplainCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('explain')
    .description(
      'Attribution maps of image files (--image) or a dataset sample (--data, --n) by one or more methods ' +
        '(saliency, SmoothGrad, Integrated Gradients, Grad-CAM, occlusion, ...), under one or more models side ' +
        'by side. With --attack (and --eps) or --patch, each input is also explained attacked or patched, in ' +
        'the row under it. --out writes one PNG grid (a row per input, a column per method), --save-maps the ' +
        'raw maps as NumPy .npy files, --json the predictions, targets, settings, IG completeness gaps and the ' +
        'scores asked for (--faithfulness, --sanity).',
    );
  const paramKeys = EXPLAIN_METHOD_PARAMS.map((o) => o.key);
  const ownKeys = Object.keys(explainSchema.properties).filter((k) => !paramKeys.includes(k));
  const flags = [
    ...addSpecOptions(cmd, explainSchema, { omit: [...paramKeys, ...SET_BY_COMMAND] }),
    ...addSpecOptions(cmd, explainSchema, {
      omit: ownKeys,
      group: METHOD_PARAMETERS_HEADING,
      // A switch on by default is typed as its --no- form, which the schema's own words do not describe.
      describe: paramKeys.includes('relu')
        ? {
            relu: 'gradcam: keep the signed map (Captum default), not only the positive evidence (the paper)',
          }
        : {},
    }),
  ];
  cmd
    .option('--out <file.png>', 'write the picture here: a row per input, a column per method')
    .option(
      '--save-maps <dir>',
      'write the raw maps here as NumPy float32 files, <method>.npy ([n, h, w, c] for the gradient family, ' +
        '[n, h, w] for gradcam and occlusion; <method>.adversarial.npy for the attacked inputs; a folder per model ' +
        'when there are several)',
    )
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: ExplainCliOnly) => {
      // Only the flags typed: commander gives a --no- switch the value true when it is absent.
      const typed = Object.entries(cmd.opts()).filter(([key]) => cmd.getOptionValueSource(key) === 'cli');
      const values = specFromFlags(flags, Object.fromEntries(typed));
      checkOutputs(opts);
      values.picture = opts.out !== undefined;
      values.saveMaps = opts.saveMaps !== undefined;
      const spec = taskInput(explainSchema, values);
      const backend = await initNodeBackend({ backend: opts.backend });
      const progress = createProgressLine('{model} {stage} {method} [{bar}] {pct}%', io.stderr);
      let current = '';
      const { result, artifacts } = await withInterrupt((signal) =>
        explainTask.run(spec, {
          signal,
          onNote: (note) => io.stderr(`note: ${note}\n`),
          onProgress: (p) => {
            if (p.stage === 'model') {
              progress.stop();
              current = '';
              io.stderr(
                `${p.model} (${p.index + 1}/${p.models}): ${p.inputs} inputs, ${p.rows} rows (backend ${backend})\n`,
              );
              return;
            }
            const what = p.stage === 'attack' ? p.attack : p.method;
            const fields = {
              model: p.model,
              stage: p.stage,
              method: what,
              pct: Math.round(100 * p.fraction),
            };
            if (current !== `${p.stage} ${what}`) {
              progress.stop();
              progress.start(100, fields);
              current = `${p.stage} ${what}`;
            }
            progress.update(100 * p.fraction, fields);
          },
        }),
      )
        .catch((err: unknown) => {
          throw withFlagNames(err, flags, { picture: '--out', saveMaps: '--save-maps' });
        })
        .finally(() => progress.stop());
      const written: string[] = [];
      const png = artifacts.find((a) => a.name === 'explain.png');
      if (opts.out !== undefined && png !== undefined) {
        await writeFileAtomic(opts.out, png.bytes);
        written.push(path.resolve(opts.out));
      }
      const maps = artifacts.filter((a) => a.name.startsWith('maps/'));
      if (opts.saveMaps !== undefined) {
        for (const a of maps) {
          const file = path.join(opts.saveMaps, ...a.name.slice('maps/'.length).split('/'));
          await writeFileAtomic(file, a.bytes);
          written.push(path.resolve(file));
        }
      }
      const summary = { ...result, backend, written };
      io.stdout(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
    });
}

/** The output flags, checked before any work starts. */
function checkOutputs(opts: ExplainCliOnly): void {
  if (opts.out !== undefined) {
    assertWritableFile(opts.out, '--out');
    if (path.extname(opts.out).toLowerCase() !== '.png') {
      throw invalidArgument(`--out must name a .png file, got '${opts.out}'.`);
    }
  }
  if (opts.saveMaps !== undefined) assertWritableDir(opts.saveMaps, '--save-maps');
}

function pct(p: number): string {
  return `${(100 * p).toFixed(1)}%`;
}

function num(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : 'n/a';
}

/** One row: its variant, the prediction, the class explained and what the methods report. */
function rowText(row: ExplainedRow, model: ExplainedModel, result: ExplainResult): string {
  const a = result.attack;
  const variant =
    row.variant === 'adversarial' && a !== null
      ? `${a.name} ${a.epsText ?? ''}`.trim()
      : row.variant === 'patched'
        ? 'patched'
        : 'clean';
  const clean = model.rows.find((r) => r.input === row.input && r.variant === 'clean');
  const label = result.inputs[row.input]?.label;
  const wrongBefore = label !== null && label !== undefined && clean?.prediction.index !== label.index;
  const fooled =
    row.fooled === undefined
      ? ''
      : wrongBefore
        ? ' (misclassified before the attack)'
        : row.fooled
          ? ' (fooled)'
          : ' (not fooled)';
  const notes: string[] = [];
  const ig = row.methods.ig;
  if (ig !== undefined) {
    const converged = ig.converged === false ? ', not converged' : '';
    notes.push(`ig ${String(ig.steps)} steps, gap ${pct(Number(ig.gap))}${converged}`);
  }
  if (row.methods.gradcam?.zeroMap === true) notes.push('gradcam map all zero');
  return (
    `${variant}: ${row.prediction.name} ${pct(row.prediction.confidence)}${fooled}, explained ` +
    `${row.target.name}` +
    (notes.length > 0 ? `; ${notes.join('; ')}` : '')
  );
}

function faithfulnessText(f: FaithfulnessSummary): string {
  const random = f.random === null ? '' : ` (random order ${num(f.random.score)})`;
  return `deletion ${num(f.deletion)}, insertion ${num(f.insertion)}, score ${num(f.score)}${random}`;
}

function formatSummary(s: ExplainResult & { written: string[] }): string {
  const lines: string[] = [];
  for (const m of s.models) {
    const costs = Object.entries(m.cost).map(
      ([method, c]) =>
        `${method} ${c.seconds.toFixed(1)} s${c.gradients > 0 ? ` (${c.gradients} gradients)` : ''}`,
    );
    const attack =
      m.attack === undefined || s.attack === null
        ? ''
        : `; after ${s.attack.name} ${pct(m.attack.successRate)} misclassified (${m.attack.seconds.toFixed(1)} s)`;
    lines.push(`${m.name}: ${costs.join(', ')}${attack}`);
    s.inputs.forEach((input, i) => {
      const label = input.label === null ? '' : ` (label ${input.label.name})`;
      lines.push(`  ${input.source}${label}`);
      for (const row of m.rows.filter((r) => r.input === i)) lines.push(`    ${rowText(row, m, s)}`);
    });
    for (const [method, variants] of Object.entries(m.faithfulness ?? {})) {
      for (const [variant, f] of Object.entries(variants)) {
        lines.push(`  faithfulness of ${method} (${variant}): ${faithfulnessText(f)}`);
      }
    }
    for (const r of Object.values(m.sanity ?? {})) lines.push(`  randomization test: ${r.detail}`);
  }
  for (const file of s.written) lines.push(`wrote ${file}`);
  return lines.join('\n') + '\n';
}

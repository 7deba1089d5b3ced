import type { Command } from 'commander';
import path from 'node:path';
import { initNodeBackend } from '../../backend/node-backend.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { invalidArgument } from '../../errors.js';
import { compareTask, type CompareResult } from '../../tasks/compare.js';
import { COMPARE_DEFAULTS, compareSchema } from '../../tasks/compare-spec.js';
import { compareTable, NORM_NAME, paramText } from '../../tasks/compare-table.js';
import { withInterrupt } from '../interrupt.js';
import type { CliIo } from '../main.js';
import { assertWritableFile } from '../output-check.js';
import { createProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput } from '../spec-flags.js';

export { parseAttacks, type CompareSummary } from '../../tasks/compare.js';

interface CompareCliOnly {
  backend?: string;
  out?: string;
  json?: boolean;
}

/** `advkit compare`: flags -> the compare task's spec; the table or JSON; --out gets the JSON and the Markdown. */
export function registerCompareCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('compare')
    .description(
      'Clean and adversarial accuracy of several models (a standard one next to an adversarially trained one) ' +
        'on the same images, with the same attacks, budgets and seed: a table with a row per model and a ' +
        'column per attack and eps, plus the robust accuracy (correct under every attack). --out writes the ' +
        'JSON and a Markdown table beside it. With no options it compares the bundled standard and robust ' +
        `MNIST CNNs on ${COMPARE_DEFAULTS.n} test images at Linf 0.1, 0.2, 0.3 with FGSM and PGD-40.`,
    );
  const flags = addSpecOptions(cmd, compareSchema);
  cmd
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--out <file.json>', 'write the JSON here and a Markdown table beside it (<file>.md)')
    .option('--json', 'print the JSON instead of the table')
    .action(async (opts: CompareCliOnly) => {
      const spec = taskInput(compareSchema, specFromFlags(flags, cmd.opts()));
      const files = outputFiles(opts.out);
      await initNodeBackend({ backend: opts.backend });
      const progress = createProgressLine('compare [{bar}] {pct}% | {model} {attack}', io.stderr);
      let started = false;
      const { result, artifacts } = await withInterrupt((signal) =>
        compareTask
          .run(spec, {
            signal,
            onNote: (note) => io.stderr(`note: ${note}\n`),
            onProgress: (p) => {
              const fields = { pct: Math.round(100 * p.fraction), model: p.model, attack: p.attack };
              if (!started) progress.start(100, fields);
              started = true;
              progress.update(100 * p.fraction, fields);
            },
          })
          .finally(() => progress.stop()),
      );
      if (files !== undefined) {
        const target: Readonly<Record<string, string>> = {
          'compare.json': files.json,
          'compare.md': files.md,
        };
        for (const a of artifacts) await writeFileAtomic(target[a.name], a.bytes);
      }
      if (opts.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
      else io.stdout(compareText(result, files === undefined ? [] : [files.json, files.md]));
    });
}

/** --out and the Markdown beside it, checked before any work starts. */
function outputFiles(out: string | undefined): { json: string; md: string } | undefined {
  if (out === undefined) return undefined;
  if (path.extname(out).toLowerCase() !== '.json') {
    throw invalidArgument(`--out must name a .json file (the Markdown table goes beside it), got '${out}'.`);
  }
  const json = path.resolve(out);
  const md = json.replace(/\.json$/i, '.md');
  assertWritableFile(json, '--out');
  assertWritableFile(md, '--out (its Markdown table)');
  return { json, md };
}

function compareText(s: CompareResult, written: string[]): string {
  return (
    [
      `data: ${s.dataset.name}/${s.dataset.split}, ${s.n} images (${s.dataset.sample}); backend ${s.backend}`,
      `attacks (untargeted, ${NORM_NAME[s.norm]}): ${s.attacks.map((a) => `${a.label} (${paramText(a.params)})`).join('; ')}`,
      'accuracy:',
      compareTable(s).trimEnd(),
      ...(s.attacks.length > 1 ? ['robust: correct on the clean image and under every attack'] : []),
      `${s.seconds.toFixed(0)} s`,
      written.length > 0
        ? `wrote ${written.join(', ')}`
        : '(give --out <file.json> to save the JSON and a Markdown table)',
    ].join('\n') + '\n'
  );
}

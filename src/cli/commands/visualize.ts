import type { Command } from 'commander';
import path from 'node:path';
import { initNodeBackend } from '../../backend/node-backend.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { visualizeTask, type VisualizeResult } from '../../tasks/visualize.js';
import { visualizeSchema } from '../../tasks/visualize-spec.js';
import { withInterrupt } from '../interrupt.js';
import type { CliIo } from '../main.js';
import { assertWritableFile } from '../output-check.js';
import { createProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput, withFlagNames } from '../spec-flags.js';

interface VisualizeCliOnly {
  out: string;
  backend?: string;
  json?: boolean;
}

/** `advkit visualize`: flags -> the visualize task's spec; a summary as text or JSON; the grid PNG at --out. */
export function registerVisualizeCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('visualize')
    .description(
      'Feature visualization: per model (a row), an image per class (a column) that maximizes its logit, by L2 ' +
        'gradient steps from seeded noise or an image (Santurkar et al. 2019; Engstrom et al. 2019), or per ' +
        'channel of a layer with --layer. Robust models give images that look like the class; standard models ' +
        'give noise. Writes one PNG grid.',
    );
  const flags = addSpecOptions(cmd, visualizeSchema);
  cmd
    .requiredOption('--out <file>', 'where to write the PNG grid')
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: VisualizeCliOnly) => {
      const spec = taskInput(visualizeSchema, specFromFlags(flags, cmd.opts()));
      assertWritableFile(opts.out, '--out');
      const backend = await initNodeBackend({ backend: opts.backend });
      const progress = createProgressLine(
        '{model} [{bar}] {value}/{total} | objective {objective}',
        io.stderr,
      );
      const { result, artifacts } = await withInterrupt((signal) =>
        visualizeTask.run(spec, {
          signal,
          onNote: (note) => io.stderr(`note: ${note}\n`),
          onProgress: (p) => {
            if (p.stage === 'model') {
              progress.stop();
              io.stderr(
                `${p.model} (${p.index + 1}/${p.models}): ${p.columns} images, ${p.steps} steps (backend ${backend})\n`,
              );
              progress.start(p.steps, { model: p.model, objective: '-' });
              return;
            }
            progress.update(p.step, { model: p.model, objective: p.objective.toFixed(2) });
          },
        }),
      )
        .catch((err: unknown) => {
          throw withFlagNames(err, flags);
        })
        .finally(() => progress.stop());
      const png = artifacts.find((a) => a.name === 'visualize.png');
      if (png !== undefined) await writeFileAtomic(opts.out, png.bytes);
      const out = path.resolve(opts.out);
      const summary = { ...result, backend, out };
      io.stdout(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
    });
}

function formatSummary(s: VisualizeResult & { out: string }): string {
  const what = s.objective === 'class' ? 'logit' : `mean of ${s.layer ?? 'the layer'}`;
  const lines: string[] = [];
  for (const m of s.models) {
    lines.push(`${m.name}: ${m.seconds.toFixed(1)} s, ${m.gradients} image gradients`);
    for (const c of m.cells) {
      const target = c.targetProbability !== undefined ? `, p(${c.name}) ${pct(c.targetProbability)}` : '';
      lines.push(
        `  ${c.name}: ${what} ${c.objective.toFixed(2)}, predicted ${c.predicted.name} ${pct(c.probability)}${target}`,
      );
    }
  }
  lines.push(`wrote ${s.out}`);
  return lines.join('\n') + '\n';
}

function pct(p: number): string {
  return `${(100 * p).toFixed(1)}%`;
}

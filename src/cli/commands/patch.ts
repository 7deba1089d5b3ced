import type { Command } from 'commander';
import path from 'node:path';
import type { PatchEvaluation } from '../../attacks/patch/index.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { patchTask, type PatchResult } from '../../tasks/patch.js';
import { patchSchema } from '../../tasks/patch-spec.js';
import { withInterrupt } from '../interrupt.js';
import type { CliIo } from '../main.js';
import { assertWritableFile } from '../output-check.js';
import { createProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput, withFlagNames } from '../spec-flags.js';

interface PatchCliOnly {
  out: string;
  backend?: string;
  json?: boolean;
}

/** `advkit patch`: flags -> the patch task's spec; the summary as text or JSON; the patch PNG at --out. */
export function registerPatchCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('patch')
    .description(
      'Train a universal targeted adversarial patch (Brown et al. 2017) on some images, measure its success on ' +
        'held-out images, and save it as a PNG. With --images, the photos of a folder alternate between training ' +
        'and held-out; with --data, n training-split images train it and n test-split images measure it.',
    );
  const flags = addSpecOptions(cmd, patchSchema);
  for (const option of cmd.options) if (option.long === '--target') option.makeOptionMandatory();
  cmd
    .requiredOption('--out <file>', 'where to write the patch PNG (transparent outside a disc patch)')
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: PatchCliOnly) => {
      const spec = taskInput(patchSchema, specFromFlags(flags, cmd.opts()));
      assertWritableFile(opts.out, '--out');
      const backend = await initNodeBackend({ backend: opts.backend });
      const progress = createProgressLine(
        'patch [{bar}] {value}/{total} | loss {loss} | batch success {success}',
        io.stderr,
      );
      const { result, artifacts } = await withInterrupt((signal) =>
        patchTask.run(spec, {
          signal,
          onNote: (note) => io.stderr(`note: ${note}\n`),
          onProgress: (p) => {
            if (p.stage === 'start') {
              io.stderr(
                `training a ${p.shape} patch for '${p.target.name}' on ${p.images} images from ${p.source} ` +
                  `(backend ${backend})\n`,
              );
              progress.start(p.steps, { loss: '-', success: '-' });
              return;
            }
            progress.update(p.step, {
              loss: p.loss.toFixed(3),
              success: `${(100 * p.successRate).toFixed(0)}%`,
            });
          },
        }),
      )
        .catch((err: unknown) => {
          throw withFlagNames(err, flags);
        })
        .finally(() => progress.stop());
      const png = artifacts.find((a) => a.name === 'patch.png');
      if (png !== undefined) await writeFileAtomic(opts.out, png.bytes);
      const out = path.resolve(opts.out);
      const summary = { ...result, backend, patch: { ...result.patch, out } };
      io.stdout(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
    });
}

function formatSummary(s: PatchResult & { patch: { out: string } }): string {
  const rate = (e: PatchEvaluation): string =>
    `${(100 * e.successRate).toFixed(1)}% (${e.successes}/${e.attempts} placements on ${e.evaluated} images)`;
  const lines = [
    `${s.patch.shape} patch ${s.patch.pixels}x${s.patch.pixels} px (side ${s.patch.size} of the image) for ` +
      `'${s.target.name}' (#${s.target.index}): ${s.seconds.toFixed(0)} s, ${s.gradients} image gradients`,
    `predicted '${s.target.name}' with the patch, training images: ${rate(s.train)}`,
    `held-out images: ${rate(s.heldOut)}`,
    `a random patch of the same size: ${rate(s.randomPatch)}`,
  ];
  if (s.heldOut.excluded > 0) {
    lines.push(
      `(${s.heldOut.excluded} held-out images left out: their ${s.labels === 'dataset' ? 'label' : 'clean prediction'} is already the target)`,
    );
  }
  lines.push(`wrote ${s.patch.out}`);
  return lines.join('\n') + '\n';
}

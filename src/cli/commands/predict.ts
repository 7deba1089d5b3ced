import type { Command } from 'commander';
import { initNodeBackend } from '../../backend/node-backend.js';
import { predictTask, type PredictResult } from '../../tasks/predict.js';
import { predictSchema } from '../../tasks/predict-spec.js';
import type { CliIo } from '../main.js';
import { addSpecOptions, specFromFlags, taskInput } from '../spec-flags.js';

/** `advkit predict`: flags -> the predict task's spec; the predictions as lines or JSON. */
export function registerPredictCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('predict')
    .description(
      'Classify images or dataset samples and print the top-k labels with confidences. ' +
        'With no --model it uses the bundled MNIST model; with no --image it classifies test samples of the dataset the model was trained on (MNIST by default).',
    );
  const flags = addSpecOptions(cmd, predictSchema);
  cmd
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const spec = taskInput(predictSchema, specFromFlags(flags, cmd.opts()));
      const backend = await initNodeBackend({ backend: opts.backend });
      const { result } = await predictTask.run(spec);
      io.stdout(
        opts.json
          ? JSON.stringify({ ...result, backend }, null, 2) + '\n'
          : formatPredictions(result, backend),
      );
    });
}

function formatPredictions(r: PredictResult, backend: string): string {
  const lines = [
    `model: ${r.model}${r.defense !== undefined ? ` behind the defense ${r.defense}` : ''} (backend: ${backend})`,
  ];
  for (const p of r.predictions) {
    const tops = p.top.map((t) => `${t.label} ${(100 * t.confidence).toFixed(1)}%`).join(', ');
    const truth =
      p.label !== undefined ? `  [true: ${p.label}${p.top[0]?.label === p.label ? ', ok' : ', WRONG'}]` : '';
    lines.push(`${p.source}: ${tops}${truth}`);
  }
  for (const note of r.notes) lines.push(`note: ${note}`);
  if (r.accuracy !== undefined) {
    lines.push(`top-1 accuracy on these ${r.predictions.length} samples: ${(100 * r.accuracy).toFixed(1)}%`);
  }
  return lines.join('\n') + '\n';
}

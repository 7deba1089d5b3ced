import { Command, CommanderError } from 'commander';
import { isUserError } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerTrainCommand } from './commands/train.js';
import { registerInfoCommand } from './commands/info.js';
import { registerPatchCommand } from './commands/patch.js';
import { registerAttackCommand } from './commands/attack.js';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerCompareCommand } from './commands/compare.js';
import { registerExperimentCommand } from './commands/experiment.js';
import { registerVisualizeCommand } from './commands/visualize.js';
import { registerExplainCommand } from './commands/explain.js';
import { registerCertifyCommand } from './commands/certify.js';
import { registerDetectCommand } from './commands/detect.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerServeCommand } from './commands/serve.js';
import { registerPlaygroundCommand } from './commands/playground.js';
import { ADVKIT_VERSION } from '../version.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

export function buildProgram(io: CliIo): Command {
  const program = new Command('advkit')
    .description('Attack, defend, evaluate and explain image classifiers (TensorFlow.js).')
    .version(ADVKIT_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  registerPredictCommand(program, io);
  registerTrainCommand(program, io);
  registerAttackCommand(program, io);
  registerEvaluateCommand(program, io);
  registerCompareCommand(program, io);
  registerPatchCommand(program, io);
  registerExperimentCommand(program, io);
  registerVisualizeCommand(program, io);
  registerExplainCommand(program, io);
  registerCertifyCommand(program, io);
  registerDetectCommand(program, io);
  registerWorkerCommand(program, io);
  registerServeCommand(program, io);
  registerPlaygroundCommand(program, io);
  registerInfoCommand(program, io);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    cmd.showHelpAfterError('(run with --help for usage)');
  }
  return program;
}

/**
 * Run the CLI and return the exit code: 0 ok, 2 a user mistake (bad flag or value, missing file),
 * 1 a failure (corrupt input, a bug), 130 interrupted. User mistakes print one clear line, never a stack.
 */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version "errors" are normal exits; commander already printed the message.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
        return EXIT_OK;
      }
      return EXIT_USAGE;
    }
    if (isUserError(err)) {
      io.stderr(`advkit: ${err.message}\n`);
      return exitCodeFor(err);
    }
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.stderr(`advkit: internal error (please report it): ${detail}\n`);
    return EXIT_FAILURE;
  }
}

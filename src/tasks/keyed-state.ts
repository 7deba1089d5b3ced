import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { AdvkitError } from '../errors.js';

/** A task's saved progress: the settings it depends on (`key`, flat values) and whatever the task keeps. */
export interface KeyedState<K> {
  key: K;
}

/**
 * The state a resumable task saved in `file` for the same `key`, or undefined when there is none. A file
 * another run wrote (other key values, or not a state `isState` accepts) is refused with what differs, unless
 * `restart`, which removes that file and only it. Used by certify and detect, whose states are per finished
 * image or row.
 */
export async function claimKeyedState<K extends object, S extends KeyedState<K>>(
  file: string,
  opts: {
    task: string;
    key: K;
    restart: boolean;
    isState: (v: unknown) => v is S;
    say: (text: string) => void;
  },
): Promise<S | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    saved = undefined;
  }
  const state = opts.isState(saved) ? saved : undefined;
  const diff =
    state !== undefined
      ? keyDifferences(state.key, opts.key)
      : [`${file} is not a state this version of advkit wrote`];
  if (state !== undefined && diff.length === 0) return state;
  const dir = path.dirname(file);
  if (!opts.restart) {
    throw new AdvkitError(
      'INVALID_ARGUMENT',
      `${opts.task}: ${dir} holds the state of another ${opts.task} run (${diff.join('; ')}). Run with the ` +
        "same options to continue it, give another state directory, or add 'restart' to discard it.",
      { option: 'restart', state: dir },
    );
  }
  await rm(file, { force: true });
  opts.say(`discarded the state of another run in ${dir}`);
  return undefined;
}

/** 'seed was 0, now 1' for each key value that differs. */
function keyDifferences<K extends object>(saved: K, wanted: K): string[] {
  const keys = Object.keys(wanted) as (keyof K)[];
  return keys
    .filter((k) => saved[k] !== wanted[k])
    .map((k) => `${String(k)} was ${String(saved[k])}, now ${String(wanted[k])}`);
}

import { invalidArgument } from '../errors.js';
import { Rng } from '../util/rng.js';
import { take, type ImageDataset } from './dataset.js';

export interface SubsetOptions {
  /** Keep only these classes, by name or index. */
  classes?: (number | string)[];
  /** With `classes`: renumber labels 0..k-1 in the order the classes were given, and keep only their names. */
  relabel?: boolean;
  /** Keep this many images per class (the first ones, or a seeded random choice when `seed` is given). */
  perClass?: number;
  /** Keep this many images in all (the first ones, or a seeded random choice when `seed` is given). */
  count?: number;
  /** Seed of the random choice for `perClass` and `count`; without it the first images are kept. */
  seed?: number;
}

function classIndex(ds: ImageDataset, cls: number | string): number {
  const known = `expected a class index 0..${ds.classNames.length - 1} or one of: ${ds.classNames.join(', ')}`;
  if (typeof cls === 'number') {
    if (!Number.isInteger(cls) || cls < 0 || cls >= ds.classNames.length) {
      throw invalidArgument(`Unknown class ${cls} in dataset '${ds.name}'; ${known}.`);
    }
    return cls;
  }
  let index = ds.classNames.indexOf(cls);
  if (index < 0 && /^\d+$/.test(cls)) index = Number(cls) < ds.classNames.length ? Number(cls) : -1;
  if (index < 0) throw invalidArgument(`Unknown class '${cls}' in dataset '${ds.name}'; ${known}.`);
  return index;
}

function checkCount(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw invalidArgument(`${what} must be a positive integer, got ${value}.`);
}

/** `n` of the candidates: the first n, or a seeded random n; returned in dataset order. */
function choose(candidates: number[], n: number, rng: Rng | undefined): number[] {
  if (rng === undefined) return candidates.slice(0, n);
  const picked = [...candidates];
  rng.shuffle(picked);
  return picked.slice(0, n).sort((a, b) => a - b);
}

/**
 * A smaller dataset: selected classes, a number per class and/or a number in all. Images keep their dataset order.
 * Asking for more images than there are is an error, never a silently smaller set.
 */
export function subset(ds: ImageDataset, opts: SubsetOptions): ImageDataset {
  const { classes, relabel = false, perClass, count, seed } = opts;
  if (relabel && classes === undefined)
    throw invalidArgument('relabel needs classes: the classes to number 0..k-1.');
  if (perClass !== undefined) checkCount(perClass, 'perClass');
  if (count !== undefined) checkCount(count, 'count');
  if (seed !== undefined && !Number.isInteger(seed))
    throw invalidArgument(`seed must be an integer, got ${seed}.`);
  const rng = seed === undefined ? undefined : new Rng(seed);

  const wanted = (classes ?? ds.classNames.map((_, i) => i)).map((c) => classIndex(ds, c));
  if (new Set(wanted).size !== wanted.length) {
    throw invalidArgument(`classes lists a class twice: ${classes?.join(', ')}.`);
  }
  const byClass = new Map<number, number[]>(wanted.map((c) => [c, []]));
  for (let i = 0; i < ds.count; i++) byClass.get(ds.labels[i])?.push(i);

  let kept: number[] = [];
  for (const [cls, members] of byClass) {
    if (perClass !== undefined && members.length < perClass) {
      throw invalidArgument(
        `perClass ${perClass} is more than the ${members.length} images of class '${ds.classNames[cls]}' in '${ds.name}' (${ds.split}).`,
      );
    }
    kept.push(...(perClass === undefined ? members : choose(members, perClass, rng)));
  }
  kept.sort((a, b) => a - b);
  if (count !== undefined) {
    if (kept.length < count) {
      throw invalidArgument(
        `count ${count} is more than the ${kept.length} images available in '${ds.name}' (${ds.split}) after selection.`,
      );
    }
    kept = choose(kept, count, rng);
  }

  const out = take(ds, kept);
  const described: string[] = [];
  if (classes !== undefined) {
    described.push(
      `classes ${wanted.map((c) => ds.classNames[c]).join(', ')}${relabel ? ' (relabelled 0..' + (wanted.length - 1) + ')' : ''}`,
    );
  }
  if (perClass !== undefined) described.push(`${perClass} per class`);
  if (count !== undefined) described.push(`${count} images`);
  if (perClass !== undefined || count !== undefined)
    described.push(seed === undefined ? 'first ones' : `seed ${seed}`);
  out.notes = [...(ds.notes ?? []), `subset of ${ds.count} images: ${described.join(', ')}`];

  if (relabel) {
    const newIndex = new Map(wanted.map((c, i) => [c, i]));
    for (let i = 0; i < out.count; i++) out.labels[i] = newIndex.get(out.labels[i]) ?? -1;
    out.classNames = wanted.map((c) => ds.classNames[c]);
  }
  return out;
}

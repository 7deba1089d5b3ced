import type { Goal } from '../attacks/types.js';
import { invalidArgument } from '../errors.js';

/** The goal from --target, and how to describe it. */
export interface ResolvedTarget {
  goal: Goal;
  /** 'untargeted', 'target goldfish (1)', 'least-likely class', 'random class (seeded)'. */
  description: string;
  /** The class index for a fixed target, else null. */
  index: number | null;
}

/** Names compared loosely: case, spaces, '_' and '-' do not matter ('Great White Shark' = great_white_shark). */
function normalize(name: string): string {
  return name
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ')
    .trim();
}

/**
 * --target: a class name (case-insensitive), a class index, 'least-likely' or 'random'; absent means
 * untargeted. An unknown name suggests the closest class names.
 */
export function resolveTarget(value: string | undefined, classNames: readonly string[]): ResolvedTarget {
  if (value === undefined) return { goal: 'untargeted', description: 'untargeted', index: null };
  const v = value.trim();
  if (v === 'least-likely')
    return { goal: 'least-likely', description: 'target: least-likely class', index: null };
  if (v === 'random') {
    return { goal: 'random', description: 'target: random class (seeded)', index: null };
  }
  // A signed number is an index out of range, never a name: normalize() would turn '-1' into '1'.
  if (/^[-+]\d+(\.\d*)?$/.test(v) || /^\d+\.\d*$/.test(v)) {
    throw invalidArgument(
      `--target ${v} is not a class of this model: indices are whole numbers from 0 to ${classNames.length - 1}.`,
    );
  }
  const byName = classNames.flatMap((n, i) => (normalize(n) === normalize(v) ? [i] : []));
  if (byName.length === 1) return fixed(byName[0], classNames);
  if (byName.length > 1) {
    throw invalidArgument(
      `--target '${value}' names ${byName.length} classes of this model (indices ${byName.join(', ')}); give the index instead.`,
    );
  }
  if (/^\d+$/.test(v)) {
    const index = Number(v);
    if (index >= classNames.length) {
      throw invalidArgument(
        `--target ${index} is not a class of this model: indices go from 0 to ${classNames.length - 1}.`,
      );
    }
    return fixed(index, classNames);
  }
  const suggestions = closestNames(v, classNames);
  throw invalidArgument(
    `--target '${value}' is not a class of this model.` +
      (suggestions.length > 0 ? ` Did you mean: ${suggestions.join(', ')}?` : '') +
      ` Give a class name, an index 0-${classNames.length - 1}, least-likely or random.`,
  );
}

function fixed(index: number, classNames: readonly string[]): ResolvedTarget {
  return {
    goal: { target: index },
    description: `target: ${classNames[index]} (class ${index})`,
    index,
  };
}

/** Up to five names: those containing the query first, then the nearest by edit distance. */
export function closestNames(query: string, classNames: readonly string[], count = 5): string[] {
  const q = normalize(query);
  const scored = [...new Set(classNames)].map((name) => {
    const n = normalize(name);
    const contains = n.includes(q) || (n.length >= 3 && q.includes(n));
    return { name, score: contains ? 0 : editDistance(q, n) };
  });
  const limit = Math.max(2, Math.floor(q.length / 3));
  return scored
    .filter((s) => s.score <= limit)
    .sort((a, b) => a.score - b.score || a.name.length - b.name.length)
    .slice(0, count)
    .map((s) => s.name);
}

/** Levenshtein distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

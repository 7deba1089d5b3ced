import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A directory that may hold datasets, and why it is searched (for messages). */
export interface DataRoot {
  dir: string;
  source: 'explicit' | 'ADVKIT_DATA' | 'cache';
}

/**
 * The per-user download cache: %LOCALAPPDATA%\advkit\datasets on Windows, else $XDG_CACHE_HOME/advkit/datasets,
 * else ~/.cache/advkit/datasets.
 */
export function userCacheDir(): string {
  if (process.platform === 'win32' && process.env.LOCALAPPDATA) {
    return path.join(process.env.LOCALAPPDATA, 'advkit', 'datasets');
  }
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(path.resolve(base), 'advkit', 'datasets');
}

export function dataRoots(explicit?: string): DataRoot[] {
  const roots: DataRoot[] = [];
  if (explicit !== undefined && explicit !== '')
    roots.push({ dir: path.resolve(explicit), source: 'explicit' });
  const env = process.env.ADVKIT_DATA;
  if (env !== undefined && env !== '') roots.push({ dir: path.resolve(env), source: 'ADVKIT_DATA' });
  roots.push({ dir: userCacheDir(), source: 'cache' });
  return roots;
}

/** Candidate data directories in search order: explicit, $ADVKIT_DATA, the user cache directory. */
export function resolveDataDir(explicit?: string): string[] {
  return dataRoots(explicit).map((r) => r.dir);
}

/** A file wanted under one of several names, each also accepted with a .gz suffix. */
export type WantedFile = readonly string[];

export function findFile(dir: string, wanted: WantedFile): string | undefined {
  for (const name of wanted) {
    for (const candidate of [name, `${name}.gz`]) {
      const file = path.join(dir, candidate);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

export function describeWanted(wanted: WantedFile): string {
  return wanted.map((n) => `${n}[.gz]`).join(' or ');
}

/** One way a split can be stored in a directory: the files it needs, in order. */
export interface Layout {
  files: readonly WantedFile[];
  /** The layout holds only part of the split (e.g. the first test images); loaders must say so. */
  partial?: boolean;
}

export interface SearchResult {
  found?: { dir: string; files: string[]; layout: Layout };
  /** One line per place searched, saying what was missing there. */
  report: string[];
}

/** The first directory (in order) that holds every file of one of the layouts (tried in order). */
export function searchDirs(dirs: { dir: string; label: string }[], layouts: readonly Layout[]): SearchResult {
  const report: string[] = [];
  for (const { dir, label } of dirs) {
    if (!existsSync(dir)) {
      report.push(`${dir} (${label}): does not exist`);
      continue;
    }
    const missing: string[] = [];
    for (const layout of layouts) {
      const files = layout.files.map((w) => findFile(dir, w));
      if (files.every((f) => f !== undefined)) {
        return { found: { dir, files: files.filter((f) => f !== undefined), layout }, report };
      }
      missing.push(
        layout.files
          .filter((_, i) => files[i] === undefined)
          .map(describeWanted)
          .join(', '),
      );
    }
    report.push(`${dir} (${label}): missing ${missing.join('; or ')}`);
  }
  return { report };
}

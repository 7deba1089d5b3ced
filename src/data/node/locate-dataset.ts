import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import type { BundledSample } from './bundled-samples.js';
import { dataRoots, describeWanted, searchDirs, userCacheDir, type Layout } from './locate.js';

export interface LocateRequest {
  /** For messages, e.g. 'MNIST test split'. */
  title: string;
  /** The dataset's folder under a data root, e.g. 'mnist'. */
  dirName: string;
  /** Folders inside the dataset folder that may hold the files too (e.g. 'cifar-10-batches-bin'). */
  subdirs?: readonly string[];
  /** Ways the files may be stored, best first. */
  layouts: readonly Layout[];
  /** An explicit directory: the dataset folder itself or a root holding it. */
  dir?: string;
  /** Allow downloading into the user cache when nothing is found (default true unless ADVKIT_OFFLINE=1). */
  download?: boolean;
  /** Where the files can be downloaded from (for messages). */
  urls: readonly string[];
  /** Downloads the files into the given dataset folder of the user cache. */
  fetchInto: (datasetDir: string) => Promise<void>;
  /**
   * The bundled sample to use when the files are found nowhere, before any download is tried (so a fresh install
   * works offline); skipped when `download` is explicitly true, which asks for the full files.
   */
  sample?: BundledSample;
  /** A last line for the not-found message. */
  hint?: string;
}

export interface LocatedFiles {
  dir: string;
  files: string[];
  layout: Layout;
  /** Set when the files are the bundled sample: which one, and how to get the full files (for messages). */
  sample?: { source: BundledSample; provide: string };
}

function candidateDirs(req: LocateRequest): { dir: string; label: string }[] {
  const out: { dir: string; label: string }[] = [];
  const subdirs = req.subdirs ?? [];
  for (const root of dataRoots(req.dir)) {
    const label =
      root.source === 'explicit' ? 'explicit dir' : root.source === 'cache' ? 'user cache' : 'ADVKIT_DATA';
    const datasetDir = path.join(root.dir, req.dirName);
    const dirs = [datasetDir, ...subdirs.map((s) => path.join(datasetDir, s))];
    if (root.source === 'explicit') dirs.push(root.dir, ...subdirs.map((s) => path.join(root.dir, s)));
    for (const dir of dirs) out.push({ dir, label });
  }
  return out;
}

function downloadAllowed(req: LocateRequest): boolean {
  return req.download ?? process.env.ADVKIT_OFFLINE !== '1';
}

function expectedFiles(req: LocateRequest): string {
  return req.layouts.map((l) => l.files.map(describeWanted).join(', ')).join('; or ');
}

function notFoundMessage(req: LocateRequest, report: string[]): string {
  return [
    `${req.title} not found. Looked in:`,
    ...report.map((line) => `  ${line}`),
    `Expected files: ${expectedFiles(req)}.`,
    `Provide them: put them in <dir>/${req.dirName}/ and set ADVKIT_DATA=<dir> or pass --data-dir <dir> ` +
      `(library: the dir option), or let advkit download them (online) from ${req.urls.join(', ')}.`,
    ...(req.hint === undefined ? [] : [req.hint]),
  ].join('\n');
}

/** How to get the full files when only the sample was found. */
function provideFullFiles(req: LocateRequest): string {
  return (
    `put ${expectedFiles(req)} in <dir>/${req.dirName}/ and set ADVKIT_DATA=<dir> or pass --data-dir <dir> ` +
    `(library: the dir option); download them from ${req.urls.join(', ')}`
  );
}

/**
 * Finds the files of one dataset split: in the explicit dir, then $ADVKIT_DATA/<name>, then the user cache; when
 * they are nowhere, the bundled sample if the request has one; else, when downloads are allowed, downloads them
 * into the user cache. Files are never mixed across directories: one directory must hold a whole layout.
 */
export async function locateDataset(req: LocateRequest): Promise<LocatedFiles> {
  const dirs = candidateDirs(req);
  const first = searchDirs(dirs, req.layouts);
  if (first.found) return first.found;
  if (req.sample !== undefined && req.download !== true) {
    const bundled = searchDirs([{ dir: req.sample.dir, label: 'bundled sample' }], [req.sample.layout]);
    if (bundled.found)
      return { ...bundled.found, sample: { source: req.sample, provide: provideFullFiles(req) } };
  }
  if (!downloadAllowed(req)) {
    throw new AdvkitError(
      'NOT_FOUND',
      `${notFoundMessage(req, first.report)}\nDownloads are off (download: false or ADVKIT_OFFLINE=1).`,
      {
        searched: dirs.map((d) => d.dir),
      },
    );
  }
  const cacheDatasetDir = path.join(userCacheDir(), req.dirName);
  try {
    await req.fetchInto(cacheDatasetDir);
  } catch (err) {
    if (err instanceof AdvkitError && err.code === 'NETWORK') {
      throw new AdvkitError('NETWORK', `${notFoundMessage(req, first.report)}\n${err.message}`, {
        ...err.details,
        searched: dirs.map((d) => d.dir),
      });
    }
    throw err;
  }
  const second = searchDirs(
    dirs.filter((d) => d.dir.startsWith(cacheDatasetDir)),
    req.layouts,
  );
  if (second.found) return second.found;
  throw new AdvkitError(
    'INTERNAL',
    `Downloaded ${req.title} into ${cacheDatasetDir} but its files are still missing: ${second.report.join('; ')}.`,
  );
}

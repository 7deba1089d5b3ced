import path from 'node:path';
import { AdvkitError } from '../../errors.js';
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
}

export interface LocatedFiles {
  dir: string;
  files: string[];
  layout: Layout;
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

function notFoundMessage(req: LocateRequest, report: string[]): string {
  const expected = req.layouts.map((l) => l.files.map(describeWanted).join(', ')).join('; or ');
  return [
    `${req.title} not found. Looked in:`,
    ...report.map((line) => `  ${line}`),
    `Expected files: ${expected}.`,
    `Provide them: put them in <dir>/${req.dirName}/ and set ADVKIT_DATA=<dir> or pass --data-dir <dir> ` +
      `(library: the dir option), or let advkit download them (online) from ${req.urls.join(', ')}.`,
  ].join('\n');
}

/**
 * Finds the files of one dataset split: in the explicit dir, then $ADVKIT_DATA/<name>, then the user cache; when
 * they are nowhere and downloads are allowed, downloads them into the user cache. Files are never mixed across
 * directories: one directory must hold a whole layout.
 */
export async function locateDataset(req: LocateRequest): Promise<LocatedFiles> {
  const dirs = candidateDirs(req);
  const first = searchDirs(dirs, req.layouts);
  if (first.found) return first.found;
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

import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { packageRoot } from './package-root.js';

/**
 * The playground's built site (npm run build:web writes it) served as static files: by `advkit playground`
 * and, through `staticFile`, by any HTTP server. Paths are resolved inside the root only (no traversal,
 * no dot-files), directories serve their index.html, and types include application/wasm, which browsers
 * require to compile tfjs's wasm binaries while they download.
 */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
};

/** Where `npm run build:web` writes the site: dist-web/ in the package root. */
export function defaultSiteDir(): string {
  return path.join(packageRoot(), 'dist-web');
}

/** True when `dir` holds a built site (its index.html). */
export function isBuiltSite(dir: string): boolean {
  return existsSync(path.join(dir, 'index.html'));
}

export interface StaticFile {
  path: string;
  contentType: string;
  size: number;
}

/**
 * The file a URL path names inside `root`, or null: outside the root (.., encoded or not), a dot-file or
 * dot-folder, a bad escape, or nothing there. A directory gives its index.html.
 */
export async function staticFile(root: string, urlPath: string): Promise<StaticFile | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split(/[?#]/)[0]);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const parts = decoded.split(/[\\/]+/).filter((p) => p !== '');
  if (parts.some((p) => p.startsWith('.'))) return null;
  const base = path.resolve(root);
  let file = path.resolve(base, ...parts);
  if (file !== base && !file.startsWith(base + path.sep)) return null;
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      file = path.join(file, 'index.html');
      info = await stat(file);
    }
    if (!info.isFile()) return null;
    const contentType = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    return { path: file, contentType, size: info.size };
  } catch {
    return null;
  }
}

/** A node:http handler for the site in `root` (GET and HEAD; 404 for anything else it cannot serve). */
export function staticSiteHandler(root: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('Method not allowed\n');
      return;
    }
    staticFile(root, req.url ?? '/').then(
      (file) => {
        if (file === null) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
          return;
        }
        res.writeHead(200, {
          'content-type': file.contentType,
          'content-length': file.size,
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-cache',
        });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file.path).pipe(res);
      },
      () => res.writeHead(500).end(),
    );
  };
}

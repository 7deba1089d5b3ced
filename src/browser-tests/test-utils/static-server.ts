import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** What a browser needs to read each file right: wasm must be application/wasm for streaming compilation. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
};

export interface StaticServerOptions {
  /** URL prefix ('/models/') -> directory served under it; the longest matching prefix wins; '/' for the root. */
  mounts: Readonly<Record<string, string>>;
  /** Cross-origin isolation (COOP/COEP), which SharedArrayBuffer and so tfjs wasm's threads need. */
  isolated?: boolean;
}

export interface StaticServer {
  /** http://127.0.0.1:port, no trailing slash. */
  origin: string;
  /** Every request path in arrival order, and the ones answered 404. */
  requests: string[];
  notFound: string[];
  close(): Promise<void>;
}

/**
 * A tiny static file server on 127.0.0.1 and a free port, for the browser tests and bench/browser: the test
 * bundles, the built site, the bundled models and samples, tfjs's wasm binaries. GET and HEAD only; paths that
 * leave their mount are refused; a directory serves its index.html.
 */
export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const mounts = Object.entries(options.mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, path.resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const requests: string[] = [];
  const notFound: string[] = [];

  function resolveFile(urlPath: string): string | undefined {
    for (const [prefix, dir] of mounts) {
      if (!urlPath.startsWith(prefix) && `${urlPath}/` !== prefix) continue;
      const file = path.resolve(dir, `.${urlPath.slice(prefix.length - 1)}`);
      if (file !== dir && !file.startsWith(dir + path.sep)) return undefined;
      const stat = statSync(file, { throwIfNoEntry: false });
      if (stat?.isDirectory()) {
        const index = path.join(file, 'index.html');
        return statSync(index, { throwIfNoEntry: false })?.isFile() ? index : undefined;
      }
      return stat?.isFile() ? file : undefined;
    }
    return undefined;
  }

  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requests.push(urlPath);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolveFile(urlPath);
    if (file === undefined) {
      notFound.push(urlPath);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': statSync(file).size,
      'Cache-Control': 'no-store',
    };
    if (options.isolated === true) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    notFound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

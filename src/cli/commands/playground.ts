import type { Command } from 'commander';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AdvkitError, invalidArgument } from '../../errors.js';
import { defaultSiteDir, isBuiltSite, staticSiteHandler } from '../../util/node/static-site.js';
import type { CliIo } from '../main.js';
import { untilSignal } from '../interrupt.js';

interface PlaygroundFlags {
  port: string;
  host: string;
  dir?: string;
}

/**
 * `advkit playground`: serves the built browser playground (npm run build:web -> dist-web/) on a local static
 * server and prints its URL. Everything runs in the visitor's browser; this only hands out files.
 */
export function registerPlaygroundCommand(program: Command, io: CliIo): void {
  program
    .command('playground')
    .description(
      'Serve the browser playground (built by npm run build:web) locally and print its URL: attack, explain ' +
        'and compare models in your browser.',
    )
    .option('--port <number>', 'port to listen on (0: any free port)', '8090')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--dir <dir>', 'the built site (default: dist-web/ in the advkit package)')
    .action(async (flags: PlaygroundFlags) => {
      const server = await startPlayground(flags);
      const { port } = server.address() as AddressInfo;
      const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
      io.stdout(`advkit playground: http://${host}:${port}/ (Ctrl-C stops it)\n`);
      await untilSignal();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
}

/** Checks the flags and the site, then listens; the caller closes the server. */
export async function startPlayground(flags: PlaygroundFlags): Promise<http.Server> {
  const raw = flags.port.trim();
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw invalidArgument(`--port must be an integer from 0 to 65535, got '${flags.port}'.`);
  }
  const dir = path.resolve(flags.dir ?? defaultSiteDir());
  if (!isBuiltSite(dir)) {
    throw new AdvkitError(
      'NOT_FOUND',
      `The playground is not built: ${path.join(dir, 'index.html')} does not exist. Run npm run build:web first` +
        `${flags.dir !== undefined ? ', or give --dir the folder it wrote' : ''}.`,
    );
  }
  const server = http.createServer(staticSiteHandler(dir));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(invalidArgument(`Cannot listen on ${flags.host}:${port}: ${err.message}.`)),
    );
    server.listen(port, flags.host, () => resolve());
  });
  return server;
}

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = path.dirname(fileURLToPath(import.meta.url));
const NODE_ONLY_PACKAGES = [
  'sharp',
  'commander',
  'cli-progress',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
];
const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module reachable from `entry` through static and dynamic imports, with the bare imports it makes. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (graph.has(file)) continue;
    const bare: string[] = [];
    graph.set(file, bare);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) stack.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.push(spec);
    }
  }
  return graph;
}

describe.each(['index.ts', 'browser.ts'])('the %s entry point', (entry) => {
  it('imports nothing Node-only, so it can be bundled for browsers', () => {
    const builtins = new Set(builtinModules);
    const offenders: string[] = [];
    const graph = importGraph(path.join(srcDir, entry));
    expect(graph.size).toBeGreaterThan(20); // the walk really followed the imports
    for (const [file, bare] of graph) {
      for (const spec of bare) {
        if (spec.startsWith('node:') || builtins.has(spec) || NODE_ONLY_PACKAGES.includes(spec)) {
          offenders.push(`${path.relative(srcDir, file)} imports ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('is what the package exports map points at', () => {
    const pkg = JSON.parse(readFileSync(path.join(srcDir, '..', 'package.json'), 'utf8')) as {
      exports: Record<string, { import: string; types: string }>;
      bin: Record<string, string>;
    };
    expect(pkg.exports['.'].import).toBe('./dist/index.js');
    expect(pkg.exports['./node'].import).toBe('./dist/node.js');
    expect(pkg.exports['./browser'].import).toBe('./dist/browser.js');
    expect(pkg.bin.advkit).toBe('./bin/advkit.js');
  });
});

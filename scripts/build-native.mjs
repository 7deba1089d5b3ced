#!/usr/bin/env node
/**
 * advkit's install script: builds the native engine (native/advkit_native.cc, an N-API addon whose convolutions
 * and matrix products run on oneDNN) with node-gyp into native/build/Release/advkit_native.node, where
 * src/backend/native/load-native-node.ts looks for it.
 *
 * It never fails the install. When something the build needs is missing (Linux, a C++ compiler, make, python3,
 * Node's headers, oneDNN, node-addon-api, node-gyp) or the build fails, it prints one line saying why and what
 * to install, and exits 0; advkit then runs on wasm. node-gyp's output is kept off the terminal; when the build
 * fails it goes to native/build/build-native.log. No half-built addon is left behind: the build links into
 * build/Release/obj.target/ and hard-links the finished file into place, and whenever the script skips, an addon
 * from an earlier install is deleted too, so that what it prints holds.
 *
 * Environment:
 *   ADVKIT_NATIVE=0        skip the native engine on purpose.
 *   ADVKIT_ONEDNN_INCLUDE  directories (a path list) holding oneapi/dnnl/dnnl.hpp, searched instead of the usual
 *                          ones and passed on to the compiler; the library is found by the compiler (LIBRARY_PATH).
 *   CXX                    the C++ compiler (default g++, else c++).
 *   npm_config_node_gyp, npm_config_nodedir, PYTHON: as npm and node-gyp define them.
 *
 * Usage: node scripts/build-native.mjs   (npm runs it at install; `npm rebuild advkit` runs it again)
 */
import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(packageRoot, 'native');
const buildDir = path.join(nativeDir, 'build');
const addonFile = path.join(buildDir, 'Release', 'advkit_native.node');
const logFile = path.join(buildDir, 'build-native.log');
const env = process.env;

function say(line) {
  process.stdout.write(`advkit: ${line}\n`);
}

function skip(reason) {
  rmSync(addonFile, { force: true });
  say(`native engine skipped (${reason}); advkit runs on wasm`);
  process.exit(0);
}

function isFile(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function pathList(value) {
  return (value ?? '').split(path.delimiter).filter((dir) => dir !== '');
}

/** The full path of an executable found on PATH, or undefined. */
function onPath(name) {
  for (const dir of pathList(env.PATH)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (isFile(file)) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The compiler and the environment make needs for it: gyp's Makefiles call $(CXX), which defaults to g++. */
function findCompiler() {
  if (env.CXX) {
    const command = env.CXX.trim().split(/\s+/)[0];
    const found = path.isAbsolute(command) ? isFile(command) : onPath(command) !== undefined;
    return found ? { command, env: {} } : undefined;
  }
  if (onPath('g++')) return { command: 'g++', env: {} };
  if (onPath('c++')) return { command: 'c++', env: { CXX: 'c++' } };
  return undefined;
}

/** Where Node's headers are: npm's nodedir, else the prefix of the running node when it ships them. */
function findNodeDir() {
  const configured = env.npm_config_nodedir;
  if (configured) {
    const ok = ['include/node/node.h', 'src/node.h'].some((file) => isFile(path.join(configured, file)));
    if (ok) return { dir: configured };
    return {
      missing: `no Node headers in npm_config_nodedir=${configured}`,
      advice: 'fix npm_config_nodedir',
    };
  }
  const prefix = path.dirname(path.dirname(process.execPath));
  if (isFile(path.join(prefix, 'include', 'node', 'node.h'))) return { dir: prefix };
  return {
    missing: `no Node headers in ${path.join(prefix, 'include', 'node')}`,
    advice: 'set npm_config_nodedir to a Node install that has include/node',
  };
}

function oneDnnIncludeDirs() {
  const override = pathList(env.ADVKIT_ONEDNN_INCLUDE);
  if (override.length > 0) return override;
  return [
    ...pathList(env.CPLUS_INCLUDE_PATH),
    ...pathList(env.CPATH),
    '/usr/local/include',
    '/usr/include',
    '/opt/intel/oneapi/dnnl/latest/include',
  ];
}

/** Asks the compiler, which searches its own library directories and LIBRARY_PATH. */
function compilerFindsLibrary(compiler, name) {
  const result = spawnSync(compiler, [`-print-file-name=${name}`], { encoding: 'utf8', env });
  const file = (result.stdout ?? '').trim();
  return result.status === 0 && path.isAbsolute(file) && existsSync(file);
}

function findNodeGyp() {
  const candidates = [
    env.npm_config_node_gyp,
    // npm's bundled copy, beside the running node (Unix prefix layout, then Windows)
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp'),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    if (isFile(candidate)) return [process.execPath, candidate];
    const script = path.join(candidate, 'bin', 'node-gyp.js');
    if (isFile(script)) return [process.execPath, script];
  }
  const onPathGyp = onPath('node-gyp');
  return onPathGyp ? [onPathGyp] : undefined;
}

/** Everything the build needs, checked without building: what is missing, or how to build. */
function checkPrerequisites() {
  if (process.platform !== 'linux') return { skip: 'the native engine is built on Linux only' };
  const missing = [];
  const packages = [];
  const compiler = findCompiler();
  if (!compiler) {
    missing.push(env.CXX ? `C++ compiler CXX=${env.CXX} not found` : 'no C++ compiler');
    packages.push('g++');
  }
  if (!onPath('make')) {
    missing.push('no make');
    packages.push('make');
  }
  if (!env.PYTHON && !env.npm_config_python && !onPath('python3') && !onPath('python')) {
    missing.push('no python3');
    packages.push('python3');
  }
  const includeDirs = oneDnnIncludeDirs();
  const header = includeDirs.some((dir) => isFile(path.join(dir, 'oneapi', 'dnnl', 'dnnl.hpp')));
  if (!header) {
    missing.push('oneDNN not found');
    packages.push('libdnnl-dev');
  } else if (compiler && !compilerFindsLibrary(compiler.command, 'libdnnl.so')) {
    missing.push("oneDNN's library libdnnl.so not found");
    packages.push('libdnnl-dev');
  }
  const advice = packages.length > 0 ? [`apt-get install ${packages.join(' ')}`] : [];
  const nodeDir = findNodeDir();
  if (nodeDir.missing) {
    missing.push(nodeDir.missing);
    advice.push(nodeDir.advice);
  }
  try {
    createRequire(path.join(packageRoot, 'package.json')).resolve('node-addon-api');
  } catch {
    missing.push('node-addon-api is not installed');
    advice.push('npm install node-addon-api');
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) {
    missing.push('node-gyp not found');
    advice.push('npm install -g node-gyp');
  }
  if (missing.length > 0) {
    return { skip: missing.join(', ') + (advice.length > 0 ? `: ${advice.join(', ')}` : '') };
  }
  // node-gyp also reads npm_config_nodedir, and would download headers if it found it empty
  const buildEnv = { ...env, ...compiler.env, npm_config_nodedir: nodeDir.dir };
  // binding.gyp runs `node` to find node-addon-api's headers: make it this node
  buildEnv.PATH = [path.dirname(process.execPath), ...pathList(env.PATH)].join(path.delimiter);
  if (env.ADVKIT_ONEDNN_INCLUDE) {
    buildEnv.CPLUS_INCLUDE_PATH = [...includeDirs, ...pathList(env.CPLUS_INCLUDE_PATH)].join(path.delimiter);
  }
  return { nodeGyp, nodeDir: nodeDir.dir, buildEnv };
}

/** Runs a command in native/, collecting its interleaved output; resolves to { code, output }. */
function runQuietly(command, args, options) {
  return new Promise((resolve) => {
    const chunks = [];
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    child.on('error', (error) => resolve({ code: -1, output: `${Buffer.concat(chunks)}${error.message}\n` }));
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? -1,
        output: `${Buffer.concat(chunks)}${signal ? `killed by ${signal}\n` : ''}`,
      }),
    );
  });
}

/** Skip, keeping the build's output in the log (named relative to where npm was run). */
function failed(reason, output) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(logFile, output);
  skip(`${reason}, see ${path.relative(env.INIT_CWD ?? process.cwd(), logFile)}`);
}

async function main() {
  if (env.ADVKIT_NATIVE === '0') skip('ADVKIT_NATIVE=0');
  const plan = checkPrerequisites();
  if (plan.skip) skip(plan.skip);

  const started = Date.now();
  const [command, ...prefixArgs] = plan.nodeGyp;
  const build = await runQuietly(command, [...prefixArgs, 'rebuild', `--nodedir=${plan.nodeDir}`], {
    cwd: nativeDir,
    env: plan.buildEnv,
  });
  if (build.code !== 0 || !isFile(addonFile)) failed('the build failed', build.output);

  // A build that links can still fail to load (libdnnl.so's runtime library missing, say): try it as advkit will.
  const probe = spawnSync(
    process.execPath,
    ['-e', 'process.stdout.write(JSON.stringify(require(process.argv[1]).info()))', addonFile],
    { encoding: 'utf8', env },
  );
  let info;
  try {
    info = probe.status === 0 ? JSON.parse(probe.stdout) : undefined;
  } catch {
    info = undefined;
  }
  if (info === undefined) {
    failed(
      'the built addon does not load',
      `${build.output}\n--- loading it:\n${probe.stderr}${probe.stdout}`,
    );
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  say(`native engine built in ${seconds} s (oneDNN ${info.onednn}, ${info.isa})`);
}

await main();

// advkit serve beside FastAPI + PyTorch, and sharded evaluations over BullMQ workers.
//
//   npm run build && node bench/serve/run.mjs [--duration 5] [--warmup 2] [--connections 1,8,32]
//                                             [--models mnist-cnn,cifar-cnn] [--batch 1] [--only predict|eval]
//                                             [--workers 1,2,3] [--eval-n 48] [--chunk 8] [--suite apgd-ce]
//                                             [--eps 0.1] [--json out.json]
//
// Predict: starts `node bin/advkit.js serve` (its defaults: one compute thread, one engine thread; the rate limit
// and the queue raised so that neither refuses the bench's own load, see below) and fastapi_server.py (uvicorn,
// one worker process, torch on one thread; it first checks its logits against advkit's) on free loopback ports,
// waits for both to be ready, checks that both answer the same request with the same classes and confidences
// (to 1e-4), then, per model, warms both up and measures each with autocannon (programmatic API) for --duration
// seconds at each concurrency, the two sides one after the other (alternating which goes first), so that both
// see the same load. Requests are the predict route's JSON form: {"inputs": [batch images, NHWC], "top": 3},
// the first test images of the model's dataset (bench/serve/reference.mjs). Every response that is not 2xx is
// counted (429s on their own) and printed; throughput counts 2xx answers only.
//
// Limits: advkit serve's defaults refuse a client's 601st request in a minute (--rate-limit 600) and answer 429
// BUSY to a request that finds 16 others waiting (--max-queue 16): the bench's single client would hit both. The
// bench raises them (--rate-limit 10000000, --max-queue 64) to measure the compute, as an operator would for a
// trusted client; --default-limits keeps the defaults and shows the 429s instead.
//
// Eval: starts redis-server on a free loopback port (no persistence), `advkit serve --redis URL`, and times one
// evaluation spec submitted with POST /v1/evaluations and polled until completed, over 1, 2 and 3 `advkit worker
// --redis URL` processes (started before the submit, stopped after), beside the single-process `advkit evaluate`
// of the same spec. Every process the bench starts is stopped at the end, on an error and on SIGINT/SIGTERM.
import autocannon from 'autocannon';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { markdownTable, ratio } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const list = (text) => text.split(',').filter((s) => s !== '');
const duration = Number(option('duration', '5'));
const warmup = Number(option('warmup', '2'));
const connectionsList = list(option('connections', '1,8,32')).map(Number);
const models = list(option('models', 'mnist-cnn,cifar-cnn'));
const batch = Number(option('batch', '1'));
const only = option('only');
const workerCounts = list(option('workers', '1,2,3')).map(Number);
const evalReps = Number(option('eval-reps', '2'));
const evalSpec = {
  model: option('eval-model', 'mnist-cnn'),
  n: Number(option('eval-n', '48')),
  chunk: Number(option('chunk', '8')),
  suite: option('suite', 'apgd-ce'),
  eps: option('eps', '0.1'),
  sanity: false,
};
const advkitBin = path.resolve(repo, option('advkit-bin', 'bin/advkit.js'));
const python = option('python', '/usr/bin/python3');
// --quiet: no request log (uvicorn runs without its access log too). Evaluation jobs keep their files in a
// folder of the bench's own, removed at the end (not the user's ~/.cache/advkit/serve).
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advkit-bench-serve-state-'));
process.on('exit', () => fs.rmSync(stateDir, { recursive: true, force: true }));
const limitFlags = [
  '--quiet',
  ...['--state-dir', stateDir],
  ...(argv.includes('--default-limits') ? [] : ['--rate-limit', '10000000', '--max-queue', '64']),
];
// Datasets as the other benches find them: ADVKIT_DATA, else ../shared/datasets.
process.env.ADVKIT_DATA ??= path.resolve(repo, '../shared/datasets');
const torchEnv = {
  LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp',
  OMP_WAIT_POLICY: 'PASSIVE',
};
const run = promisify(execFile);

if (!fs.existsSync(path.join(repo, 'dist/index.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const log = (text) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

// --- processes: every child in a process group of its own, stopped on every way out --------------------------

const children = new Set();

/** Starts a process in its own process group; its output's tail is kept for error messages. */
function start(label, command, args, env = {}) {
  const child = spawn(command, args, {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.label = label;
  child.tail = '';
  child.lines = [];
  const keep = (d) => {
    child.tail = (child.tail + d).slice(-6000);
  };
  child.stdout.on('data', (d) => {
    keep(d);
    child.lines.push(
      ...String(d)
        .split('\n')
        .filter((l) => l.startsWith('{')),
    );
  });
  child.errText = '';
  child.stderr.on('data', (d) => {
    keep(d);
    child.errText += d;
  });
  children.add(child);
  child.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      child.exitCode_ = code ?? signal;
      resolve();
    }),
  );
  child.on('error', (err) => {
    child.tail += `\n${err.message}`;
    children.delete(child);
  });
  return child;
}

const signalGroup = (child, signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};

/** Stops a child's process group: SIGTERM, then SIGKILL after 5 s. */
async function stop(child) {
  if (!children.has(child)) return;
  signalGroup(child, 'SIGTERM');
  const killed = await Promise.race([child.exited.then(() => false), sleep(5000).then(() => true)]);
  if (killed) {
    signalGroup(child, 'SIGKILL');
    await child.exited;
  }
}

const killAll = () => {
  for (const child of children) signalGroup(child, 'SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping ${children.size} process(es)`);
    killAll();
    process.exit(130);
  });
}

/** The distinct nice values of a process's threads (Linux), e.g. [0, 10]: what its compute threads run at. */
function threadNice(pid) {
  try {
    const values = fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    return [...new Set(values)].sort((a, b) => a - b);
  } catch {
    return [];
  }
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `url` until it answers 200; fails when `child` exits first or after `seconds`. */
async function waitReady(url, child, seconds = 120) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (!children.has(child)) throw new Error(`${child.label} exited (${child.exitCode_}):\n${child.tail}`);
    try {
      const res = await globalThis.fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${child.label}: ${url} not ready after ${seconds} s:\n${child.tail}`);
}

async function postJson(url, body) {
  const res = await globalThis.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

const fmt = (v) =>
  v === undefined || v === null || Number.isNaN(v)
    ? '-'
    : v >= 100
      ? String(Math.round(v))
      : v >= 10
        ? v.toFixed(1)
        : v.toFixed(2);

const report = { startedAt: new Date().toISOString(), cpus: os.cpus().length, loadStart: loadavg() };
log(`load average at start: ${report.loadStart} (${report.cpus} cpus)`);

// --- predict: advkit serve vs FastAPI + PyTorch ---------------------------------------------------------------

async function benchPredict() {
  const advkitPort = await freePort();
  const torchPort = await freePort();
  const advkit = start('advkit serve', process.execPath, [
    advkitBin,
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(advkitPort),
    ...limitFlags,
  ]);
  const torch = start(
    'fastapi',
    python,
    [
      ...[path.join(here, 'fastapi_server.py'), '--port', String(torchPort), '--models', models.join(',')],
      ...['--compute-nice', option('torch-nice', '10')],
    ],
    torchEnv,
  );
  const sides = [
    { name: 'advkit', child: advkit, base: `http://127.0.0.1:${advkitPort}` },
    { name: 'fastapi', child: torch, base: `http://127.0.0.1:${torchPort}` },
  ];
  // The inputs and advkit's own probabilities for them (no server involved).
  const references = {};
  for (const model of models) {
    const { stdout } = await run(
      process.execPath,
      [path.join(here, 'reference.mjs'), '--model', model, '--n', String(batch)],
      { cwd: repo, maxBuffer: 1 << 28 },
    );
    references[model] = JSON.parse(stdout.trim().split('\n').pop());
  }
  for (const side of sides) await waitReady(`${side.base}/readyz`, side.child);
  const env = torch.lines.map((l) => JSON.parse(l));
  report.torch = env.find((r) => r.info === 'env');
  report.torchComputeThread = env.find((r) => r.info === 'compute-thread');
  report.logitCheck = env.filter((r) => r.check === 'logits');
  for (const c of report.logitCheck) {
    log(
      `logit check (fastapi_server.py vs advkit ${c.advkit_engine}), ${c.model} on ${c.inputs}: max |diff| ` +
        `${c.max_abs_diff.toExponential(2)} (logits up to ${c.max_abs_logit.toFixed(1)}), top-1 same on ` +
        `${c.same_top1}/${c.n}: ${c.ok ? 'ok' : 'FAILED'}`,
    );
  }
  log(`both servers ready; load average ${loadavg()}`);

  // Both servers answer the same request with the same top-3 (labels, and confidences to 1e-4).
  report.answerCheck = [];
  for (const model of models) {
    const body = JSON.stringify({ inputs: references[model].inputs, top: 3 });
    const answers = [];
    for (const side of sides) {
      const res = await postJson(`${side.base}/v1/models/${model}/predict`, body);
      if (res.status !== 200) {
        throw new Error(`${side.name} predict ${model}: ${res.status} ${JSON.stringify(res.json)}`);
      }
      answers.push(res.json.result.predictions);
    }
    let diff = 0;
    let sameLabels = true;
    answers[0].forEach((p, i) =>
      p.top.forEach((t, j) => {
        const other = answers[1][i].top[j];
        const ref = references[model].probabilities[i][t.index];
        sameLabels &&= other.index === t.index;
        diff = Math.max(diff, Math.abs(t.confidence - other.confidence), Math.abs(t.confidence - ref));
      }),
    );
    report.answerCheck.push({ model, sameLabels, maxConfidenceDiff: diff, ok: sameLabels && diff <= 1e-4 });
    log(
      `answers, ${model}: same top-3 labels ${sameLabels}, confidences within ${diff.toExponential(2)}` +
        ` (advkit server vs FastAPI vs advkit in-process)`,
    );
  }

  report.predict = [];
  let flip = 0;
  for (const model of models) {
    const body = JSON.stringify({ inputs: references[model].inputs, top: 3 });
    const cannon = (side, connections, seconds) =>
      autocannon({
        url: `${side.base}/v1/models/${model}/predict`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections,
        duration: seconds,
        timeout: 30,
      });
    for (const side of sides) await cannon(side, 8, warmup);
    report.threadNice ??= Object.fromEntries(sides.map((side) => [side.name, threadNice(side.child.pid)]));
    for (const connections of connectionsList) {
      const order = flip++ % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const load = loadavg();
        const r = await cannon(side, connections, duration);
        const rec = {
          model,
          batch,
          connections,
          side: side.name,
          requestsPerS: r['2xx'] / r.duration,
          p50: r.latency.p50,
          p99: r.latency.p99,
          mean: r.latency.mean,
          ok: r['2xx'],
          non2xx: r.non2xx,
          status429: r.statusCodeStats?.['429']?.count ?? 0,
          errors: r.errors,
          timeouts: r.timeouts,
          statusCodes: Object.fromEntries(
            Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
          ),
          seconds: r.duration,
          load,
        };
        report.predict.push(rec);
        log(
          `${model} c${connections} ${side.name}: ${fmt(rec.requestsPerS)} req/s, p50 ${rec.p50} ms, p99 ` +
            `${rec.p99} ms, ${rec.ok} 2xx, ${rec.non2xx} non-2xx (${rec.status429} x 429), ${rec.errors} errors, ` +
            `${rec.timeouts} timeouts; load ${load}`,
        );
      }
    }
  }
  for (const side of sides) await stop(side.child);

  if (!argv.includes('--no-breakdown')) {
    const { stdout } = await run(
      process.execPath,
      [path.join(here, 'breakdown.mjs'), '--models', models.join(','), '--batch', String(batch)],
      { cwd: repo },
    );
    report.breakdown = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    log(`breakdown done; load ${loadavg()}`);
  }
}

// --- eval: sharded evaluation over BullMQ workers -------------------------------------------------------------

/** Whether `advkit <command> --help` exists and mentions `flag`. */
async function hasCommand(command, flag) {
  try {
    const { stdout, stderr } = await run(process.execPath, [advkitBin, command, '--help'], { cwd: repo });
    return `${stdout}${stderr}`.includes(flag);
  } catch {
    return false;
  }
}

async function redisReady(port, child) {
  for (let i = 0; i < 100; i++) {
    if (!children.has(child)) throw new Error(`redis-server exited:\n${child.tail}`);
    const pong = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d) => {
        socket.destroy();
        resolve(String(d).startsWith('+PONG'));
      });
    });
    if (pong) return;
    await sleep(100);
  }
  throw new Error(`redis-server on ${port} did not answer PING:\n${child.tail}`);
}

async function benchEval() {
  report.eval = { spec: evalSpec, runs: [], missing: [] };
  const haveServe = await hasCommand('serve', '--redis');
  const haveWorker = await hasCommand('worker', '--redis');
  if (!haveServe) report.eval.missing.push('`advkit serve --redis`');
  if (!haveWorker) report.eval.missing.push('`advkit worker --redis`');

  // The single-process evaluation of the same spec (the CLI, a fresh process, as a user runs it), best of evalReps.
  const flags = [
    ...['--model', evalSpec.model, '--n', String(evalSpec.n), '--chunk', String(evalSpec.chunk)],
    ...['--suite', evalSpec.suite, '--eps', evalSpec.eps, '--no-sanity'],
  ];
  for (let rep = 0; rep < evalReps; rep++) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'advkit-bench-serve-'));
    try {
      const load = loadavg();
      const t0 = performance.now();
      await run(process.execPath, [advkitBin, 'evaluate', ...flags, '--out', out], {
        cwd: repo,
        maxBuffer: 1 << 26,
      });
      const seconds = (performance.now() - t0) / 1000;
      const result = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8'));
      const rec = { seconds, taskSeconds: result.seconds, load, robust: robustOf(result) };
      log(
        `advkit evaluate (one process): ${seconds.toFixed(2)} s, task ${fmt(rec.taskSeconds)} s, robust ` +
          `${rec.robust}; load ${load}`,
      );
      report.eval.singleRuns = [...(report.eval.singleRuns ?? []), rec];
      if (report.eval.single === undefined || seconds < report.eval.single.seconds) report.eval.single = rec;
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
  if (!haveServe || !haveWorker) {
    log(`sharded evaluation not measured: missing ${report.eval.missing.join(', ')}`);
    return;
  }

  const redisPort = await freePort();
  const redis = start('redis-server', 'redis-server', [
    ...['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  ]);
  await redisReady(redisPort, redis);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const port = await freePort();
  const server = start('advkit serve --redis', process.execPath, [
    ...[advkitBin, 'serve', '--host', '127.0.0.1', '--port', String(port), '--redis', redisUrl],
    ...limitFlags,
  ]);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, server);
  /** Submits a spec and polls it until it is finished; the job as last seen. */
  const evaluate = async (spec) => {
    const res = await postJson(`${base}/v1/evaluations`, spec);
    if (res.status >= 300) throw new Error(`POST /v1/evaluations: ${res.status} ${JSON.stringify(res.json)}`);
    let job = res.json;
    while (!['completed', 'failed', 'cancelled'].includes(job.status)) {
      await sleep(100);
      job = await (await globalThis.fetch(`${base}/v1/evaluations/${res.json.id}`)).json();
    }
    if (job.status !== 'completed')
      throw new Error(`evaluation ${job.id}: ${job.status} ${JSON.stringify(job.error)}`);
    return job;
  };
  for (const count of workerCounts) {
    const workers = Array.from({ length: count }, (_, i) =>
      start(`advkit worker ${i + 1}`, process.execPath, [advkitBin, 'worker', '--redis', redisUrl]),
    );
    for (const w of workers) {
      const deadline = Date.now() + 60_000;
      while (!w.errText.includes('taking evaluation chunks')) {
        if (!children.has(w) || Date.now() > deadline) {
          throw new Error(`${w.label} did not start (${w.exitCode_ ?? 'timeout'}):\n${w.tail}`);
        }
        await sleep(100);
      }
    }
    // Warm-up: one chunk per worker of another spec (its engine starts on its first chunk), so the timed run
    // measures workers that are up, as they are in a deployment that keeps them running.
    await evaluate({ ...evalSpec, n: evalSpec.chunk * count, seed: 1000 + count });
    for (let rep = 0; rep < evalReps; rep++) {
      const load = loadavg();
      const t0 = performance.now();
      // The same spec each time (seed 0, as the one-process run): each job keeps its chunks under its own id, and a
      // chunk depends only on the spec and its seed, so every run must find the one-process robust accuracy.
      const job = await evaluate(evalSpec);
      const seconds = (performance.now() - t0) / 1000;
      // The workers' own account: `job <id> chunk <i>: stored (<s> s)` per chunk they computed.
      const perWorker = workers.map((w) =>
        [...w.errText.matchAll(new RegExp(`job ${job.id} chunk (\\S+): stored \\(([\\d.]+) s\\)`, 'g'))].map(
          (m) => Number(m[2]),
        ),
      );
      const rec = {
        workers: count,
        rep,
        seconds,
        taskSeconds: job.result?.report?.seconds,
        chunksPerWorker: perWorker.map((c) => c.length),
        chunkTimes: perWorker.map((c) => c.map((t) => Number(t.toFixed(2)))),
        chunkSeconds: perWorker.flat().reduce((a, b) => a + b, 0),
        busiestWorkerSeconds: Math.max(...perWorker.map((c) => c.reduce((a, b) => a + b, 0))),
        load,
        robust: robustOf(job.result),
        notes: job.notes,
      };
      report.eval.runs.push(rec);
      log(
        `${count} worker(s): ${seconds.toFixed(2)} s, chunks per worker ${rec.chunksPerWorker.join('/')}, ` +
          `chunk seconds ${rec.chunkTimes.map((c) => c.join(' ')).join(' | ')}, task ${fmt(rec.taskSeconds)} s, ` +
          `robust ${rec.robust}${rec.notes?.length ? `, notes: ${rec.notes.join('; ')}` : ''}; load ${load}`,
      );
    }
    for (const w of workers) await stop(w);
  }
  await stop(server);
  await stop(redis);
}

/** Robust accuracy per eps of an evaluation report (evaluation.json, or a job's result.report), as text. */
function robustOf(result) {
  const rows = (result?.report ?? result)?.robust ?? [];
  const values = rows.map((r) => r.autoattack_acc).filter((v) => typeof v === 'number');
  return values.length > 0 ? values.map((v) => `${(100 * v).toFixed(1)}%`).join(' / ') : '?';
}

// --- run and print --------------------------------------------------------------------------------------------

try {
  if (only === undefined || only === 'predict') await benchPredict();
  if (only === undefined || only === 'eval') await benchEval();
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  killAll();
  process.exit(1);
}
report.loadEnd = loadavg();
log(`load average at end: ${report.loadEnd}`);
const jsonOut = option('json');
if (jsonOut !== undefined) fs.writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);

if (report.predict !== undefined) {
  console.log(
    `\nPredict, ${batch} image(s) per request, ${duration} s per cell after ${warmup} s of warm-up per side ` +
      `(advkit serve: 1 compute thread; FastAPI: 1 uvicorn worker, torch ${report.torch?.threads} thread(s), ` +
      `torch's default here ${report.torch?.torch_default_threads}; nice values of the threads: advkit ` +
      `${report.threadNice?.advkit?.join(', ')}, FastAPI ${report.threadNice?.fastapi?.join(', ')}):\n`,
  );
  const rows = [];
  for (const model of models) {
    for (const connections of connectionsList) {
      const get = (side) =>
        report.predict.find((r) => r.model === model && r.connections === connections && r.side === side);
      const a = get('advkit');
      const t = get('fastapi');
      rows.push([
        model,
        String(connections),
        fmt(a.requestsPerS),
        fmt(t.requestsPerS),
        ratio(a.requestsPerS, t.requestsPerS),
        `${a.p50} / ${t.p50}`,
        `${a.p99} / ${t.p99}`,
        ratio(a.p50, t.p50),
        `${a.non2xx} (${a.status429}) / ${t.non2xx} (${t.status429})`,
        `${a.errors + a.timeouts} / ${t.errors + t.timeouts}`,
      ]);
    }
  }
  console.log(
    markdownTable(
      [
        'model',
        'concurrency',
        'advkit req/s',
        'FastAPI req/s',
        'advkit / FastAPI req/s',
        'p50 ms advkit / FastAPI',
        'p99 ms advkit / FastAPI',
        'advkit / FastAPI p50',
        'non-2xx (429) advkit / FastAPI',
        'errors+timeouts advkit / FastAPI',
      ],
      rows,
    ),
  );
}
if (report.breakdown !== undefined) {
  console.log(
    `\nadvkit's compute per request, in process (bench/serve/breakdown.mjs: ${batch} image(s), native engine, ` +
      `1 thread, median of ${report.breakdown[0]?.reps} calls each):\n`,
  );
  console.log(
    markdownTable(
      ['model', 'predict task ms', 'spec check ms', 'open model ms', 'forward + top-3 ms'],
      report.breakdown.map((b) => [
        b.model,
        fmt(b.task_ms),
        fmt(b.parse_spec_ms),
        fmt(b.load_model_ms),
        fmt(b.forward_top3_ms),
      ]),
    ),
  );
}
if (report.eval !== undefined) {
  const e = report.eval;
  const spec = `${e.spec.model}, n ${e.spec.n}, chunk ${e.spec.chunk}, ${e.spec.suite}, Linf ${e.spec.eps}, no sanity checks`;
  const chunks = Math.ceil(e.spec.n / e.spec.chunk);
  console.log(`\nSharded evaluation (${spec}; ${chunks} chunks):\n`);
  // Per run kind, the fastest of its runs, wall and task time each (the machine is shared: a slower run met more
  // of others' work); the overhead per chunk compares the fastest task times.
  const summary = (runs) => ({
    ...runs[0],
    wall: Math.min(...runs.map((r) => r.seconds)),
    task: Math.min(...runs.map((r) => r.taskSeconds)),
    walls: runs.map((r) => fmt(r.seconds)).join(', '),
    tasks: runs.map((r) => fmt(r.taskSeconds)).join(', '),
    chunkSum: Math.min(...runs.map((r) => r.chunkSeconds ?? 0)),
  });
  const rows = [];
  const s1 = e.singleRuns === undefined ? undefined : summary(e.singleRuns);
  if (s1 !== undefined) {
    rows.push([
      '`advkit evaluate`, one process',
      `${fmt(s1.wall)} (${s1.walls})`,
      `${fmt(s1.task)} (${s1.tasks})`,
      fmt(s1.wall - s1.task),
      '-',
      '-',
      '-',
      '-',
      s1.robust,
    ]);
  }
  const best = workerCounts
    .map((count) => e.runs.filter((r) => r.workers === count))
    .filter((runs) => runs.length > 0)
    .map(summary);
  const one = best.find((r) => r.workers === 1);
  for (const r of best) {
    rows.push([
      `POST /v1/evaluations, ${r.workers} worker(s)`,
      `${fmt(r.wall)} (${r.walls})`,
      `${fmt(r.task)} (${r.tasks})`,
      fmt(r.wall - r.task),
      r.chunksPerWorker.join(' / '),
      fmt(r.chunkSum),
      one === undefined ? '-' : ratio(one.wall, r.wall),
      r.workers === 1 && s1 !== undefined ? `${((1000 * (r.task - s1.task)) / chunks).toFixed(0)} ms` : '-',
      [...new Set(e.runs.filter((x) => x.workers === r.workers).map((x) => x.robust))].join(', '),
    ]);
  }
  console.log(
    markdownTable(
      [
        'run',
        `wall s, best of ${evalReps} (all)`,
        'task s from its report, best (all)',
        'best wall - best task s',
        'chunks per worker',
        "chunk s, workers' sum (best)",
        'speed-up vs 1 worker (best wall)',
        "overhead per chunk: (best task s - one process's) / chunks",
        'robust accuracy',
      ],
      rows,
    ),
  );
  if (e.missing.length > 0) console.log(`\nNot measured: ${e.missing.join(', ')} did not exist.`);
}

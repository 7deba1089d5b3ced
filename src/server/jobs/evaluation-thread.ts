import { parentPort, workerData } from 'node:worker_threads';
import { initNodeBackend } from '../../backend/node-backend.js';
import { AdvkitError } from '../../errors.js';
import { threadError } from '../thread-error.js';
import type { ChunkRecord } from '../../evaluate/evaluation-state.js';
import { evaluateTask, type EvaluationChunkRequest } from '../../tasks/evaluate.js';
import type { ThreadReply, ThreadMessage, ThreadInput } from './evaluation-thread-protocol.js';

/**
 * The entry of an evaluation job's worker thread (the compiled file, dist/server/jobs/evaluation-thread.js): one
 * evaluate task run, off the server's event loop. Progress and notes go to the runner as messages; with
 * `distributed`, each stage's chunks are handed to the runner (which sends them to the queue) and their records
 * come back, while the clean predictions, the replay of the state, the sanity checks and the report run here.
 */
const port = parentPort;
if (port === null) throw new AdvkitError('INTERNAL', 'evaluation-thread.js runs as a worker thread only.');
const input = workerData as ThreadInput;
const controller = new AbortController();
const pending = new Map<number, { resolve: (r: ChunkRecord[]) => void; reject: (e: unknown) => void }>();
let calls = 0;

const send = (message: ThreadMessage): void => port.postMessage(message);

port.on('message', (reply: ThreadReply) => {
  if (reply.type === 'abort') {
    controller.abort();
    return;
  }
  const call = pending.get(reply.call);
  if (call === undefined) return;
  pending.delete(reply.call);
  if (reply.type === 'chunks-done') call.resolve(reply.records);
  else call.reject(new AdvkitError(reply.code, reply.message));
});

function executeChunks(requests: EvaluationChunkRequest[]): Promise<ChunkRecord[]> {
  const call = ++calls;
  return new Promise((resolve, reject) => {
    pending.set(call, { resolve, reject });
    send({ type: 'chunks', call, requests });
  });
}

try {
  await initNodeBackend({ threads: input.threads });
  const out = await evaluateTask.run(input.spec, {
    stateDir: input.stateDir,
    signal: controller.signal,
    onProgress: (progress) => send({ type: 'progress', progress }),
    onNote: (note) => send({ type: 'note', note }),
    ...(input.distributed ? { executeChunks } : {}),
  });
  const report = out.artifacts.find((a) => a.name === 'report.html');
  if (report === undefined) throw new AdvkitError('INTERNAL', 'The evaluate task wrote no report.html.');
  send({ type: 'done', result: out.result, report: report.bytes });
} catch (err) {
  send({ type: 'failed', ...threadError(err) });
} finally {
  port.close();
}

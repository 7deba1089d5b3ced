import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { AdvkitError } from '../../errors.js';

/**
 * A helper thread that runs `run(...)` exports of advkit's SIMD kernels on a shared WebAssembly memory, handed
 * work synchronously: tfjs calls kernels synchronously, so the main thread posts a job through a shared
 * Int32Array, computes its own share and then blocks in Atomics.wait until the helper is done (allowed on
 * Node's main thread). The helper sleeps in Atomics.wait between jobs, is unref'd so it never keeps the process
 * alive (Node terminates it at exit, even while it waits), and compiled kernel modules reach it as messages it
 * reads synchronously (receiveMessageOnPort) when a job names a module it has not instantiated yet.
 */

// Slots of the control block.
const SEQ = 0; // incremented by the main thread for each job (the helper waits on it)
const DONE = 1; // incremented by the helper when a job is finished (the main thread waits on it)
const READY = 2; // 1 once the helper runs
const COMMAND = 3; // RUN or EXIT
const MODULE_ID = 4;
const STATUS = 5; // 0 ok, 1 the job threw
const ARGS = 6; // six i32 arguments of run()
const RUN = 1;
const EXIT = 2;
const START_TIMEOUT_MS = 10_000;

type Slots = Record<'SEQ' | 'DONE' | 'READY' | 'COMMAND' | 'MODULE_ID' | 'STATUS' | 'ARGS' | 'EXIT', number>;
const SLOTS: Slots = { SEQ, DONE, READY, COMMAND, MODULE_ID, STATUS, ARGS, EXIT };

/**
 * The helper's whole program. It runs as an eval'd script (no file to locate, the same from src/ and dist/), so it
 * is self-contained: it reaches worker_threads through process.getBuiltinModule and gets the slots as an argument.
 */
function helperMain(slots: Slots): void {
  const threads = process.getBuiltinModule('node:worker_threads');
  const { memory, control, port } = threads.workerData as {
    memory: WebAssembly.Memory;
    control: Int32Array;
    port: MessagePort;
  };
  const runs = new Map<number, (...args: number[]) => void>();
  Atomics.store(control, slots.READY, 1);
  Atomics.notify(control, slots.READY);
  let seen = 0;
  for (;;) {
    Atomics.wait(control, slots.SEQ, seen);
    seen = Atomics.load(control, slots.SEQ);
    if (Atomics.load(control, slots.COMMAND) === slots.EXIT) break;
    let status = 0;
    try {
      const id = control[slots.MODULE_ID];
      while (!runs.has(id)) {
        const received = threads.receiveMessageOnPort(port);
        if (received === undefined) throw new Error(`kernel module ${id} was never sent`);
        const message = received.message as { id: number; module: WebAssembly.Module };
        const instance = new WebAssembly.Instance(message.module, { env: { memory } });
        runs.set(message.id, instance.exports.run as (...args: number[]) => void);
      }
      runs.get(id)?.(...control.subarray(slots.ARGS, slots.ARGS + 6));
    } catch {
      status = 1;
    }
    Atomics.store(control, slots.STATUS, status);
    Atomics.add(control, slots.DONE, 1);
    Atomics.notify(control, slots.DONE);
  }
  port.close();
}

export class HelperThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(64));
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly sent = new Set<number>();
  private pendingDone = -1;

  constructor(memory: WebAssembly.Memory) {
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.worker = new Worker(`(${helperMain.toString()})(${JSON.stringify(SLOTS)})`, {
      eval: true,
      workerData: { memory, control: this.control, port: channel.port2 },
      transferList: [channel.port2],
    });
    this.worker.unref();
    this.port.unref();
  }

  /** Block until the helper runs (it starts on its own thread even while this one waits). */
  waitUntilReady(): void {
    if (Atomics.wait(this.control, READY, 0, START_TIMEOUT_MS) === 'timed-out') {
      throw new AdvkitError('INTERNAL', 'The SIMD helper thread did not start in time.');
    }
  }

  /** Start `run(...args)` of kernel module `id` on the helper; `finish()` waits for it. */
  start(id: number, module: WebAssembly.Module, args: number[]): void {
    if (!this.sent.has(id)) {
      this.port.postMessage({ id, module });
      this.sent.add(id);
    }
    this.control[COMMAND] = RUN;
    this.control[MODULE_ID] = id;
    this.control.set(args, ARGS);
    this.pendingDone = Atomics.load(this.control, DONE);
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
  }

  finish(): void {
    if (this.pendingDone < 0) return;
    while (Atomics.load(this.control, DONE) === this.pendingDone) {
      Atomics.wait(this.control, DONE, this.pendingDone);
    }
    this.pendingDone = -1;
    if (Atomics.load(this.control, STATUS) !== 0) {
      throw new AdvkitError('INTERNAL', 'A SIMD kernel failed on its helper thread.');
    }
  }

  /** Let the helper leave its loop and end (also happens at process exit without this). */
  close(): void {
    Atomics.store(this.control, COMMAND, EXIT);
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
    this.port.close();
  }
}

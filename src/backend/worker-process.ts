/**
 * The project's workers as child processes rather than threads: where a worker needs a process of its own
 * (a WebGPU replica, whose Vulkan driver is shown one GPU through the environment it starts with, and
 * whose device Dawn will not drive from a worker thread). The child speaks the same messages as a worker
 * thread, over Node's IPC channel with the structured-clone ("advanced") serialization, so typed arrays
 * arrive as typed arrays; shared memory does not cross processes. From TypeScript sources (ts-jest,
 * ts-node) the child starts with a bootstrap that compiles `.ts` files on require, as worker threads do.
 */
import { spawn, type ChildProcess } from 'child_process';
import { EventEmitter } from 'events';
import * as os from 'os';
import * as path from 'path';
import { parentPort } from 'worker_threads';
import { tsBootstrap } from './ts-bootstrap';

/** Set in a worker process's environment; its first message carries the worker's data. */
const WORKER_PROCESS_ENV = 'HRNET_WORKER_PROCESS';

/** The first message a worker process receives. */
interface WorkerDataMessage {
  type: 'worker-data';
  data: Record<string, unknown>;
}

/** Bootstrap of a worker process from TypeScript sources: the entry is its first argument. */
const TS_PROCESS_BOOTSTRAP = tsBootstrap('process.argv[1]');

/** The part of a worker (thread or process) its owner uses: events `message`, `error` and `exit` (with the exit code). */
export type WorkerLike = EventEmitter & {
  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void;
  terminate(): Promise<number>;
};

/** A worker in a child process, with the message API of a worker thread. */
export class WorkerProcess extends EventEmitter {
  private exitCode: number | undefined;
  private readonly exited: Promise<number>;

  constructor(
    private readonly child: ChildProcess,
    /** The last lines the worker wrote to its standard error. */
    private readonly stderrTail: () => string,
  ) {
    super();
    child.on('message', (message: unknown) => this.emit('message', message));
    child.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    this.exited = new Promise<number>((resolve) => {
      // 'close' rather than 'exit': by then the standard error has been read to its end.
      child.once('close', (code, signal) => {
        // Killed by a signal: 128 + its number, as a shell reports it.
        this.exitCode = code ?? 128 + (signal !== null ? (os.constants.signals[signal] ?? 0) : 0);
        this.emit('exit', this.exitCode);
        resolve(this.exitCode);
      });
    });
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the worker wrote to its standard error. */
  get stderr(): string {
    return this.stderrTail();
  }

  /**
   * What the worker's standard error says went wrong, in a line: its last line naming an error (Node prints
   * the stack below it), else its last line; `undefined` when it wrote nothing.
   */
  get failure(): string | undefined {
    const lines = this.stderrTail().split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const errors = lines.filter((l) => /^([A-Za-z]*Error\b|error:)/i.test(l));
    return errors.at(-1) ?? lines.at(-1);
  }

  /** Sends a copy of `message` (there is no transfer between processes). */
  postMessage(message: unknown): void {
    if (this.exitCode !== undefined || !this.child.connected) throw new Error(`worker process ${this.child.pid} has exited`);
    this.child.send(message as never);
  }

  /** Stops the process and resolves with its exit code. */
  async terminate(): Promise<number> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    return this.exited;
  }
}

const STDERR_KEPT = 4000;

/**
 * Starts the worker whose entry is `<dir>/<name>.js` (or `.ts` when `callerFile` is TypeScript) in a child
 * Node process with `env` added to this process's environment; `workerData` reaches it as its first message
 * (see {@link receiveWorkerData}). Its standard output and error pass through to this process's.
 * @param callerFile `__filename` of the module starting it, to tell compiled code from sources
 */
export function startWorkerProcess(callerFile: string, dir: string, name: string, workerData: Record<string, unknown>, env: Record<string, string> = {}): WorkerProcess {
  const ts = path.extname(callerFile) === '.ts';
  const entry = path.join(dir, `${name}${ts ? '.ts' : '.js'}`);
  const args = ts ? ['-e', TS_PROCESS_BOOTSTRAP, entry] : [entry];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, [WORKER_PROCESS_ENV]: '1' },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString()).slice(-STDERR_KEPT);
  });
  const worker = new WorkerProcess(child, () => tail);
  child.send({ type: 'worker-data', data: workerData } satisfies WorkerDataMessage);
  return worker;
}

/** The link of a worker to whoever started it: `parentPort` in a worker thread, the IPC channel in a worker process. */
export interface ParentChannel {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (message: never) => void): void;
}

/** Whether process `pid` is running (a process of another user counts as running). */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether this process was started by {@link startWorkerProcess}. */
export function isWorkerProcess(): boolean {
  return process.env[WORKER_PROCESS_ENV] === '1' && typeof process.send === 'function';
}

/**
 * In a worker process, the data {@link startWorkerProcess} was given and the channel to the parent; the
 * process exits when the parent goes. `undefined` elsewhere.
 */
export function receiveWorkerData(): Promise<{ data: Record<string, unknown>; channel: ParentChannel }> | undefined {
  if (!isWorkerProcess()) return undefined;
  const send = process.send?.bind(process) as (message: unknown) => boolean;
  process.once('disconnect', () => process.exit(0));
  return new Promise((resolve) => {
    const first = (message: WorkerDataMessage): void => {
      if (message?.type !== 'worker-data') return;
      process.off('message', first);
      resolve({
        data: message.data,
        channel: {
          postMessage: (m: unknown) => void send(m),
          on: (event: 'message', listener: (message: never) => void) => void process.on(event, listener as (message: unknown) => void),
        },
      });
    };
    process.on('message', first);
  });
}

/** `parentPort` as a {@link ParentChannel}, in a worker thread; `null` elsewhere. */
export function threadChannel(): ParentChannel | null {
  const port = parentPort;
  if (port === null) return null;
  return {
    postMessage: (m: unknown, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer),
    on: (event: 'message', listener: (message: never) => void) => void port.on(event, listener as (message: unknown) => void),
  };
}

/**
 * Starting the project's worker threads from compiled JavaScript (`dist/`) or from the TypeScript
 * sources (ts-jest, ts-node): from TypeScript the worker starts with a small bootstrap that compiles
 * `.ts` files on require, then loads the entry.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { tsBootstrap } from './ts-bootstrap';
import type { WorkerLike } from './worker-process';

/** Worker bootstrap for TypeScript sources: the entry comes with the worker's data. */
const TS_BOOTSTRAP = tsBootstrap("require('worker_threads').workerData.entry");

/**
 * Starts the worker whose entry is `<dir>/<name>.js` (or `.ts` when `callerFile` is TypeScript).
 * @param callerFile `__filename` of the module starting it, to tell compiled code from sources
 * @param workerData passed to the worker (structured clone)
 */
export function startWorkerThread(callerFile: string, dir: string, name: string, workerData: Record<string, unknown>): Worker {
  if (path.extname(callerFile) === '.ts') {
    return new Worker(TS_BOOTSTRAP, { eval: true, workerData: { ...workerData, entry: path.join(dir, `${name}.ts`) } });
  }
  return new Worker(path.join(dir, `${name}.js`), { workerData });
}

/** What a worker posts once it can take jobs; `backend` describes the TF.js backend it loaded, where it says. */
export interface ReadyMessage {
  type: 'ready';
  backend?: string;
}

/**
 * Resolves with the message when worker `w` posts `{ type: 'ready' }`; rejects when it posts `{ type: 'failed' }`,
 * fails or exits first. Leaves no listener behind.
 * @param label names the worker in errors, e.g. `loader worker 1`
 */
export function waitUntilReady(w: WorkerLike, label: string): Promise<ReadyMessage> {
  return new Promise<ReadyMessage>((resolve, reject) => {
    const cleanup = (): void => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (msg: { type?: string; message?: string }): void => {
      if (msg.type === 'ready') {
        cleanup();
        resolve(msg as ReadyMessage);
      } else if (msg.type === 'failed') {
        cleanup();
        reject(new Error(`${label} failed to start: ${msg.message ?? 'no message'}`));
      }
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new Error(`${label} failed to start: ${err.message}`));
    };
    const onExit = (code: number): void => {
      cleanup();
      // A worker process says on its standard error why it ended.
      const said = (w as { failure?: string }).failure;
      reject(new Error(`${label} exited with code ${code} while starting${said === undefined ? '' : ` (${said})`}`));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}

/**
 * Workers in child processes: the data and the environment they are started with reach them, typed arrays
 * cross the IPC channel as typed arrays, and a worker that dies is reported with its exit code and the last
 * of its standard error.
 */
import * as path from 'path';
import { waitUntilReady } from '../../src/backend/worker-thread';
import { startWorkerProcess, type WorkerProcess } from '../../src/backend/worker-process';

const helpers = path.join(__dirname, '..', 'helpers');

function nextMessage(w: WorkerProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve) => w.once('message', resolve));
}

it('starts a worker process with its data and environment, and exchanges typed arrays with it', async () => {
  const w = startWorkerProcess(path.join(helpers, 'x.ts'), helpers, 'echo-worker', { answer: 42 }, { HRNET_ECHO_TEST: 'pinned' });
  try {
    expect(await waitUntilReady(w, 'echo worker')).toEqual({ type: 'ready', backend: 'none' });
    expect(w.pid).not.toBe(process.pid);
    const reply = nextMessage(w);
    w.postMessage({ variable: 'HRNET_ECHO_TEST', values: new Float32Array([1.5, -2]) });
    const msg = await reply;
    expect(msg.variable).toBe('pinned');
    // (Jest's realm has Float32Array constructors of its own, hence the tag rather than instanceof.)
    expect(Object.prototype.toString.call(msg.doubled)).toBe('[object Float32Array]');
    expect(Array.from(msg.doubled as Float32Array)).toEqual([3, -4]);
    expect(msg.data).toEqual({ answer: 42 });
  } finally {
    await w.terminate();
  }
}, 60000);

it('says why a worker process could not start, from what it wrote', async () => {
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const w = startWorkerProcess(path.join(helpers, 'x.ts'), helpers, 'echo-worker', {}, { NODE_OPTIONS: '--require /nonexistent/preload.js' });
    await expect(waitUntilReady(w, 'echo worker')).rejects.toThrow("echo worker exited with code 1 while starting (Error: Cannot find module '/nonexistent/preload.js')");
  } finally {
    write.mockRestore();
  }
}, 60000);

it('reports a worker process that exits, with its code and its standard error', async () => {
  const w = startWorkerProcess(path.join(helpers, 'x.ts'), helpers, 'echo-worker', {});
  await waitUntilReady(w, 'echo worker');
  const exited = new Promise<number>((resolve) => w.once('exit', resolve));
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    w.postMessage({ crash: true });
    expect(await exited).toBe(3);
  } finally {
    write.mockRestore();
  }
  expect(w.stderr).toContain('echo worker: asked to crash');
  expect(w.failure).toBe('echo worker: asked to crash');
  expect(() => w.postMessage({})).toThrow(/has exited/);
  expect(await w.terminate()).toBe(3);
}, 60000);

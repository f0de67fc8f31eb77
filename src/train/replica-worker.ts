/**
 * A data-parallel training replica, run by `replicas.ts` as a worker thread or a worker process: its own backend and
 * model copy. Per train job it loads the model state it is sent, runs the train-mode forward and
 * backward of the loss on its share of the batch, and returns the gradients, the loss, the
 * predicted heatmaps and (when asked) the BatchNorm buffers its forward updated. Inference jobs
 * return eval-mode heatmaps with the state of the last load job.
 */
import * as fs from 'fs';
import { workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { KernelCalls } from '../backend/kernel-calls';
import { initBackend } from '../backend/select';
import { checkedOnWebGpu } from '../backend/webgpu-errors';
import { deviceMemoryAdvice } from '../config/memory-advice';
import { receiveWorkerData, threadChannel, type ParentChannel } from '../backend/worker-process';
import type { Config } from '../config/schema';
import { FlipTest, inferHeatmaps } from '../eval/evaluate';
import type { ParamEntry } from '../model/nn';
import { createPoseHRNet, PoseHRNet } from '../model/pose-hrnet';
import { lossOfConfig } from './loss';
import { computeGradients, HostBatch, hostBatchTensors } from './train-step';

/** `workerData` of a replica worker. */
export interface ReplicaWorkerData {
  kind: 'hrnet-replica';
  config: Config;
  /** Backend to load (`undefined`: automatic). */
  backend?: string;
}

/** The model state sent with each job: every variable in state-dict order, and the counters. */
export interface ReplicaState {
  values: Float32Array[];
  counters: number[];
}

/** Loads a model state for the inference jobs that follow. */
export interface LoadJob {
  kind: 'load';
  id: number;
  state: ReplicaState;
  /** The state's values are in this file (see {@link writePackedFile}) rather than in `state.values`, which is then empty. */
  stateFile?: string;
}

/** Eval-mode heatmaps of `n` images with the last loaded state (flip-averaged when `flip` is given). */
export interface InferJob {
  kind: 'infer';
  id: number;
  n: number;
  images: Float32Array;
  flip?: FlipTest;
}

/** One replica's share of a step. */
export interface ReplicaJob extends HostBatch {
  kind: 'train';
  id: number;
  state: ReplicaState;
  /** Return the BatchNorm buffers and counters after the forward (replica 0). */
  returnBuffers: boolean;
  /**
   * Where to write the gradients (one view per trainable parameter, in shared memory) instead of
   * returning them; the result's `grads` is then empty.
   */
  gradsOut?: Float32Array[];
  /** The state's values are in this file (see {@link writePackedFile}) rather than in `state.values`, which is then empty. */
  stateFile?: string;
  /** Write the gradients to this file (see {@link writePackedFile}) instead of returning them; the result's `grads` is then empty. */
  gradsFile?: string;
}

/** What a replica returns. */
export interface ReplicaResult {
  id: number;
  loss: number;
  /**
   * Gradients of the replica's mean loss, one per trainable parameter in state-dict order (empty
   * when the job gave `gradsOut`).
   */
  grads: Float32Array[];
  /** Predicted heatmaps `[n, h, w, K]`. */
  output: Float32Array;
  /** BatchNorm buffers and counters after the forward, when `returnBuffers` was set. */
  state?: ReplicaState;
}

/** Messages sent by a replica worker: `done` answers a train job, `output` a load or infer job. */
export type ReplicaReply =
  | { type: 'ready'; backend: string }
  | ({ type: 'done' } & ReplicaResult)
  | { type: 'output'; id: number; heatmaps: Float32Array }
  | { type: 'failed'; id: number; message: string };

/** Any job a replica worker takes. */
export type ReplicaWorkerJob = ReplicaJob | LoadJob | InferJob;


/** `a` in a buffer of its own, safe to transfer (the cpu backend's `data()` returns its own storage). */
function ownCopy(a: Float32Array): Float32Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && tf.getBackend() !== 'cpu' ? a : a.slice();
}

/** Whether the backend's memory can be viewed in place (WASM's heap); elsewhere tensors are read asynchronously. */
function hasHeapViews(): boolean {
  return typeof (tf.backend() as { typedArrayFromHeap?: unknown }).typedArrayFromHeap === 'function';
}

/**
 * Copies the values of `tensors` into `views`: straight from the heap where the backend has one (WASM),
 * otherwise through asynchronous reads (GPU backends), issued together.
 */
async function copyInto(tensors: tf.TensorInfo[], views: Float32Array[]): Promise<void> {
  if (hasHeapViews()) {
    const calls = new KernelCalls(tf.backend(), tf.getBackend());
    tensors.forEach((t, i) => views[i].set(calls.view(t)));
    return;
  }
  const values = await Promise.all(tensors.map((t) => tf.engine().read(t.dataId) as Promise<Float32Array>));
  values.forEach((v, i) => views[i].set(v));
}

/** What a state holds: every variable, or only the BatchNorm buffers (running statistics). */
export type StateScope = 'all' | 'buffers';

/** The model's variables in `scope`, in state-dict order. */
function scopedEntries(model: PoseHRNet, scope: StateScope): ParamEntry[] {
  const entries = model.params.list();
  return scope === 'all' ? entries : entries.filter((e) => e.kind === 'buffer');
}

/** The names of the model's counters (`num_batches_tracked`), in state-dict order. */
function counterNames(model: PoseHRNet): string[] {
  return model.params.keys().filter((k) => model.params.hasCounter(k));
}

/** Loads `state` (read with the same `scope`) into `model`: its variables, then its counters. */
export function assignState(model: PoseHRNet, state: ReplicaState, scope: StateScope = 'all'): void {
  const entries = scopedEntries(model, scope);
  const counters = counterNames(model);
  if (entries.length !== state.values.length || counters.length !== state.counters.length) {
    throw new Error(`replica state has ${state.values.length} tensors and ${state.counters.length} counters, the model ${entries.length} and ${counters.length} (${scope})`);
  }
  entries.forEach((e, i) => {
    const t = tf.tensor(state.values[i], e.variable.shape, 'float32');
    e.variable.assign(t);
    t.dispose();
  });
  counters.forEach((name, i) => model.params.setCounter(name, state.counters[i]));
}

/**
 * One view per variable of `model` (state-dict order) into a single SharedArrayBuffer: a state read
 * into them with {@link readStateInto} reaches every worker without a copy.
 */
export function sharedStateViews(model: PoseHRNet): Float32Array[] {
  return packedViews(stateSizes(model), { shared: true });
}

/** The sizes of every variable of `model` (state-dict order): what a state holds. */
export function stateSizes(model: PoseHRNet): number[] {
  return scopedEntries(model, 'all').map((e) => e.variable.size);
}

/** The sizes of the trainable parameters of `model` (state-dict order): what the gradients hold. */
export function gradientSizes(model: PoseHRNet): number[] {
  return model.params.parameters().map((p) => p.variable.size);
}

/**
 * Float32 views of the given sizes, one after the other in a single buffer: a SharedArrayBuffer (which
 * worker threads read without a copy) when `shared`, else an ArrayBuffer.
 */
export function packedViews(sizes: number[], opts: { shared: boolean }): Float32Array[] {
  const bytes = sizes.reduce((a, b) => a + b, 0) * 4;
  const buffer = opts.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  let offset = 0;
  return sizes.map((size) => {
    const view = new Float32Array(buffer, offset * 4, size);
    offset += size;
    return view;
  });
}

/** The bytes that packed `views` (from {@link packedViews}) span, checked to follow one another. */
function packedBytes(views: Float32Array[]): Uint8Array {
  if (views.length === 0) return new Uint8Array(0);
  let end = views[0].byteOffset;
  for (const v of views) {
    if (v.buffer !== views[0].buffer || v.byteOffset !== end) throw new Error('packed views must follow one another in one buffer (packedViews)');
    end += v.byteLength;
  }
  return new Uint8Array(views[0].buffer, views[0].byteOffset, end - views[0].byteOffset);
}

/**
 * Writes packed `views` to `file`, raw float32. How processes exchange states and gradients: a file in
 * memory (`/dev/shm`) is written and read several times faster than the same bytes cross Node's IPC
 * channel, and one file of weights serves every process.
 */
export function writePackedFile(file: string, views: Float32Array[]): void {
  const bytes = packedBytes(views);
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `file` (from {@link writePackedFile}) into packed `views`, which it must fill exactly. */
export function readPackedFile(file: string, views: Float32Array[]): void {
  const bytes = packedBytes(views);
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== bytes.length) throw new Error(`${file}: ${size} bytes, expected ${bytes.length} (${views.length} tensors)`);
    for (let done = 0; done < bytes.length; ) {
      const n = fs.readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) throw new Error(`${file}: ended after ${done} of ${bytes.length} bytes`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads every variable of `model` into `views` (from {@link sharedStateViews}) straight from the
 * backend's memory where it can (WASM), and returns the state with the counters.
 */
export async function readStateInto(model: PoseHRNet, views: Float32Array[]): Promise<ReplicaState> {
  const entries = scopedEntries(model, 'all');
  if (entries.length !== views.length) throw new Error(`readStateInto: ${views.length} views for ${entries.length} variables`);
  await copyInto(entries.map((e) => e.variable), views);
  return { values: views, counters: counterNames(model).map((k) => model.params.counter(k)) };
}

/** Reads the variables of `model` in `scope` (state-dict order), then its counters. */
export async function readState(model: PoseHRNet, scope: StateScope = 'all'): Promise<ReplicaState> {
  const values = await Promise.all(scopedEntries(model, scope).map(async (e) => ownCopy((await e.variable.data()) as Float32Array)));
  return { values, counters: counterNames(model).map((k) => model.params.counter(k)) };
}

/** Runs one replica job on `model`. */
export async function runReplicaJob(model: PoseHRNet, config: Config, job: ReplicaJob): Promise<ReplicaResult> {
  assignState(model, job.state);
  const batch = hostBatchTensors(job, config);
  try {
    const { loss, grads, output } = await computeGradients(model, batch, lossOfConfig(config), true);
    try {
      const params = model.params.parameters();
      const out = job.gradsOut;
      if (out !== undefined) {
        // Straight from the backend's memory into the shared views, without a copy in between.
        if (out.length !== params.length) throw new Error(`gradsOut: ${out.length} views for ${params.length} parameters`);
        await copyInto(params.map((p) => grads[p.name]), out);
      }
      return {
        id: job.id,
        loss,
        grads: out !== undefined ? [] : await Promise.all(params.map(async (p) => ownCopy((await grads[p.name].data()) as Float32Array))),
        output: ownCopy(((await (output as tf.Tensor).data()) as Float32Array)),
        state: job.returnBuffers ? await readState(model, 'buffers') : undefined,
      };
    } finally {
      tf.dispose(Object.values(grads));
      output?.dispose();
    }
  } finally {
    tf.dispose([batch.images, batch.target, batch.targetWeight]);
  }
}

async function serve(data: ReplicaWorkerData, port: ParentChannel): Promise<void> {
  const backend = await initBackend({ preferred: data.backend, quiet: true });
  // Every job loads the state it is sent.
  const model = createPoseHRNet(data.config, { initWeights: false });
  // Where states and gradients exchanged through files land (allocated at the first such job).
  let stateViews: Float32Array[] | undefined;
  let gradViews: Float32Array[] | undefined;
  const stateOf = (job: LoadJob | ReplicaJob): ReplicaState => {
    if (job.stateFile === undefined) return job.state;
    stateViews ??= packedViews(stateSizes(model), { shared: false });
    readPackedFile(job.stateFile, stateViews);
    return { values: stateViews, counters: job.state.counters };
  };
  // Jobs run one at a time, in the order they arrive (each may wait on asynchronous reads).
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (job: ReplicaWorkerJob) => {
    queue = queue.then(() => runJob(job));
  });
  const runJob = async (job: ReplicaWorkerJob): Promise<void> => {
    try {
      if (job.kind === 'load') {
        assignState(model, stateOf(job));
        port.postMessage({ type: 'output', id: job.id, heatmaps: new Float32Array(0) } satisfies ReplicaReply);
        return;
      }
      // A WebGPU device's error makes what it computed untrustworthy: the job fails with it.
      if (job.kind === 'infer') {
        const heatmaps = ownCopy(await checkedOnWebGpu(`inference job ${job.id} of a replica worker`, () => inferHeatmaps(model, job.images, job.n, job.flip), { outOfMemory: deviceMemoryAdvice(data.config, 'test') }));
        port.postMessage({ type: 'output', id: job.id, heatmaps } satisfies ReplicaReply, [heatmaps.buffer as ArrayBuffer]);
        return;
      }
      const gradsFile = job.gradsFile;
      if (gradsFile !== undefined) gradViews ??= packedViews(gradientSizes(model), { shared: false });
      const local: ReplicaJob = { ...job, state: stateOf(job), gradsOut: gradsFile !== undefined ? gradViews : job.gradsOut };
      const result = await checkedOnWebGpu(`training job ${job.id} of a replica worker`, () => runReplicaJob(model, data.config, local), {
        outOfMemory: deviceMemoryAdvice(data.config, 'train'),
      });
      if (gradsFile !== undefined) writePackedFile(gradsFile, gradViews as Float32Array[]);
      const transfer = [...result.grads, result.output, ...(result.state?.values ?? [])].map((a) => a.buffer as ArrayBuffer);
      port.postMessage({ type: 'done', ...result } satisfies ReplicaReply, transfer);
    } catch (e) {
      port.postMessage({ type: 'failed', id: job.id, message: (e as Error).stack ?? String(e) } satisfies ReplicaReply);
    }
  };
  port.postMessage({ type: 'ready', backend: `${backend.name} (${backend.details})` } satisfies ReplicaReply);
}

/** Serves the jobs of the thread or process that started this worker. */
async function main(): Promise<void> {
  const fromProcess = receiveWorkerData();
  const started = fromProcess !== undefined ? await fromProcess : { data: workerData as Record<string, unknown> | null, channel: threadChannel() };
  const data = started.data as Partial<ReplicaWorkerData> | null;
  const port = started.channel;
  if (data?.kind !== 'hrnet-replica' || port === null) return;
  try {
    await serve(data as ReplicaWorkerData, port);
  } catch (e) {
    port.postMessage({ type: 'failed', id: -1, message: (e as Error).stack ?? String(e) } satisfies ReplicaReply);
  }
}

void main();

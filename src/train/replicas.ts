/**
 * Data-parallel training on worker threads, as the official multi-GPU training does it with
 * `nn.DataParallel`: the batch is `BATCH_SIZE_PER_GPU × len(GPUS)`, split into one chunk per entry
 * of `GPUS` (a replica); each replica runs the train-mode forward (BatchNorm statistics of its own
 * chunk) and backward on a copy of the model; the gradient of the full-batch loss, the chunk
 * gradients weighted by chunk size, drives one optimizer step on the main model; the BatchNorm
 * running statistics are those replica 0 computed.
 *
 * On backends that use one core (WASM, cpu) this is how training uses all of them: replicas run
 * on `min(replicas, cores)` threads, each with its own backend, several replicas per thread in
 * turn when there are fewer cores. Results depend on the number of replicas, not of threads.
 *
 * On identical GPUs each replica runs in a process of its own instead, whose environment shows its
 * Vulkan driver one GPU (see `gpu-pinning.ts`): the same jobs over the IPC channel, the state and the
 * gradients through files in memory (one state file read by every process, a gradient file each).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ACCUMULATE_FOREACH, type AccumulateForeachAttrs } from '../backend/accumulate-kernel';
import type { Config } from '../config/schema';
import { startWorkerThread, waitUntilReady } from '../backend/worker-thread';
import { processIsRunning, startWorkerProcess, WorkerProcess, type WorkerLike } from '../backend/worker-process';
import type { PoseHRNet } from '../model/pose-hrnet';
import type { HeatmapLoss } from './loss';
import type { Optimizer } from './optim';
import { hostBatchTensors, perSample, recordGradients, type HostBatch } from './train-step';
import type { FlipTest } from '../eval/evaluate';
import { assignState, gradientSizes, packedViews, readPackedFile, readStateInto, sharedStateViews, stateSizes, writePackedFile, type InferJob, type ReplicaJob, type ReplicaReply, type ReplicaResult, type ReplicaState, type ReplicaWorkerData, type ReplicaWorkerJob } from './replica-worker';

/** What one data-parallel step measured. */
export interface DataParallelStep {
  /** The full-batch loss. */
  loss: number;
  /** Predicted heatmaps of the whole batch `[n, h, w, K]`. */
  output: Float32Array;
}

/** Gradients of the full-batch loss, one per trainable parameter in state-dict order. */
export interface DataParallelGradients extends DataParallelStep {
  grads: Float32Array[];
}

/** Chunk sizes of `n` samples over `replicas`, as `torch.nn.parallel.scatter` splits them (ceil-sized chunks). */
export function chunkSizes(n: number, replicas: number): number[] {
  const size = Math.ceil(n / replicas);
  const out: number[] = [];
  for (let start = 0; start < n; start += size) out.push(Math.min(size, n - start));
  return out;
}

/** The chunks of `batch`, one per entry of `sizes` (see {@link chunkSizes}), as views of its buffers. */
export function hostChunks(batch: HostBatch, sizes: readonly number[], config: Pick<Config, 'MODEL'>): HostBatch[] {
  const per = perSample(config);
  let start = 0;
  return sizes.map((n) => {
    const chunk: HostBatch = {
      n,
      images: batch.images.subarray(start * per.images, (start + n) * per.images),
      target: batch.target.subarray(start * per.target, (start + n) * per.target),
      targetWeight: batch.targetWeight.subarray(start * per.weight, (start + n) * per.weight),
    };
    start += n;
    return chunk;
  });
}

/** `summed[name] += weight · grads[name]` for every gradient, disposing the sums it replaces (not `grads`). */
export function addWeightedGradients(summed: tf.NamedTensorMap, grads: tf.NamedTensorMap, weight: number): void {
  const names = Object.keys(grads);
  const first = names.every((name) => summed[name] === undefined);
  const accumulate = names.every((name) => summed[name] !== undefined);
  if (names.length > 0 && (first || accumulate) && tf.getKernel(ACCUMULATE_FOREACH, tf.getBackend()) !== undefined) {
    // One call for every parameter (on WebGPU a dispatch a group of them), the same values as the ops below.
    const inputs: tf.NamedTensorMap = {};
    names.forEach((name, i) => {
      inputs[`g${i}`] = grads[name];
      if (accumulate) inputs[`s${i}`] = summed[name];
    });
    const attrs: AccumulateForeachAttrs = { n: names.length, weight, accumulate };
    const outs = tf.engine().runKernel(ACCUMULATE_FOREACH, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    names.forEach((name, i) => {
      summed[name]?.dispose();
      summed[name] = outs[i];
    });
    return;
  }
  for (const [name, g] of Object.entries(grads)) {
    const prev = summed[name];
    summed[name] = tf.tidy(() => (prev === undefined ? tf.mul(g, weight) : tf.add(prev, tf.mul(g, weight))));
    prev?.dispose();
  }
}

const EXCHANGE_PREFIX = 'hrnet-replicas-';

/**
 * Removes the exchange folders in `root` whose run has ended without removing them: a run stopped by a
 * signal (Ctrl-C, a kill) runs no exit handler, and a folder in `/dev/shm` holds memory until removed.
 * Their names carry the pid of the run that made them.
 * @returns the folders removed
 */
export function removeStaleExchangeFolders(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = new RegExp(`^${EXCHANGE_PREFIX}(\\d+)-`).exec(name);
    if (m === null || processIsRunning(Number(m[1]))) continue;
    const dir = path.join(root, name);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** Where exchange folders go: in memory where Linux offers it (`/dev/shm`), else the temporary folder. */
export function exchangeRoot(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

/** A folder replica processes exchange files through, and what removes it. */
interface ExchangeFolder {
  dir: string;
  remove: () => void;
}

/**
 * A new folder for the files replica processes exchange (see {@link exchangeRoot}; those of ended runs are
 * removed first), and what removes it: at `close()`, or as this process exits if it exits first.
 */
function exchangeFolder(): ExchangeFolder {
  const root = exchangeRoot();
  removeStaleExchangeFolders(root);
  const dir = fs.mkdtempSync(path.join(root, `${EXCHANGE_PREFIX}${process.pid}-`));
  const remove = (): void => {
    process.off('exit', remove);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', remove);
  return { dir, remove };
}

/** Options of {@link ReplicaPool.create}. */
export interface ReplicaPoolOptions {
  /** Worker threads (default: `min(replicas, os.availableParallelism())`). */
  threads?: number;
  /** Backend of the workers (default: the backend in use here, when it is WASM or cpu; else automatic). WebGPU needs `processes`. */
  backend?: string;
  /**
   * One worker process per replica instead of threads, each started with these variables added to the
   * environment (e.g. those that show its Vulkan driver one GPU); one entry per replica.
   */
  processes?: readonly Record<string, string>[];
}

interface Pending {
  resolve: (r: ReplicaResult | Float32Array) => void;
  reject: (e: Error) => void;
}

/**
 * Worker threads that hold training replicas of one model config, and also compute eval-mode
 * heatmaps with the batch split over them. `close()` it at the end.
 */
export class ReplicaPool {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Why the pool cannot go on: a worker failed or exited (every later job fails with it). */
  private lost: Error | undefined;
  /** The state sent to the workers, in shared memory (allocated at the first use). */
  private sharedState: Float32Array[] | undefined;
  /** Per replica, where its worker writes the gradients (shared memory, allocated at the first use). */
  private sharedGrads: Float32Array[][] | undefined;
  /** Processes: the state written to their file, and where a replica's gradients are read back (allocated at the first use). */
  private fileState: Float32Array[] | undefined;
  private fileGrads: Float32Array[] | undefined;

  private constructor(
    private readonly workers: WorkerLike[],
    private readonly config: Config,
    /** Number of replicas: `len(GPUS)`. */
    readonly replicas: number,
    /** The backend each worker loaded, as it describes it (e.g. `webgpu (nvidia NVIDIA H200, …)`). */
    readonly backends: readonly string[],
    /** Processes only: the folder of the files they exchange states and gradients through, and what removes it. */
    private readonly exchange?: ExchangeFolder,
  ) {
    workers.forEach((w, i) => {
      w.on('message', (msg: ReplicaReply) => this.onMessage(msg));
      w.on('error', (err: Error) => {
        this.lost ??= new Error(`replica ${this.processes ? 'process' : 'worker'} ${i} failed: ${err.message}`);
        this.failAll(this.lost);
      });
      w.on('exit', (code) => {
        if (this.closed) return;
        const said = w instanceof WorkerProcess ? w.failure : undefined;
        this.lost ??= new Error(`replica ${this.processes ? 'process' : 'worker'} ${i} exited with code ${code}${said === undefined ? '' : ` (${said})`}`);
        this.failAll(this.lost);
      });
    });
  }

  /** Starts the workers for `config` (one replica per entry of `GPUS`) and waits until they are ready. */
  static async create(config: Config, opts: ReplicaPoolOptions = {}): Promise<ReplicaPool> {
    const replicas = config.GPUS.length;
    const current = tf.getBackend();
    const backend = opts.backend ?? (current === 'wasm' || current === 'cpu' || opts.processes !== undefined ? current : undefined);
    const processes = opts.processes;
    if (processes === undefined && (backend === 'webgpu' || (backend === undefined && current === 'webgpu'))) {
      // Dawn aborts the process ("std::system_error: Invalid argument") when worker threads drive devices.
      throw new Error('ReplicaPool: WebGPU replicas cannot run on worker threads: give them processes, or compute them in turn on one device (replicaStepInTurn)');
    }
    if (processes !== undefined && processes.length !== replicas) {
      throw new Error(`ReplicaPool: ${processes.length} process environments for ${replicas} replicas (GPUS has ${replicas} entries)`);
    }
    const threads = processes?.length ?? opts.threads ?? Math.min(replicas, os.availableParallelism());
    if (!(Number.isInteger(threads) && threads > 0)) throw new Error(`ReplicaPool: threads must be a positive integer, got ${threads}`);
    const workers: WorkerLike[] = [];
    const kind = processes !== undefined ? 'process' : 'worker';
    const exchange = processes !== undefined ? exchangeFolder() : undefined;
    try {
      for (let i = 0; i < threads; i++) {
        const data: ReplicaWorkerData = { kind: 'hrnet-replica', config, backend };
        const record = data as unknown as Record<string, unknown>;
        workers.push(
          processes !== undefined
            ? startWorkerProcess(__filename, __dirname, 'replica-worker', record, processes[i])
            : startWorkerThread(__filename, __dirname, 'replica-worker', record),
        );
      }
      const ready = await Promise.all(workers.map((w, i) => waitUntilReady(w, `replica ${kind} ${i}`)));
      return new ReplicaPool(workers, config, replicas, ready.map((r) => r.backend ?? '?'), exchange);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      exchange?.remove();
      throw e;
    }
  }

  /** Whether the workers are processes (state and gradients then go through files, not shared memory). */
  get processes(): boolean {
    return this.exchange !== undefined;
  }

  /** Number of worker threads (or processes). */
  get threads(): number {
    return this.workers.length;
  }

  /**
   * Gradients of the full-batch loss at the current weights of `model`, computed by the replicas;
   * `model`'s BatchNorm buffers and counters become replica 0's.
   */
  async gradients(model: PoseHRNet, batch: HostBatch): Promise<DataParallelGradients> {
    if (this.closed) throw new Error('ReplicaPool: closed');
    const perTarget = perSample(this.config).target;
    const sizes = chunkSizes(batch.n, this.replicas);
    const { state, stateFile } = await this.sendState(model);
    const params = model.params.parameters();
    // Threads write their gradients into shared memory, processes into a file each.
    const gradsOut = this.processes ? undefined : (this.sharedGrads ??= Array.from({ length: this.replicas }, () => packedViews(gradientSizes(model), { shared: true })));
    const exchangeDir = this.exchange?.dir;
    const gradsFile = (r: number): string | undefined => (exchangeDir === undefined ? undefined : path.join(exchangeDir, `grads-${r}.bin`));
    const results = await Promise.all(
      hostChunks(batch, sizes, this.config).map((chunk, r) => {
        const job: ReplicaJob = {
          kind: 'train',
          id: this.nextId++,
          state,
          n: chunk.n,
          // Copies of the chunk alone: a posted view would carry its whole buffer.
          images: chunk.images.slice(),
          target: chunk.target.slice(),
          targetWeight: chunk.targetWeight.slice(),
          returnBuffers: r === 0,
          gradsOut: gradsOut?.[r],
          stateFile,
          gradsFile: gradsFile(r),
        };
        return this.post<ReplicaResult>(r % this.workers.length, job);
      }),
    );
    // Σ_r (n_r / n) · g_r, in replica order.
    const grads = params.map((p) => new Float32Array(p.variable.size));
    let loss = 0;
    results.forEach((res, r) => {
      const weight = sizes[r] / batch.n;
      loss += weight * res.loss;
      const file = gradsFile(r);
      let replicaGrads = gradsOut?.[r] ?? res.grads;
      if (file !== undefined) {
        // One replica's file at a time, into the same memory.
        replicaGrads = this.fileGrads ??= packedViews(gradientSizes(model), { shared: false });
        readPackedFile(file, replicaGrads);
      }
      replicaGrads.forEach((g, i) => {
        const acc = grads[i];
        for (let j = 0; j < g.length; j++) acc[j] += weight * g[j];
      });
    });
    const output = new Float32Array(batch.n * perTarget);
    let offset = 0;
    for (const res of results) {
      output.set(res.output, offset);
      offset += res.output.length;
    }
    const replica0 = results[0].state;
    if (replica0 === undefined) throw new Error('replica 0 returned no state');
    // Only the running statistics change in a forward; the parameters are those that were sent.
    assignState(model, replica0, 'buffers');
    return { loss, output, grads };
  }

  /** One optimizer step on the full-batch gradient (see {@link gradients}). */
  async step(model: PoseHRNet, optimizer: Optimizer, batch: HostBatch): Promise<DataParallelStep> {
    const { loss, output, grads } = await this.gradients(model, batch);
    const params = model.params.parameters();
    const named: tf.NamedTensorMap = {};
    params.forEach((p, i) => {
      named[p.name] = tf.tensor(grads[i], p.variable.shape, 'float32');
    });
    try {
      optimizer.step(named);
    } finally {
      tf.dispose(Object.values(named));
    }
    return { loss, output };
  }

  /**
   * The state of `model` for the workers: in shared memory, which every worker thread reads without a copy;
   * for processes, in one file that each of them reads (the job then carries the counters alone).
   */
  private async sendState(model: PoseHRNet): Promise<{ state: ReplicaState; stateFile?: string }> {
    if (this.exchange === undefined) {
      this.sharedState ??= sharedStateViews(model);
      return { state: await readStateInto(model, this.sharedState) };
    }
    this.fileState ??= packedViews(stateSizes(model), { shared: false });
    const { counters } = await readStateInto(model, this.fileState);
    const stateFile = path.join(this.exchange.dir, 'state.bin');
    writePackedFile(stateFile, this.fileState);
    return { state: { values: [], counters }, stateFile };
  }

  /** Stops the workers (and removes the files the processes exchanged). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('ReplicaPool: closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.exchange?.remove();
  }

  /**
   * Loads the weights and BatchNorm statistics of `model` into every worker, for {@link heatmaps}.
   * Call it again whenever the weights change (training steps overwrite the workers' copies).
   */
  async loadWeights(model: PoseHRNet): Promise<void> {
    const { state, stateFile } = await this.sendState(model);
    await Promise.all(this.workers.map((_, i) => this.post<Float32Array>(i, { kind: 'load', id: this.nextId++, state, stateFile })));
  }

  /**
   * Eval-mode heatmaps `[n, h, w, K]` of `images` with the weights of the last {@link loadWeights},
   * the batch split over the worker threads (flip-averaged when `flip` is given).
   */
  async heatmaps(images: Float32Array, n: number, flip?: FlipTest): Promise<Float32Array> {
    if (this.closed) throw new Error('ReplicaPool: closed');
    const [w, h] = this.config.MODEL.IMAGE_SIZE;
    const per = h * w * 3;
    const sizes = chunkSizes(n, this.workers.length);
    let start = 0;
    const parts = await Promise.all(
      sizes.map((m, i) => {
        const job: InferJob = { kind: 'infer', id: this.nextId++, n: m, images: images.slice(start * per, (start + m) * per), flip };
        start += m;
        return this.post<Float32Array>(i, job);
      }),
    );
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  private post<T extends ReplicaResult | Float32Array>(worker: number, job: ReplicaWorkerJob): Promise<T> {
    if (this.lost !== undefined) return Promise.reject(this.lost);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(job.id, { resolve: resolve as (r: ReplicaResult | Float32Array) => void, reject });
      this.workers[worker].postMessage(job);
    });
  }

  private onMessage(msg: ReplicaReply): void {
    if (msg.type === 'ready') return;
    if (msg.type === 'failed' && msg.id < 0) {
      this.failAll(new Error(`replica worker failed: ${msg.message}`));
      return;
    }
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    if (msg.type === 'failed') p.reject(new Error(`replica job failed: ${msg.message}`));
    else if (msg.type === 'output') p.resolve(msg.heatmaps);
    else p.resolve(msg);
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/**
 * One data-parallel step with the replicas computed in turn on this thread's device (how `GPUS` with
 * several entries trains on one GPU): the batch is split as {@link ReplicaPool} splits it, each chunk's
 * train-mode forward uses its own BatchNorm statistics, the chunk gradients weighted by chunk size drive
 * one optimizer step, and the running statistics are those of replica 0, as `nn.DataParallel` leaves them.
 * Every chunk and the optimizer step are recorded before anything is read: on a GPU the device computes a
 * chunk while the host records the next, and waits only at the end of the step. The whole step is recorded
 * before the returned promise's first wait, so a caller may record the next step before awaiting this one.
 */
export async function replicaStepInTurn(model: PoseHRNet, optimizer: Optimizer, batch: HostBatch, loss: HeatmapLoss, config: Config): Promise<DataParallelStep> {
  const sizes = chunkSizes(batch.n, config.GPUS.length);
  const perTarget = perSample(config).target;
  const buffers = model.params.list().filter((e) => e.kind === 'buffer');
  const counters = model.params.keys().filter((key) => model.params.hasCounter(key));
  let replica0: { values: tf.Tensor[]; counters: number[] } | undefined;
  const summed: tf.NamedTensorMap = {};
  // Each chunk's loss and heatmaps, read once the step is recorded.
  const results: { weight: number; value: tf.Scalar; output: tf.Tensor }[] = [];
  try {
    for (const [r, chunk] of hostChunks(batch, sizes, config).entries()) {
      const tensors = hostBatchTensors(chunk, config);
      try {
        const { value, grads, output } = recordGradients(model, tensors, loss, true);
        const weight = chunk.n / batch.n;
        results.push({ weight, value, output: output as tf.Tensor });
        try {
          addWeightedGradients(summed, grads, weight);
        } finally {
          tf.dispose(Object.values(grads));
        }
      } finally {
        tf.dispose([tensors.images, tensors.target, tensors.targetWeight]);
      }
      if (r === 0) replica0 = { values: buffers.map((e) => tf.clone(e.variable)), counters: counters.map((c) => model.params.counter(c)) };
    }
    // The running statistics (and counters) of replica 0.
    const kept = replica0 as { values: tf.Tensor[]; counters: number[] };
    buffers.forEach((e, i) => e.variable.assign(kept.values[i]));
    counters.forEach((c, i) => model.params.setCounter(c, kept.counters[i]));
    optimizer.step(summed);
    // Every read at once, so that they all follow the step's work in the device's queue.
    const read = await Promise.all([...results.map((c) => c.value.data()), ...results.map((c) => c.output.data())]);
    const [values, outputs] = [read.slice(0, results.length), read.slice(results.length)];
    const output = new Float32Array(batch.n * perTarget);
    let total = 0;
    let start = 0;
    results.forEach((c, r) => {
      total += c.weight * values[r][0];
      output.set(outputs[r] as Float32Array, start * perTarget);
      start += sizes[r];
    });
    return { loss: total, output };
  } finally {
    tf.dispose([...Object.values(summed), ...(replica0?.values ?? []), ...results.flatMap((c) => [c.value, c.output])]);
  }
}

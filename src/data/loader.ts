/**
 * The batch loader: a seeded shuffle per epoch, batches prepared in worker threads (decode, crop, targets off the
 * main thread) with a bounded number of batches in flight, delivered in order as an async iterator.
 *
 * Worker threads run `loader-worker` (see `io/worker-thread.ts` for how they start from compiled code or
 * from the TypeScript sources, which needs the `typescript` dev dependency); if a worker cannot start, the
 * loader warns and prepares the batches in-process. Batches are the same either way: each
 * sample's augmentation is seeded by (seed, epoch, index).
 */
import * as os from 'os';
import { Worker } from 'worker_threads';
import { startWorkerThread, waitUntilReady } from '../backend/worker-thread';
import seedrandom from 'seedrandom';
import { ownedJoints } from './joint-slab';
import type { JointsDataset, SampleMeta, SamplePipelineSpec } from './joints-dataset';
import {
  buildBatch,
  type BatchItem,
  type BatchResult,
  type LoaderWorkerData,
  type SkippedSample,
  type LoaderJob,
  type WorkerReply,
} from './loader-worker';

export type { SkippedSample } from './loader-worker';

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  /** Samples per batch. */
  batchSize: number;
  /** Shuffle the samples (seeded by `seed` and `epoch`); false keeps dataset order. */
  shuffle: boolean;
  /** Seed of the shuffle (the augmentation seed is the dataset's `SampleOptions.seed`). */
  seed: number;
  /** Epoch number: selects the shuffle and the augmentation draws. */
  epoch: number;
  /** Drop the last, incomplete batch (default false). */
  dropLast?: boolean;
  /** Worker threads (default: one per core, `os.availableParallelism()`); 0 prepares batches in-process. */
  workers?: number;
  /** Batches prepared ahead of the consumer (default `2 × workers`, at least 2; 1 in-process). */
  prefetch?: number;
  /** A pool to use (and keep open) instead of starting workers for this epoch; see {@link SampleWorkerPool}. */
  pool?: SampleWorkerPool;
  /** Receives per-sample skip warnings and the end-of-epoch summary (default `console.warn`). */
  onWarning?: (message: string) => void;
}

/** One batch, NHWC. */
export interface Batch {
  /** Position of the batch in the epoch. */
  index: number;
  /** Samples in the batch (N); smaller than the batch size for the last batch or when samples were skipped. */
  size: number;
  /** `[N, H, W, 3]` normalised images. */
  images: Float32Array;
  /** `[N, h, w, K]` Gaussian targets. */
  target: Float32Array;
  /** `[N, K]` target weights. */
  targetWeight: Float32Array;
  /** `[N]` sample metas. */
  metas: SampleMeta[];
}

/** The batches of one epoch. */
export interface DataLoader extends AsyncIterable<Batch> {
  /** Batches the epoch yields when no sample is skipped. */
  readonly numBatches: number;
  /** Samples skipped so far in this epoch (missing or corrupt images). */
  readonly skipped: readonly SkippedSample[];
  /** Worker threads in use (0 = in-process). */
  readonly workers: number;
}

/**
 * The sample order of one epoch: `0 … length − 1`, Fisher–Yates shuffled by `seedrandom("<seed>:order:<epoch>")`
 * when `shuffle`.
 * @returns `[length]` dataset indices
 */
export function epochOrder(length: number, shuffle: boolean, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  if (!shuffle) return order;
  const rng = seedrandom(`${seed}:order:${epoch}`);
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Starts one loader worker for `spec`. */
function startWorker(spec: SamplePipelineSpec): Worker {
  const data: LoaderWorkerData = { kind: 'hrnet-loader', spec };
  return startWorkerThread(__filename, __dirname, 'loader-worker', data as unknown as Record<string, unknown>);
}


interface PendingJob {
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

/**
 * Worker threads that prepare batches for one pipeline spec (one dataset and sample settings). Keep one open
 * across epochs to avoid the start-up cost (pass it as `LoaderOptions.pool`), and `close()` it at the end.
 */
export class SampleWorkerPool {
  private readonly workers: Worker[];
  private readonly busy: number[];
  private readonly pending = new Map<number, PendingJob & { worker: number }>();
  private nextId = 0;
  private closed = false;

  private constructor(workers: Worker[]) {
    this.workers = workers;
    this.busy = workers.map(() => 0);
    workers.forEach((w, i) => {
      w.on('message', (msg: WorkerReply) => this.onMessage(i, msg));
      w.on('error', (err: Error) => this.failWorker(i, err));
      w.on('exit', (code) => {
        if (!this.closed) this.failWorker(i, new Error(`loader worker ${i} exited with code ${code}`));
      });
    });
  }

  /**
   * Starts `size` workers and waits until each has loaded the pipeline code.
   * @throws when a worker cannot start (the error says why)
   */
  static async create(spec: SamplePipelineSpec, size: number): Promise<SampleWorkerPool> {
    if (!(Number.isInteger(size) && size > 0)) throw new Error(`SampleWorkerPool: size must be a positive integer, got ${size}`);
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < size; i++) workers.push(startWorker(spec));
      await Promise.all(workers.map((w, i) => waitUntilReady(w, `loader worker ${i}`)));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new SampleWorkerPool(workers);
  }

  /** Number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /** Prepares one batch on the least busy worker. */
  run(items: BatchItem[], epoch: number): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new Error('SampleWorkerPool: the pool is closed'));
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i] < this.busy[worker]) worker = i;
    const id = this.nextId++;
    // Records may hold views of a dataset-wide slab: post copies of their own values only.
    const posted = items.map(({ index, record }) => ({
      index,
      record: { ...record, joints3d: ownedJoints(record.joints3d), joints3dVis: ownedJoints(record.joints3dVis) },
    }));
    const job: LoaderJob = { id, epoch, items: posted };
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      this.busy[worker]++;
      this.workers[worker].postMessage(job);
    });
  }

  /** Stops the workers; pending jobs fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id, job] of this.pending) {
      job.reject(new Error('SampleWorkerPool: closed while a batch was being prepared'));
      this.pending.delete(id);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(worker: number, msg: WorkerReply): void {
    if (msg.type === 'ready') return;
    const job = this.pending.get(msg.id);
    if (job === undefined) return;
    this.pending.delete(msg.id);
    this.busy[worker]--;
    if (msg.type === 'done') job.resolve(msg.result);
    else job.reject(new Error(`loader worker ${worker}: ${msg.message}`));
  }

  private failWorker(worker: number, err: Error): void {
    for (const [id, job] of this.pending) {
      if (job.worker !== worker) continue;
      this.pending.delete(id);
      job.reject(new Error(`loader worker ${worker} failed: ${err.message}`));
    }
    this.busy[worker] = Number.POSITIVE_INFINITY;
  }
}

/** Default worker count: one per core. */
export function defaultWorkerCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function checkOptions(opts: LoaderOptions): void {
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) {
    throw new Error(`createLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  if (opts.workers !== undefined && !(Number.isInteger(opts.workers) && opts.workers >= 0)) {
    throw new Error(`createLoader: workers must be an integer >= 0, got ${opts.workers}`);
  }
  if (opts.prefetch !== undefined && !(Number.isInteger(opts.prefetch) && opts.prefetch >= 1)) {
    throw new Error(`createLoader: prefetch must be an integer >= 1, got ${opts.prefetch}`);
  }
}

/**
 * The batches of one epoch of `dataset`. Iterating starts the workers (unless `pool` is given), keeps up to
 * `prefetch` batches in preparation while the consumer works on the current one, yields them in order, and at
 * the end (or on `break`) stops the workers it started. Skipped samples (missing or corrupt images) are warned
 * about one by one and summed up at the end of the epoch; a batch whose samples were all skipped is not yielded.
 * @param dataset samples to batch
 * @param opts batch size, shuffle, seed, epoch, workers, prefetch
 * @returns an async iterable of batches: images `[N, H, W, 3]`, target `[N, h, w, K]`, targetWeight `[N, K]`
 */
export function createLoader(dataset: JointsDataset, opts: LoaderOptions): DataLoader {
  checkOptions(opts);
  const onWarning = opts.onWarning ?? ((m: string) => console.warn(m));
  const length = dataset.length;
  const { batchSize, epoch } = opts;
  const numBatches = opts.dropLast === true ? Math.floor(length / batchSize) : Math.ceil(length / batchSize);
  const requestedWorkers = opts.pool !== undefined ? opts.pool.size : (opts.workers ?? defaultWorkerCount());
  const skipped: SkippedSample[] = [];
  let workersInUse = requestedWorkers;

  async function* iterate(): AsyncGenerator<Batch> {
    let pool = opts.pool;
    let ownPool = false;
    if (pool === undefined && requestedWorkers > 0) {
      try {
        pool = await SampleWorkerPool.create(dataset.spec, requestedWorkers);
        ownPool = true;
      } catch (err) {
        onWarning(`data loader: worker threads unavailable (${(err as Error).message}); preparing batches in-process`);
        workersInUse = 0;
      }
    }
    const prefetch = opts.prefetch ?? (pool !== undefined ? Math.max(2, 2 * pool.size) : 1);
    const order = epochOrder(length, opts.shuffle, opts.seed, epoch);
    const records = dataset.dataset.records;
    const itemsOf = (b: number): BatchItem[] => {
      const end = Math.min(length, (b + 1) * batchSize);
      const items: BatchItem[] = [];
      for (let p = b * batchSize; p < end; p++) items.push({ index: order[p], record: records[order[p]] });
      return items;
    };
    const runBatch = (b: number): Promise<BatchResult> =>
      pool !== undefined ? pool.run(itemsOf(b), epoch) : buildBatch(dataset.pipeline, itemsOf(b), epoch);

    const inFlight: Promise<BatchResult>[] = [];
    let next = 0;
    const pump = (): void => {
      while (inFlight.length < prefetch && next < numBatches) {
        const p = runBatch(next++);
        p.catch(() => undefined); // awaited in order below
        inFlight.push(p);
      }
    };
    try {
      pump();
      for (let b = 0; b < numBatches; b++) {
        const result = await (inFlight.shift() as Promise<BatchResult>);
        pump();
        for (const s of result.skipped) {
          skipped.push(s);
          onWarning(`data loader: epoch ${epoch}: skipping sample ${s.index}: ${s.reason}`);
        }
        if (result.size === 0) continue;
        yield toBatch(b, result, dataset.pipeline.sampleSizes);
      }
      if (skipped.length > 0) {
        onWarning(
          `data loader: epoch ${epoch}: ${skipped.length} sample(s) skipped because their image is missing or ` +
            `unreadable (${[...new Set(skipped.map((s) => s.imagePath))].slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''})`,
        );
      }
    } finally {
      if (ownPool && pool !== undefined) await pool.close();
    }
  }

  return {
    numBatches,
    skipped,
    get workers() {
      return workersInUse;
    },
    [Symbol.asyncIterator]: iterate,
  };
}

/** Views of the first `size` samples of a batch result. */
function toBatch(index: number, r: BatchResult, sizes: { image: number; target: number; targetWeight: number }): Batch {
  const n = r.size;
  const view = (a: Float32Array, per: number): Float32Array =>
    a.length === n * per ? a : new Float32Array(a.buffer, a.byteOffset, n * per);
  return {
    index,
    size: n,
    images: view(r.images, sizes.image),
    target: view(r.target, sizes.target),
    targetWeight: view(r.targetWeight, sizes.targetWeight),
    metas: r.metas,
  };
}

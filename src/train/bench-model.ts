/**
 * Model benchmarks: training images/s (train-mode forward + loss + backward + Adam step) and
 * inference images/s, each the median of several timed steps after warm-up, plus tensors leaked per
 * training step and an optional per-kernel profile of one training step.
 */
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema';
import { createPoseHRNet } from '../model/pose-hrnet';
import { jointsMseLoss } from './loss';
import { Adam } from './optim';
import { ReplicaPool } from './replicas';
import { planWebGpuReplicas, startReplicaProcesses } from './webgpu-replicas';
import { startTrainStep, trainStep } from './train-step';

/** Options of {@link benchmarkModel}. */
export interface ModelBenchmarkOptions {
  /** Training and inference batch size. */
  batch: number;
  /** Untimed steps first (default 2: the first steps grow the WASM heap). */
  warmup?: number;
  /** Timed steps (default 3). */
  steps?: number;
  /** Also profile one training step per kernel. */
  profile?: boolean;
  /**
   * Data-parallel replicas for the training and batch-N inference figures (default 1): the batch is
   * split between them, each on its own worker thread (see `replicas.ts`), or on WebGPU in a process
   * of its own on a GPU of its own, where GPUs 0… of Dawn's list are of one model (see
   * `planWebGpuReplicas`). Batch-1 inference runs on this thread. The profile is of one replica's share
   * of a training step.
   */
  replicas?: number;
}

/** One kernel's share of the profiled training step. */
export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

/** What {@link benchmarkModel} measured. */
export interface ModelBenchmarkResult {
  /** Replicas (worker threads, or processes on WebGPU) of the training figure; 1 is this thread. */
  replicas: number;
  /** Where the replicas ran, when there are several: `worker threads`, or the processes and their GPUs. */
  replicaPlacement?: string;
  trainImagesPerSecond: number;
  trainStepSeconds: number;
  /**
   * On WebGPU with one replica: the median time the host took to record a training step's commands (TF.js's ops,
   * the kernels' bind groups and dispatches), of the `trainStepSeconds` the step took in all. The device computes
   * behind the host, so no GPU makes a step shorter than this; where the two are close, the host holds it back.
   */
  trainRecordSeconds?: number;
  /**
   * On WebGPU with one replica: the seconds a step takes when each is recorded before the reads of the one before
   * are awaited, as `hrnet train` runs them on one device (the device computes a step while the host records the
   * next), over the timed steps.
   */
  trainOverlappedStepSeconds?: number;
  inferImagesPerSecondBatch1: number;
  inferImagesPerSecondBatchN: number;
  /** Tensors alive after a training step minus before it, once the optimizer state exists. */
  tensorsLeakedPerStep: number;
  /**
   * On WebGPU, this process's device after the training steps: the bytes of every buffer TF.js's pool holds, in
   * use or kept for reuse (about what the run holds on the GPU), and those in use between steps (the weights,
   * Adam's moments, the benchmark's batch).
   */
  gpuMemory?: { allocatedBytes: number; inUseBytes: number };
  profile?: KernelTime[];
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

async function timed(fn: () => void | Promise<void>, warmup: number, steps: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return median(times);
}

/**
 * Median seconds of the training steps, and of the part of each until `step` returns its promise. A step that
 * calls `trainStep` records all its work before that promise (its first wait is the loss read, which comes after
 * the optimizer step), so that part is the host's recording.
 */
async function timedTrainSteps(step: () => Promise<void>, warmup: number, steps: number): Promise<{ step: number; recorded: number }> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  const recorded: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = process.hrtime.bigint();
    const done = step();
    recorded.push(Number(process.hrtime.bigint() - t) / 1e9);
    await done;
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return { step: median(times), recorded: median(recorded) };
}

/** Mean seconds a step of `steps` in a row, each started before the reads of the one before are awaited. */
async function timedOverlapped(start: () => Promise<unknown>, warmup: number, steps: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await start();
  const t = process.hrtime.bigint();
  let previous: Promise<unknown> | undefined;
  for (let i = 0; i < steps; i++) {
    const current = start();
    current.catch(() => undefined);
    if (previous) await previous;
    previous = current;
  }
  await previous;
  return Number(process.hrtime.bigint() - t) / 1e9 / steps;
}

/**
 * Median seconds of a data-parallel training step of `n` random samples on `replicas` worker
 * threads, and of eval-mode heatmaps of the same `n` images split over the threads.
 */
async function timedDataParallel(config: Config, n: number, replicas: number, warmup: number, steps: number): Promise<{ train: number; infer: number; placement: string }> {
  const cfg: Config = { ...config, GPUS: Array.from({ length: replicas }, (_, i) => i) };
  // The replicas first: where they cannot start, nothing else has been made.
  const { pool, placement } = await benchmarkReplicas(cfg);
  try {
    const [w, h] = cfg.MODEL.IMAGE_SIZE;
    const [hw, hh] = cfg.MODEL.HEATMAP_SIZE;
    const k = cfg.MODEL.NUM_JOINTS;
    const random = [tf.randomNormal([n, h, w, 3], 0, 1, 'float32', 1), tf.randomUniform([n, hh, hw, k], 0, 1, 'float32', 2)];
    const [images, target] = (await Promise.all(random.map((t) => t.data()))) as Float32Array[];
    tf.dispose(random);
    const batch = { n, images, target, targetWeight: new Float32Array(n * k).fill(1) };
    const model = createPoseHRNet(cfg, { seed: 0 });
    const optimizer = new Adam(model.params.parameters(), { lr: 1e-3 });
    try {
      const train = await timed(async () => void (await pool.step(model, optimizer, batch)), warmup, steps);
      await pool.loadWeights(model);
      const infer = await timed(async () => void (await pool.heatmaps(batch.images, n)), warmup, steps);
      return { train, infer, placement };
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  } finally {
    await pool.close();
  }
}

/**
 * The replicas of `cfg` (one per entry of `GPUS`): worker threads, or on WebGPU one process per GPU where the
 * entries are GPUs of one model; other WebGPU plans are refused with the planner's reason (distinct adapters
 * train in one process, which this benchmark does not time).
 */
async function benchmarkReplicas(cfg: Config): Promise<{ pool: ReplicaPool; placement: string }> {
  if (tf.getBackend() !== 'webgpu') return { pool: await ReplicaPool.create(cfg), placement: 'worker threads' };
  const plan = await planWebGpuReplicas(cfg.GPUS);
  if (plan.kind !== 'processes') {
    const why = plan.kind === 'in-turn' ? plan.reason : 'they are distinct adapters, which train in one process, not timed here';
    throw new Error(`${cfg.GPUS.length} replicas on WebGPU are timed on GPUs 0…${cfg.GPUS.length - 1} of one model, a process each: ${why} (without --replicas, the benchmark times one GPU)`);
  }
  const { pool, where } = await startReplicaProcesses(cfg, plan.pinned);
  return { pool, placement: `processes, one GPU each: ${where}` };
}

/** Measures training and inference speed of the config's network on random data. */
export async function benchmarkModel(config: Config, opts: ModelBenchmarkOptions): Promise<ModelBenchmarkResult> {
  const warmup = opts.warmup ?? 2;
  const steps = opts.steps ?? 3;
  const n = opts.batch;
  const replicas = opts.replicas ?? 1;
  const [w, h] = config.MODEL.IMAGE_SIZE;
  const [hw, hh] = config.MODEL.HEATMAP_SIZE;
  const k = config.MODEL.NUM_JOINTS;
  const model = createPoseHRNet(config, { seed: 0 });
  const optimizer = new Adam(model.params.parameters(), { lr: 1e-3 });
  const images = tf.randomNormal([n, h, w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  // One replica's share of the batch for the in-process step (leak check, profile).
  const share = Math.ceil(n / replicas);
  const shareImages = tf.slice(images, [0, 0, 0, 0], [share, -1, -1, -1]) as tf.Tensor4D;
  const target = tf.randomUniform([share, hh, hw, k], 0, 1, 'float32', 2) as tf.Tensor4D;
  const targetWeight = tf.ones([share, k]) as tf.Tensor2D;
  const one = tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const loss = (o: tf.Tensor4D, t: tf.Tensor4D, wgt: tf.Tensor2D) => jointsMseLoss(o, t, wgt, true);
  const step = async () => void (await trainStep(model, optimizer, { images: shareImages, target, targetWeight }, loss));
  try {
    const parallel = replicas > 1 ? await timedDataParallel(config, n, replicas, warmup, steps) : undefined;
    let trainSeconds: number;
    let trainRecordSeconds: number | undefined;
    let trainOverlappedStepSeconds: number | undefined;
    if (parallel) {
      trainSeconds = parallel.train;
    } else {
      const t = await timedTrainSteps(step, warmup, steps);
      trainSeconds = t.step;
      if (tf.getBackend() === 'webgpu') {
        trainRecordSeconds = t.recorded;
        const batch = { images: shareImages, target, targetWeight };
        trainOverlappedStepSeconds = await timedOverlapped(() => startTrainStep(model, optimizer, batch, loss), 1, Math.max(steps, 2));
      }
    }
    if (replicas > 1) await step(); // creates the optimizer state before the leak check
    const before = tf.memory().numTensors;
    await step();
    const leaked = tf.memory().numTensors - before;
    const gpu = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
    const gpuMemory =
      gpu.numBytesAllocatedInGPU !== undefined && gpu.numBytesInGPU !== undefined ? { allocatedBytes: gpu.numBytesAllocatedInGPU, inUseBytes: gpu.numBytesInGPU } : undefined;
    const infer = (x: tf.Tensor4D) => async () => {
      const y = model.predict(x);
      await y.data();
      y.dispose();
    };
    // Batch N on the replica threads when there are some; batch 1 on this thread.
    const inferN = parallel ? parallel.infer : await timed(infer(images), warmup, steps);
    const infer1 = await timed(infer(one), warmup, steps);
    let profile: KernelTime[] | undefined;
    if (opts.profile) {
      const info = await tf.profile(step);
      const byKernel = new Map<string, KernelTime>();
      for (const kinfo of info.kernels) {
        const e = byKernel.get(kinfo.name) ?? { kernel: kinfo.name, ms: 0, calls: 0 };
        e.ms += Number(kinfo.kernelTimeMs);
        e.calls += 1;
        byKernel.set(kinfo.name, e);
      }
      profile = [...byKernel.values()].sort((a, b) => b.ms - a.ms);
    }
    return {
      replicas,
      replicaPlacement: parallel?.placement,
      trainImagesPerSecond: n / trainSeconds,
      trainStepSeconds: trainSeconds,
      trainRecordSeconds,
      trainOverlappedStepSeconds,
      inferImagesPerSecondBatch1: 1 / infer1,
      inferImagesPerSecondBatchN: n / inferN,
      tensorsLeakedPerStep: leaked,
      gpuMemory,
      profile,
    };
  } finally {
    tf.dispose([images, shareImages, target, targetWeight, one]);
    optimizer.dispose();
    model.dispose();
  }
}

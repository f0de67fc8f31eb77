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
import { trainStep } from './train-step';

/** Options of {@link benchmarkModel}. */
export interface ModelBenchmarkOptions {
  /** Training and inference batch size. */
  batch: number;
  /** Untimed steps first (default 1). */
  warmup?: number;
  /** Timed steps (default 3). */
  steps?: number;
  /** Also profile one training step per kernel. */
  profile?: boolean;
}

/** One kernel's share of the profiled training step. */
export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

/** What {@link benchmarkModel} measured. */
export interface ModelBenchmarkResult {
  trainImagesPerSecond: number;
  trainStepSeconds: number;
  inferImagesPerSecondBatch1: number;
  inferImagesPerSecondBatchN: number;
  /** Tensors alive after a training step minus before it, once the optimizer state exists. */
  tensorsLeakedPerStep: number;
  profile?: KernelTime[];
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function timed(fn: () => void, warmup: number, steps: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return median(times);
}

/** Measures training and inference speed of the config's network on random data. */
export async function benchmarkModel(config: Config, opts: ModelBenchmarkOptions): Promise<ModelBenchmarkResult> {
  const warmup = opts.warmup ?? 1;
  const steps = opts.steps ?? 3;
  const n = opts.batch;
  const [w, h] = config.MODEL.IMAGE_SIZE;
  const [hw, hh] = config.MODEL.HEATMAP_SIZE;
  const k = config.MODEL.NUM_JOINTS;
  const model = createPoseHRNet(config, { seed: 0 });
  const optimizer = new Adam(model.params.parameters(), { lr: 1e-3 });
  const images = tf.randomNormal([n, h, w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const target = tf.randomUniform([n, hh, hw, k], 0, 1, 'float32', 2) as tf.Tensor4D;
  const targetWeight = tf.ones([n, k]) as tf.Tensor2D;
  const one = tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const loss = (o: tf.Tensor4D, t: tf.Tensor4D, wgt: tf.Tensor2D) => jointsMseLoss(o, t, wgt, true);
  const step = () => void trainStep(model, optimizer, { images, target, targetWeight }, loss);
  try {
    const trainSeconds = timed(step, warmup, steps);
    const before = tf.memory().numTensors;
    step();
    const leaked = tf.memory().numTensors - before;
    const infer = (x: tf.Tensor4D) => () => {
      const y = model.predict(x);
      y.dataSync();
      y.dispose();
    };
    const inferN = timed(infer(images), warmup, steps);
    const infer1 = timed(infer(one), warmup, steps);
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
      trainImagesPerSecond: n / trainSeconds,
      trainStepSeconds: trainSeconds,
      inferImagesPerSecondBatch1: 1 / infer1,
      inferImagesPerSecondBatchN: n / inferN,
      tensorsLeakedPerStep: leaked,
      profile,
    };
  } finally {
    tf.dispose([images, target, targetWeight, one]);
    optimizer.dispose();
    model.dispose();
  }
}

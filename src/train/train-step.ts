/**
 * One optimisation step: train-mode forward (BatchNorm with batch statistics, running statistics
 * updated), loss, backward, optimizer update. Every tensor it makes is disposed before it returns.
 */
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema';
import type { PoseHRNet } from '../model/pose-hrnet';
import type { HeatmapLoss } from './loss';
import type { Optimizer } from './optim';

export type { HeatmapLoss } from './loss';

/** A training batch. */
export interface TrainBatch {
  /** Normalised images `[N, H, W, 3]`. */
  images: tf.Tensor4D;
  /** Target heatmaps `[N, H/4, W/4, K]`. */
  target: tf.Tensor4D;
  /** Joint weights `[N, K]`. */
  targetWeight: tf.Tensor2D;
}


/** A batch in host memory, as the loader delivers it (buffers may be longer than `n` samples). */
export interface HostBatch {
  n: number;
  /** `[n, H, W, 3]` normalised images. */
  images: Float32Array;
  /** `[n, h, w, K]` target heatmaps. */
  target: Float32Array;
  /** `[n, K]` joint weights. */
  targetWeight: Float32Array;
}

/**
 * The tensors of a host batch for a config's image and heatmap sizes and joint count; the
 * caller disposes them.
 */
export function hostBatchTensors(batch: HostBatch, config: Pick<Config, 'MODEL'>): TrainBatch {
  const { n } = batch;
  const [w, h] = config.MODEL.IMAGE_SIZE;
  const [hw, hh] = config.MODEL.HEATMAP_SIZE;
  const k = config.MODEL.NUM_JOINTS;
  return {
    images: tf.tensor4d(batch.images.subarray(0, n * h * w * 3), [n, h, w, 3]),
    target: tf.tensor4d(batch.target.subarray(0, n * hh * hw * k), [n, hh, hw, k]),
    targetWeight: tf.tensor2d(batch.targetWeight.subarray(0, n * k), [n, k]),
  };
}

/** Values per sample in each buffer of a {@link HostBatch}: image, target heatmaps (also the output's), joint weights. */
export function perSample(config: Pick<Config, 'MODEL'>): { images: number; target: number; weight: number } {
  const [w, h] = config.MODEL.IMAGE_SIZE;
  const [hw, hh] = config.MODEL.HEATMAP_SIZE;
  const k = config.MODEL.NUM_JOINTS;
  return { images: h * w * 3, target: hh * hw * k, weight: k };
}

/** What one step measured. */
export interface TrainStepResult {
  loss: number;
  /** Predicted heatmaps `[N, h, w, K]`, only when `keepOutput` was asked for; the caller disposes it. */
  output?: tf.Tensor4D;
}

/** Gradients of the loss on one batch: the loss value, a gradient per parameter name, the heatmaps. */
export interface BatchGradients {
  loss: number;
  /** By official parameter name; the caller disposes them. */
  grads: tf.NamedTensorMap;
  /** Predicted heatmaps `[N, h, w, K]`, only when `keepOutput` was asked for; the caller disposes it. */
  output?: tf.Tensor4D;
}

/** {@link BatchGradients} before its loss is read: the loss as a scalar tensor, which the caller disposes. */
export interface RecordedGradients {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
  output?: tf.Tensor4D;
}

/**
 * Records the train-mode forward, loss and backward on one batch, reading nothing (on a GPU the work is queued,
 * not done, when this returns).
 */
export function recordGradients(model: PoseHRNet, batch: TrainBatch, loss: HeatmapLoss, keepOutput = false): RecordedGradients {
  const params = model.params.parameters();
  let output: tf.Tensor4D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(batch.images, { training: true });
    if (keepOutput) output = tf.keep(out.clone());
    return loss(out, batch.target, batch.targetWeight);
  }, params.map((p) => p.variable));
  const named: tf.NamedTensorMap = {};
  for (const p of params) {
    const g = grads[p.variable.name];
    if (g === undefined) {
      tf.dispose([value, ...Object.values(grads)]);
      output?.dispose();
      throw new Error(`no gradient for ${p.name}`);
    }
    named[p.name] = g;
  }
  return { value, grads: named, output };
}

/**
 * Train-mode forward (BatchNorm with batch statistics, running statistics updated), loss and
 * backward on one batch, without an optimizer step. The loss is read asynchronously.
 * @param keepOutput also return the predicted heatmaps
 */
export async function computeGradients(model: PoseHRNet, batch: TrainBatch, loss: HeatmapLoss, keepOutput = false): Promise<BatchGradients> {
  const { value, grads, output } = recordGradients(model, batch, loss, keepOutput);
  try {
    return { loss: (await value.data())[0], grads, output };
  } catch (e) {
    tf.dispose(Object.values(grads));
    output?.dispose();
    throw e;
  } finally {
    value.dispose();
  }
}

/**
 * Records one training step (forward, loss, backward, optimizer step) and returns the loss tensor and, with
 * `keepOutput`, the heatmaps; the caller disposes both. Reads nothing.
 */
function recordTrainStep(model: PoseHRNet, optimizer: Optimizer, batch: TrainBatch, loss: HeatmapLoss, keepOutput: boolean): { value: tf.Scalar; output?: tf.Tensor4D } {
  const { value, grads, output } = recordGradients(model, batch, loss, keepOutput);
  try {
    optimizer.step(grads);
  } catch (e) {
    value.dispose();
    output?.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(grads));
  }
  return { value, output };
}

/**
 * Runs one training step and returns the loss. The loss is read after the optimizer step is recorded, as the
 * official code reads `loss.item()` after `optimizer.step()`: on a GPU the whole step is queued before the
 * host waits, and the device computes the forward and backward while the host records the update.
 * @param keepOutput also return the predicted heatmaps (for the training accuracy and pictures)
 */
export async function trainStep(
  model: PoseHRNet,
  optimizer: Optimizer,
  batch: TrainBatch,
  loss: HeatmapLoss,
  keepOutput = false,
): Promise<TrainStepResult> {
  const { value, output } = recordTrainStep(model, optimizer, batch, loss, keepOutput);
  try {
    return { loss: (await value.data())[0], output };
  } catch (e) {
    output?.dispose();
    throw e;
  } finally {
    value.dispose();
  }
}

/**
 * Records one training step and starts reading its loss and heatmaps `[n, h, w, K]`, both at once. The whole
 * step is recorded when this returns (it throws, rather than rejects, where recording fails), so a caller may
 * record the next step before awaiting this one's reads: on a GPU the device then computes a step while the
 * host records the next. The values are those of {@link trainStep}.
 */
export function startTrainStep(model: PoseHRNet, optimizer: Optimizer, batch: TrainBatch, loss: HeatmapLoss): Promise<{ loss: number; output: Float32Array }> {
  const { value, output } = recordTrainStep(model, optimizer, batch, loss, true);
  const heatmaps = output as tf.Tensor4D;
  return Promise.all([value.data(), heatmaps.data()])
    .then(([l, o]) => ({ loss: l[0], output: o as Float32Array }))
    .finally(() => tf.dispose([value, heatmaps]));
}

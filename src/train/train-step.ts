/**
 * One optimisation step: train-mode forward (BatchNorm with batch statistics, running statistics
 * updated), loss, backward, optimizer update. Every tensor it makes is disposed before it returns.
 */
import * as tf from '@tensorflow/tfjs';
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


/** What one step measured. */
export interface TrainStepResult {
  loss: number;
  /** Predicted heatmaps `[N, h, w, K]`, only when `keepOutput` was asked for; the caller disposes it. */
  output?: tf.Tensor4D;
}

/**
 * Runs one training step and returns the loss.
 * @param keepOutput also return the predicted heatmaps (for the training accuracy and pictures)
 */
export function trainStep(
  model: PoseHRNet,
  optimizer: Optimizer,
  batch: TrainBatch,
  loss: HeatmapLoss,
  keepOutput = false,
): TrainStepResult {
  const params = model.params.parameters();
  const nameOf = new Map(params.map((p) => [p.variable.name, p.name]));
  let output: tf.Tensor4D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(batch.images, { training: true });
    if (keepOutput) output = tf.keep(out.clone());
    return loss(out, batch.target, batch.targetWeight);
  }, params.map((p) => p.variable));
  try {
    const named: tf.NamedTensorMap = {};
    for (const [varName, g] of Object.entries(grads)) {
      const name = nameOf.get(varName);
      if (name === undefined) throw new Error(`gradient for an unknown variable ${varName}`);
      named[name] = g;
    }
    optimizer.step(named);
    return { loss: value.dataSync()[0], output };
  } finally {
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
  }
}

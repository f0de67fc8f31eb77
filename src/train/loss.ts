/**
 * Heatmap losses of the official HRNet code (`lib/core/loss.py`), on NHWC tensors.
 *
 * - `jointsMseLoss`      ↔ `JointsMSELoss(use_target_weight)`
 * - `jointsOhkmMseLoss`  ↔ `JointsOHKMMSELoss(use_target_weight, topk)` (online hard keypoint mining)
 *
 * The official code works on NCHW heatmaps `[N, K, H, W]`; here heatmaps are NHWC `[N, H, W, K]`
 * (K = number of joints, in the channel axis). Target weights are `[N, K]` or `[N, K, 1]` (the
 * official layout); both are accepted. All functions are differentiable with `tf.grad`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema';

/**
 * Reshapes target weights to broadcast against NHWC heatmaps.
 * @param targetWeight `[N, K]` or `[N, K, 1]`
 * @param n batch size of the heatmaps
 * @param k joint count of the heatmaps
 * @param fn name of the calling loss, for error messages
 * @returns `[N, 1, 1, K]`
 */
function weightsAsNhwc(targetWeight: tf.Tensor, n: number, k: number, fn: string): tf.Tensor4D {
  const s = targetWeight.shape;
  const ok = (s.length === 2 || (s.length === 3 && s[2] === 1)) && s[0] === n && s[1] === k;
  if (!ok) {
    throw new Error(
      `${fn}: targetWeight must be [N, K] or [N, K, 1] = [${n}, ${k}] or [${n}, ${k}, 1] ` +
        `for heatmaps [N, H, W, K] with N=${n}, K=${k}; got [${s.join(', ')}]`,
    );
  }
  return tf.reshape(targetWeight, [n, 1, 1, k]);
}

/** Checks that prediction and target heatmaps are NHWC and of equal shape. */
function checkHeatmaps(output: tf.Tensor, target: tf.Tensor, fn: string): void {
  if (output.rank !== 4) {
    throw new Error(`${fn}: output must be heatmaps [N, H, W, K]; got shape [${output.shape.join(', ')}]`);
  }
  if (!tf.util.arraysEqual(output.shape, target.shape)) {
    throw new Error(
      `${fn}: target must have the shape of output [${output.shape.join(', ')}]; ` +
        `got [${target.shape.join(', ')}]`,
    );
  }
}

/**
 * Joint-weighted heatmap MSE, the official `JointsMSELoss`:
 * `mean over joints k of 0.5 · MSE(pred_k · w_k, gt_k · w_k)`, each MSE a mean over batch and pixels.
 * As every joint has the same number of elements, this equals
 * `0.5 · mean over all N·H·W·K elements of (w · (pred − gt))²`, which is what is computed (one reduction).
 *
 * @param output predicted heatmaps `[N, H, W, K]`
 * @param target ground-truth heatmaps `[N, H, W, K]`
 * @param targetWeight per-sample joint weights `[N, K]` or `[N, K, 1]`; ignored unless `useTargetWeight`
 * @param useTargetWeight multiply both heatmaps by the joint weight (`LOSS.USE_TARGET_WEIGHT`)
 * @returns the loss, a scalar
 */
export function jointsMseLoss(
  output: tf.Tensor,
  target: tf.Tensor,
  targetWeight: tf.Tensor,
  useTargetWeight: boolean,
): tf.Scalar {
  checkHeatmaps(output, target, 'jointsMseLoss');
  const [n, , , k] = output.shape;
  return tf.tidy(() => {
    let diff: tf.Tensor = tf.sub(output, target);
    if (useTargetWeight) diff = tf.mul(diff, weightsAsNhwc(targetWeight, n, k, 'jointsMseLoss'));
    return tf.mul(tf.mean(tf.square(diff)), 0.5) as tf.Scalar;
  });
}

/**
 * Mean of the `topk` largest entries of each row, then mean over rows — the official `ohkm`
 * reduction. The selection is treated as constant for the gradient (as `torch.topk` + `gather`).
 * @param perJointLoss `[N, K]`
 * @param topk number of joints kept per sample, `1 ≤ topk ≤ K`
 * @returns a scalar
 */
function ohkmReduce(perJointLoss: tf.Tensor2D, topk: number): tf.Scalar {
  const [n, k] = perJointLoss.shape;
  const scale = 1 / (topk * n);
  const reduce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const loss = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const { values, indices } = tf.topk(loss, topk);
    // mask [N, K]: 1 for the joints selected in each row
    const mask = tf.sum(tf.oneHot(indices, k, 1, 0, 'float32'), 1);
    save([mask]);
    // official: per sample sum(top-k) / topk, summed over samples, then / N
    const value = tf.div(tf.sum(tf.div(tf.sum(values, 1), topk)), n);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], tf.mul(dy, scale)),
    };
  });
  return reduce(perJointLoss) as tf.Scalar;
}

/**
 * Online hard keypoint mining MSE, the official `JointsOHKMMSELoss`:
 * per sample and joint `l[n, k] = 0.5 · mean over pixels of (w · (pred − gt))²` (w = 1 when
 * `useTargetWeight` is false), then per sample the mean of its `topk` largest `l[n, ·]`, then the
 * mean over the batch.
 *
 * @param output predicted heatmaps `[N, H, W, K]`
 * @param target ground-truth heatmaps `[N, H, W, K]`
 * @param targetWeight per-sample joint weights `[N, K]` or `[N, K, 1]`; ignored unless `useTargetWeight`
 * @param useTargetWeight multiply both heatmaps by the joint weight (`LOSS.USE_TARGET_WEIGHT`)
 * @param topk number of hardest joints kept per sample (`LOSS.TOPK`, default 8), `1 ≤ topk ≤ K`
 * @returns the loss, a scalar
 */
export function jointsOhkmMseLoss(
  output: tf.Tensor,
  target: tf.Tensor,
  targetWeight: tf.Tensor,
  useTargetWeight: boolean,
  topk = 8,
): tf.Scalar {
  checkHeatmaps(output, target, 'jointsOhkmMseLoss');
  const [n, , , k] = output.shape;
  if (!Number.isInteger(topk) || topk < 1 || topk > k) {
    throw new Error(`jointsOhkmMseLoss: topk must be an integer in [1, ${k}] (K joints); got ${topk}`);
  }
  return tf.tidy(() => {
    let diff: tf.Tensor = tf.sub(output, target);
    if (useTargetWeight) diff = tf.mul(diff, weightsAsNhwc(targetWeight, n, k, 'jointsOhkmMseLoss'));
    const perJoint = tf.mul(tf.mean(tf.square(diff), [1, 2]), 0.5) as tf.Tensor2D; // [N, K]
    return ohkmReduce(perJoint, topk);
  });
}

/** Loss of predicted heatmaps `[N, h, w, K]` against targets and joint weights `[N, K]`. */
export type HeatmapLoss = (output: tf.Tensor4D, target: tf.Tensor4D, targetWeight: tf.Tensor2D) => tf.Scalar;

/** The loss the config asks for: `LOSS.USE_OHKM` (with `TOPK`) or the joint-weighted MSE. */
export function lossOfConfig(config: Pick<Config, 'LOSS'>): HeatmapLoss {
  const { USE_OHKM, USE_TARGET_WEIGHT, TOPK } = config.LOSS;
  return USE_OHKM
    ? (o, t, w) => jointsOhkmMseLoss(o, t, w, USE_TARGET_WEIGHT, TOPK)
    : (o, t, w) => jointsMseLoss(o, t, w, USE_TARGET_WEIGHT);
}

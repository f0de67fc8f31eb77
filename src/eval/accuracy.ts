/**
 * The official training accuracy (`core.evaluate.accuracy`, PCK on heatmaps): per joint, the
 * fraction of samples whose predicted argmax lies within 0.5 of the ground-truth argmax, distances
 * normalised by a tenth of the heatmap size; joints whose target is empty are not counted.
 */
import { getMaxPreds } from '../codec/argmax';

/** Result of {@link heatmapAccuracy}. */
export interface HeatmapAccuracy {
  /** Mean over joints that had at least one counted sample (the official `avg_acc`). */
  average: number;
  /** `[K]` per-joint accuracy, −1 where nothing was counted. */
  perJoint: number[];
  /** Joints that contributed to the average. */
  count: number;
}

/**
 * @param output predicted heatmaps `[N, K, H, W]` (NCHW)
 * @param target target heatmaps `[N, K, H, W]`
 * @param shape `[N, K, H, W]`
 * @param threshold normalised distance threshold (official 0.5)
 */
export function heatmapAccuracy(
  output: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: [number, number, number, number],
  threshold = 0.5,
): HeatmapAccuracy {
  const [n, k, h, w] = shape;
  const pred = getMaxPreds(output, shape).preds;
  const gt = getMaxPreds(target, shape).preds;
  // As official: the normaliser is [h, w] / 10 applied to (x, y), i.e. x by h/10 and y by w/10.
  const normX = h / 10;
  const normY = w / 10;
  const perJoint: number[] = [];
  let sum = 0;
  let count = 0;
  for (let j = 0; j < k; j++) {
    let hit = 0;
    let seen = 0;
    for (let b = 0; b < n; b++) {
      const i = (b * k + j) * 2;
      // The official code counts a joint when its target argmax is > 1 in both coordinates.
      if (!(gt[i] > 1 && gt[i + 1] > 1)) continue;
      const d = Math.hypot((pred[i] - gt[i]) / normX, (pred[i + 1] - gt[i + 1]) / normY);
      seen++;
      if (d < threshold) hit++;
    }
    if (seen > 0) {
      perJoint.push(hit / seen);
      sum += hit / seen;
      count++;
    } else {
      perJoint.push(-1);
    }
  }
  return { average: count > 0 ? sum / count : 0, perJoint, count };
}

/**
 * Object keypoint similarity (OKS), the keypoint counterpart of box IoU.
 *
 * Two formulas exist and both are kept exactly:
 * - {@link oksAgainstGroundTruth}: pycocotools `COCOeval.computeOks`, a detection against a labelled
 *   ground truth, normalised by the ground truth's `area` field;
 * - {@link oksIou}: the official HRNet `nms.oks_iou`, one person against others during OKS NMS,
 *   normalised by the mean of the two areas.
 *
 * Keypoint arrays are flat `[x0, y0, v0, x1, y1, v1, …]` (`3K` values) as in COCO files.
 */

import { COCO_KPT_OKS_SIGMAS } from '../data/keypoint-meta';

export { COCO_KPT_OKS_SIGMAS } from '../data/keypoint-meta';

/** `np.spacing(1)`: the ε added to every area before dividing by it. */
export const OKS_AREA_EPS = 2.220446049250313e-16;

/**
 * Per-keypoint variances `(2σ)²`.
 * @param sigmas OKS sigmas `[K]`.
 * @returns `[K]`.
 */
export function oksVariances(sigmas: readonly number[]): number[] {
  return sigmas.map((s) => {
    const twoSigma = s * 2;
    return twoSigma * twoSigma;
  });
}

/** A ground-truth person as `computeOks` needs it. */
export interface OksGroundTruth {
  /** Flat keypoints `[3K]`: x, y, visibility (v > 0 means labelled). */
  keypoints: readonly number[];
  /** The annotation's `area` field (segment area, not the box). */
  area: number;
  /** Box `[x, y, w, h]`; used only when no keypoint is labelled. */
  bbox: readonly number[];
}

/**
 * OKS of one detection against one ground truth, as pycocotools `computeOks` computes each matrix entry.
 *
 * `e = (dx² + dy²) / (2σ)² / (area + ε) / 2`, OKS = mean of `exp(−e)` over the ground truth's labelled
 * keypoints (v > 0). A ground truth without labelled keypoints uses, for every keypoint, the distance
 * outside its box enlarged by one width/height on each side (`[x − w, x + 2w]`), averaged over all K.
 *
 * @param gt ground truth with keypoints `[3K]`.
 * @param dtKeypoints detection keypoints `[3K]` (the third value of each triple is not used).
 * @param variances `(2σ)²` per keypoint `[K]` (see {@link oksVariances}).
 */
export function oksAgainstGroundTruth(
  gt: OksGroundTruth,
  dtKeypoints: readonly number[],
  variances: readonly number[],
): number {
  const k = variances.length;
  const g = gt.keypoints;
  let labelled = 0;
  for (let j = 0; j < k; j++) if (g[3 * j + 2] > 0) labelled++;
  const denom = gt.area + OKS_AREA_EPS;
  let sum = 0;
  if (labelled > 0) {
    for (let j = 0; j < k; j++) {
      if (!(g[3 * j + 2] > 0)) continue;
      const dx = dtKeypoints[3 * j] - g[3 * j];
      const dy = dtKeypoints[3 * j + 1] - g[3 * j + 1];
      const e = (dx * dx + dy * dy) / variances[j] / denom / 2;
      sum += Math.exp(-e);
    }
    return sum / labelled;
  }
  const [bx, by, bw, bh] = gt.bbox;
  const x0 = bx - bw;
  const x1 = bx + bw * 2;
  const y0 = by - bh;
  const y1 = by + bh * 2;
  for (let j = 0; j < k; j++) {
    const xd = dtKeypoints[3 * j];
    const yd = dtKeypoints[3 * j + 1];
    const dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
    const dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
    const e = (dx * dx + dy * dy) / variances[j] / denom / 2;
    sum += Math.exp(-e);
  }
  return sum / k;
}

/**
 * OKS between one person and several others, as the official HRNet `nms.oks_iou`.
 *
 * `e = (dx² + dy²) / (2σ)² / ((areaG + areaD) / 2 + ε) / 2`, mean of `exp(−e)` over all K keypoints.
 * The official code holds keypoints as float32, so the coordinate differences, their squares and their
 * sum are rounded to float32 here too before the float64 division.
 * With `inVisThre`, only the keypoints whose score in `d` exceeds it count (the official mask
 * `list(vg > t) and list(vd > t)` reduces to the detection's mask); when none does, the OKS is 0.
 *
 * @param g the reference person, flat keypoints `[3K]` (x, y, score).
 * @param d the other persons, `[N][3K]`.
 * @param areaG area of `g`.
 * @param areas areas of `d`, `[N]`.
 * @param sigmas OKS sigmas `[K]`; the COCO sigmas when omitted.
 * @param inVisThre optional keypoint-score threshold.
 * @returns OKS per person of `d`, `[N]`.
 */
export function oksIou(
  g: readonly number[],
  d: readonly (readonly number[])[],
  areaG: number,
  areas: readonly number[],
  sigmas: readonly number[] = COCO_KPT_OKS_SIGMAS,
  inVisThre?: number,
): number[] {
  const k = sigmas.length;
  if (g.length !== 3 * k) {
    throw new Error(`oksIou: reference keypoints have ${g.length} values, expected 3 × ${k} sigmas = ${3 * k}`);
  }
  if (areas.length !== d.length) {
    throw new Error(`oksIou: ${d.length} persons but ${areas.length} areas`);
  }
  const variances = oksVariances(sigmas);
  const f32 = Math.fround;
  return d.map((kd, n) => {
    if (kd.length !== 3 * k) {
      throw new Error(`oksIou: person ${n} has ${kd.length} keypoint values, expected ${3 * k}`);
    }
    const denom = (areaG + areas[n]) / 2 + OKS_AREA_EPS;
    let sum = 0;
    let count = 0;
    for (let j = 0; j < k; j++) {
      if (inVisThre !== undefined && !(kd[3 * j + 2] > inVisThre)) continue;
      const dx = f32(kd[3 * j] - g[3 * j]);
      const dy = f32(kd[3 * j + 1] - g[3 * j + 1]);
      const dist2 = f32(f32(dx * dx) + f32(dy * dy));
      const e = dist2 / variances[j] / denom / 2;
      sum += Math.exp(-e);
      count++;
    }
    return count === 0 ? 0 : sum / count;
  });
}

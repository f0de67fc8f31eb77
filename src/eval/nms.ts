/**
 * OKS non-maximum suppression of person poses and the COCO rescoring that precedes it, as the official
 * HRNet `lib/nms/nms.py` (`oks_nms`, `soft_oks_nms`) and `COCODataset.evaluate`.
 */
import type { CocoKeypointResult } from '../data/coco-format';
import { COCO_KPT_OKS_SIGMAS, oksIou } from './oks';
import { rescorePerson } from './rescore';

export { oksIou } from './oks';

/** One candidate pose of an image. */
export interface KeypointCandidate {
  /** Keypoints `[K][3]`: x, y, score. */
  keypoints: readonly (readonly number[])[];
  /** Candidate score (ranks the candidates). */
  score: number;
  /** Person area (the official pipeline uses the box area `(scale · 200)` w × h). */
  area: number;
}

/** Soft-NMS keeps at most this many candidates (`max_dets` in the official code). */
export const SOFT_OKS_NMS_MAX_DETS = 20;

function flattenKeypoints(kptsDb: readonly KeypointCandidate[], numKeypoints: number): number[][] {
  return kptsDb.map((c, i) => {
    if (c.keypoints.length !== numKeypoints) {
      throw new Error(
        `kptsDb[${i}].keypoints: ${c.keypoints.length} keypoints, expected ${numKeypoints} (one per OKS sigma)`,
      );
    }
    return c.keypoints.flatMap((kp, j) => {
      if (kp.length < 3) throw new Error(`kptsDb[${i}].keypoints[${j}]: expected [x, y, score]`);
      return [kp[0], kp[1], kp[2]];
    });
  });
}

/**
 * Indices sorted by score descending as numpy `scores.argsort()[::-1]`: equal scores come out with the
 * later position first (the reverse of a stable ascending sort).
 * @param scores `[N]`.
 * @returns positions `[N]`.
 */
function descendingOrder(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || b - a);
}

/**
 * Greedy OKS NMS (official `oks_nms`): keep the highest-scoring candidate, drop every remaining one whose
 * OKS with it exceeds `thresh`, repeat.
 * @param kptsDb candidates `[N]`, keypoints `[K][3]` each.
 * @param thresh OKS threshold (a candidate survives when OKS ≤ thresh).
 * @param sigmas OKS sigmas `[K]`; the COCO sigmas when omitted.
 * @param inVisThre optional keypoint-score threshold for the OKS (see {@link oksIou}).
 * @returns kept candidate indices in selection order.
 */
export function oksNms(
  kptsDb: readonly KeypointCandidate[],
  thresh: number,
  sigmas: readonly number[] = COCO_KPT_OKS_SIGMAS,
  inVisThre?: number,
): number[] {
  if (kptsDb.length === 0) return [];
  const kpts = flattenKeypoints(kptsDb, sigmas.length);
  const areas = kptsDb.map((c) => c.area);
  let order = descendingOrder(kptsDb.map((c) => c.score));
  const keep: number[] = [];
  while (order.length > 0) {
    const i = order[0];
    keep.push(i);
    const rest = order.slice(1);
    const ovr = oksIou(
      kpts[i],
      rest.map((j) => kpts[j]),
      areas[i],
      rest.map((j) => areas[j]),
      sigmas,
      inVisThre,
    );
    order = rest.filter((_, n) => ovr[n] <= thresh);
  }
  return keep;
}

/**
 * Soft OKS NMS (official `soft_oks_nms`): nothing is dropped by threshold; after each pick the remaining
 * scores are multiplied by `exp(−oks² / thresh)` and re-sorted. At most `maxDets` (20) picks are returned.
 * @param kptsDb candidates `[N]`, keypoints `[K][3]` each.
 * @param thresh rescoring parameter.
 * @param sigmas OKS sigmas `[K]`; the COCO sigmas when omitted.
 * @param inVisThre optional keypoint-score threshold for the OKS.
 * @param maxDets cap on the number of picks (official: 20).
 * @returns picked candidate indices in selection order `[≤ maxDets]`.
 */
export function softOksNms(
  kptsDb: readonly KeypointCandidate[],
  thresh: number,
  sigmas: readonly number[] = COCO_KPT_OKS_SIGMAS,
  inVisThre?: number,
  maxDets = SOFT_OKS_NMS_MAX_DETS,
): number[] {
  return softOksNmsWithScores(kptsDb, thresh, sigmas, inVisThre, maxDets).keep;
}

/**
 * {@link softOksNms} that also returns the rescored score each pick had when it was picked.
 * @returns `keep` `[M]` and `scores` `[M]` (float64).
 */
export function softOksNmsWithScores(
  kptsDb: readonly KeypointCandidate[],
  thresh: number,
  sigmas: readonly number[] = COCO_KPT_OKS_SIGMAS,
  inVisThre?: number,
  maxDets = SOFT_OKS_NMS_MAX_DETS,
): { keep: number[]; scores: number[] } {
  if (kptsDb.length === 0) return { keep: [], scores: [] };
  const kpts = flattenKeypoints(kptsDb, sigmas.length);
  const areas = kptsDb.map((c) => c.area);
  const initial = kptsDb.map((c) => c.score);
  let order = descendingOrder(initial);
  let scores = order.map((i) => initial[i]);
  const keep: number[] = [];
  const keptScores: number[] = [];
  while (order.length > 0 && keep.length < maxDets) {
    const i = order[0];
    const rest = order.slice(1);
    const ovr = oksIou(
      kpts[i],
      rest.map((j) => kpts[j]),
      areas[i],
      rest.map((j) => areas[j]),
      sigmas,
      inVisThre,
    );
    keep.push(i);
    keptScores.push(scores[0]);
    // Gaussian rescoring (official `rescore(..., type='gaussian')`).
    const rescored = scores.slice(1).map((s, n) => s * Math.exp(-(ovr[n] * ovr[n]) / thresh));
    const tmp = descendingOrder(rescored);
    order = tmp.map((n) => rest[n]);
    scores = tmp.map((n) => rescored[n]);
  }
  return { keep, scores: keptScores };
}

/** One person prediction of the evaluation pass (official `_kpts` entry). */
export interface PredictedInstance {
  /** Image the person belongs to. */
  imageId: number;
  /** Predicted keypoints in image coordinates `[K][3]`: x, y, heatmap maximum. */
  keypoints: readonly (readonly number[])[];
  /** Box center `[2]`. */
  center: readonly number[];
  /** Box scale `[2]` in units of 200 px. */
  scale: readonly number[];
  /** Box area `(scale · 200)` w × h, used by the NMS. */
  area: number;
  /** Detector box score. */
  score: number;
}

/** Options of {@link rescoreAndNms} (the official `TEST.IN_VIS_THRE`, `TEST.OKS_THRE`, `TEST.SOFT_NMS`). */
export interface RescoreNmsOptions {
  /** Keypoints scoring above this count in the person's keypoint score. */
  inVisThre: number;
  /** OKS threshold of the NMS (or the soft-NMS rescoring parameter). */
  oksThre: number;
  /** Soft OKS NMS instead of greedy OKS NMS. */
  softNms: boolean;
  /** OKS sigmas `[K]`; the COCO sigmas when omitted. */
  sigmas?: readonly number[];
  /** Category id written into the results (default 1, person). */
  categoryId?: number;
}

/**
 * The official `COCODataset.evaluate` post-processing: each person is rescored ({@link rescorePerson}: the box
 * score × the mean of its keypoint scores above `inVisThre`, 0 when none is), then OKS NMS per image; the
 * survivors become COCO results, images in order of first appearance, persons in NMS selection order.
 * @param preds person predictions `[N]`, keypoints `[K][3]` each.
 */
export function rescoreAndNms(preds: readonly PredictedInstance[], opts: RescoreNmsOptions): CocoKeypointResult[] {
  const sigmas = opts.sigmas ?? COCO_KPT_OKS_SIGMAS;
  const categoryId = opts.categoryId ?? 1;
  const byImage = new Map<number, { pred: PredictedInstance; score: number }[]>();
  preds.forEach((pred, n) => {
    if (pred.keypoints.length !== sigmas.length) {
      throw new Error(
        `preds[${n}].keypoints: ${pred.keypoints.length} keypoints, expected ${sigmas.length} (one per OKS sigma)`,
      );
    }
    const list = byImage.get(pred.imageId) ?? [];
    list.push({ pred, score: rescorePerson(pred.keypoints.map((kp) => kp[2]), pred.score, opts.inVisThre) });
    byImage.set(pred.imageId, list);
  });
  const results: CocoKeypointResult[] = [];
  for (const [imageId, persons] of byImage) {
    const db: KeypointCandidate[] = persons.map((p) => ({
      keypoints: p.pred.keypoints,
      score: p.score,
      area: p.pred.area,
    }));
    const keep = opts.softNms ? softOksNms(db, opts.oksThre, sigmas) : oksNms(db, opts.oksThre, sigmas);
    for (const i of keep) {
      const { pred, score } = persons[i];
      results.push({
        image_id: imageId,
        category_id: categoryId,
        keypoints: pred.keypoints.flatMap((kp) => [kp[0], kp[1], kp[2]]),
        score,
        center: [...pred.center],
        scale: [...pred.scale],
      });
    }
  }
  return results;
}

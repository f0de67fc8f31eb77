/**
 * The inner loops of COCO keypoint evaluation, pycocotools `evaluateImg` + `accumulate`, over columns instead of
 * per-detection objects: the detections of every image are matched into typed arrays that accumulation reads in
 * place (no per-image lists of lists, no copies of the results, no concatenation). Same arithmetic, same order
 * of operations as pycocotools: see `coco-eval.ts` for what the numbers depend on.
 */
import { oksAgainstGroundTruth, type OksGroundTruth } from './oks';

/** `np.spacing(1)`, added to the precision denominator. */
const PRECISION_EPS = 2.220446049250313e-16;

/** The detections of a results file, as columns (row `i` = `results[i]`). */
export interface DetectionColumns {
  /** `[N]` image ids. */
  imageId: Float64Array;
  /** `[N]` category ids. */
  categoryId: Float64Array;
  /** `[N]` scores. */
  score: Float64Array;
  /** `[N]` keypoint extents `(max x − min x)·(max y − min y)` (pycocotools `loadRes` area). */
  area: Float64Array;
  /** `[N]` keypoints `[3K]` each (the parsed lists, not copied). */
  keypoints: readonly (readonly number[])[];
}

/** A ground truth as matching reads it. */
export interface MatchGroundTruth extends OksGroundTruth {
  /** Crowd region: may absorb several detections. */
  iscrowd: boolean;
  /** Ignored in every area range (crowd, or no labelled keypoint). */
  ignore: boolean;
}

/** Settings of {@link CategoryAccumulator}. */
export interface MatchSettings {
  /** OKS thresholds `[T]`. */
  iouThrs: readonly number[];
  /** Recall thresholds `[R]`. */
  recThrs: readonly number[];
  /** Area ranges `[A][2]`, bounds inclusive. */
  areaRng: readonly (readonly [number, number])[];
  maxDets: number;
  /** `(2σ)²` per keypoint `[K]`. */
  variances: readonly number[];
}

/**
 * Stable order of `idx` by `score`, highest first (numpy `argsort(-score, kind='mergesort')`), in place.
 * @param idx row indices `[D]`
 * @param score scores by row
 */
export function sortByScoreDescending(idx: Int32Array | number[], score: Float64Array): void {
  idx.sort((a, b) => score[b] - score[a] || a - b);
}

/**
 * The matches of one category over all images, accumulated per area range into precision and recall. Feed the
 * images in ascending id order with {@link addImage}, then call {@link finish}.
 */
export class CategoryAccumulator {
  private readonly T: number;
  private readonly A: number;
  /** Capacity in detections (every result can appear once). */
  private readonly cap: number;
  /** `[cap]` scores of the kept detections, in concatenation order. */
  private readonly scores: Float64Array;
  /** `[A][T·cap]` 1 when detection is matched (`dtm > 0`). */
  private readonly matched: Uint8Array[];
  /** `[A][T·cap]` 1 when detection is ignored. */
  private readonly ignored: Uint8Array[];
  /** `[A]` regular (not ignored) ground truths. */
  private readonly npig: Float64Array;
  /** Whether any image had a ground truth or a detection (pycocotools: E is not empty). */
  private any = false;
  private nd = 0;
  private oks = new Float64Array(0);

  constructor(
    private readonly settings: MatchSettings,
    capacity: number,
  ) {
    this.T = settings.iouThrs.length;
    this.A = settings.areaRng.length;
    this.cap = capacity;
    this.scores = new Float64Array(capacity);
    this.matched = Array.from({ length: this.A }, () => new Uint8Array(this.T * capacity));
    this.ignored = Array.from({ length: this.A }, () => new Uint8Array(this.T * capacity));
    this.npig = new Float64Array(this.A);
  }

  /**
   * One image: its ground truths (file order) and its detections (result rows, results order).
   * @param gts ground truths `[G]`
   * @param rows detection rows `[D0]` of `dets`
   */
  addImage(gts: readonly MatchGroundTruth[], rows: readonly number[], dets: DetectionColumns): void {
    const G = gts.length;
    if (G === 0 && rows.length === 0) return;
    this.any = true;
    const { iouThrs, areaRng, maxDets, variances } = this.settings;
    const T = this.T;
    const order = rows.slice();
    sortByScoreDescending(order, dets.score);
    const D = Math.min(order.length, maxDets);
    const hasOks = G > 0 && D > 0;
    if (hasOks) {
      if (this.oks.length < D * G) this.oks = new Float64Array(D * G * 2);
      for (let d = 0; d < D; d++) {
        const kp = dets.keypoints[order[d]];
        for (let g = 0; g < G; g++) this.oks[d * G + g] = oksAgainstGroundTruth(gts[g], kp, variances);
      }
    }
    const base = this.nd;
    for (let d = 0; d < D; d++) this.scores[base + d] = dets.score[order[d]];
    const gtOrder = new Int32Array(G);
    const gtIgnore = new Uint8Array(G);
    const crowd = new Uint8Array(G);
    const taken = new Uint8Array(G);
    for (let a = 0; a < this.A; a++) {
      const [lo, hi] = areaRng[a];
      // Stable: regular ground truths first, ignored ones last.
      let n = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let g = 0; g < G; g++) {
          const ig = gts[g].ignore || gts[g].area < lo || gts[g].area > hi ? 1 : 0;
          if (ig !== pass) continue;
          gtOrder[n] = g;
          gtIgnore[n] = ig;
          crowd[n] = gts[g].iscrowd ? 1 : 0;
          n++;
        }
      }
      for (let g = 0; g < G; g++) if (!gtIgnore[g]) this.npig[a]++;
      const matched = this.matched[a];
      const ignored = this.ignored[a];
      for (let t = 0; t < T; t++) {
        const off = t * this.cap + base;
        taken.fill(0);
        for (let d = 0; d < D; d++) {
          matched[off + d] = 0;
          ignored[off + d] = 0;
          if (!hasOks) continue;
          let best = Math.min(iouThrs[t], 1 - 1e-10);
          let m = -1;
          for (let g = 0; g < G; g++) {
            if (taken[g] && !crowd[g]) continue;
            // Once matched to a regular ground truth, never move to an ignored one.
            if (m > -1 && !gtIgnore[m] && gtIgnore[g]) break;
            const v = this.oks[d * G + gtOrder[g]];
            if (v < best) continue;
            best = v;
            m = g;
          }
          if (m === -1) continue;
          ignored[off + d] = gtIgnore[m];
          matched[off + d] = 1;
          taken[m] = 1;
        }
        for (let d = 0; d < D; d++) {
          const area = dets.area[order[d]];
          if (!matched[off + d] && (area < lo || area > hi)) ignored[off + d] = 1;
        }
      }
    }
    this.nd += D;
  }

  /**
   * pycocotools `accumulate` for this category: precision `[A][T][R]` and recall `[A][T]`; null for an area range
   * without a scored ground truth (pycocotools leaves −1).
   */
  finish(): { precision: (Float64Array[] | null)[]; recall: (Float64Array | null)[] } {
    const { recThrs } = this.settings;
    const T = this.T;
    const R = recThrs.length;
    const nd = this.nd;
    const precision: (Float64Array[] | null)[] = [];
    const recall: (Float64Array | null)[] = [];
    const order = new Int32Array(nd);
    for (let i = 0; i < nd; i++) order[i] = i;
    sortByScoreDescending(order, this.scores);
    const rc = new Float64Array(nd);
    const pr = new Float64Array(nd);
    for (let a = 0; a < this.A; a++) {
      const npig = this.npig[a];
      if (!this.any || npig === 0) {
        precision.push(null);
        recall.push(null);
        continue;
      }
      const matched = this.matched[a];
      const ignored = this.ignored[a];
      const byT: Float64Array[] = [];
      const rec = new Float64Array(T);
      for (let t = 0; t < T; t++) {
        const off = t * this.cap;
        let tp = 0;
        let fp = 0;
        for (let i = 0; i < nd; i++) {
          const d = off + order[i];
          if (!ignored[d]) {
            if (matched[d]) tp++;
            else fp++;
          }
          rc[i] = tp / npig;
          pr[i] = tp / (fp + tp + PRECISION_EPS);
        }
        rec[t] = nd > 0 ? rc[nd - 1] : 0;
        for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        const q = new Float64Array(R);
        let pos = 0;
        for (let r = 0; r < R; r++) {
          // Left binary search: first i with rc[i] >= recThrs[r]; rc and recThrs are non-decreasing.
          while (pos < nd && rc[pos] < recThrs[r]) pos++;
          if (pos >= nd) break; // beyond the last reached recall: stays 0
          q[r] = pr[pos];
        }
        byT.push(q);
      }
      precision.push(byT);
      recall.push(rec);
    }
    return { precision, recall };
  }
}

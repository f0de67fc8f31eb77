/**
 * COCO keypoint AP/AR, computed exactly as pycocotools `COCOeval(gt, gt.loadRes(results), 'keypoints')`
 * with `evaluate()`, `accumulate()` and `summarize()`.
 *
 * What the numbers depend on:
 * - a ground truth is ignored when `iscrowd` is set or `num_keypoints` is 0; a detection matched to an
 *   ignored one is neither TP nor FP, and a crowd ground truth absorbs any number of detections;
 * - area ranges test the ground truth's `area` field, bounds inclusive; an unmatched detection is ignored
 *   in a range its own area (keypoint extent) falls outside of;
 * - per image, detections are stably sorted by score (descending) and cut to `maxDets`;
 * - accumulation concatenates images in ascending id order and sorts stably by score, precision is made
 *   non-increasing and sampled at the recall thresholds with a left binary search;
 * - a statistic whose area range has no scored ground truth is −1.
 *
 * Everything is float64 with plain sequential sums.
 */
import { COCO_KPT_OKS_SIGMAS, oksAgainstGroundTruth, oksVariances } from './oks';

/** One image entry of a COCO annotation file. */
export interface CocoImageInfo {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

/** One keypoint annotation of a COCO annotation file. */
export interface CocoKeypointAnnotation {
  /** Annotation id; must not be 0 (pycocotools stores matches as ids, 0 meaning "unmatched"). */
  id: number;
  image_id: number;
  category_id: number;
  /** Flat keypoints `[3K]`: x, y, v (v = 0 unlabelled, 1 labelled but hidden, 2 visible). */
  keypoints: number[];
  /** Number of labelled keypoints; 0 makes the annotation ignored. */
  num_keypoints: number;
  /** Segment area; selects the area range. */
  area: number;
  /** Box `[x, y, w, h]`. */
  bbox: number[];
  /** Crowd region (ignored, may absorb several detections). */
  iscrowd?: number | boolean;
}

/** One category of a COCO annotation file (with its keypoint names and skeleton for keypoint files). */
export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  keypoints?: string[];
  skeleton?: number[][];
}

/** A COCO keypoint annotation file (`person_keypoints_*.json` or a custom dataset in that format). */
export interface CocoKeypointsFile {
  images: CocoImageInfo[];
  annotations: CocoKeypointAnnotation[];
  categories: CocoCategory[];
}

/** One entry of a COCO keypoint results file. */
export interface CocoKeypointResult {
  image_id: number;
  category_id: number;
  /** Flat keypoints `[3K]`: x, y, keypoint score (the score is not used by the metric). */
  keypoints: number[];
  /** Person score; ranks the detections. */
  score: number;
  /** Box center `[2]` the person was cropped with (written by the official code, not used by the metric). */
  center?: number[];
  /** Box scale `[2]` in units of 200 px (written by the official code, not used by the metric). */
  scale?: number[];
}

/** A result as pycocotools `loadRes` turns it into an annotation. */
export interface CocoLoadedDetection extends CocoKeypointResult {
  /** 1-based position in the results list. */
  id: number;
  /** Keypoint extent `(max x − min x)·(max y − min y)` over all K keypoints. */
  area: number;
  /** Keypoint extent box `[min x, min y, max x − min x, max y − min y]`. */
  bbox: number[];
}

/** Evaluation parameters (pycocotools `Params(iouType='keypoints')`). */
export interface CocoEvalParams {
  /** OKS thresholds `[T]`; default 0.5:0.05:0.95 as `np.linspace` builds it. */
  iouThrs: number[];
  /** Recall thresholds `[R]`; default `i · 0.01` for i = 0..100. */
  recThrs: number[];
  /** Maximum detections per image (pycocotools `maxDets[-1]`); default 20. */
  maxDets: number;
  /** Area ranges `[A][2]`, bounds inclusive; default all, medium, large. */
  areaRng: [number, number][];
  /** Labels of `areaRng` `[A]`; the summary looks up 'all', 'medium' and 'large'. */
  areaRngLbl: string[];
  /** Per-keypoint OKS sigmas `[K]`; K must equal the keypoint count of every annotation and result. */
  kptOksSigmas: number[];
  /** Images to evaluate; default every image of the annotation file. */
  imgIds?: number[];
}

/** The ten keypoint statistics pycocotools prints, in its order. */
export interface CocoKeypointStats {
  AP: number;
  AP50: number;
  AP75: number;
  APm: number;
  APl: number;
  AR: number;
  AR50: number;
  AR75: number;
  ARm: number;
  ARl: number;
}

/** Names of {@link CocoKeypointStats} in pycocotools order. */
export const COCO_KEYPOINT_STAT_NAMES: readonly (keyof CocoKeypointStats)[] = Object.freeze([
  'AP',
  'AP50',
  'AP75',
  'APm',
  'APl',
  'AR',
  'AR50',
  'AR75',
  'ARm',
  'ARl',
] as const);

/** Output of {@link evaluateCocoKeypoints}. */
export interface CocoEvalResult {
  stats: CocoKeypointStats;
  /** The 10 statistics in pycocotools order (see {@link COCO_KEYPOINT_STAT_NAMES}). */
  statsList: number[];
  /** Interpolated precision `[T][R][K][A]` (K = categories), −1 where the setting has no scored ground truth. */
  precision: number[][][][];
  /** Final recall `[T][K][A]`, −1 where the setting has no scored ground truth. */
  recall: number[][][];
  /** Category ids in evaluation order `[K]` (ascending). */
  catIds: number[];
  /** Image ids in evaluation order (ascending). */
  imgIds: number[];
  /** The parameters used. */
  params: CocoEvalParams;
}

/** The default keypoint parameters of pycocotools, for K keypoints with the given sigmas. */
export function defaultCocoEvalParams(kptOksSigmas: readonly number[] = COCO_KPT_OKS_SIGMAS): CocoEvalParams {
  // np.linspace(.5, 0.95, 10) and np.linspace(.0, 1.00, 101): start + i·step.
  const iouStep = (0.95 - 0.5) / 9;
  const iouThrs = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : 0.5 + i * iouStep));
  const recThrs = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));
  return {
    iouThrs,
    recThrs,
    maxDets: 20,
    areaRng: [
      [0, 1e5 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'medium', 'large'],
    kptOksSigmas: [...kptOksSigmas],
  };
}

/** `np.spacing(1)`, added to the precision denominator. */
const PRECISION_EPS = 2.220446049250313e-16;

/** A ground truth during evaluation. */
interface EvalGroundTruth extends CocoKeypointAnnotation {
  /** Ignored whatever the area range (crowd or no labelled keypoint). */
  ignore: boolean;
}

/** Per image × category × area-range result (pycocotools `evaluateImg`), restricted to what `accumulate` reads. */
interface ImageEvaluation {
  /** Scores of the kept detections, sorted descending `[D]`. */
  dtScores: number[];
  /** Detection matched at threshold t `[T][D]`. */
  dtMatched: boolean[][];
  /** Detection ignored at threshold t `[T][D]`. */
  dtIgnore: boolean[][];
  /** Ground truth ignored for this area range `[G]`. */
  gtIgnore: boolean[];
}

/** Python's `'{:.Nf}'.format(x)`: fixed-point with exact round-half-even on the binary value. */
export function formatFixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  const plain = value.toFixed(digits);
  // toFixed rounds exact ties away from zero; Python rounds them to even. Detect an exact tie from the
  // exact decimal expansion (toFixed(100) is exact for the magnitudes that occur here).
  const exact = Math.abs(value).toFixed(100);
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(rest)) return plain;
  const truncated = exact.slice(0, dot + 1 + digits).replace(/\.$/, '');
  const lastDigit = Number(truncated[truncated.length - 1]);
  if (lastDigit % 2 === 1) return plain; // away-from-zero already lands on the even digit
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  return sign + truncated;
}

function checkKeypointArray(values: unknown, expected: number, where: string): void {
  if (!Array.isArray(values) || values.length !== expected) {
    const got = Array.isArray(values) ? `${values.length} values` : typeof values;
    throw new Error(
      `${where}: keypoints has ${got}, expected ${expected} (3 × ${expected / 3} keypoints, one per OKS sigma)`,
    );
  }
}

function checkNumber(value: unknown, where: string): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new Error(`${where}: expected a number, got ${String(value)}`);
  }
}

/**
 * pycocotools `COCO.loadRes` for keypoint results: ids become the 1-based position, the area and box
 * become the keypoint extent (all keypoints, whatever their score).
 * @param results the results list `[N]`, each with keypoints `[3K]`.
 * @param numKeypoints K.
 * @param imageIds ids of the annotation file's images; a result on another image is an error.
 */
export function loadResults(
  results: readonly CocoKeypointResult[],
  numKeypoints: number,
  imageIds?: ReadonlySet<number>,
): CocoLoadedDetection[] {
  if (!Array.isArray(results)) throw new Error('results: expected a list of keypoint results');
  return results.map((r, i) => {
    const where = `results[${i}]`;
    checkKeypointArray(r.keypoints, 3 * numKeypoints, where);
    checkNumber(r.score, `${where}.score`);
    checkNumber(r.image_id, `${where}.image_id`);
    if (imageIds && !imageIds.has(r.image_id)) {
      throw new Error(`${where}.image_id: ${r.image_id} is not an image of the annotation file`);
    }
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let j = 0; j < numKeypoints; j++) {
      const x = r.keypoints[3 * j];
      const y = r.keypoints[3 * j + 1];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    return { ...r, id: i + 1, area: (x1 - x0) * (y1 - y0), bbox: [x0, y0, x1 - x0, y1 - y0] };
  });
}

/**
 * Stable order of detections by score, highest first (numpy `argsort(-score, kind='mergesort')`).
 * @param scores `[D]`.
 * @returns indices `[D]`.
 */
function stableOrderByScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** Output of {@link computeOks}. */
export interface ImageOks {
  /** The detections the rows refer to: sorted by score (stable), cut to maxDets `[D]`. */
  dts: CocoLoadedDetection[];
  /** OKS `[D][G]`, columns in the given ground-truth order; `[]` when there is no ground truth or no detection. */
  oks: number[][];
}

/**
 * pycocotools `COCOeval.computeOks` for one image and category.
 * @param gts ground truths of the image `[G]`, keypoints `[3K]` each.
 * @param dts detections of the image `[D0]` in results order, keypoints `[3K]` each.
 * @param kptOksSigmas `[K]`.
 * @param maxDets detections kept after sorting (default 20).
 */
export function computeOks(
  gts: readonly CocoKeypointAnnotation[],
  dts: readonly CocoLoadedDetection[],
  kptOksSigmas: readonly number[] = COCO_KPT_OKS_SIGMAS,
  maxDets = 20,
): ImageOks {
  const sorted = stableOrderByScore(dts.map((d) => d.score))
    .slice(0, maxDets)
    .map((i) => dts[i]);
  if (gts.length === 0 || sorted.length === 0) return { dts: sorted, oks: [] };
  const variances = oksVariances(kptOksSigmas);
  const oks = sorted.map((d) => gts.map((g) => oksAgainstGroundTruth(g, d.keypoints, variances)));
  return { dts: sorted, oks };
}

/**
 * pycocotools `evaluateImg` for one image, category and area range.
 * @param gts ground truths `[G]` (annotation-file order).
 * @param dts detections `[D]`, already sorted and cut (the rows of `oks`).
 * @param oks `[D][G]` or `[]`.
 */
function evaluateImage(
  gts: readonly EvalGroundTruth[],
  dts: readonly CocoLoadedDetection[],
  oks: readonly (readonly number[])[],
  areaRange: readonly [number, number],
  iouThrs: readonly number[],
): ImageEvaluation | null {
  if (gts.length === 0 && dts.length === 0) return null;
  const [lo, hi] = areaRange;
  const areaIgnore = gts.map((g) => g.ignore || g.area < lo || g.area > hi);
  // Stable: regular ground truths first, ignored ones last.
  const gtOrder = gts.map((_, i) => i).sort((a, b) => Number(areaIgnore[a]) - Number(areaIgnore[b]) || a - b);
  const gtIgnore = gtOrder.map((i) => areaIgnore[i]);
  const crowd = gtOrder.map((i) => Boolean(gts[i].iscrowd));
  const T = iouThrs.length;
  const G = gts.length;
  const D = dts.length;
  const dtMatched = Array.from({ length: T }, () => new Array<boolean>(D).fill(false));
  const dtIgnore = Array.from({ length: T }, () => new Array<boolean>(D).fill(false));
  if (oks.length > 0) {
    for (let t = 0; t < T; t++) {
      const gtTaken = new Array<boolean>(G).fill(false);
      for (let d = 0; d < D; d++) {
        let best = Math.min(iouThrs[t], 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < G; g++) {
          if (gtTaken[g] && !crowd[g]) continue;
          // Once matched to a regular ground truth, never move to an ignored one.
          if (m > -1 && !gtIgnore[m] && gtIgnore[g]) break;
          const v = oks[d][gtOrder[g]];
          if (v < best) continue;
          best = v;
          m = g;
        }
        if (m === -1) continue;
        dtIgnore[t][d] = gtIgnore[m];
        dtMatched[t][d] = true;
        gtTaken[m] = true;
      }
    }
  }
  for (let d = 0; d < D; d++) {
    const outside = dts[d].area < lo || dts[d].area > hi;
    if (!outside) continue;
    for (let t = 0; t < T; t++) if (!dtMatched[t][d]) dtIgnore[t][d] = true;
  }
  return { dtScores: dts.map((d) => d.score), dtMatched, dtIgnore, gtIgnore };
}

/**
 * pycocotools `accumulate` for one category and area range.
 * @returns precision `[T][R]` and recall `[T]`, or null when no scored ground truth exists (stays −1).
 */
function accumulateRange(
  evals: readonly ImageEvaluation[],
  iouThrs: readonly number[],
  recThrs: readonly number[],
): { precision: number[][]; recall: number[] } | null {
  if (evals.length === 0) return null;
  const scores: number[] = [];
  const matched: boolean[][] = iouThrs.map(() => []);
  const ignored: boolean[][] = iouThrs.map(() => []);
  let npig = 0;
  for (const e of evals) {
    scores.push(...e.dtScores);
    for (let t = 0; t < iouThrs.length; t++) {
      matched[t].push(...e.dtMatched[t]);
      ignored[t].push(...e.dtIgnore[t]);
    }
    for (const ig of e.gtIgnore) if (!ig) npig++;
  }
  if (npig === 0) return null;
  const order = stableOrderByScore(scores);
  const nd = order.length;
  const precision: number[][] = [];
  const recall: number[] = [];
  for (let t = 0; t < iouThrs.length; t++) {
    const rc = new Array<number>(nd);
    const pr = new Array<number>(nd);
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < nd; i++) {
      const d = order[i];
      if (!ignored[t][d]) {
        if (matched[t][d]) tp++;
        else fp++;
      }
      rc[i] = tp / npig;
      pr[i] = tp / (fp + tp + PRECISION_EPS);
    }
    recall.push(nd > 0 ? rc[nd - 1] : 0);
    for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    const q = new Array<number>(recThrs.length).fill(0);
    let pos = 0;
    for (let r = 0; r < recThrs.length; r++) {
      // Left binary search: first i with rc[i] >= recThrs[r]; rc and recThrs are non-decreasing.
      while (pos < nd && rc[pos] < recThrs[r]) pos++;
      if (pos >= nd) break; // beyond the last reached recall: stays 0
      q[r] = pr[pos];
    }
    precision.push(q);
  }
  return { precision, recall };
}

function validateGroundTruth(gt: CocoKeypointsFile, numKeypoints: number): void {
  for (const field of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(gt?.[field])) throw new Error(`COCO annotation file: '${field}' must be a list`);
  }
  gt.annotations.forEach((a, i) => {
    const where = `annotations[${i}] (id ${a.id})`;
    checkKeypointArray(a.keypoints, 3 * numKeypoints, where);
    checkNumber(a.id, `${where}.id`);
    if (a.id === 0) {
      throw new Error(`${where}.id: annotation ids must not be 0 (0 means "unmatched" in COCO evaluation)`);
    }
    checkNumber(a.num_keypoints, `${where}.num_keypoints`);
    checkNumber(a.area, `${where}.area`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4) throw new Error(`${where}.bbox: expected [x, y, w, h]`);
  });
}

function mergeParams(params: Partial<CocoEvalParams> | undefined): CocoEvalParams {
  const p: CocoEvalParams = defaultCocoEvalParams(params?.kptOksSigmas);
  const overrides = Object.fromEntries(Object.entries(params ?? {}).filter(([, v]) => v !== undefined));
  Object.assign(p, overrides);
  if (p.kptOksSigmas.length === 0 || !p.kptOksSigmas.every((v) => Number.isFinite(v) && v > 0)) {
    throw new Error(`params.kptOksSigmas: expected one finite sigma > 0 per keypoint, got [${p.kptOksSigmas}]`);
  }
  if (p.areaRng.length !== p.areaRngLbl.length) {
    throw new Error(`params.areaRngLbl: ${p.areaRngLbl.length} labels for ${p.areaRng.length} area ranges`);
  }
  if (!(p.maxDets > 0)) throw new Error(`params.maxDets: expected a positive count, got ${p.maxDets}`);
  return p;
}

/**
 * Evaluates keypoint results against a COCO keypoint annotation file, as pycocotools does.
 * @param gt annotation file; every annotation has keypoints `[3K]`.
 * @param results detections; every result has keypoints `[3K]`, on an image of `gt`.
 * @param params overrides of {@link defaultCocoEvalParams}; `kptOksSigmas` `[K]` sets K.
 */
export function evaluateCocoKeypoints(
  gt: CocoKeypointsFile,
  results: readonly CocoKeypointResult[],
  params?: Partial<CocoEvalParams>,
): CocoEvalResult {
  const p = mergeParams(params);
  const K = p.kptOksSigmas.length;
  validateGroundTruth(gt, K);
  const allImageIds = new Set(gt.images.map((im) => im.id));
  const dts = loadResults(results, K, allImageIds);
  const imgIds = [...new Set(p.imgIds ?? allImageIds)].sort((a, b) => a - b);
  const catIds = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  const imgSet = new Set(imgIds);
  const catSet = new Set(catIds);

  const key = (img: number, cat: number): string => `${img}/${cat}`;
  const gtsByKey = new Map<string, EvalGroundTruth[]>();
  const dtsByKey = new Map<string, CocoLoadedDetection[]>();
  for (const a of gt.annotations) {
    if (!imgSet.has(a.image_id) || !catSet.has(a.category_id)) continue;
    const k = key(a.image_id, a.category_id);
    const list = gtsByKey.get(k) ?? [];
    list.push({ ...a, ignore: Boolean(a.iscrowd) || a.num_keypoints === 0 });
    gtsByKey.set(k, list);
  }
  for (const d of dts) {
    if (!imgSet.has(d.image_id) || !catSet.has(d.category_id)) continue;
    const k = key(d.image_id, d.category_id);
    const list = dtsByKey.get(k) ?? [];
    list.push(d);
    dtsByKey.set(k, list);
  }

  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const A = p.areaRng.length;
  const precision = Array.from({ length: T }, () =>
    Array.from({ length: R }, () => Array.from({ length: catIds.length }, () => new Array<number>(A).fill(-1))),
  );
  const recall = Array.from({ length: T }, () =>
    Array.from({ length: catIds.length }, () => new Array<number>(A).fill(-1)),
  );

  catIds.forEach((cat, k) => {
    const perImage = imgIds.map((img) => {
      const g = gtsByKey.get(key(img, cat)) ?? [];
      const { dts: sortedDts, oks } = computeOks(g, dtsByKey.get(key(img, cat)) ?? [], p.kptOksSigmas, p.maxDets);
      return { g, sortedDts, oks };
    });
    p.areaRng.forEach((range, a) => {
      const evals: ImageEvaluation[] = [];
      for (const { g, sortedDts, oks } of perImage) {
        const e = evaluateImage(g, sortedDts, oks, range, p.iouThrs);
        if (e) evals.push(e);
      }
      const acc = accumulateRange(evals, p.iouThrs, p.recThrs);
      if (!acc) return;
      for (let t = 0; t < T; t++) {
        recall[t][k][a] = acc.recall[t];
        for (let r = 0; r < R; r++) precision[t][r][k][a] = acc.precision[t][r];
      }
    });
  });

  const statsList = SUMMARY_ROWS.map((row) => summarizeRow(precision, recall, p, row));
  const [AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl] = statsList;
  return {
    stats: { AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl },
    statsList,
    precision,
    recall,
    catIds,
    imgIds,
    params: p,
  };
}

/** One row of the keypoint summary (pycocotools `_summarizeKps`). */
interface SummaryRow {
  /** Average precision (true) or recall (false). */
  ap: boolean;
  /** A single OKS threshold, or all when undefined. */
  iouThr?: number;
  areaRng: string;
}

const SUMMARY_ROWS: readonly SummaryRow[] = [
  { ap: true, areaRng: 'all' },
  { ap: true, iouThr: 0.5, areaRng: 'all' },
  { ap: true, iouThr: 0.75, areaRng: 'all' },
  { ap: true, areaRng: 'medium' },
  { ap: true, areaRng: 'large' },
  { ap: false, areaRng: 'all' },
  { ap: false, iouThr: 0.5, areaRng: 'all' },
  { ap: false, iouThr: 0.75, areaRng: 'all' },
  { ap: false, areaRng: 'medium' },
  { ap: false, areaRng: 'large' },
];

/** Mean of the entries > −1 of the selected precision/recall slice, −1 when there is none. */
function summarizeRow(
  precision: number[][][][],
  recall: number[][][],
  p: CocoEvalParams,
  row: SummaryRow,
): number {
  const tIdx = p.iouThrs.map((_, t) => t).filter((t) => row.iouThr === undefined || p.iouThrs[t] === row.iouThr);
  const aIdx = p.areaRngLbl.map((_, a) => a).filter((a) => p.areaRngLbl[a] === row.areaRng);
  let sum = 0;
  let n = 0;
  const add = (v: number): void => {
    if (v > -1) {
      sum += v;
      n++;
    }
  };
  for (const t of tIdx) {
    if (row.ap) {
      for (const byCat of precision[t]) for (const byArea of byCat) for (const a of aIdx) add(byArea[a]);
    } else {
      for (const byArea of recall[t]) for (const a of aIdx) add(byArea[a]);
    }
  }
  return n === 0 ? -1 : sum / n;
}

/** pycocotools' printed summary table, one string per statistic (10 lines, pycocotools format). */
export function formatCocoSummary(result: CocoEvalResult): string[] {
  const p = result.params;
  return SUMMARY_ROWS.map((row, i) => {
    const title = (row.ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = row.ap ? '(AP)' : '(AR)';
    const iou =
      row.iouThr === undefined
        ? `${formatFixed(p.iouThrs[0], 2)}:${formatFixed(p.iouThrs[p.iouThrs.length - 1], 2)}`
        : formatFixed(row.iouThr, 2);
    const area = row.areaRng.padStart(6);
    const maxDets = String(p.maxDets).padStart(3);
    return ` ${title} ${type} @[ IoU=${iou.padEnd(9)} | area=${area} | maxDets=${maxDets} ] = ${formatFixed(
      result.statsList[i],
      3,
    )}`;
  });
}

/**
 * The official HRNet `COCODataset._do_python_keypoint_eval` names with their values, in order
 * (`AP`, `Ap .5`, `AP .75`, `AP (M)`, `AP (L)`, `AR`, `AR .5`, `AR .75`, `AR (M)`, `AR (L)`).
 */
export function cocoStatsNameValue(result: CocoEvalResult): [string, number][] {
  const names = ['AP', 'Ap .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)', 'AR (L)'];
  return names.map((n, i) => [n, result.statsList[i]]);
}

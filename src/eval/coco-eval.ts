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
import { CategoryAccumulator, sortByScoreDescending, type DetectionColumns, type MatchGroundTruth } from './coco-match';
import type { CocoKeypointAnnotation, CocoKeypointResult, CocoKeypointsFile } from '../data/coco-format';
import { COCO_KPT_OKS_SIGMAS, oksAgainstGroundTruth, oksVariances } from './oks';

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

/** The files an evaluation reads, named in its error messages. */
export interface CocoEvalSources {
  /** The ground-truth (annotation) file. */
  gt?: string;
  /** The results file. */
  results?: string;
}

function fileLabel(kind: 'ground-truth file' | 'results file', file: string | undefined): string {
  return file === undefined ? '' : `${kind} ${file}: `;
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
 * The detection columns of a results list (pycocotools `COCO.loadRes` for keypoint results: the area becomes the
 * keypoint extent over all keypoints, whatever their score), checked entry by entry.
 * @param results `[N]`, keypoints `[3K]` each
 * @param imageIds ids of the annotation file's images; a result on another image is an error
 */
function detectionColumns(
  results: readonly CocoKeypointResult[],
  numKeypoints: number,
  imageIds: ReadonlySet<number> | undefined,
  sources: CocoEvalSources,
): DetectionColumns {
  const label = fileLabel('results file', sources.results);
  if (!Array.isArray(results)) throw new Error(`${label}results: expected a list of keypoint results`);
  const n = results.length;
  const cols: DetectionColumns = {
    imageId: new Float64Array(n),
    categoryId: new Float64Array(n),
    score: new Float64Array(n),
    area: new Float64Array(n),
    keypoints: new Array<number[]>(n),
  };
  const keypoints = cols.keypoints as number[][];
  for (let i = 0; i < n; i++) {
    const r = results[i];
    const where = `${label}results[${i}]`;
    checkKeypointArray(r?.keypoints, 3 * numKeypoints, where);
    checkNumber(r.score, `${where}.score`);
    checkNumber(r.image_id, `${where}.image_id`);
    if (imageIds && !imageIds.has(r.image_id)) {
      const gt = sources.gt === undefined ? 'the annotation file' : `the ground-truth file ${sources.gt}`;
      throw new Error(`${where}.image_id: ${r.image_id} is not an image of ${gt}; expected the id of one of its "images"`);
    }
    const kp = r.keypoints;
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let j = 0; j < numKeypoints; j++) {
      const x = kp[3 * j];
      const y = kp[3 * j + 1];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    cols.imageId[i] = r.image_id;
    cols.categoryId[i] = r.category_id;
    cols.score[i] = r.score;
    cols.area[i] = (x1 - x0) * (y1 - y0);
    keypoints[i] = kp;
  }
  return cols;
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
  const cols = detectionColumns(results, numKeypoints, imageIds, {});
  return results.map((r, i) => {
    const kp = r.keypoints;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let j = 0; j < numKeypoints; j++) {
      x0 = Math.min(x0, kp[3 * j]);
      x1 = Math.max(x1, kp[3 * j]);
      y0 = Math.min(y0, kp[3 * j + 1]);
      y1 = Math.max(y1, kp[3 * j + 1]);
    }
    return { ...r, id: i + 1, area: cols.area[i], bbox: [x0, y0, x1 - x0, y1 - y0] };
  });
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
  const order = dts.map((_, i) => i);
  sortByScoreDescending(order, Float64Array.from(dts, (d) => d.score));
  const sorted = order.slice(0, maxDets).map((i) => dts[i]);
  if (gts.length === 0 || sorted.length === 0) return { dts: sorted, oks: [] };
  const variances = oksVariances(kptOksSigmas);
  const oks = sorted.map((d) => gts.map((g) => oksAgainstGroundTruth(g, d.keypoints, variances)));
  return { dts: sorted, oks };
}

function validateGroundTruth(gt: CocoKeypointsFile, numKeypoints: number, sources: CocoEvalSources): void {
  const label = fileLabel('ground-truth file', sources.gt);
  for (const field of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(gt?.[field])) throw new Error(`${label || 'COCO annotation file: '}'${field}' must be a list`);
  }
  gt.annotations.forEach((a, i) => {
    const where = `${label}annotations[${i}] (id ${a.id})`;
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

/** Appends `value` to the list of `key` in `map`. */
function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * Evaluates keypoint results against a COCO keypoint annotation file, as pycocotools does.
 * @param gt annotation file; every annotation has keypoints `[3K]`.
 * @param results detections; every result has keypoints `[3K]`, on an image of `gt`.
 * @param params overrides of {@link defaultCocoEvalParams}; `kptOksSigmas` `[K]` sets K.
 * @param sources the files `gt` and `results` come from, named in error messages.
 */
export function evaluateCocoKeypoints(
  gt: CocoKeypointsFile,
  results: readonly CocoKeypointResult[],
  params?: Partial<CocoEvalParams>,
  sources: CocoEvalSources = {},
): CocoEvalResult {
  const p = mergeParams(params);
  const K = p.kptOksSigmas.length;
  validateGroundTruth(gt, K, sources);
  const allImageIds = new Set(gt.images.map((im) => im.id));
  const dets = detectionColumns(results, K, allImageIds, sources);
  const imgIds = [...new Set(p.imgIds ?? allImageIds)].sort((a, b) => a - b);
  const catIds = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  const imgSet = new Set(imgIds);
  const catIndex = new Map(catIds.map((c, k) => [c, k]));

  // Per category: ground truths and detection rows by image, in file order.
  const gtsByCat = catIds.map(() => new Map<number, MatchGroundTruth[]>());
  const rowsByCat = catIds.map(() => new Map<number, number[]>());
  const detsPerCat = new Array<number>(catIds.length).fill(0);
  for (const a of gt.annotations) {
    const k = catIndex.get(a.category_id);
    if (k === undefined || !imgSet.has(a.image_id)) continue;
    const iscrowd = Boolean(a.iscrowd);
    pushTo(gtsByCat[k], a.image_id, { keypoints: a.keypoints, area: a.area, bbox: a.bbox, iscrowd, ignore: iscrowd || a.num_keypoints === 0 });
  }
  for (let i = 0; i < dets.score.length; i++) {
    const k = catIndex.get(dets.categoryId[i]);
    if (k === undefined || !imgSet.has(dets.imageId[i])) continue;
    pushTo(rowsByCat[k], dets.imageId[i], i);
    detsPerCat[k]++;
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
  const settings = { iouThrs: p.iouThrs, recThrs: p.recThrs, areaRng: p.areaRng, maxDets: p.maxDets, variances: oksVariances(p.kptOksSigmas) };
  const none: never[] = [];
  catIds.forEach((_, k) => {
    const acc = new CategoryAccumulator(settings, detsPerCat[k]);
    for (const img of imgIds) acc.addImage(gtsByCat[k].get(img) ?? none, rowsByCat[k].get(img) ?? none, dets);
    const out = acc.finish();
    for (let a = 0; a < A; a++) {
      const pa = out.precision[a];
      const ra = out.recall[a];
      if (pa === null || ra === null) continue;
      for (let t = 0; t < T; t++) {
        recall[t][k][a] = ra[t];
        for (let r = 0; r < R; r++) precision[t][r][k][a] = pa[t][r];
      }
    }
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

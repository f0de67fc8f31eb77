/**
 * MPII PCKh, with the arithmetic of the official HRNet `MPIIDataset.evaluate` (`lib/dataset/mpii.py`).
 *
 * Joints are in the MPII order: 0 r_ankle, 1 r_knee, 2 r_hip, 3 l_hip, 4 l_knee, 5 l_ankle, 6 pelvis,
 * 7 thorax, 8 upper_neck, 9 head_top, 10 r_wrist, 11 r_elbow, 12 r_shoulder, 13 l_shoulder, 14 l_elbow,
 * 15 l_wrist.
 */
import { MPII_META } from '../data/keypoint-meta';
import { formatNameValueTable } from './name-value-table';

/** Number of MPII joints. */
export const MPII_NUM_JOINTS = MPII_META.keypointNames.length;

/** The index of an MPII joint, from the one MPII joint order (`MPII_META.keypointNames`). */
function mpiiJoint(name: string): number {
  const index = MPII_META.keypointNames.indexOf(name);
  if (index < 0) throw new Error(`MPII_META has no joint named ${JSON.stringify(name)}`);
  return index;
}

/** MPII joint indices used by the summary, under the official short names. */
export const MPII_JOINTS = Object.freeze({
  rank: mpiiJoint('right_ankle'),
  rkne: mpiiJoint('right_knee'),
  rhip: mpiiJoint('right_hip'),
  lhip: mpiiJoint('left_hip'),
  lkne: mpiiJoint('left_knee'),
  lank: mpiiJoint('left_ankle'),
  pelv: mpiiJoint('pelvis'),
  thor: mpiiJoint('thorax'),
  neck: mpiiJoint('upper_neck'),
  head: mpiiJoint('head_top'),
  rwri: mpiiJoint('right_wrist'),
  relb: mpiiJoint('right_elbow'),
  rsho: mpiiJoint('right_shoulder'),
  lsho: mpiiJoint('left_shoulder'),
  lelb: mpiiJoint('left_elbow'),
  lwri: mpiiJoint('left_wrist'),
});

/** Input of {@link evaluatePckh}, N persons. */
export interface PckhInput {
  /** Predicted joints `[N][16][2]`, 0-based pixel coordinates (1 is added, as the official code does). */
  preds: readonly (readonly (readonly number[])[])[];
  /** Annotated joints `[N][16][2]`, 1-based MPII coordinates (−1 where missing). */
  gtJoints: readonly (readonly (readonly number[])[])[];
  /** `[N][16]`: 1 (or true) where the joint is not annotated. */
  jntMissing: readonly (readonly (number | boolean)[])[];
  /** Head boxes `[N][2][2]`: `[[x1, y1], [x2, y2]]`. */
  headboxes: readonly (readonly (readonly number[])[])[];
}

/** Options of {@link evaluatePckh}. */
export interface PckhOptions {
  /** Head-size factor: headsize = scBias · ‖box diagonal‖ (official `SC_BIAS` 0.6). */
  scBias?: number;
  /** Normalised-distance threshold of a correct joint (default 0.5, inclusive). */
  threshold?: number;
}

/** Output of {@link evaluatePckh}; percentages. */
export interface PckhResult {
  Head: number;
  Shoulder: number;
  Elbow: number;
  Wrist: number;
  Hip: number;
  Knee: number;
  Ankle: number;
  /** Visible-count-weighted mean over the 14 joints other than pelvis and thorax. */
  Mean: number;
  /** The official `Mean@0.1`: the weighted mean at threshold `thresholds[11]` = 0.11 (not 0.1). */
  'Mean@0.1': number;
  /** PCKh per joint `[16]` at `threshold`. */
  perJoint: number[];
  /** Visible (annotated) joints per joint `[16]`. */
  jntCount: number[];
  /** Weight of each joint in the means `[16]` (0 for pelvis and thorax). */
  jntRatio: number[];
  /** Head sizes `[N]` (scBias · box diagonal). */
  headsizes: number[];
  /** The 51 thresholds `0, 0.01, …, 0.5` (`np.arange(0, 0.51, 0.01)`). */
  thresholds: number[];
  /** PCKh per threshold and joint `[51][16]` (official `pckAll`). */
  pckAll: number[][];
  /** Weighted mean per threshold `[51]`. */
  meanPerThreshold: number[];
}

/** The official summary names in order, with their values. */
export function pckhNameValue(result: PckhResult): [string, number][] {
  const names = ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean', 'Mean@0.1'] as const;
  return names.map((n) => [n, result[n]]);
}

function checkShape(name: string, arr: unknown, n: number, inner: number[]): void {
  if (!Array.isArray(arr) || arr.length !== n) {
    throw new Error(`PCKh input '${name}': expected ${n} persons, got ${Array.isArray(arr) ? arr.length : typeof arr}`);
  }
  arr.forEach((person: unknown, i) => {
    if (!Array.isArray(person) || person.length !== inner[0]) {
      throw new Error(`PCKh input '${name}[${i}]': expected ${inner[0]} entries`);
    }
    if (inner.length > 1) {
      person.forEach((pt: unknown, j) => {
        if (!Array.isArray(pt) || pt.length < inner[1]) {
          throw new Error(`PCKh input '${name}[${i}][${j}]': expected ${inner[1]} coordinates`);
        }
      });
    }
  });
}

/**
 * PCKh of predictions against MPII annotations.
 *
 * `headsize = scBias · ‖[x2 − x1, y2 − y1]‖`; `err = ‖(pred + 1) − gt‖ / headsize`; a visible joint is
 * correct when `err ≤ threshold`; `PCKh[j] = 100 · correct[j] / visible[j]`. Head is head_top; Shoulder …
 * Ankle average the left and right joints; Mean weights every joint but pelvis and thorax by its visible
 * count.
 * @param input preds `[N][16][2]`, gtJoints `[N][16][2]`, jntMissing `[N][16]`, headboxes `[N][2][2]`.
 */
export function evaluatePckh(input: PckhInput, opts: PckhOptions = {}): PckhResult {
  const scBias = opts.scBias ?? 0.6;
  const threshold = opts.threshold ?? 0.5;
  const n = input.preds?.length ?? 0;
  const J = MPII_NUM_JOINTS;
  checkShape('preds', input.preds, n, [J, 2]);
  checkShape('gtJoints', input.gtJoints, n, [J, 2]);
  checkShape('jntMissing', input.jntMissing, n, [J]);
  checkShape('headboxes', input.headboxes, n, [2, 2]);

  const headsizes = input.headboxes.map(([p1, p2]) => {
    const dx = p2[0] - p1[0];
    const dy = p2[1] - p1[1];
    return Math.sqrt(dx * dx + dy * dy) * scBias;
  });
  // Normalised error [N][16], 0 for missing joints (the official code multiplies by visibility).
  const visible = input.jntMissing.map((row) => row.map((m) => 1 - Number(m)));
  const scaledErr = input.preds.map((pred, i) =>
    pred.map((p, j) => {
      const dx = p[0] + 1.0 - input.gtJoints[i][j][0];
      const dy = p[1] + 1.0 - input.gtJoints[i][j][1];
      return (Math.sqrt(dx * dx + dy * dy) / headsizes[i]) * visible[i][j];
    }),
  );
  const jntCount = new Array<number>(J).fill(0);
  for (const row of visible) row.forEach((v, j) => (jntCount[j] += v));

  const pckAt = (thr: number): number[] => {
    const correct = new Array<number>(J).fill(0);
    scaledErr.forEach((row, i) => row.forEach((e, j) => (correct[j] += Number(e <= thr) * visible[i][j])));
    return correct.map((c, j) => (100 * c) / jntCount[j]);
  };
  const perJoint = pckAt(threshold);
  // np.arange(0, 0.5 + 0.01, 0.01): 51 values i · 0.01.
  const thresholds = Array.from({ length: 51 }, (_, i) => i * 0.01);
  const pckAll = thresholds.map(pckAt);

  const { pelv, thor } = MPII_JOINTS;
  const masked = (j: number): boolean => j === pelv || j === thor;
  let total = 0;
  jntCount.forEach((c, j) => {
    if (!masked(j)) total += c;
  });
  const jntRatio = jntCount.map((c, j) => (masked(j) ? 0 : c / total));
  const weightedMean = (pck: readonly number[]): number => {
    let s = 0;
    pck.forEach((v, j) => {
      if (!masked(j)) s += v * jntRatio[j];
    });
    return s;
  };
  const idx = MPII_JOINTS;
  const pair = (a: number, b: number): number => 0.5 * (perJoint[a] + perJoint[b]);
  return {
    Head: perJoint[idx.head],
    Shoulder: pair(idx.lsho, idx.rsho),
    Elbow: pair(idx.lelb, idx.relb),
    Wrist: pair(idx.lwri, idx.rwri),
    Hip: pair(idx.lhip, idx.rhip),
    Knee: pair(idx.lkne, idx.rkne),
    Ankle: pair(idx.lank, idx.rank),
    Mean: weightedMean(perJoint),
    'Mean@0.1': weightedMean(pckAll[11]),
    perJoint,
    jntCount,
    jntRatio,
    headsizes,
    thresholds,
    pckAll,
    meanPerThreshold: pckAll.map(weightedMean),
  };
}

/** The official PCKh table (Head, Shoulder, …, Mean, Mean@0.1) for the given architecture name. */
export function formatPckhTable(result: PckhResult, fullArchName = 'pose_hrnet'): string[] {
  return formatNameValueTable(pckhNameValue(result), fullArchName);
}

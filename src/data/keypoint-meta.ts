/**
 * Dataset knowledge as data: keypoint names, left/right flip partners, upper/lower body groups, loss weights,
 * OKS sigmas, skeleton and colours. A new dataset is a new meta object (or one inferred from its COCO-format
 * category), not new code.
 */
import type { CocoCategory } from './coco-format';

/** An RGB colour, 0–255 per channel. */
export type Rgb = [number, number, number];

/** Everything the pipeline needs to know about a dataset's keypoints. All indices are 0-based. */
export interface KeypointMeta {
  /** Dataset / category name, used in messages. */
  name: string;
  /** `[K]` keypoint names, in annotation order. */
  keypointNames: string[];
  /** Left/right partners `[a, b]` swapped by a horizontal flip; joints in no pair map to themselves. */
  flipPairs: [number, number][];
  /** Joints of the upper half-body crop. */
  upperBodyIds: number[];
  /** Joints of the lower half-body crop. */
  lowerBodyIds: number[];
  /** `[K]` per-joint loss weights (`LOSS.USE_DIFFERENT_JOINTS_WEIGHT`). */
  jointsWeight: number[];
  /** `[K]` OKS sigmas (pycocotools convention: the per-keypoint σ, e.g. 0.026 for the nose). */
  sigmas: number[];
  /** Limbs `[a, b]` for drawing. */
  skeleton: [number, number][];
  /** Optional `[K]` drawing colour per keypoint. */
  colors?: Rgb[];
}

/** Colour of left-side keypoints (and limbs). */
export const LEFT_COLOR: Rgb = [0, 255, 0];
/** Colour of right-side keypoints (and limbs). */
export const RIGHT_COLOR: Rgb = [255, 128, 0];
/** Colour of keypoints on the body's midline. */
export const CENTER_COLOR: Rgb = [51, 153, 255];

/**
 * OKS sigma given to a keypoint whose name has no known value: 0.025, the tightest of the pycocotools
 * person sigmas (eyes, 0.025–0.026), i.e. a strict default for small parts; pass `sigmas` when the dataset
 * defines them.
 */
export const DEFAULT_OKS_SIGMA = 0.025;

const COCO_KEYPOINT_NAMES = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
];

/**
 * The COCO per-keypoint OKS sigmas of pycocotools `[.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07,
 * 1.07, .87, .87, .89, .89] / 10` (17 values, COCO keypoint order), as float64 values of that division.
 */
export const COCO_KPT_OKS_SIGMAS: readonly number[] = Object.freeze(
  [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10),
);

/** COCO's 1-based skeleton, as in the annotation files. */
const COCO_SKELETON_1BASED: [number, number][] = [
  [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
  [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
];

/** COCO person keypoints: official HRNet `coco.py` flip pairs, body halves and joint weights; pycocotools sigmas. */
export const COCO_META: KeypointMeta = {
  name: 'coco',
  keypointNames: COCO_KEYPOINT_NAMES,
  flipPairs: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]],
  upperBodyIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  lowerBodyIds: [11, 12, 13, 14, 15, 16],
  jointsWeight: [1, 1, 1, 1, 1, 1, 1, 1.2, 1.2, 1.5, 1.5, 1, 1, 1.2, 1.2, 1.5, 1.5],
  sigmas: [...COCO_KPT_OKS_SIGMAS],
  skeleton: COCO_SKELETON_1BASED.map(([a, b]) => [a - 1, b - 1]),
  colors: COCO_KEYPOINT_NAMES.map(sideColor),
};

const MPII_KEYPOINT_NAMES = [
  'right_ankle',
  'right_knee',
  'right_hip',
  'left_hip',
  'left_knee',
  'left_ankle',
  'pelvis',
  'thorax',
  'upper_neck',
  'head_top',
  'right_wrist',
  'right_elbow',
  'right_shoulder',
  'left_shoulder',
  'left_elbow',
  'left_wrist',
];

/** Official `mpii.py` parent of each joint (the pelvis is its own parent); the skeleton is child → parent. */
const MPII_PARENT_IDS = [1, 2, 6, 6, 3, 4, 6, 6, 7, 8, 11, 12, 7, 7, 13, 14];

/**
 * MPII keypoints: official HRNet `mpii.py` flip pairs and body halves; joint weights all 1 (the official MPII
 * dataset keeps the default `joints_weight = 1`); skeleton from the official parent ids.
 * MPII defines no OKS sigmas (its metric is PCKh). The values here give each joint the pycocotools sigma of its
 * COCO counterpart (ankle, knee, hip, wrist, elbow, shoulder); the pelvis takes the hip value, the thorax and
 * upper neck the shoulder value, the head top the ear value. They only matter for OKS-based NMS / evaluation.
 */
export const MPII_META: KeypointMeta = {
  name: 'mpii',
  keypointNames: MPII_KEYPOINT_NAMES,
  flipPairs: [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]],
  upperBodyIds: [7, 8, 9, 10, 11, 12, 13, 14, 15],
  lowerBodyIds: [0, 1, 2, 3, 4, 5, 6],
  jointsWeight: new Array<number>(16).fill(1),
  sigmas: [0.089, 0.087, 0.107, 0.107, 0.087, 0.089, 0.107, 0.079, 0.079, 0.035, 0.062, 0.072, 0.079, 0.079, 0.072, 0.062],
  skeleton: MPII_PARENT_IDS.flatMap((parent, child): [number, number][] => (parent === child ? [] : [[child, parent]])),
  colors: MPII_KEYPOINT_NAMES.map(sideColor),
};

/** Side and side-free key of a keypoint name, e.g. `left_eye` → `{side: 'left', base: 'eye'}`. */
export interface KeypointSide {
  side: 'left' | 'right' | null;
  /** The name without its side marker, lower-case, words joined by `_`. */
  base: string;
}

/**
 * Splits a keypoint name into its side and the rest. Recognised markers: a word `left`/`right` or `l`/`r`
 * anywhere (`left_eye`, `eye_left`, `l_eye`, `eye_r`), camelCase and capitalised forms (`leftEye`, `LEye`,
 * `RShoulder`), and a lower-case `left`/`right` prefix glued to the rest (`leftshoulder`).
 * @param name keypoint name
 */
export function keypointSide(name: string): KeypointSide {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
  const at = words.findIndex((w) => w === 'left' || w === 'l' || w === 'right' || w === 'r');
  if (at >= 0) {
    const side = words[at] === 'left' || words[at] === 'l' ? 'left' : 'right';
    return { side, base: words.filter((_, i) => i !== at).join('_') };
  }
  if (words.length > 0) {
    const glued = /^(left|right)(.+)$/.exec(words[0]);
    if (glued !== null) {
      return { side: glued[1] === 'left' ? 'left' : 'right', base: [glued[2], ...words.slice(1)].join('_') };
    }
  }
  return { side: null, base: words.join('_') };
}

function sideColor(name: string): Rgb {
  const { side } = keypointSide(name);
  const color = side === 'left' ? LEFT_COLOR : side === 'right' ? RIGHT_COLOR : CENTER_COLOR;
  return [color[0], color[1], color[2]];
}

/**
 * Left/right pairs inferred from keypoint names (see {@link keypointSide}): a left and a right name with the same
 * rest form a pair `[lower index, higher index]`; pairs are sorted by their first index. Sided names without a
 * unique partner are reported in `unpaired`.
 * @param names `[K]` keypoint names
 */
export function inferFlipPairs(names: readonly string[]): { flipPairs: [number, number][]; unpaired: string[] } {
  const groups = new Map<string, { left: number[]; right: number[] }>();
  names.forEach((name, i) => {
    const { side, base } = keypointSide(name);
    if (side === null) return;
    let group = groups.get(base);
    if (group === undefined) {
      group = { left: [], right: [] };
      groups.set(base, group);
    }
    group[side].push(i);
  });
  const flipPairs: [number, number][] = [];
  const unpaired: string[] = [];
  for (const { left, right } of groups.values()) {
    if (left.length === 1 && right.length === 1) {
      flipPairs.push([Math.min(left[0], right[0]), Math.max(left[0], right[0])]);
    } else {
      for (const i of [...left, ...right]) unpaired.push(names[i]);
    }
  }
  flipPairs.sort((p, q) => p[0] - q[0]);
  return { flipPairs, unpaired };
}

/** Words that mark a lower-body keypoint. */
const LOWER_BODY_WORDS = new Set([
  'hip', 'hips', 'pelvis', 'knee', 'knees', 'ankle', 'ankles', 'foot', 'feet', 'toe', 'toes', 'heel', 'heels',
  'leg', 'thigh', 'shin', 'calf', 'tail', 'hind',
]);

function isLowerBodyName(name: string): boolean {
  const words = keypointSide(name).base.split('_');
  if (words.some((w) => LOWER_BODY_WORDS.has(w))) return true;
  return words.includes('back') && (words.includes('paw') || words.includes('hoof'));
}

/** What {@link metaFromCocoCategory} reads from a COCO `categories[k]` entry: its keypoint names, and its id, name and skeleton when present. */
export type KeypointCategory = Required<Pick<CocoCategory, 'keypoints'>> & Partial<Pick<CocoCategory, 'id' | 'name' | 'skeleton'>>;

/** Fields of an inferred meta that a caller may set explicitly (validated like the rest). */
export type KeypointMetaOverrides = Partial<Omit<KeypointMeta, 'keypointNames'>>;

/** A meta inferred from a category, with what could not be used. */
export interface InferredKeypointMeta {
  meta: KeypointMeta;
  /** Human-readable notes: dropped skeleton links, sided names without a partner. */
  warnings: string[];
}

/**
 * Builds a keypoint meta from a COCO-format category:
 * - `flipPairs` from left/right names ({@link inferFlipPairs});
 * - `lowerBodyIds` = joints named like hips, knees, ankles, feet, tail, back paws; `upperBodyIds` = the others;
 *   when no name is recognised every joint is upper body;
 * - `jointsWeight` all 1;
 * - `sigmas`: the pycocotools person sigma for a keypoint whose name is a COCO keypoint name
 *   (`left_shoulder`, …), else {@link DEFAULT_OKS_SIGMA};
 * - `skeleton` converted to 0-based; links outside the keypoint range are dropped with a warning;
 * - `colors` by side (left green, right orange, midline blue).
 * Any field can be replaced through `overrides`; the result is validated ({@link validateKeypointMeta}).
 * @param category the `categories[k]` entry
 * @param overrides fields to set instead of the inferred ones
 */
export function metaFromCocoCategory(category: KeypointCategory, overrides: KeypointMetaOverrides = {}): InferredKeypointMeta {
  const label = `category ${JSON.stringify(category.name ?? category.id ?? '?')}`;
  const names = category.keypoints;
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) {
    throw new Error(`${label}: field "keypoints" must be a non-empty list of keypoint names`);
  }
  const numJoints = names.length;
  const warnings: string[] = [];

  const { flipPairs, unpaired } = inferFlipPairs(names);
  if (unpaired.length > 0 && overrides.flipPairs === undefined) {
    warnings.push(`${label}: no unique left/right partner for ${unpaired.join(', ')}; not flipped`);
  }

  const lowerBodyIds: number[] = [];
  const upperBodyIds: number[] = [];
  names.forEach((name, i) => (isLowerBodyName(name) ? lowerBodyIds : upperBodyIds).push(i));

  const cocoSigma = new Map(COCO_KEYPOINT_NAMES.map((n, i) => [n, COCO_KPT_OKS_SIGMAS[i]]));
  const sigmas = names.map((n) => cocoSigma.get(n.toLowerCase()) ?? DEFAULT_OKS_SIGMA);

  const skeleton: [number, number][] = [];
  if (overrides.skeleton === undefined && category.skeleton !== undefined) {
    if (!Array.isArray(category.skeleton)) throw new Error(`${label}: field "skeleton" must be a list of [a, b] pairs`);
    category.skeleton.forEach((link, i) => {
      if (!Array.isArray(link) || link.length !== 2 || !link.every(Number.isInteger)) {
        throw new Error(`${label}: skeleton[${i}] must be a pair of 1-based keypoint indices, got ${JSON.stringify(link)}`);
      }
      const a = link[0] - 1;
      const b = link[1] - 1;
      if (a < 0 || b < 0 || a >= numJoints || b >= numJoints) {
        warnings.push(`${label}: skeleton[${i}] = [${link[0]}, ${link[1]}] is out of range for ${numJoints} keypoints; dropped`);
        return;
      }
      skeleton.push([a, b]);
    });
  }

  const meta: KeypointMeta = {
    name: category.name ?? `category_${category.id ?? 0}`,
    keypointNames: [...names],
    flipPairs,
    upperBodyIds,
    lowerBodyIds,
    jointsWeight: new Array<number>(numJoints).fill(1),
    sigmas,
    skeleton,
    colors: names.map(sideColor),
    ...overrides,
  };
  validateKeypointMeta(meta);
  return { meta, warnings };
}

/**
 * Checks a meta's internal consistency and throws an error naming the field: names non-empty and unique;
 * `jointsWeight`, `sigmas` (and `colors`) of length K; indices integers in `[0, K)`; flip pairs of two different
 * joints, each joint in at most one pair; sigmas > 0, weights ≥ 0.
 * @param meta the meta to check
 */
export function validateKeypointMeta(meta: KeypointMeta): void {
  const label = `keypoint meta ${JSON.stringify(meta.name)}`;
  const names = meta.keypointNames;
  if (!Array.isArray(names) || names.length === 0) throw new Error(`${label}: keypointNames must be a non-empty list`);
  const numJoints = names.length;
  const seen = new Set<string>();
  for (const n of names) {
    if (typeof n !== 'string' || n.length === 0) throw new Error(`${label}: keypointNames must be non-empty strings`);
    if (seen.has(n)) throw new Error(`${label}: keypointNames has "${n}" twice`);
    seen.add(n);
  }
  const checkIndex = (field: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= numJoints) {
      throw new Error(`${label}: ${field} = ${JSON.stringify(value)} is not a keypoint index in [0, ${numJoints})`);
    }
  };
  const checkPairs = (field: 'flipPairs' | 'skeleton'): void => {
    const pairs = meta[field];
    if (!Array.isArray(pairs)) throw new Error(`${label}: ${field} must be a list of [a, b] pairs`);
    pairs.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new Error(`${label}: ${field}[${i}] must be a pair [a, b], got ${JSON.stringify(pair)}`);
      }
      checkIndex(`${field}[${i}][0]`, pair[0]);
      checkIndex(`${field}[${i}][1]`, pair[1]);
    });
  };
  checkPairs('flipPairs');
  checkPairs('skeleton');
  const paired = new Set<number>();
  meta.flipPairs.forEach(([a, b], i) => {
    if (a === b) throw new Error(`${label}: flipPairs[${i}] pairs joint ${a} with itself`);
    for (const j of [a, b]) {
      if (paired.has(j)) throw new Error(`${label}: joint ${j} appears in more than one flip pair (flipPairs[${i}])`);
      paired.add(j);
    }
  });
  for (const field of ['upperBodyIds', 'lowerBodyIds'] as const) {
    if (!Array.isArray(meta[field])) throw new Error(`${label}: ${field} must be a list of keypoint indices`);
    meta[field].forEach((id, i) => checkIndex(`${field}[${i}]`, id));
  }
  const checkVector = (field: 'jointsWeight' | 'sigmas', ok: (v: number) => boolean, what: string): void => {
    const values = meta[field];
    if (!Array.isArray(values) || values.length !== numJoints) {
      throw new Error(`${label}: ${field} must have one entry per keypoint (${numJoints}), got ${Array.isArray(values) ? values.length : typeof values}`);
    }
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !ok(v)) throw new Error(`${label}: ${field}[${i}] = ${v} must be ${what}`);
    });
  };
  checkVector('jointsWeight', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0');
  checkVector('sigmas', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  if (meta.colors !== undefined) {
    if (!Array.isArray(meta.colors) || meta.colors.length !== numJoints) {
      throw new Error(`${label}: colors must have one [r, g, b] per keypoint (${numJoints})`);
    }
    meta.colors.forEach((c, i) => {
      if (!Array.isArray(c) || c.length !== 3 || c.some((v) => !Number.isFinite(v) || v < 0 || v > 255)) {
        throw new Error(`${label}: colors[${i}] must be [r, g, b] with values in 0..255, got ${JSON.stringify(c)}`);
      }
    });
  }
}

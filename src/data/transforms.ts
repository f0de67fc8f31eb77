/**
 * Sample geometry of the top-down pipeline (the box / joint helpers of the official `JointsDataset` and
 * `COCODataset`): horizontal flip of joints, half-body crops, box → center/scale and the random scale/rotation
 * draws of training. The crop affine and the point map belong to the codec (`src/codec/affine.ts`), since
 * UDP changes them.
 *
 * Conventions: joints and their visibilities are flat row-major `[K, 3]` arrays (`x, y, z` and `v, v, 0`, as the
 * official `joints_3d` / `joints_3d_vis`); `center` is in pixels, `scale` in units of `pixelStd` (200) pixels;
 * sizes are `[width, height]`; an affine matrix is a row-major 2×3 `Float64Array` mapping `[x, y, 1]`.
 */

import { PIXEL_STD, type Vec2 } from '../codec/affine';
import type { CocoImage, CocoKeypointAnnotation } from './coco-format';

export { PIXEL_STD, type Vec2 } from '../codec/affine';

/** A uniform random stream on `[0, 1)`, e.g. a `seedrandom` generator. Every random draw of the data path uses one. */
export type UniformRng = () => number;

const f32 = Math.fround;

/** A person box converted to the crop parameters of the official code. */
export interface CenterScale {
  /** Box center `[x, y]` in image pixels (float32 values, as the official `np.float32` arrays). */
  center: Vec2;
  /** Box size `[w, h]` divided by `pixelStd` (float32 values). */
  scale: Vec2;
}

function checkJointArrays(fn: string, joints: ArrayLike<number>, jointsVis: ArrayLike<number>): number {
  if (joints.length % 3 !== 0) throw new Error(`${fn}: joints must be [K, 3], got ${joints.length} values`);
  if (jointsVis.length !== joints.length) {
    throw new Error(`${fn}: jointsVis must be [K, 3] like joints (${joints.length} values), got ${jointsVis.length}`);
  }
  return joints.length / 3;
}

function checkPairs(fn: string, pairs: ReadonlyArray<readonly [number, number]>, count: number): void {
  for (const [a, b] of pairs) {
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= count || b >= count) {
      throw new Error(`${fn}: flip pair [${a}, ${b}] is out of range for ${count} joints`);
    }
  }
}

/**
 * Mirrors joints horizontally for an image of `width` pixels (official `fliplr_joints`): `x → width − 1 − x` for
 * every joint, rows of each flip pair swapped in both arrays, and the joints multiplied by their visibility (so
 * invisible joints come back as 0 and the z column as `z · vis[k, 2]`). The inputs are left untouched.
 * @param joints flat `[K, 3]`
 * @param jointsVis flat `[K, 3]`
 * @param width image width in pixels
 * @param flipPairs 0-based left/right pairs
 * @returns new flat `[K, 3]` `joints` and `jointsVis`
 */
export function fliplrJoints(
  joints: ArrayLike<number>,
  jointsVis: ArrayLike<number>,
  width: number,
  flipPairs: ReadonlyArray<readonly [number, number]>,
): { joints: Float64Array; jointsVis: Float64Array } {
  const numJoints = checkJointArrays('fliplrJoints', joints, jointsVis);
  checkPairs('fliplrJoints', flipPairs, numJoints);
  const j = Float64Array.from(joints);
  const v = Float64Array.from(jointsVis);
  for (let k = 0; k < numJoints; k++) j[k * 3] = width - j[k * 3] - 1;
  for (const [a, b] of flipPairs) {
    for (let c = 0; c < 3; c++) {
      const ia = a * 3 + c;
      const ib = b * 3 + c;
      const tj = j[ia];
      j[ia] = j[ib];
      j[ib] = tj;
      const tv = v[ia];
      v[ia] = v[ib];
      v[ib] = tv;
    }
  }
  for (let i = 0; i < j.length; i++) j[i] *= v[i];
  return { joints: j, jointsVis: v };
}

/**
 * One standard normal draw from the uniform stream (Box–Muller: two uniforms per draw, the second normal of the
 * pair is discarded so that every call consumes exactly two uniforms). Stands in for the official
 * `np.random.randn()`.
 * @param rng uniform stream on `[0, 1)`
 */
export function standardNormal(rng: UniformRng): number {
  const u1 = 1 - rng(); // (0, 1]: keeps log finite
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Options of {@link halfBodyTransform}. */
export interface HalfBodyOptions {
  /** 0-based ids of the upper-body joints; every other joint is lower body. */
  upperBodyIds: readonly number[];
  /** Input aspect ratio `width / height` of the network. */
  aspectRatio: number;
  /** Pixels per scale unit (default 200). */
  pixelStd?: number;
}

/**
 * Half-body augmentation (official `JointsDataset.half_body_transform`): picks the visible upper-body joints
 * when `standardNormal(rng) < 0.5` and there are more than 2 of them, otherwise the lower-body ones if more than 2,
 * else the upper-body ones; returns the box around the chosen joints expanded to `aspectRatio` and ×1.5, or null
 * when fewer than 2 joints were chosen. One normal draw (two uniforms) is always consumed.
 * @param joints flat `[K, 3]`
 * @param jointsVis flat `[K, 3]`
 * @param opts upper-body ids and aspect ratio
 * @param rng uniform stream driving the upper/lower choice
 * @returns float32 `center` / `scale`, or null
 */
export function halfBodyTransform(
  joints: ArrayLike<number>,
  jointsVis: ArrayLike<number>,
  opts: HalfBodyOptions,
  rng: UniformRng,
): CenterScale | null {
  const numJoints = checkJointArrays('halfBodyTransform', joints, jointsVis);
  const pixelStd = opts.pixelStd ?? PIXEL_STD;
  const upperSet = new Set(opts.upperBodyIds);
  const upper: number[] = [];
  const lower: number[] = [];
  for (let k = 0; k < numJoints; k++) {
    if (jointsVis[k * 3] > 0) (upperSet.has(k) ? upper : lower).push(k);
  }
  const draw = standardNormal(rng);
  let selected: number[];
  if (draw < 0.5 && upper.length > 2) selected = upper;
  else selected = lower.length > 2 ? lower : upper;
  if (selected.length < 2) return null;

  // float32 arithmetic, as on the official float32 array of the chosen joints
  let sumX = 0;
  let sumY = 0;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const k of selected) {
    const x = f32(joints[k * 3]);
    const y = f32(joints[k * 3 + 1]);
    sumX = f32(sumX + x);
    sumY = f32(sumY + y);
    if (x < minX) minX = x;
    if (y < minY) minY = y;
    if (x > maxX) maxX = x;
    if (y > maxY) maxY = y;
  }
  const center: Vec2 = [f32(sumX / selected.length), f32(sumY / selected.length)];
  let w = f32(maxX - minX);
  let h = f32(maxY - minY);
  if (w > opts.aspectRatio * h) h = w / opts.aspectRatio;
  else if (w < opts.aspectRatio * h) w = h * opts.aspectRatio;
  const scale: Vec2 = [f32(f32(w / pixelStd) * 1.5), f32(f32(h / pixelStd) * 1.5)];
  return { center, scale };
}

/**
 * Box `[x, y, w, h]` → center and scale (official `COCODataset._xywh2cs`): the box is expanded to
 * `aspectRatio` (`width / height` of the input), divided by `pixelStd` and enlarged ×1.25 — unless the center's x
 * is exactly −1 (the official "no box" marker), then no enlargement.
 * @returns float32 `center` / `scale`
 */
export function xywh2cs(
  x: number,
  y: number,
  w: number,
  h: number,
  aspectRatio: number,
  pixelStd = PIXEL_STD,
): CenterScale {
  const center: Vec2 = [f32(x + w * 0.5), f32(y + h * 0.5)];
  if (w > aspectRatio * h) h = w / aspectRatio;
  else if (w < aspectRatio * h) w = h * aspectRatio;
  let scale: Vec2 = [f32(w / pixelStd), f32(h / pixelStd)];
  if (center[0] !== -1) scale = [f32(scale[0] * 1.25), f32(scale[1] * 1.25)];
  return { center, scale };
}

/**
 * The official ground-truth box sanitising: clips `[x, y, w, h]` to an image of `width × height` pixels as
 * `x1 = max(0, x)`, `y1 = max(0, y)`, `x2 = min(width − 1, x1 + max(0, w − 1))`, `y2 = min(height − 1, y1 + max(0, h − 1))`.
 * @param bbox `[x, y, w, h]`
 * @returns `[x1, y1, x2 − x1, y2 − y1]`, or null when `x2 < x1` or `y2 < y1`
 */
export function cleanBox(bbox: ArrayLike<number>, width: number, height: number): [number, number, number, number] | null {
  const x1 = Math.max(0, bbox[0]);
  const y1 = Math.max(0, bbox[1]);
  const x2 = Math.min(width - 1, x1 + Math.max(0, bbox[2] - 1));
  const y2 = Math.min(height - 1, y1 + Math.max(0, bbox[3] - 1));
  if (!(x2 >= x1 && y2 >= y1)) return null;
  return [x1, y1, x2 - x1, y2 - y1];
}

/** The fields {@link cocoAnnotationsToRecords} reads from a COCO `images[i]` entry. */
export type CocoRecordImage = Pick<CocoImage, 'id' | 'width' | 'height'>;

/**
 * The fields {@link cocoAnnotationsToRecords} reads from a COCO `annotations[i]` entry. `area` may be missing
 * (CrowdPose): the sanitised box area is then used for the `area > 0` test.
 */
export type CocoRecordAnnotation = Pick<CocoKeypointAnnotation, 'bbox' | 'keypoints' | 'category_id'> &
  Partial<Pick<CocoKeypointAnnotation, 'area' | 'iscrowd' | 'id'>>;

/** Options of {@link cocoAnnotationsToRecords}. */
export interface CocoRecordOptions {
  /** Keypoints per instance (K). */
  numJoints: number;
  /** Input aspect ratio `width / height`. */
  aspectRatio: number;
  /** Pixels per scale unit (default 200). */
  pixelStd?: number;
  /** Category ids to keep (default: all). The official COCO loader keeps `person` only. */
  categoryIds?: readonly number[];
}

/** One ground-truth person record, as the official `gt_db` entries. */
export interface JointsRecord {
  /** Box center `[x, y]` (float32 values). */
  center: Vec2;
  /** Box scale `[sx, sy]` (float32 values, ×1.25 included). */
  scale: Vec2;
  /** Flat `[K, 3]`: keypoint x, y, and 0. */
  joints3d: Float64Array;
  /** Flat `[K, 3]`: `min(v, 1)` twice, then 0. */
  joints3dVis: Float64Array;
  /** The annotation's `id`, when it has one. */
  annotationId?: number;
}

/**
 * Ground-truth records of one image (official `COCODataset._load_coco_keypoint_annotation_kernal`): crowd
 * annotations are skipped, boxes sanitised with {@link cleanBox} and kept when `area > 0`, annotations of other
 * categories or without any keypoint value (`max(keypoints) == 0`) dropped; the rest become center/scale
 * ({@link xywh2cs} of the clean box), joints and visibilities.
 * @param image the image's `id`, `width`, `height`
 * @param annotations that image's annotations, in file order
 * @returns the records in annotation order
 */
export function cocoAnnotationsToRecords(
  image: CocoRecordImage,
  annotations: readonly CocoRecordAnnotation[],
  opts: CocoRecordOptions,
): JointsRecord[] {
  const { numJoints, aspectRatio } = opts;
  const pixelStd = opts.pixelStd ?? PIXEL_STD;
  const categories = opts.categoryIds === undefined ? null : new Set(opts.categoryIds);
  const records: JointsRecord[] = [];
  for (const ann of annotations) {
    if (ann.iscrowd) continue;
    const where = `image ${image.id}, annotation ${ann.id ?? '?'}`;
    if (!Array.isArray(ann.bbox) || ann.bbox.length < 4) {
      throw new Error(`${where}: field "bbox" must be [x, y, w, h], got ${JSON.stringify(ann.bbox)}`);
    }
    const box = cleanBox(ann.bbox, image.width, image.height);
    if (box === null) continue;
    const area = ann.area ?? box[2] * box[3];
    if (!(area > 0)) continue;
    if (categories !== null && !categories.has(ann.category_id)) continue;
    const kpts = ann.keypoints;
    if (!Array.isArray(kpts) || kpts.length < numJoints * 3) {
      throw new Error(
        `${where}: field "keypoints" must hold ${numJoints} × [x, y, v] = ${numJoints * 3} numbers, ` +
          `got ${Array.isArray(kpts) ? kpts.length : typeof kpts}`,
      );
    }
    let maxValue = -Infinity;
    for (const value of kpts) if (value > maxValue) maxValue = value;
    if (maxValue === 0) continue;

    const joints3d = new Float64Array(numJoints * 3);
    const joints3dVis = new Float64Array(numJoints * 3);
    for (let k = 0; k < numJoints; k++) {
      joints3d[k * 3] = kpts[k * 3];
      joints3d[k * 3 + 1] = kpts[k * 3 + 1];
      const v = Math.min(kpts[k * 3 + 2], 1);
      joints3dVis[k * 3] = v;
      joints3dVis[k * 3 + 1] = v;
    }
    const { center, scale } = xywh2cs(box[0], box[1], box[2], box[3], aspectRatio, pixelStd);
    const record: JointsRecord = { center, scale, joints3d, joints3dVis };
    if (ann.id !== undefined) record.annotationId = ann.id;
    records.push(record);
  }
  return records;
}

/** The random scale and rotation of one training sample. */
export interface ScaleRotation {
  /** Factor to multiply the scale by, in `[1 − scaleFactor, 1 + scaleFactor]`. */
  scaleMultiplier: number;
  /** Rotation in degrees, in `[−2·rotFactor, 2·rotFactor]`, or 0. */
  rotation: number;
}

/**
 * The random scale and rotation of the official `__getitem__`, in its order of draws:
 * `scaleMultiplier = clip(randn·sf + 1, 1 − sf, 1 + sf)`; then a uniform `u`; when `u <= 0.6`,
 * `rotation = clip(randn·rf, −2rf, 2rf)`, else 0 (the normal is only drawn when used). `randn` is
 * {@link standardNormal} on the same stream. The official code multiplies its float32 scale array by the factor in
 * float32: `s = [fround(s0 · m), fround(s1 · m)]`.
 *
 * Official order of all training draws of one sample: a uniform for the half-body gate (`< PROB_HALF_BODY`, only
 * when more than `NUM_JOINTS_HALF_BODY` joints are visible), the normal of {@link halfBodyTransform} (only when the
 * gate passed), these draws, then a uniform for the flip (`<= 0.5`).
 * @param rng uniform stream on `[0, 1)`
 * @param scaleFactor `DATASET.SCALE_FACTOR` (e.g. 0.35)
 * @param rotFactor `DATASET.ROT_FACTOR` in degrees (e.g. 45)
 */
export function scaleRotateFromRandom(rng: UniformRng, scaleFactor: number, rotFactor: number): ScaleRotation {
  const sf = scaleFactor;
  const rf = rotFactor;
  const scaleMultiplier = clip(standardNormal(rng) * sf + 1, 1 - sf, 1 + sf);
  const rotation = rng() <= 0.6 ? clip(standardNormal(rng) * rf, -rf * 2, rf * 2) : 0;
  return { scaleMultiplier, rotation };
}

function clip(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

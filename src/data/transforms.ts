/**
 * Geometric transforms of the top-down pipeline (official `lib/utils/transforms.py` and the box / joint helpers
 * of `JointsDataset` and `COCODataset`): the crop affine, point mapping, horizontal flip of joints and
 * heatmaps, half-body crops, box → center/scale and the random scale/rotation draws of training.
 *
 * Conventions: joints and their visibilities are flat row-major `[K, 3]` arrays (`x, y, z` and `v, v, 0`, as the
 * official `joints_3d` / `joints_3d_vis`); `center` is in pixels, `scale` in units of `pixelStd` (200) pixels;
 * sizes are `[width, height]`; an affine matrix is a row-major 2×3 `Float64Array` mapping `[x, y, 1]`.
 */

/** A 2-vector `[x, y]` (or `[width, height]`). */
export type Vec2 = [number, number];

/** A uniform random stream on `[0, 1)`, e.g. a `seedrandom` generator. Every random draw of the data path uses one. */
export type UniformRng = () => number;

/** The official `pixel_std`: scale is expressed in units of 200 pixels. */
export const PIXEL_STD = 200;

const f32 = Math.fround;

/** A person box converted to the crop parameters of the official code. */
export interface CenterScale {
  /** Box center `[x, y]` in image pixels (float32 values, as the official `np.float32` arrays). */
  center: Vec2;
  /** Box size `[w, h]` divided by `pixelStd` (float32 values). */
  scale: Vec2;
}

/**
 * Rotates the point `srcPoint` by `rotRad` radians (official `get_dir`).
 * @param srcPoint `[x, y]`
 * @returns the rotated `[x, y]` (float64)
 */
export function getDir(srcPoint: Readonly<Vec2>, rotRad: number): Vec2 {
  const sn = Math.sin(rotRad);
  const cs = Math.cos(rotRad);
  return [srcPoint[0] * cs - srcPoint[1] * sn, srcPoint[0] * sn + srcPoint[1] * cs];
}

/**
 * The third point of the official construction: `b` plus `a − b` rotated by 90° (official `get_3rd_point`).
 * Computed in float32 arithmetic, as the official code does on its float32 point arrays.
 * @param a `[x, y]`
 * @param b `[x, y]`
 * @returns `[x, y]` (float32 values)
 */
export function get3rdPoint(a: Readonly<Vec2>, b: Readonly<Vec2>): Vec2 {
  const dx = f32(a[0] - b[0]);
  const dy = f32(a[1] - b[1]);
  return [f32(b[0] - dy), f32(b[1] + dx)];
}

/**
 * Solves the affine map that sends three points onto three others (what `cv2.getAffineTransform` computes),
 * in float64.
 * @param src three points, flat `[3, 2]`
 * @param dst three points, flat `[3, 2]`
 * @returns 2×3 row-major matrix
 */
function solveAffine3(src: ArrayLike<number>, dst: ArrayLike<number>): Float64Array {
  // Linear part L solves L·[u1 u2] = [v1 v2] with u = src_i − src_0, v = dst_i − dst_0.
  const u1x = src[2] - src[0];
  const u1y = src[3] - src[1];
  const u2x = src[4] - src[0];
  const u2y = src[5] - src[1];
  const v1x = dst[2] - dst[0];
  const v1y = dst[3] - dst[1];
  const v2x = dst[4] - dst[0];
  const v2y = dst[5] - dst[1];
  const det = u1x * u2y - u2x * u1y;
  if (det === 0 || !Number.isFinite(det)) {
    throw new Error('getAffineTransform: the three source points are collinear (scale must be non-zero and finite)');
  }
  const a = (v1x * u2y - v2x * u1y) / det;
  const b = (v2x * u1x - v1x * u2x) / det;
  const c = (v1y * u2y - v2y * u1y) / det;
  const d = (v2y * u1x - v1y * u2x) / det;
  return Float64Array.of(a, b, dst[0] - a * src[0] - b * src[1], c, d, dst[1] - c * src[0] - d * src[1]);
}

/**
 * The crop affine of the official `get_affine_transform`: maps the box of size `scale · 200` around `center`,
 * rotated by `rot` degrees, onto an `outputSize` image (or back with `inv`).
 *
 * Only `scale[0]` sets the zoom (the map is a similarity); `scale[1]` enters only through `shift`.
 * The official code stores its three source and destination points in float32 arrays before solving; that
 * rounding is reproduced here (the inputs are taken as float32 values, as the official datasets hold them),
 * then the 3-point system is solved in float64.
 *
 * @param center `[x, y]` box center in image pixels
 * @param scale `[sx, sy]` in units of 200 px, or one number for both axes
 * @param rot rotation in degrees (positive: content turns counter-clockwise in the crop)
 * @param outputSize `[width, height]` of the crop (or heatmap)
 * @param shift `[sx, sy]` offset of the center as a fraction of the box size (default `[0, 0]`)
 * @param inv when true, returns the map from output coordinates back to the image
 * @returns 2×3 row-major `Float64Array`
 */
export function getAffineTransform(
  center: ArrayLike<number>,
  scale: ArrayLike<number> | number,
  rot: number,
  outputSize: ArrayLike<number>,
  shift: ArrayLike<number> = [0, 0],
  inv = false,
): Float64Array {
  // A scalar scale becomes a float64 pair in the official code; array scales are float32 there.
  const scalar = typeof scale === 'number';
  const scaleTmpX = scalar ? scale * 200 : f32(f32(scale[0]) * 200);
  const scaleTmpY = scalar ? scale * 200 : f32(f32(scale[1]) * 200);
  const dstW = outputSize[0];
  const dstH = outputSize[1];
  const rotRad = (Math.PI * rot) / 180;
  const srcDir = getDir([0, scaleTmpX * -0.5], rotRad);
  const dstDirY = f32(dstW * -0.5);

  const cx = f32(center[0]);
  const cy = f32(center[1]);
  const shiftX = scalar ? scaleTmpX * f32(shift[0]) : f32(scaleTmpX * f32(shift[0]));
  const shiftY = scalar ? scaleTmpY * f32(shift[1]) : f32(scaleTmpY * f32(shift[1]));

  const src0: Vec2 = [f32(cx + shiftX), f32(cy + shiftY)];
  const src1: Vec2 = [f32(cx + srcDir[0] + shiftX), f32(cy + srcDir[1] + shiftY)];
  const dst0: Vec2 = [f32(dstW * 0.5), f32(dstH * 0.5)];
  const dst1: Vec2 = [f32(dstW * 0.5), f32(dstH * 0.5 + dstDirY)];
  const src2 = get3rdPoint(src0, src1);
  const dst2 = get3rdPoint(dst0, dst1);

  const src = [src0[0], src0[1], src1[0], src1[1], src2[0], src2[1]];
  const dst = [dst0[0], dst0[1], dst1[0], dst1[1], dst2[0], dst2[1]];
  return inv ? solveAffine3(dst, src) : solveAffine3(src, dst);
}

/**
 * Inverse of an affine map.
 * @param t 2×3 row-major matrix
 * @returns 2×3 row-major matrix of the inverse map
 */
export function invertAffine(t: ArrayLike<number>): Float64Array {
  const det = t[0] * t[4] - t[1] * t[3];
  if (det === 0 || !Number.isFinite(det)) throw new Error('invertAffine: the matrix is singular');
  const a = t[4] / det;
  const b = -t[1] / det;
  const c = -t[3] / det;
  const d = t[0] / det;
  return Float64Array.of(a, b, -(a * t[2] + b * t[5]), c, d, -(c * t[2] + d * t[5]));
}

/**
 * Maps one point through an affine matrix (official `affine_transform`), in float64.
 * @param pt `[x, y]`
 * @param t 2×3 row-major matrix
 * @returns the mapped `[x, y]`
 */
export function affineTransform(pt: ArrayLike<number>, t: ArrayLike<number>): Vec2 {
  const x = pt[0];
  const y = pt[1];
  return [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]];
}

/**
 * Maps the `x, y` of every joint through `t` in place, as the official `__getitem__` does after the crop: only
 * joints whose `jointsVis[k, 0] > 0` are moved when `jointsVis` is given.
 * @param joints flat `[K, stride]` (x, y first), modified in place
 * @param t 2×3 row-major matrix
 * @param jointsVis optional flat `[K, 3]` visibilities
 * @param stride values per joint in `joints` (3 for `joints_3d`, 2 for plain points)
 */
export function affineTransformJointsInPlace(
  joints: Float64Array | Float32Array | number[],
  t: ArrayLike<number>,
  jointsVis?: ArrayLike<number>,
  stride = 3,
): void {
  const numJoints = Math.floor(joints.length / stride);
  for (let k = 0; k < numJoints; k++) {
    if (jointsVis !== undefined && !(jointsVis[k * 3] > 0)) continue;
    const o = k * stride;
    const x = joints[o];
    const y = joints[o + 1];
    joints[o] = t[0] * x + t[1] * y + t[2];
    joints[o + 1] = t[3] * x + t[4] * y + t[5];
  }
}

/**
 * Maps heatmap coordinates of one person back to image coordinates (official `transform_preds`), using
 * `getAffineTransform(center, scale, 0, outputSize, inv)`.
 * @param coords flat `[K, 2]` heatmap coordinates
 * @param center `[x, y]`
 * @param scale `[sx, sy]`
 * @param outputSize heatmap `[width, height]`
 * @returns flat `[K, 2]` image coordinates (float64)
 */
export function transformPreds(
  coords: ArrayLike<number>,
  center: ArrayLike<number>,
  scale: ArrayLike<number>,
  outputSize: ArrayLike<number>,
): Float64Array {
  const t = getAffineTransform(center, scale, 0, outputSize, [0, 0], true);
  const out = new Float64Array(coords.length);
  for (let i = 0; i + 1 < coords.length; i += 2) {
    const x = coords[i];
    const y = coords[i + 1];
    out[i] = t[0] * x + t[1] * y + t[2];
    out[i + 1] = t[3] * x + t[4] * y + t[5];
  }
  return out;
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
 * Flips heatmaps predicted on a mirrored input back to the original orientation (official `flip_back`): the
 * width axis is reversed and the channels of each flip pair swapped. The `SHIFT_HEATMAP` one-column shift of the
 * flip test is not part of it.
 * @param heatmaps `[N, K, H, W]` (NCHW)
 * @param shape `[N, K, H, W]`
 * @param flipPairs 0-based left/right pairs
 * @returns a new `[N, K, H, W]` array
 */
export function flipBack(
  heatmaps: Float32Array,
  shape: readonly [number, number, number, number],
  flipPairs: ReadonlyArray<readonly [number, number]>,
): Float32Array {
  const [n, k, h, w] = shape;
  if (heatmaps.length !== n * k * h * w) {
    throw new Error(`flipBack: heatmaps has ${heatmaps.length} values, expected N·K·H·W = ${n * k * h * w}`);
  }
  checkPairs('flipBack', flipPairs, k);
  const partner = new Int32Array(k);
  for (let c = 0; c < k; c++) partner[c] = c;
  for (const [a, b] of flipPairs) {
    partner[a] = b;
    partner[b] = a;
  }
  const out = new Float32Array(heatmaps.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < k; c++) {
      const src = (b * k + partner[c]) * plane;
      const dst = (b * k + c) * plane;
      for (let y = 0; y < h; y++) {
        const row = y * w;
        for (let x = 0; x < w; x++) out[dst + row + x] = heatmaps[src + row + (w - 1 - x)];
      }
    }
  }
  return out;
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

/** The image fields {@link cocoAnnotationsToRecords} needs from a COCO `images[i]` entry. */
export interface CocoImageInfo {
  id: number;
  width: number;
  height: number;
}

/** The annotation fields {@link cocoAnnotationsToRecords} reads from a COCO `annotations[i]` entry. */
export interface CocoKeypointAnnotation {
  /** `[x, y, w, h]` in pixels. */
  bbox: number[];
  /** Flat `[x1, y1, v1, x2, y2, v2, …]`. */
  keypoints: number[];
  category_id: number;
  /** Segment area; when absent (CrowdPose) the sanitised box area is used for the `area > 0` test. */
  area?: number;
  iscrowd?: number | boolean;
  id?: number;
}

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
  image: CocoImageInfo,
  annotations: readonly CocoKeypointAnnotation[],
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

/**
 * The crop geometry of the heatmap codecs: the affine maps between an image, the network input and the heatmaps,
 * and the one function that maps a point through such a map.
 *
 * - {@link getAffineTransform}: the official `get_affine_transform` (sizes as pixel counts, used by the official
 *   and DARK codecs);
 * - {@link getUdpAffineTransform}: UDP's unbiased map (Huang et al., CVPR 2020), which measures sizes as pixel
 *   extents, `size − 1`.
 *
 * Conventions: `center` is in image pixels, `scale` in units of {@link PIXEL_STD} pixels, sizes are
 * `[width, height]`; an affine matrix is a row-major 2×3 `Float64Array` mapping `[x, y, 1]`.
 */

const f32 = Math.fround;

/** A 2-vector `[x, y]` (or `[width, height]`). */
export type Vec2 = [number, number];

/** The official `pixel_std`: scale is expressed in units of 200 pixels. */
export const PIXEL_STD = 200;

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
    const [x, y] = affineTransform([joints[o], joints[o + 1]], t);
    joints[o] = x;
    joints[o + 1] = y;
  }
}

/**
 * UDP's unbiased crop affine (Huang et al., CVPR 2020, "unbiased coordinate system transformation"; mmpose
 * `get_udp_warp_matrix`): sizes are measured as pixel extents, so the box of `scale · 200` pixels around `center`
 * spans `outputSize − 1` output pixels and its center lands on `((W − 1)/2, (H − 1)/2)`:
 *
 *     sx = (W − 1) / (scale[0] · 200),  sy = (H − 1) / (scale[1] · 200)
 *     x' = sx · ( cos r · (x − cx) + sin r · (y − cy)) + (W − 1)/2
 *     y' = sy · (−sin r · (x − cx) + cos r · (y − cy)) + (H − 1)/2
 *
 * The rotation turns the content as {@link getAffineTransform} does (counter-clockwise for a positive `rot`), so a
 * rotation augmentation means the same with every codec. The map is a similarity only when the box has the
 * output's aspect ratio in extents; each axis has its own scale, as in the paper.
 * @param center `[x, y]` box center in image pixels
 * @param scale `[sx, sy]` in units of 200 px
 * @param rot rotation in degrees
 * @param outputSize `[width, height]` of the crop (or heatmap) in pixels
 * @param inv when true, returns the map from output coordinates back to the image
 * @returns 2×3 row-major `Float64Array`
 */
export function getUdpAffineTransform(
  center: ArrayLike<number>,
  scale: ArrayLike<number>,
  rot: number,
  outputSize: ArrayLike<number>,
  inv = false,
): Float64Array {
  const boxW = scale[0] * PIXEL_STD;
  const boxH = scale[1] * PIXEL_STD;
  if (!(boxW > 0 && boxH > 0 && Number.isFinite(boxW) && Number.isFinite(boxH))) {
    throw new Error(`getUdpAffineTransform: scale must be positive and finite, got [${scale[0]}, ${scale[1]}]`);
  }
  if (!(outputSize[0] > 1 && outputSize[1] > 1)) {
    throw new Error(`getUdpAffineTransform: outputSize must be at least 2 × 2 pixels, got [${outputSize[0]}, ${outputSize[1]}]`);
  }
  const sx = (outputSize[0] - 1) / boxW;
  const sy = (outputSize[1] - 1) / boxH;
  const rad = (Math.PI * rot) / 180;
  const cs = Math.cos(rad);
  const sn = Math.sin(rad);
  const cx = center[0];
  const cy = center[1];
  const a = sx * cs;
  const b = sx * sn;
  const c = -sy * sn;
  const d = sy * cs;
  const fwd = Float64Array.of(a, b, (outputSize[0] - 1) / 2 - a * cx - b * cy, c, d, (outputSize[1] - 1) / 2 - c * cx - d * cy);
  return inv ? invertAffine(fwd) : fwd;
}

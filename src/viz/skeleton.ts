/**
 * Keypoints and limbs as SVG: joint dots and skeleton lines coloured by body side (left, right, midline) from the
 * dataset's keypoint meta.
 */
import { CENTER_COLOR, KeypointMeta, LEFT_COLOR, RIGHT_COLOR, Rgb, keypointSide } from '../data/keypoint-meta';
import { rgbCss, svgCircle, svgLine } from './svg';

/** Keypoints of one instance: a flat `[K, 3]` array or K rows, each `x, y, v` (v = visibility or score). */
export type JointsInput = ArrayLike<number> | readonly (readonly number[])[];

/**
 * Normalises one instance's keypoints to a flat array and checks its size.
 * @param joints `[K, 3]` flat, or K rows of at least 3 numbers `x, y, v`
 * @param numJoints expected K
 * @param what name of the argument in the error message, e.g. `joints[2]`
 * @returns `[K, 3]` flat
 */
export function jointsToArray(joints: JointsInput, numJoints: number, what: string): Float64Array {
  const out = new Float64Array(numJoints * 3);
  const first = (joints as ArrayLike<unknown>)[0];
  if (joints.length > 0 && typeof first === 'object' && first !== null) {
    const rows = joints as readonly (readonly number[])[];
    if (rows.length !== numJoints) throw new Error(`${what}: expected ${numJoints} keypoint rows [x, y, v], got ${rows.length}`);
    rows.forEach((row, k) => {
      if (row.length < 3) throw new Error(`${what}[${k}]: expected [x, y, v], got ${JSON.stringify(row)}`);
      out[k * 3] = row[0];
      out[k * 3 + 1] = row[1];
      out[k * 3 + 2] = row[2];
    });
    return out;
  }
  const flat = joints as ArrayLike<number>;
  if (flat.length !== numJoints * 3) {
    throw new Error(`${what}: expected ${numJoints * 3} numbers ([K, 3] = ${numJoints} × [x, y, v]), got ${flat.length}`);
  }
  for (let i = 0; i < flat.length; i++) out[i] = flat[i];
  return out;
}

/**
 * The drawing colour of every keypoint: `meta.colors` when set, else by the side in its name (left green, right
 * orange, midline blue; see `keypointSide`).
 * @returns `[K]` colours
 */
export function keypointColors(meta: KeypointMeta): Rgb[] {
  if (meta.colors !== undefined) return meta.colors.map((c) => [c[0], c[1], c[2]]);
  return meta.keypointNames.map((name) => {
    const { side } = keypointSide(name);
    const c = side === 'left' ? LEFT_COLOR : side === 'right' ? RIGHT_COLOR : CENTER_COLOR;
    return [c[0], c[1], c[2]];
  });
}

/**
 * The colour of every skeleton limb: a limb within one side takes that side's keypoint colour, a limb between a
 * side and the midline takes the side's colour, and a limb across the body (left ↔ right, e.g. shoulder to
 * shoulder) takes the midline colour (of the meta's first midline keypoint, else `CENTER_COLOR`).
 * @param colors `[K]` keypoint colours ({@link keypointColors})
 * @returns `[L]` colours, one per `meta.skeleton` entry
 */
export function limbColors(meta: KeypointMeta, colors: readonly Rgb[]): Rgb[] {
  const sides = meta.keypointNames.map((n) => keypointSide(n).side);
  const midline = sides.indexOf(null);
  const across: Rgb = midline >= 0 ? colors[midline] : CENTER_COLOR;
  return meta.skeleton.map(([a, b]) => {
    if (sides[a] === sides[b] || sides[b] === null) return colors[a];
    if (sides[a] === null) return colors[b];
    return across;
  });
}

/** Sizes of the skeleton drawing, in output pixels. */
export interface SkeletonStyle {
  /** Radius of a joint dot. */
  radius: number;
  /** Width of a limb line. */
  lineWidth: number;
  /** Opacity of limbs (joints are opaque). Default 1. */
  limbOpacity?: number;
}

/** Joint and limb colours of a meta, computed once per picture. */
export interface SkeletonPalette {
  /** `[K]` keypoint colours. */
  joints: Rgb[];
  /** `[L]` limb colours, one per `meta.skeleton` entry. */
  limbs: Rgb[];
}

/** The {@link SkeletonPalette} of a meta. */
export function skeletonPalette(meta: KeypointMeta): SkeletonPalette {
  const joints = keypointColors(meta);
  return { joints, limbs: limbColors(meta, joints) };
}

/** Sensible joint radius and limb width for a picture whose shorter side is `minSide` pixels. */
export function defaultSkeletonStyle(minSide: number): SkeletonStyle {
  const radius = Math.max(2, Math.round(minSide / 64));
  return { radius, lineWidth: Math.max(1.5, radius * 0.7) };
}

/**
 * SVG of one instance: limbs between shown joints (a dark casing under a coloured line), then a dot with a dark
 * rim on every shown joint. Joints with non-finite coordinates are never shown.
 * Coordinates follow the official code and cv2: pixel `i` has its centre at `i`, so a joint at `x` is drawn at
 * SVG position `x + 0.5` (SVG pixel `i` covers `[i, i + 1)`).
 * @param joints `[K, 3]` flat `x, y, v` in the picture's pixel coordinates before the offset
 * @param shown whether joint `k` is drawn, given its third value `v`
 * @param offset added to every coordinate, e.g. the position of a crop in a grid
 */
export function skeletonSvg(
  joints: ArrayLike<number>,
  shown: (v: number, k: number) => boolean,
  meta: KeypointMeta,
  palette: SkeletonPalette,
  style: SkeletonStyle,
  offset: readonly [number, number] = [0, 0],
): string {
  const numJoints = meta.keypointNames.length;
  const dx = offset[0] + 0.5;
  const dy = offset[1] + 0.5;
  const visible: boolean[] = [];
  for (let k = 0; k < numJoints; k++) {
    const x = joints[k * 3];
    const y = joints[k * 3 + 1];
    visible.push(Number.isFinite(x) && Number.isFinite(y) && shown(joints[k * 3 + 2], k));
  }
  const limbOpacity = style.limbOpacity ?? 1;
  let casing = '';
  let limbs = '';
  meta.skeleton.forEach(([a, b], l) => {
    if (!visible[a] || !visible[b]) return;
    const x1 = joints[a * 3] + dx;
    const y1 = joints[a * 3 + 1] + dy;
    const x2 = joints[b * 3] + dx;
    const y2 = joints[b * 3 + 1] + dy;
    casing += svgLine(x1, y1, x2, y2, { stroke: 'black', strokeWidth: style.lineWidth + 2, opacity: 0.35 * limbOpacity });
    limbs += svgLine(x1, y1, x2, y2, { stroke: rgbCss(palette.limbs[l]), strokeWidth: style.lineWidth, opacity: limbOpacity });
  });
  let dots = '';
  for (let k = 0; k < numJoints; k++) {
    if (!visible[k]) continue;
    const rim = Math.max(1, style.radius / 3);
    dots += svgCircle(joints[k * 3] + dx, joints[k * 3 + 1] + dy, style.radius + rim / 2, { fill: 'black', opacity: 0.6 });
    dots += svgCircle(joints[k * 3] + dx, joints[k * 3 + 1] + dy, style.radius, { fill: rgbCss(palette.joints[k]) });
  }
  return casing + limbs + dots;
}

/**
 * Training targets of the heatmap codecs, one unnormalised Gaussian (peak 1) per joint plus a per-joint target
 * weight:
 * - {@link generateTarget}: the official `JointsDataset.generate_target` (Gaussian type), centred on the joint's
 *   integer heatmap cell, heatmap stride `imageSize / heatmapSize`;
 * - {@link generateUdpTarget}: UDP's target (Huang et al., CVPR 2020; mmpose `generate_udp_gaussian_heatmaps`),
 *   centred on the joint's exact heatmap position, heatmap stride `(imageSize − 1) / (heatmapSize − 1)`.
 */
import type { Vec2 } from './affine';

/** Memory layout of the target of one sample. */
export type TargetLayout = 'KHW' | 'HWK';

/** Options of {@link generateTarget}. */
export interface TargetOptions {
  /** Network input `[width, height]` (the joints' coordinate frame). */
  imageSize: Readonly<Vec2>;
  /** Heatmap `[width, height]`. */
  heatmapSize: Readonly<Vec2>;
  /** Gaussian standard deviation in heatmap cells (`MODEL.SIGMA`, 2 for 64×48 heatmaps). */
  sigma: number;
  /** Per-joint loss weights `[K]` (`LOSS.USE_DIFFERENT_JOINTS_WEIGHT`), e.g. the dataset meta's `jointsWeight`. */
  jointsWeight?: readonly number[];
  /** Multiply the target weights by `jointsWeight` (default false). */
  useDifferentJointsWeight?: boolean;
  /**
   * `'KHW'` (default): `target[(k·H + y)·W + x]`, the official `[K, H, W]`;
   * `'HWK'`: `target[(y·W + x)·K + k]`, one sample of an NHWC training batch.
   */
  layout?: TargetLayout;
}

/** Target and weights of one sample. */
export interface TargetBuffers {
  /** `[K, H, W]` or `[H, W, K]` per the layout. */
  target: Float32Array;
  /** `[K]`. */
  targetWeight: Float32Array;
}

/** A `(6σ + 1)²` Gaussian patch, computed as the official float32 grid. */
interface GaussianPatch {
  /** Side length of the grid (`ceil(6σ + 1)`). */
  side: number;
  /** `[side, side]` row-major values, peak 1 at the center. */
  values: Float32Array;
}

const patchCache = new Map<number, GaussianPatch>();

/** The official patch: `exp(−((x − x0)² + (y − y0)²) / (2σ²))` on a float32 grid, `x0 = y0 = floor((6σ + 1) / 2)`. */
function gaussianPatch(sigma: number): GaussianPatch {
  const cached = patchCache.get(sigma);
  if (cached !== undefined) return cached;
  const size = 2 * sigma * 3 + 1;
  const side = Math.ceil(size);
  const center = Math.floor(size / 2);
  const denom = Math.fround(2 * sigma * sigma);
  const values = new Float32Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const d2 = Math.fround((x - center) ** 2 + (y - center) ** 2);
      values[y * side + x] = Math.exp(Math.fround(-d2 / denom));
    }
  }
  const patch = { side, values };
  patchCache.set(sigma, patch);
  return patch;
}

/** Validated, cleared output buffers of one sample. */
interface PreparedTarget extends TargetBuffers {
  numJoints: number;
  /** Layout `'HWK'`. */
  hwk: boolean;
}

/** Checks the inputs of a target function and returns its cleared (or fresh) buffers. */
function targetBuffers(
  fn: string,
  joints: ArrayLike<number>,
  jointsVis: ArrayLike<number>,
  opts: TargetOptions,
  out: TargetBuffers | undefined,
): PreparedTarget {
  if (joints.length % 3 !== 0) throw new Error(`${fn}: joints must be [K, 3], got ${joints.length} values`);
  const numJoints = joints.length / 3;
  if (jointsVis.length !== joints.length) {
    throw new Error(`${fn}: jointsVis must be [K, 3] like joints (${joints.length} values), got ${jointsVis.length}`);
  }
  const hmW = opts.heatmapSize[0];
  const hmH = opts.heatmapSize[1];
  const { sigma } = opts;
  if (!(sigma > 0)) throw new Error(`${fn}: sigma must be > 0, got ${sigma}`);
  const useWeights = opts.useDifferentJointsWeight === true;
  if (useWeights && (opts.jointsWeight === undefined || opts.jointsWeight.length !== numJoints)) {
    throw new Error(
      `${fn}: useDifferentJointsWeight needs jointsWeight with ${numJoints} entries, ` +
        `got ${opts.jointsWeight === undefined ? 'none' : opts.jointsWeight.length}`,
    );
  }
  const hwk = (opts.layout ?? 'KHW') === 'HWK';
  const plane = hmW * hmH;

  let target: Float32Array;
  let targetWeight: Float32Array;
  if (out !== undefined) {
    if (out.target.length !== numJoints * plane || out.targetWeight.length !== numJoints) {
      throw new Error(
        `${fn}: out buffers must be target [${numJoints * plane}] and targetWeight [${numJoints}], ` +
          `got [${out.target.length}] and [${out.targetWeight.length}]`,
      );
    }
    target = out.target;
    targetWeight = out.targetWeight;
    target.fill(0);
  } else {
    target = new Float32Array(numJoints * plane);
    targetWeight = new Float32Array(numJoints);
  }

  return { target, targetWeight, numJoints, hwk };
}

/** Multiplies the target weights by `jointsWeight` (float32) when `useDifferentJointsWeight` is set. */
function applyJointsWeight(targetWeight: Float32Array, opts: TargetOptions): void {
  if (opts.useDifferentJointsWeight !== true || opts.jointsWeight === undefined) return;
  for (let k = 0; k < targetWeight.length; k++) targetWeight[k] = targetWeight[k] * Math.fround(opts.jointsWeight[k]);
}

/**
 * Gaussian heatmap targets of one sample (official `generate_target`):
 * - `mu = trunc(joint / featStride + 0.5)` with `featStride = imageSize / heatmapSize` (`int()` truncates toward 0);
 * - the window `ul = trunc(mu − 3σ)`, `br = trunc(mu + 3σ + 1)`; weight 0 when `ul >= size` or `br < 0` on
 *   either axis (`br == 0` keeps weight 1 and draws nothing);
 * - a joint with `jointsVis[k, 0] > 0.5` gets the patch pasted (overwritten) at the clipped window; the target
 *   weight starts as `jointsVis[k, 0]`, so invisible joints have weight 0 and no Gaussian;
 * - with `useDifferentJointsWeight` the weights are multiplied by `jointsWeight` (float32).
 *
 * Allocation-free when `out` is given (its buffers are cleared and refilled), e.g. `subarray` views of one sample's
 * slot in an NHWC batch buffer with `layout: 'HWK'`.
 * @param joints flat `[K, 3]` in input-image (crop) pixels
 * @param jointsVis flat `[K, 3]`
 * @param opts sizes, sigma, weights, layout
 * @param out optional preallocated buffers: `target` `[K·H·W]`, `targetWeight` `[K]`
 * @returns `target` `[K, H, W]` or `[H, W, K]`, `targetWeight` `[K]`
 */
export function generateTarget(
  joints: ArrayLike<number>,
  jointsVis: ArrayLike<number>,
  opts: TargetOptions,
  out?: TargetBuffers,
): TargetBuffers {
  const { target, targetWeight, numJoints, hwk } = targetBuffers('generateTarget', joints, jointsVis, opts, out);
  const hmW = opts.heatmapSize[0];
  const hmH = opts.heatmapSize[1];
  const { sigma } = opts;
  const plane = hmW * hmH;

  const strideX = opts.imageSize[0] / hmW;
  const strideY = opts.imageSize[1] / hmH;
  const tmpSize = sigma * 3;
  const patch = gaussianPatch(sigma);

  for (let k = 0; k < numJoints; k++) {
    targetWeight[k] = jointsVis[k * 3];
    const muX = Math.trunc(joints[k * 3] / strideX + 0.5);
    const muY = Math.trunc(joints[k * 3 + 1] / strideY + 0.5);
    const ulX = Math.trunc(muX - tmpSize);
    const ulY = Math.trunc(muY - tmpSize);
    const brX = Math.trunc(muX + tmpSize + 1);
    const brY = Math.trunc(muY + tmpSize + 1);
    if (ulX >= hmW || ulY >= hmH || brX < 0 || brY < 0) {
      targetWeight[k] = 0;
      continue;
    }
    if (!(targetWeight[k] > 0.5)) continue;

    const gx0 = Math.max(0, -ulX);
    const gy0 = Math.max(0, -ulY);
    const imgX0 = Math.max(0, ulX);
    const imgY0 = Math.max(0, ulY);
    const width = Math.min(Math.min(brX, hmW) - imgX0, patch.side - gx0);
    const height = Math.min(Math.min(brY, hmH) - imgY0, patch.side - gy0);
    for (let dy = 0; dy < height; dy++) {
      const gRow = (gy0 + dy) * patch.side + gx0;
      const y = imgY0 + dy;
      if (hwk) {
        const base = (y * hmW + imgX0) * numJoints + k;
        for (let dx = 0; dx < width; dx++) target[base + dx * numJoints] = patch.values[gRow + dx];
      } else {
        const base = k * plane + y * hmW + imgX0;
        for (let dx = 0; dx < width; dx++) target[base + dx] = patch.values[gRow + dx];
      }
    }
  }

  applyJointsWeight(targetWeight, opts);
  return { target, targetWeight };
}

/**
 * UDP Gaussian targets of one sample (Huang et al., CVPR 2020; mmpose `UDPHeatmap` with `heatmap_type='gaussian'`):
 * the joints are in the input crop made by UDP's affine (`getUdpAffineTransform`), so `imageSize − 1` input pixels
 * span `heatmapSize − 1` heatmap pixels and the joint's exact heatmap position is
 * `μ = joint · (heatmapSize − 1) / (imageSize − 1)`:
 * - the window is the official one around the rounded position: `m = trunc(μ + 0.5)`, `ul = trunc(m − 3σ)`,
 *   `br = trunc(m + 3σ + 1)`, weight 0 when `ul >= size` or `br < 0` on either axis;
 * - inside the window (clipped to the heatmap) `target(x, y) = exp(−((x − μx)² + (y − μy)²) / (2σ²))`: the peak
 *   sits at `μ`, not at the rounded cell, so the target carries the sub-pixel position;
 * - weights and `useDifferentJointsWeight` as {@link generateTarget}; a joint with `jointsVis[k, 0] <= 0.5` has no
 *   Gaussian.
 * @param joints flat `[K, 3]` in input-image (crop) pixels
 * @param jointsVis flat `[K, 3]`
 * @param opts sizes, sigma, weights, layout
 * @param out optional preallocated buffers: `target` `[K·H·W]`, `targetWeight` `[K]`
 * @returns `target` `[K, H, W]` or `[H, W, K]`, `targetWeight` `[K]`
 */
export function generateUdpTarget(
  joints: ArrayLike<number>,
  jointsVis: ArrayLike<number>,
  opts: TargetOptions,
  out?: TargetBuffers,
): TargetBuffers {
  const { target, targetWeight, numJoints, hwk } = targetBuffers('generateUdpTarget', joints, jointsVis, opts, out);
  const hmW = opts.heatmapSize[0];
  const hmH = opts.heatmapSize[1];
  const { sigma } = opts;
  const plane = hmW * hmH;
  const gridX = (hmW - 1) / (opts.imageSize[0] - 1);
  const gridY = (hmH - 1) / (opts.imageSize[1] - 1);
  const radius = sigma * 3;
  const twoSigma2 = 2 * sigma * sigma;

  for (let k = 0; k < numJoints; k++) {
    targetWeight[k] = jointsVis[k * 3];
    const muX = joints[k * 3] * gridX;
    const muY = joints[k * 3 + 1] * gridY;
    const cellX = Math.trunc(muX + 0.5);
    const cellY = Math.trunc(muY + 0.5);
    const ulX = Math.trunc(cellX - radius);
    const ulY = Math.trunc(cellY - radius);
    const brX = Math.trunc(cellX + radius + 1);
    const brY = Math.trunc(cellY + radius + 1);
    if (ulX >= hmW || ulY >= hmH || brX < 0 || brY < 0) {
      targetWeight[k] = 0;
      continue;
    }
    if (!(targetWeight[k] > 0.5)) continue;
    for (let y = Math.max(0, ulY); y < Math.min(brY, hmH); y++) {
      const dy2 = (y - muY) ** 2;
      for (let x = Math.max(0, ulX); x < Math.min(brX, hmW); x++) {
        const value = Math.exp(-((x - muX) ** 2 + dy2) / twoSigma2);
        target[hwk ? (y * hmW + x) * numJoints + k : k * plane + y * hmW + x] = value;
      }
    }
  }
  applyJointsWeight(targetWeight, opts);
  return { target, targetWeight };
}

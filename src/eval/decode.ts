/**
 * Heatmaps → keypoints, the decoding half of the heatmap codec (official `core/inference.py`): argmax per map,
 * an optional sub-pixel refinement (the official quarter-pixel shift, or DARK's Taylor expansion), then the inverse
 * crop affine back to image coordinates.
 *
 * Heatmaps are NCHW `Float32Array`s `[N, K, H, W]` as the official code and the fixtures hold them;
 * {@link nhwcToNchw} converts NHWC model outputs.
 */
import { getAffineTransform } from '../data/transforms';

/** `[N, K, H, W]` of a heatmap batch. */
export type HeatmapShape = readonly [number, number, number, number];

/** Argmax locations and peak values. */
export interface MaxPreds {
  /** `[N, K, 2]` heatmap `x, y` of each peak; 0, 0 where the peak value is ≤ 0. */
  preds: Float32Array;
  /** `[N, K]` peak values. */
  maxvals: Float32Array;
}

/** Sub-pixel refinement applied after the argmax. */
export type DecodeMethod = 'default' | 'dark';

/** Options of {@link getFinalPreds}. */
export interface FinalPredsOptions {
  /** `TEST.POST_PROCESS`: refine the argmax (false: plain argmax, whatever `decode` says). */
  postProcess: boolean;
  /**
   * `'default'` (official): shift a quarter pixel toward the higher neighbour on each axis.
   * `'dark'` (Zhang et al., CVPR 2020): blur, log, second-order Taylor step. Default `'default'`.
   */
  decode?: DecodeMethod;
  /** Odd Gaussian kernel size of the DARK blur (default 11, the DARK setting for σ = 2 heatmaps). */
  blurKernel?: number;
}

function checkShape(fn: string, heatmaps: ArrayLike<number>, shape: HeatmapShape): void {
  const [n, k, h, w] = shape;
  if (![n, k, h, w].every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${fn}: shape must be four positive integers [N, K, H, W], got [${shape.join(', ')}]`);
  }
  if (heatmaps.length !== n * k * h * w) {
    throw new Error(`${fn}: heatmaps has ${heatmaps.length} values, expected N·K·H·W = ${n * k * h * w} for [${shape.join(', ')}]`);
  }
}

/**
 * Argmax of every heatmap (official `get_max_preds`): the first maximum in row-major order wins ties,
 * `x = idx % W`, `y = floor(idx / W)`, and the location is zeroed unless the peak is strictly positive.
 * @param heatmaps `[N, K, H, W]`
 * @param shape `[N, K, H, W]`
 * @returns `preds` `[N, K, 2]`, `maxvals` `[N, K]`
 */
export function getMaxPreds(heatmaps: ArrayLike<number>, shape: HeatmapShape): MaxPreds {
  checkShape('getMaxPreds', heatmaps, shape);
  const [n, k, h, w] = shape;
  const plane = h * w;
  const maps = n * k;
  const preds = new Float32Array(maps * 2);
  const maxvals = new Float32Array(maps);
  for (let m = 0; m < maps; m++) {
    const base = m * plane;
    let best = heatmaps[base];
    let idx = 0;
    if (!Number.isNaN(best)) {
      for (let i = 1; i < plane; i++) {
        const v = heatmaps[base + i];
        if (v > best) {
          best = v;
          idx = i;
        } else if (Number.isNaN(v)) {
          // numpy's argmax/amax stop at the first NaN
          best = v;
          idx = i;
          break;
        }
      }
    }
    maxvals[m] = best;
    if (best > 0) {
      preds[m * 2] = idx % w;
      preds[m * 2 + 1] = Math.floor(idx / w);
    }
  }
  return { preds, maxvals };
}

/**
 * The official quarter-pixel refinement, in place: for a peak rounded to `(px, py)` strictly inside
 * `1 < px < W − 1`, `1 < py < H − 1`, each coordinate moves 0.25 toward its higher neighbour (by the sign of the
 * central difference; no move on a tie).
 * @param heatmaps `[N, K, H, W]`
 * @param coords `[N, K, 2]`, modified in place
 */
function quarterOffsetRefine(heatmaps: ArrayLike<number>, shape: HeatmapShape, coords: Float32Array): void {
  const [n, k, h, w] = shape;
  const plane = h * w;
  for (let m = 0; m < n * k; m++) {
    const px = Math.floor(coords[m * 2] + 0.5);
    const py = Math.floor(coords[m * 2 + 1] + 0.5);
    if (!(px > 1 && px < w - 1 && py > 1 && py < h - 1)) continue;
    const at = m * plane + py * w + px;
    coords[m * 2] += 0.25 * Math.sign(heatmaps[at + 1] - heatmaps[at - 1]);
    coords[m * 2 + 1] += 0.25 * Math.sign(heatmaps[at + w] - heatmaps[at - w]);
  }
}

/**
 * Normalised 1-D Gaussian kernel of an odd size, with the σ OpenCV derives from the size when none is given:
 * `σ = 0.3·((size − 1)/2 − 1) + 0.8` (σ = 2 for size 11).
 * @returns `[size]`
 */
function blurKernel1d(size: number): Float64Array {
  const sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
  const half = (size - 1) / 2;
  const kernel = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    kernel[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
    sum += kernel[i];
  }
  for (let i = 0; i < size; i++) kernel[i] /= sum;
  return kernel;
}

/**
 * DARK's map modulation for one heatmap: separable Gaussian blur with zero padding (the DARK code pads by the
 * kernel radius before blurring), rescaled so that its maximum equals the original maximum (skipped when either
 * maximum is ≤ 0), clamped to ≥ 1e-10, then log.
 * @param src `[H, W]` starting at `offset`
 * @param out `[H, W]` log of the modulated map
 * @param tmp `[H, W]` scratch
 */
function darkLogMap(
  src: ArrayLike<number>,
  offset: number,
  h: number,
  w: number,
  kernel: Float64Array,
  tmp: Float64Array,
  out: Float64Array,
): void {
  const r = (kernel.length - 1) / 2;
  let originMax = -Infinity;
  for (let i = 0; i < h * w; i++) originMax = Math.max(originMax, src[offset + i]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) {
        const xx = x + t;
        if (xx >= 0 && xx < w) acc += kernel[t + r] * src[offset + y * w + xx];
      }
      tmp[y * w + x] = acc;
    }
  }
  let blurMax = -Infinity;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) {
        const yy = y + t;
        if (yy >= 0 && yy < h) acc += kernel[t + r] * tmp[yy * w + x];
      }
      out[y * w + x] = acc;
      blurMax = Math.max(blurMax, acc);
    }
  }
  const rescale = originMax > 0 && blurMax > 0 ? originMax / blurMax : 1;
  for (let i = 0; i < h * w; i++) out[i] = Math.log(Math.max(out[i] * rescale, 1e-10));
}

/**
 * DARK's Taylor step at the integer peak `(px, py)` of a log map: `offset = −H⁻¹·∇` with central differences
 * (gradient step 1, second derivatives step 2 as in the DARK code), applied only when `1 < px < W − 2`,
 * `1 < py < H − 2` and the Hessian is invertible.
 * @param logMap `[H, W]`
 * @returns the `[dx, dy]` offset (0, 0 when not applicable)
 */
function darkTaylorOffset(logMap: Float64Array, h: number, w: number, px: number, py: number): [number, number] {
  if (!(px > 1 && px < w - 2 && py > 1 && py < h - 2)) return [0, 0];
  const at = (x: number, y: number): number => logMap[y * w + x];
  const c = at(px, py);
  const dx = 0.5 * (at(px + 1, py) - at(px - 1, py));
  const dy = 0.5 * (at(px, py + 1) - at(px, py - 1));
  const dxx = 0.25 * (at(px + 2, py) - 2 * c + at(px - 2, py));
  const dyy = 0.25 * (at(px, py + 2) - 2 * c + at(px, py - 2));
  const dxy = 0.25 * (at(px + 1, py + 1) - at(px + 1, py - 1) - at(px - 1, py + 1) + at(px - 1, py - 1));
  const det = dxx * dyy - dxy * dxy;
  if (det === 0 || !Number.isFinite(det)) return [0, 0];
  return [-(dyy * dx - dxy * dy) / det, -(dxx * dy - dxy * dx) / det];
}

/**
 * DARK refinement, in place: every map is modulated ({@link darkLogMap}) and its argmax moved by the Taylor step.
 * @param heatmaps `[N, K, H, W]`
 * @param coords `[N, K, 2]`, modified in place
 */
function darkRefine(heatmaps: ArrayLike<number>, shape: HeatmapShape, coords: Float32Array, kernelSize: number): void {
  if (!Number.isInteger(kernelSize) || kernelSize < 3 || kernelSize % 2 !== 1) {
    throw new Error(`getFinalPreds: blurKernel must be an odd integer >= 3, got ${kernelSize}`);
  }
  const [n, k, h, w] = shape;
  const plane = h * w;
  const kernel = blurKernel1d(kernelSize);
  const tmp = new Float64Array(plane);
  const logMap = new Float64Array(plane);
  for (let m = 0; m < n * k; m++) {
    const px = Math.trunc(coords[m * 2]);
    const py = Math.trunc(coords[m * 2 + 1]);
    if (!(px > 1 && px < w - 2 && py > 1 && py < h - 2)) continue;
    darkLogMap(heatmaps, m * plane, h, w, kernel, tmp, logMap);
    const [ox, oy] = darkTaylorOffset(logMap, h, w, px, py);
    coords[m * 2] += ox;
    coords[m * 2 + 1] += oy;
  }
}

/**
 * Final keypoints in image coordinates (official `get_final_preds`): argmax ({@link getMaxPreds}), the refinement
 * chosen by `opts`, then per sample the inverse crop affine `getAffineTransform(center, scale, 0, [W, H], inv)`
 * (heatmap → image, no half-pixel offset). Results are float32 as the official output.
 * @param heatmaps `[N, K, H, W]`
 * @param shape `[N, K, H, W]`
 * @param centers `[N, 2]` box centers in image pixels
 * @param scales `[N, 2]` box scales (×200 px)
 * @returns `preds` `[N, K, 2]` image coordinates, `maxvals` `[N, K]`
 */
export function getFinalPreds(
  heatmaps: ArrayLike<number>,
  shape: HeatmapShape,
  centers: ArrayLike<number>,
  scales: ArrayLike<number>,
  opts: FinalPredsOptions,
): MaxPreds {
  const [n, k, h, w] = shape;
  if (centers.length !== n * 2 || scales.length !== n * 2) {
    throw new Error(`getFinalPreds: centers and scales must be [N, 2] = [${n}, 2], got ${centers.length} and ${scales.length} values`);
  }
  const { preds: coords, maxvals } = getMaxPreds(heatmaps, shape);
  if (opts.postProcess) {
    const method = opts.decode ?? 'default';
    if (method === 'dark') darkRefine(heatmaps, shape, coords, opts.blurKernel ?? 11);
    else if (method === 'default') quarterOffsetRefine(heatmaps, shape, coords);
    else throw new Error(`getFinalPreds: decode must be 'default' or 'dark', got ${JSON.stringify(method)}`);
  }
  const preds = new Float32Array(coords.length);
  for (let b = 0; b < n; b++) {
    const t = getAffineTransform([centers[b * 2], centers[b * 2 + 1]], [scales[b * 2], scales[b * 2 + 1]], 0, [w, h], [0, 0], true);
    for (let j = 0; j < k; j++) {
      const i = (b * k + j) * 2;
      const x = coords[i];
      const y = coords[i + 1];
      preds[i] = t[0] * x + t[1] * y + t[2];
      preds[i + 1] = t[3] * x + t[4] * y + t[5];
    }
  }
  return { preds, maxvals };
}

/**
 * Reorders NHWC data (TF.js model outputs) to NCHW.
 * @param data `[N, H, W, K]`
 * @returns `[N, K, H, W]`
 */
export function nhwcToNchw(data: ArrayLike<number>, n: number, h: number, w: number, k: number): Float32Array {
  if (data.length !== n * h * w * k) {
    throw new Error(`nhwcToNchw: data has ${data.length} values, expected N·H·W·K = ${n * h * w * k}`);
  }
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const src = b * plane * k;
    const dst = b * k * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < k; c++) out[dst + c * plane + p] = data[src + p * k + c];
    }
  }
  return out;
}

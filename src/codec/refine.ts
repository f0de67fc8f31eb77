/**
 * Sub-pixel refinements of an argmax, one per decoding: the official quarter-pixel shift, DARK's Taylor step
 * (Zhang et al., CVPR 2020) and UDP's DARK variant (Huang et al., CVPR 2020). Each works in place on the `[N, K, 2]`
 * heatmap coordinates of `getMaxPreds` (`argmax.ts`).
 */
import type { HeatmapShape } from './argmax';

/**
 * The official quarter-pixel refinement, in place: for a peak rounded to `(px, py)` strictly inside
 * `1 < px < W − 1`, `1 < py < H − 1`, each coordinate moves 0.25 toward its higher neighbour (by the sign of the
 * central difference; no move on a tie).
 * @param heatmaps `[N, K, H, W]`
 * @param coords `[N, K, 2]`, modified in place
 */
export function quarterOffsetRefine(heatmaps: ArrayLike<number>, shape: HeatmapShape, coords: Float32Array): void {
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
function blurKernel1d(size: number, fn: string): Float64Array {
  if (!Number.isInteger(size) || size < 3 || size % 2 !== 1) {
    throw new Error(`${fn}: blurKernel must be an odd integer >= 3, got ${size}`);
  }
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
 * maximum is ≤ 0), clamped to `[clampMin, clampMax]` (DARK: ≥ 1e-10; DARK-UDP: `[1e-3, 50]`), then log.
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
  clampMin: number,
  clampMax = Infinity,
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
  for (let i = 0; i < h * w; i++) out[i] = Math.log(Math.min(Math.max(out[i] * rescale, clampMin), clampMax));
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
export function darkRefine(heatmaps: ArrayLike<number>, shape: HeatmapShape, coords: Float32Array, kernelSize: number): void {
  const [n, k, h, w] = shape;
  const plane = h * w;
  const kernel = blurKernel1d(kernelSize, 'darkRefine');
  const tmp = new Float64Array(plane);
  const logMap = new Float64Array(plane);
  for (let m = 0; m < n * k; m++) {
    const px = Math.trunc(coords[m * 2]);
    const py = Math.trunc(coords[m * 2 + 1]);
    if (!(px > 1 && px < w - 2 && py > 1 && py < h - 2)) continue;
    darkLogMap(heatmaps, m * plane, h, w, kernel, tmp, logMap, 1e-10);
    const [ox, oy] = darkTaylorOffset(logMap, h, w, px, py);
    coords[m * 2] += ox;
    coords[m * 2 + 1] += oy;
  }
}

/**
 * The Taylor step of DARK-UDP at the integer peak `(px, py)` of a log map (mmpose `refine_keypoints_dark_udp`): the
 * map is edge-padded by one pixel, so every peak is refined, the border ones included; first derivatives are
 * central differences, the second ones use the direct neighbours:
 *
 *     dx  = (L(x+1, y) − L(x−1, y)) / 2,           dy  = (L(x, y+1) − L(x, y−1)) / 2
 *     dxx = L(x+1, y) − 2L + L(x−1, y),             dyy = L(x, y+1) − 2L + L(x, y−1)
 *     dxy = (L(x+1, y+1) − L(x+1, y) − L(x, y+1) + 2L − L(x−1, y) − L(x, y−1) + L(x−1, y−1)) / 2
 *     offset = −(Hessian + ε·I)⁻¹ · (dx, dy),  ε = 2⁻²³ (float32 epsilon)
 *
 * @param logMap `[H, W]`
 * @returns the `[dx, dy]` offset (0, 0 when the regularised Hessian is singular)
 */
export function darkUdpTaylorOffset(logMap: Float64Array, h: number, w: number, px: number, py: number): [number, number] {
  const at = (x: number, y: number): number => logMap[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  const c = at(px, py);
  const right = at(px + 1, py);
  const left = at(px - 1, py);
  const down = at(px, py + 1);
  const up = at(px, py - 1);
  const dx = 0.5 * (right - left);
  const dy = 0.5 * (down - up);
  const dxx = right - 2 * c + left + FLOAT32_EPSILON;
  const dyy = down - 2 * c + up + FLOAT32_EPSILON;
  const dxy = 0.5 * (at(px + 1, py + 1) - right - down + 2 * c - left - up + at(px - 1, py - 1));
  const det = dxx * dyy - dxy * dxy;
  if (det === 0 || !Number.isFinite(det)) return [0, 0];
  return [-(dyy * dx - dxy * dy) / det, -(dxx * dy - dxy * dx) / det];
}

/** numpy's `np.finfo(np.float32).eps`, the Hessian regulariser of DARK-UDP. */
const FLOAT32_EPSILON = 2 ** -23;

/**
 * DARK-UDP refinement, in place (the UDP codec's decoding; mmpose `refine_keypoints_dark_udp`): every map whose
 * peak is positive is modulated as DARK does (blur, rescale to the original maximum) but clamped to `[1e-3, 50]`
 * before the log, and its argmax moved by {@link darkUdpTaylorOffset}.
 * @param heatmaps `[N, K, H, W]`
 * @param coords `[N, K, 2]` integer argmax locations, modified in place
 * @param maxvals `[N, K]` peak values; maps whose peak is ≤ 0 keep their location
 */
export function darkUdpRefine(
  heatmaps: ArrayLike<number>,
  shape: HeatmapShape,
  coords: Float32Array,
  maxvals: ArrayLike<number>,
  kernelSize: number,
): void {
  const [n, k, h, w] = shape;
  const plane = h * w;
  const kernel = blurKernel1d(kernelSize, 'darkUdpRefine');
  const tmp = new Float64Array(plane);
  const logMap = new Float64Array(plane);
  for (let m = 0; m < n * k; m++) {
    if (!(maxvals[m] > 0)) continue;
    darkLogMap(heatmaps, m * plane, h, w, kernel, tmp, logMap, 1e-3, 50);
    const [ox, oy] = darkUdpTaylorOffset(logMap, h, w, Math.trunc(coords[m * 2]), Math.trunc(coords[m * 2 + 1]));
    coords[m * 2] += ox;
    coords[m * 2 + 1] += oy;
  }
}

/**
 * The argmax step shared by every heatmap decoding (official `get_max_preds`), and the heatmap shape checks.
 * Heatmaps are NCHW `Float32Array`s `[N, K, H, W]` as the official code and the fixtures hold them
 * ({@link nhwcToNchw} in `layout.ts` converts NHWC model outputs).
 */

/** `[N, K, H, W]` of a heatmap batch. */
export type HeatmapShape = readonly [number, number, number, number];

/** Keypoints of a heatmap batch: locations and peak values. */
export interface MaxPreds {
  /** `[N, K, 2]` heatmap `x, y` of each peak; 0, 0 where the peak value is ≤ 0. */
  preds: Float32Array;
  /** `[N, K]` peak values. */
  maxvals: Float32Array;
}

/** Checks that `shape` is four positive integers and matches the length of `heatmaps`. */
export function checkShape(fn: string, heatmaps: ArrayLike<number>, shape: HeatmapShape): void {
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


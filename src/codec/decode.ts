/**
 * Heatmaps → keypoints, the decoding half of every heatmap codec (official `core/inference.py get_final_preds`):
 * argmax per map, an optional sub-pixel refinement, then per person the inverse crop map from heatmap to image
 * coordinates. The codecs differ only in the refinement and in the inverse map.
 */
import { affineTransform } from './affine';
import { checkShape, getMaxPreds, type HeatmapShape, type MaxPreds } from './argmax';

/** What a codec plugs into {@link decodeHeatmaps}. */
export interface DecodeSteps {
  /**
   * Moves the argmax locations in place (null: plain argmax).
   * @param heatmaps `[N, K, H, W]`
   * @param coords `[N, K, 2]` heatmap coordinates
   * @param maxvals `[N, K]` peak values
   */
  refine: ((heatmaps: ArrayLike<number>, shape: HeatmapShape, coords: Float32Array, maxvals: Float32Array) => void) | null;
  /**
   * The 2×3 map from heatmap coordinates back to the image for one person.
   * @param center `[x, y]` box center in image pixels
   * @param scale `[sx, sy]` box scale (×200 px)
   * @param heatmapSize `[W, H]`
   */
  heatmapToImage: (center: readonly [number, number], scale: readonly [number, number], heatmapSize: readonly [number, number]) => Float64Array;
}

/**
 * Keypoints in image coordinates: {@link getMaxPreds}, `steps.refine`, then `steps.heatmapToImage` applied to every
 * joint of each person. Results are float32 as the official output.
 * @param heatmaps `[N, K, H, W]`
 * @param shape `[N, K, H, W]`
 * @param centers `[N, 2]` box centers in image pixels
 * @param scales `[N, 2]` box scales (×200 px)
 * @returns `preds` `[N, K, 2]` image coordinates, `maxvals` `[N, K]`
 */
export function decodeHeatmaps(
  heatmaps: ArrayLike<number>,
  shape: HeatmapShape,
  centers: ArrayLike<number>,
  scales: ArrayLike<number>,
  steps: DecodeSteps,
): MaxPreds {
  checkShape('decodeHeatmaps', heatmaps, shape);
  const [n, k, h, w] = shape;
  if (centers.length !== n * 2 || scales.length !== n * 2) {
    throw new Error(`decodeHeatmaps: centers and scales must be [N, 2] = [${n}, 2], got ${centers.length} and ${scales.length} values`);
  }
  const { preds: coords, maxvals } = getMaxPreds(heatmaps, shape);
  steps.refine?.(heatmaps, shape, coords, maxvals);
  const preds = new Float32Array(coords.length);
  for (let b = 0; b < n; b++) {
    const t = steps.heatmapToImage([centers[b * 2], centers[b * 2 + 1]], [scales[b * 2], scales[b * 2 + 1]], [w, h]);
    for (let j = 0; j < k; j++) {
      const i = (b * k + j) * 2;
      const [x, y] = affineTransform([coords[i], coords[i + 1]], t);
      preds[i] = x;
      preds[i + 1] = y;
    }
  }
  return { preds, maxvals };
}

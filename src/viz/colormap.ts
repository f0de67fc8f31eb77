/**
 * The JET colour map of the official heatmap pictures (`cv2.applyColorMap(heatmap, cv2.COLORMAP_JET)`), written
 * as its formula: each channel is a clipped tent, `clip(1.5 − |4t − c|, 0, 1)` with `c` = 3 (red), 2 (green),
 * 1 (blue) and `t = v / 255`. Dark blue `(0, 0, 128)` at 0, cyan, yellow, dark red `(128, 0, 0)` at 255.
 * OpenCV's 256-entry table samples the same curve; its entries sit on half-levels, so a channel may differ from it
 * by one level after rounding.
 */
import type { Rgb } from '../data/keypoint-meta';

function tent(t: number, centre: number): number {
  return Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - centre)));
}

/** The JET colour of an 8-bit level `v` (0–255; clamped and rounded). */
export function jetColor(v: number): Rgb {
  const t = Math.min(255, Math.max(0, Math.round(v))) / 255;
  return [Math.round(255 * tent(t, 3)), Math.round(255 * tent(t, 2)), Math.round(255 * tent(t, 1))];
}

/** `[256, 3]` RGB lookup table of {@link jetColor}, row `v` holding the colour of level `v`. */
export const JET_LUT: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let v = 0; v < 256; v++) lut.set(jetColor(v), v * 3);
  return lut;
})();

/**
 * Official heatmap to 8-bit level: `heatmap.mul(255).clamp(0, 255).byte()` (truncation toward zero).
 * @param value a heatmap value, nominally 0–1
 */
export function heatmapLevel(value: number): number {
  if (!(value > 0)) return 0; // negatives and NaN
  // float32 product, as torch computes it on a float32 tensor
  return Math.min(255, Math.floor(Math.fround(Math.fround(value) * 255)));
}

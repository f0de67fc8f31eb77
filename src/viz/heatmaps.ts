/**
 * The official heatmap picture (`save_batch_heatmaps`, written for `SAVE_HEATMAPS_GT` and `SAVE_HEATMAPS_PRED`):
 * one row per sample at heatmap resolution — the crop resized to the heatmap size, then for every joint the crop
 * under that joint's heatmap in JET colours (`0.7 · jet + 0.3 · image`), each heatmap's peak ringed in red.
 * Here the whole picture is enlarged by an integer factor so the small maps are readable, and the columns can be
 * labelled with the keypoint names.
 */
import { getMaxPreds } from '../codec/argmax';
import { nhwcToNchw } from '../codec/layout';
import { JET_LUT, heatmapLevel } from './colormap';
import type { RgbImage } from '../data/image';
import { blankImage, checkRgbImage, overlaySvg, pasteImage, resizeBilinear, upscaleNearest } from './raster';
import { estimateTextWidth, svgCircle, svgText } from './svg';

/** `[N, H, W, K]` of an NHWC heatmap batch (TF.js model output layout). */
export type HeatmapShapeNHWC = readonly [number, number, number, number];

/** Look of {@link renderHeatmapGrid}. */
export interface HeatmapGridOptions {
  /** Integer enlargement of the heatmap-resolution picture (default `max(1, round(128 / H))`: 2 for 64×48 maps). */
  scale?: number;
  /** `[K]` column labels (keypoint names); without them the picture has no header row. */
  keypointNames?: readonly string[];
  /** Ring each heatmap's maximum in red, as the official picture does (default true). */
  markPeaks?: boolean;
}

/** Colour of the peak rings (official `[0, 0, 255]` BGR). */
const PEAK_COLOR = 'rgb(255,0,0)';

/**
 * Writes `0.7 · jet(heatmap) + 0.3 · image` of one joint into a canvas (official blend, truncated to 8 bits).
 * @param heatmaps `[N, H, W, K]` NHWC
 * @param image `data` `[H, W, 3]`, the crop at heatmap size
 * @param canvas written at `(left, top)`, an `H × W` block
 */
function blendJoint(
  heatmaps: ArrayLike<number>,
  shape: HeatmapShapeNHWC,
  sample: number,
  joint: number,
  image: RgbImage,
  canvas: RgbImage,
  left: number,
  top: number,
): void {
  const [, h, w, k] = shape;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const level = heatmapLevel(heatmaps[((sample * h + y) * w + x) * k + joint]);
      const p = (y * w + x) * 3;
      const o = ((top + y) * canvas.width + left + x) * 3;
      for (let c = 0; c < 3; c++) {
        canvas.data[o + c] = Math.floor(JET_LUT[level * 3 + c] * 0.7 + image.data[p + c] * 0.3);
      }
    }
  }
}

/**
 * Draws a batch of heatmaps over their crops as one PNG (official `save_batch_heatmaps`).
 * Picture size: `(K + 1) · W · scale` wide, `N · H · scale` high, plus a header row when names are given.
 * @param images `[N]` crops, each `data` `[h, w, 3]` of any size (resized bilinearly to the heatmap size `W × H`)
 * @param heatmaps `[N, H, W, K]` NHWC, values nominally in 0–1 (clipped)
 * @param shape `[N, H, W, K]`
 * @returns PNG bytes
 */
export async function renderHeatmapGrid(
  images: readonly RgbImage[],
  heatmaps: ArrayLike<number>,
  shape: HeatmapShapeNHWC,
  opts: HeatmapGridOptions = {},
): Promise<Buffer> {
  const [n, h, w, k] = shape;
  if (shape.length !== 4 || ![n, h, w, k].every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`renderHeatmapGrid: shape must be four positive integers [N, H, W, K], got [${shape.join(', ')}]`);
  }
  if (heatmaps.length !== n * h * w * k) {
    throw new Error(`renderHeatmapGrid: heatmaps has ${heatmaps.length} values, expected N·H·W·K = ${n * h * w * k} for [${shape.join(', ')}]`);
  }
  if (images.length !== n) throw new Error(`renderHeatmapGrid: got ${images.length} images for N = ${n} heatmap sets`);
  images.forEach((img, i) => checkRgbImage(img, `renderHeatmapGrid images[${i}]`));
  const names = opts.keypointNames;
  if (names !== undefined && names.length !== k) {
    throw new Error(`renderHeatmapGrid: keypointNames has ${names.length} names, expected K = ${k}`);
  }
  const scale = opts.scale ?? Math.max(1, Math.round(128 / h));
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`renderHeatmapGrid: scale must be a positive integer, got ${scale}`);

  const small = blankImage((k + 1) * w, n * h);
  for (let i = 0; i < n; i++) {
    const resized = resizeBilinear(images[i], w, h);
    pasteImage(small, resized, 0, i * h);
    for (let j = 0; j < k; j++) blendJoint(heatmaps, shape, i, j, resized, small, (j + 1) * w, i * h);
  }
  const big = upscaleNearest(small, scale);

  const cellW = w * scale;
  const labelSize = names === undefined ? 0 : Math.min(13, Math.max(8, cellW / 8));
  const header = names === undefined ? 0 : Math.ceil(labelSize * 1.8);
  const canvas = blankImage(big.width, big.height + header, [255, 255, 255]);
  pasteImage(canvas, big, 0, header);

  let svg = '';
  if (names !== undefined) {
    ['input', ...names].forEach((name, col) => {
      // shrink a long name to its column width
      const size = Math.max(6, Math.min(labelSize, (cellW - 4) / (estimateTextWidth(name, 1) || 1)));
      svg += svgText((col + 0.5) * cellW, header / 2, name, { fontSize: size, anchor: 'middle', baseline: 'middle' });
    });
  }
  if (opts.markPeaks ?? true) {
    const { preds, maxvals } = getMaxPreds(nhwcToNchw(heatmaps, n, h, w, k), [n, k, h, w]);
    const ring = { stroke: PEAK_COLOR, strokeWidth: Math.max(1, scale / 2) };
    const r = Math.max(2, scale);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        if (!(maxvals[i * k + j] > 0)) continue;
        const cx = (preds[(i * k + j) * 2] + 0.5) * scale;
        const cy = header + (i * h + preds[(i * k + j) * 2 + 1] + 0.5) * scale;
        svg += svgCircle(cx, cy, r, ring);
        svg += svgCircle(cx + (j + 1) * cellW, cy, r, ring);
      }
    }
  }
  return overlaySvg(canvas, svg);
}

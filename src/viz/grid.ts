/**
 * The official batch picture with joints (`save_batch_image_with_joints`, written for `SAVE_BATCH_IMAGES_GT` and
 * `SAVE_BATCH_IMAGES_PRED`): the batch's crops in a `torchvision.utils.make_grid` layout with every visible joint
 * drawn; here the skeleton's limbs are drawn too and colours follow the keypoint meta.
 */
import type { KeypointMeta } from '../data/keypoint-meta';
import type { RgbImage } from '../data/image';
import { blankImage, checkRgbImage, overlaySvg, pasteImage } from './raster';
import { JointsInput, defaultSkeletonStyle, jointsToArray, skeletonPalette, skeletonSvg } from './skeleton';

/** Layout and sizes of {@link renderJointsGrid}. */
export interface JointsGridOptions {
  /** Crops per grid row (`make_grid` `nrow`, official 8). */
  nrow?: number;
  /** Black border around and between crops, in pixels (`make_grid` `padding`, official 2). */
  padding?: number;
  /** Joint dot radius in pixels (default from the crop size: 3 for 192×256 crops). */
  radius?: number;
  /** Limb width in pixels (default 0.7 × radius, at least 1.5). */
  lineWidth?: number;
}

/** Position of every crop in a `make_grid` layout. */
export interface GridLayout {
  /** Width of the whole picture. */
  width: number;
  /** Height of the whole picture. */
  height: number;
  /** `[N, 2]` top-left corner `left, top` of each crop. */
  origins: [number, number][];
}

/**
 * `torchvision.utils.make_grid` placement: `min(nrow, N)` columns, cells of the largest crop size plus `padding`,
 * a `padding` border; crop `k` at column `k mod nrow`, row `floor(k / nrow)`.
 * @param sizes `[N]` crop sizes `width, height`
 */
export function gridLayout(sizes: readonly { width: number; height: number }[], nrow: number, padding: number): GridLayout {
  if (!Number.isInteger(nrow) || nrow < 1) throw new Error(`gridLayout: nrow must be a positive integer, got ${nrow}`);
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`gridLayout: padding must be an integer ≥ 0, got ${padding}`);
  const cols = Math.min(nrow, sizes.length);
  const rows = Math.ceil(sizes.length / cols);
  const cellW = Math.max(...sizes.map((s) => s.width)) + padding;
  const cellH = Math.max(...sizes.map((s) => s.height)) + padding;
  const origins = sizes.map((_, k): [number, number] => [(k % cols) * cellW + padding, Math.floor(k / cols) * cellH + padding]);
  return { width: cols * cellW + padding, height: rows * cellH + padding, origins };
}

/**
 * Draws a batch of crops with their joints as one PNG grid (official `save_batch_image_with_joints`).
 * Joints whose visibility is 0 are skipped, as are limbs with a skipped end.
 * @param images `[N]` crops, each `data` `[H, W, 3]` (usually all of the model input size)
 * @param joints `[N]` per crop: `[K, 3]` `x, y, vis` in crop pixels (flat or K rows)
 * @param meta keypoint names, skeleton and colours
 * @returns PNG bytes of the grid
 */
export async function renderJointsGrid(
  images: readonly RgbImage[],
  joints: readonly JointsInput[],
  meta: KeypointMeta,
  opts: JointsGridOptions = {},
): Promise<Buffer> {
  if (images.length === 0) throw new Error('renderJointsGrid: images is empty');
  if (joints.length !== images.length) {
    throw new Error(`renderJointsGrid: got ${images.length} images but ${joints.length} joint sets; one [K, 3] set per image is expected`);
  }
  images.forEach((img, i) => checkRgbImage(img, `renderJointsGrid images[${i}]`));
  const numJoints = meta.keypointNames.length;
  const layout = gridLayout(images, opts.nrow ?? 8, opts.padding ?? 2);
  const canvas = blankImage(layout.width, layout.height);
  const auto = defaultSkeletonStyle(Math.min(...images.map((img) => Math.min(img.width, img.height))));
  const radius = opts.radius ?? auto.radius;
  const style = { radius, lineWidth: opts.lineWidth ?? Math.max(1.5, radius * 0.7) };
  const palette = skeletonPalette(meta);
  let svg = '';
  images.forEach((img, i) => {
    const [left, top] = layout.origins[i];
    pasteImage(canvas, img, left, top);
    const flat = jointsToArray(joints[i], numJoints, `renderJointsGrid joints[${i}]`);
    svg += skeletonSvg(flat, (vis) => vis > 0, meta, palette, style, [left, top]);
  });
  return overlaySvg(canvas, svg);
}

/**
 * The official debug pictures of validation (`DEBUG.SAVE_BATCH_IMAGES_PRED`, `SAVE_HEATMAPS_PRED`):
 * the first validation crops with the predicted joints (argmax × stride, as the official
 * `save_debug_images`), and their predicted heatmaps.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { denormalizeImage, RgbImage } from '../data/image';
import type { JointsDataset } from '../data/joints-dataset';
import type { PoseHRNet } from '../model/pose-hrnet';
import { renderHeatmapGrid } from './heatmaps';
import { renderJointsGrid } from './grid';
import { savePng } from './save-png';
import { getMaxPreds } from '../codec/argmax';
import { nhwcToNchw } from '../codec/layout';

/** Options of {@link saveDebugPictures}. */
export interface DebugPictureOptions {
  /** Samples drawn (default 16). */
  count?: number;
  /** `DEBUG.SAVE_BATCH_IMAGES_PRED`. */
  joints: boolean;
  /** `DEBUG.SAVE_HEATMAPS_PRED`. */
  heatmaps: boolean;
  /** Inputs are BGR (`DATASET.COLOR_RGB` false). */
  bgr?: boolean;
}

/**
 * Writes `<prefix>_pred.png` (crops with predicted joints) and `<prefix>_hm_pred.png` (predicted
 * heatmaps) into `dir`; returns the files written.
 */
export async function saveDebugPictures(model: PoseHRNet, data: JointsDataset, dir: string, prefix: string, opts: DebugPictureOptions): Promise<string[]> {
  if (!opts.joints && !opts.heatmaps) return [];
  const n = Math.min(opts.count ?? 16, data.length);
  if (n === 0) return [];
  const [w, h] = model.imageSize;
  const k = model.numJoints;
  const images: RgbImage[] = [];
  const batch = new Float32Array(n * h * w * 3);
  for (let i = 0; i < n; i++) {
    const s = await data.get(i);
    batch.set(s.image, i * h * w * 3);
    images.push(denormalizeImage(s.image, w, h, opts.bgr));
  }
  const heat = tf.tidy(() => model.predict(tf.tensor4d(batch, [n, h, w, 3])));
  const [, hh, hw] = heat.shape;
  const heatData = (await heat.data()) as Float32Array;
  heat.dispose();
  const written: string[] = [];
  if (opts.joints) {
    const { preds, maxvals } = getMaxPreds(nhwcToNchw(heatData, n, hh, hw, k), [n, k, hh, hw]);
    const stride = w / hw;
    const joints = images.map((_, i) => {
      const p = new Float64Array(k * 3);
      for (let j = 0; j < k; j++) {
        p[j * 3] = preds[(i * k + j) * 2] * stride;
        p[j * 3 + 1] = preds[(i * k + j) * 2 + 1] * stride;
        p[j * 3 + 2] = maxvals[i * k + j] > 0 ? 1 : 0;
      }
      return p;
    });
    const file = path.join(dir, `${prefix}_pred.png`);
    await savePng(file, await renderJointsGrid(images, joints, data.dataset.meta));
    written.push(file);
  }
  if (opts.heatmaps) {
    const file = path.join(dir, `${prefix}_hm_pred.png`);
    await savePng(file, await renderHeatmapGrid(images, heatData, [n, hh, hw, k], { keypointNames: data.dataset.meta.keypointNames }));
    written.push(file);
  }
  return written;
}

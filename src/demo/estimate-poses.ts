/**
 * Top-down keypoints of the people in one image from any heatmap predictor — a project model in Node, an
 * exported TF.js layers model in a web page — with the functions `hrnet predict` runs: each person box becomes a
 * center and scale (`xywh2cs`: input aspect ratio, ×1.25), is cropped through the codec's crop transform with
 * OpenCV's bilinear (`warpAffine`), normalised (`normalizeImage`), run (and run mirrored, when the flip test is on,
 * averaged by the codec's flip test), and the heatmaps are decoded by the same codec (`src/codec`).
 *
 * No Node-only module is used on this path, so the demo page's bundle runs it in a browser as it is.
 */
import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../data/image';
import { normalizeImage, warpAffine } from '../data/image';
import { xywh2cs } from '../data/transforms';
import { createCodec } from '../codec/codecs';
import { flipTestHeatmaps } from '../codec/flip';
import type { CodecSpec, HeatmapCodec } from '../codec/heatmap-codec';
import { nhwcToNchw } from '../codec/layout';

/** Eval-mode heatmaps of a batch: images `[N, H, W, 3]` (normalised) → heatmaps `[N, H/4, W/4, K]`. */
export type HeatmapPredictor = (images: tf.Tensor4D) => tf.Tensor4D;

/** How crops are made and heatmaps decoded: the `TEST` and `DATASET` keys `hrnet predict` reads. */
export interface PoseDecodeSettings {
  /** `TEST.FLIP_TEST`: run the mirrored crops too and average. */
  flipTest: boolean;
  /** The config's codec (`codecSpecOf`): crop, flip test and decoding, as plain data. */
  codec: CodecSpec;
  /** `DATASET.COLOR_RGB`: false feeds BGR, as the network was trained. */
  colorRgb: boolean;
  /** Crops per forward pass (`hrnet predict`: `TEST.BATCH_SIZE_PER_GPU`); default every box in one. */
  batchSize?: number;
}

/** What {@link estimatePoses} needs to know about the network. */
export interface PoseNetworkShape {
  /** `[width, height]` of the network input. */
  inputSize: [number, number];
  /** K, the number of heatmaps. */
  numJoints: number;
  /** Left/right joint pairs `[P, 2]` (0-based) swapped by the flip test. */
  flipPairs: readonly [number, number][];
}

/** The keypoints of one person box. */
export interface EstimatedPose {
  /** The box `[x, y, w, h]` in image pixels. */
  bbox: [number, number, number, number];
  /** Crop center `[x, y]` in image pixels. */
  center: [number, number];
  /** Crop scale `[sx, sy]` in units of 200 px. */
  scale: [number, number];
  /** `[K][3]`: x, y in image pixels, heatmap maximum. */
  keypoints: [number, number, number][];
}

/**
 * Keypoints of the person in each box, `settings.batchSize` boxes per forward pass (default all in one).
 * @param image `data` `[H, W, 3]` RGB
 * @param boxes `[B]` person boxes `[x, y, w, h]` in image pixels (`hrnet predict` without boxes: the whole image)
 * @param predict eval-mode heatmaps of the network
 * @returns `[B]` poses, keypoints `[K][3]` in image pixels
 */
export async function estimatePoses(
  image: RgbImage,
  boxes: readonly (readonly [number, number, number, number])[],
  predict: HeatmapPredictor,
  network: PoseNetworkShape,
  settings: PoseDecodeSettings,
): Promise<EstimatedPose[]> {
  const codec = createCodec(settings.codec);
  const batchSize = Math.max(1, settings.batchSize ?? boxes.length);
  const poses: EstimatedPose[] = [];
  for (let start = 0; start < boxes.length; start += batchSize) {
    poses.push(...(await estimateBatch(image, boxes.slice(start, start + batchSize), predict, network, settings, codec)));
  }
  return poses;
}

/** {@link estimatePoses} for one batch of `[n]` boxes, n ≥ 1: one forward pass (of 2n with the flip test). */
async function estimateBatch(
  image: RgbImage,
  boxes: readonly (readonly [number, number, number, number])[],
  predict: HeatmapPredictor,
  network: PoseNetworkShape,
  settings: PoseDecodeSettings,
  codec: HeatmapCodec,
): Promise<EstimatedPose[]> {
  const [w, h] = network.inputSize;
  const k = network.numJoints;
  const n = boxes.length;
  const pixels = new Float32Array(n * h * w * 3);
  const centers = new Float64Array(n * 2);
  const scales = new Float64Array(n * 2);
  boxes.forEach(([bx, by, bw, bh], i) => {
    const { center, scale } = xywh2cs(bx, by, bw, bh, w / h);
    centers.set(center, i * 2);
    scales.set(scale, i * 2);
    const crop = warpAffine(image, codec.cropTransform(center, scale, 0), w, h);
    if (!settings.colorRgb) {
      for (let p = 0; p < crop.length; p += 3) {
        const r = crop[p];
        crop[p] = crop[p + 2];
        crop[p + 2] = r;
      }
    }
    normalizeImage(crop, pixels, i * h * w * 3);
  });
  const flip = codec.flipTest(network.flipPairs);
  const heat = tf.tidy(() => {
    const x = tf.tensor4d(pixels, [n, h, w, 3]);
    return settings.flipTest ? flipTestHeatmaps(predict, x, flip) : predict(x);
  });
  const [, hh, hw, hk] = heat.shape;
  let data: Float32Array;
  try {
    if (hk !== k) throw new Error(`estimatePoses: the predictor returned ${hk} heatmaps, expected numJoints = ${k}`);
    data = (await heat.data()) as Float32Array;
  } finally {
    heat.dispose();
  }
  const { preds, maxvals } = codec.decode(nhwcToNchw(data, n, hh, hw, k), [n, k, hh, hw], centers, scales);
  return boxes.map(([bx, by, bw, bh], i) => ({
    bbox: [bx, by, bw, bh],
    center: [centers[i * 2], centers[i * 2 + 1]],
    scale: [scales[i * 2], scales[i * 2 + 1]],
    keypoints: Array.from({ length: k }, (_, j): [number, number, number] => [
      preds[(i * k + j) * 2],
      preds[(i * k + j) * 2 + 1],
      maxvals[i * k + j],
    ]),
  }));
}

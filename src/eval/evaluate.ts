/**
 * Inference over a dataset and the official metrics: batched eval-mode forward, the codec's flip test and
 * decoding back to image coordinates, then for COCO-format datasets the official rescoring + OKS NMS and COCO
 * keypoint AP (for MPII-format data, PCKh needs head boxes).
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { codecOf } from '../codec/codecs';
import { flipTestHeatmaps, type FlipTest } from '../codec/flip';
import type { HeatmapCodec } from '../codec/heatmap-codec';
import { nhwcToNchw } from '../codec/layout';
import type { Config } from '../config/schema';
import type { CocoKeypointResult, CocoKeypointsFile } from '../data/coco-format';
import type { KeypointDataset } from '../data/dataset';
import type { JointsDataset, SampleMeta } from '../data/joints-dataset';
import type { PoseHRNet } from '../model/pose-hrnet';
import { CocoEvalResult, evaluateCocoKeypoints } from './coco-eval';
import { PredictedInstance, rescoreAndNms } from './nms';

/** Options of {@link predictDataset}. */
export interface PredictOptions {
  batchSize: number;
  /** `TEST.FLIP_TEST`. */
  flipTest: boolean;
  /** Decoding and flip test ({@link codecOf}). */
  codec: HeatmapCodec;
  /** Called after each batch with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Called for each sample whose image is missing or cannot be decoded (the sample is skipped). */
  onSkip?: (sample: SkippedPrediction) => void;
}

/** A sample left out of the predictions because its image could not be read. */
export interface SkippedPrediction {
  /** Position of the record in the dataset. */
  index: number;
  imagePath: string;
  /** The reader's error message (it names the file). */
  reason: string;
}

/** Predict options from the config's `TEST` section. */
export function predictOptionsFromConfig(config: Config): PredictOptions {
  return {
    batchSize: config.TEST.BATCH_SIZE_PER_GPU,
    flipTest: config.TEST.FLIP_TEST,
    codec: codecOf(config),
  };
}

/** Predictions for every record of a dataset, in record order. */
export interface DatasetPredictions {
  /** `[R, K, 3]`: x, y in image pixels, heatmap maximum. */
  keypoints: Float32Array;
  numJoints: number;
  /** One per record that was read, in record order (skipped records have none). */
  persons: PredictedInstance[];
  /** Records whose image could not be read: their keypoints stay 0 and they have no person. */
  skipped: SkippedPrediction[];
}

export type { FlipTest } from '../codec/flip';

/**
 * Eval-mode heatmaps `[n, h, w, K]` of `model` for `images` `[n, H, W, 3]`, flip-averaged when `flip` is given (the
 * images and their mirror images in one forward pass).
 */
export async function inferHeatmaps(model: PoseHRNet, images: Float32Array, n: number, flip?: FlipTest): Promise<Float32Array> {
  const [w, h] = model.imageSize;
  const heat = tf.tidy(() => {
    const x = tf.tensor4d(images.subarray(0, n * h * w * 3), [n, h, w, 3]);
    const predict = (input: tf.Tensor4D) => model.forward(input, { training: false });
    return flip ? flipTestHeatmaps(predict, x, flip) : predict(x);
  });
  try {
    return (await heat.data()) as Float32Array;
  } finally {
    heat.dispose();
  }
}

/** Computes heatmaps for a batch: `inferHeatmaps` on this thread, or the same on worker threads. */
export type HeatmapInference = (images: Float32Array, n: number, flip?: FlipTest) => Promise<Float32Array>;

/** One batch of test samples: the crops `[n, H, W, 3]`, their boxes, and their metas (`null` for a skipped sample). */
interface TestBatch {
  start: number;
  n: number;
  images: Float32Array;
  centers: Float64Array;
  scales: Float64Array;
  metas: (SampleMeta | null)[];
}

/** Reads samples `start … start + n − 1`; a sample that cannot be read is skipped (reported through `opts.onSkip`). */
async function loadTestBatch(data: JointsDataset, start: number, n: number, imageSize: readonly [number, number], opts: PredictOptions, skipped: SkippedPrediction[]): Promise<TestBatch> {
  const [w, h] = imageSize;
  const batch: TestBatch = { start, n, images: new Float32Array(n * h * w * 3), centers: new Float64Array(n * 2), scales: new Float64Array(n * 2), metas: [] };
  for (let i = 0; i < n; i++) {
    let s;
    try {
      s = await data.get(start + i);
    } catch (err) {
      const skip = { index: start + i, imagePath: data.dataset.records[start + i].imagePath, reason: (err as Error).message };
      skipped.push(skip);
      opts.onSkip?.(skip);
      batch.metas.push(null);
      continue;
    }
    batch.images.set(s.image, i * h * w * 3);
    batch.centers.set(s.meta.center, i * 2);
    batch.scales.set(s.meta.scale, i * 2);
    batch.metas.push(s.meta);
  }
  return batch;
}

/**
 * Runs the model over every sample of a test-mode dataset and decodes the keypoints. The next batch's samples
 * are read (their images decoded on libuv's threads) while a batch's heatmaps are computed.
 * @param infer where the heatmaps are computed (default: this thread, with `model`)
 */
export async function predictDataset(model: PoseHRNet, data: JointsDataset, opts: PredictOptions, infer?: HeatmapInference): Promise<DatasetPredictions> {
  const k = data.dataset.numJoints;
  const total = data.length;
  const keypoints = new Float32Array(total * k * 3);
  const persons: PredictedInstance[] = [];
  const skipped: SkippedPrediction[] = [];
  const [w, h] = model.imageSize;
  const load = (start: number): Promise<TestBatch> | undefined => {
    if (start >= total) return undefined;
    const loading = loadTestBatch(data, start, Math.min(opts.batchSize, total - start), model.imageSize, opts, skipped);
    // Awaited in its turn, or never where the batch before fails: its failure is not to go unhandled meanwhile.
    loading.catch(() => undefined);
    return loading;
  };
  const flip = opts.flipTest ? opts.codec.flipTest(data.dataset.meta.flipPairs) : undefined;
  let next = load(0);
  while (next !== undefined) {
    const { start, n, images, centers, scales, metas } = await next;
    const heatmaps = infer ? infer(images, n, flip) : inferHeatmaps(model, images, n, flip);
    heatmaps.catch(() => undefined);
    next = load(start + n);
    const heat = await heatmaps;
    const [hw, hh] = [w / 4, h / 4];
    const nchw = nhwcToNchw(heat, n, hh, hw, k);
    const { preds, maxvals } = opts.codec.decode(nchw, [n, k, hh, hw], centers, scales);
    for (let i = 0; i < n; i++) {
      const m = metas[i];
      if (m === null) continue;
      const r = start + i;
      const kps: number[][] = [];
      for (let j = 0; j < k; j++) {
        const x = preds[(i * k + j) * 2];
        const y = preds[(i * k + j) * 2 + 1];
        const v = maxvals[i * k + j];
        keypoints.set([x, y, v], (r * k + j) * 3);
        kps.push([x, y, v]);
      }
      persons.push({ imageId: m.imageId, keypoints: kps, center: [...m.center], scale: [...m.scale], area: m.scale[0] * 200 * m.scale[1] * 200, score: m.score });
    }
    opts.onProgress?.(start + n, total);
  }
  return { keypoints, numJoints: k, persons, skipped };
}

/** COCO evaluation of predictions: rescoring, OKS NMS, AP/AR against the dataset's annotation file. */
export interface CocoEvaluation {
  results: CocoKeypointResult[];
  eval: CocoEvalResult;
}

/** The official COCO evaluation (`COCODataset.evaluate`): rescoring + (soft-)OKS NMS + COCO keypoint AP. */
export function evaluateCoco(dataset: KeypointDataset, preds: DatasetPredictions, config: Config): CocoEvaluation {
  const results = rescoreAndNms(preds.persons, {
    inVisThre: config.TEST.IN_VIS_THRE,
    oksThre: config.TEST.OKS_THRE,
    softNms: config.TEST.SOFT_NMS,
    sigmas: dataset.meta.sigmas,
  });
  const gt = completeGroundTruth(JSON.parse(fs.readFileSync(dataset.annotationFile, 'utf8')) as CocoKeypointsFile);
  const catIds = new Set((gt.categories ?? []).filter((c) => Array.isArray((c as { keypoints?: unknown }).keypoints)).map((c) => c.id));
  // Results carry category 1; a custom file may use another id: map to its keypoint category.
  const categoryId = catIds.has(1) || catIds.size === 0 ? 1 : [...catIds][0];
  for (const r of results) r.category_id = categoryId;
  return { results, eval: evaluateCocoKeypoints(gt, results, { kptOksSigmas: dataset.meta.sigmas }) };
}

/**
 * COCO-like files of other datasets lack fields pycocotools needs: OneHand10K has no
 * `num_keypoints`, CrowdPose no `area`. Fill them as the dataset loader reads them: the number of
 * labelled keypoints (v > 0) and the box area. Files that have the fields are left as they are.
 */
export function completeGroundTruth(gt: CocoKeypointsFile): CocoKeypointsFile {
  const annotations = gt.annotations.map((a) => {
    const raw = a as unknown as Record<string, unknown>;
    const out = { ...a };
    if (typeof raw.num_keypoints !== 'number') {
      let n = 0;
      for (let i = 2; i < a.keypoints.length; i += 3) if (a.keypoints[i] > 0) n++;
      out.num_keypoints = n;
    }
    if (typeof raw.area !== 'number') out.area = Array.isArray(a.bbox) ? a.bbox[2] * a.bbox[3] : 0;
    if (typeof raw.iscrowd !== 'number') out.iscrowd = 0;
    return out;
  });
  return { ...gt, annotations };
}

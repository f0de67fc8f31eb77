/**
 * Data-pipeline throughput: training samples per second (decode, half-body / scale / rotation / flip
 * augmentation, affine crop, normalisation, Gaussian targets) through the batch loader and its worker threads.
 */
import * as os from 'os';
import * as path from 'path';
import { applyOverrides, defaultConfig } from '../config/load';
import { createDataset } from './create-dataset';
import type { KeypointDataset } from './dataset';
import { JointsDataset, sampleOptionsFromConfig } from './joints-dataset';
import { createLoader, defaultWorkerCount, SampleWorkerPool } from './loader';

/** Options of {@link benchmarkDataPipeline}. */
export interface DataBenchmarkOptions {
  /** COCO-format keypoint annotation file; images next to it or under `<its folder>/images/`. */
  annotationFile: string;
  /** Keypoints per instance in the file (default 17). */
  numJoints?: number;
  /** Network input `[width, height]` (default `[192, 256]`); heatmaps are a quarter of it. */
  imageSize?: [number, number];
  /** Measuring time in seconds (default 10), after one warm-up batch per worker. */
  seconds?: number;
  /** Worker threads (default one per core; 0 = in-process). */
  workers?: number;
  /** Samples per batch (default 32). */
  batchSize?: number;
  /** Byte budget of each thread's decoded-image cache; 0 decodes every sample's image (default 128 MiB). */
  imageCacheBytes?: number;
}

/** Result of {@link benchmarkDataPipeline}. */
export interface DataBenchmarkResult {
  samplesPerSecond: number;
  samples: number;
  seconds: number;
  workers: number;
  batchSize: number;
  /** Whether decoded images were cached (a small dataset then measures crop + targets, not decoding). */
  imageCache: boolean;
  /** 1-minute load average of the machine when the run ended. */
  loadAverage: number;
}

/**
 * Measures training-sample throughput on a COCO-format dataset, with the official COCO augmentation
 * (`PROB_HALF_BODY` 0.3, `SCALE_FACTOR` 0.35, `ROT_FACTOR` 45, flip). The records are repeated so that every batch
 * is full. Worker start-up is not timed.
 */
export async function benchmarkDataPipeline(opts: DataBenchmarkOptions): Promise<DataBenchmarkResult> {
  const imageSize = opts.imageSize ?? [192, 256];
  const batchSize = opts.batchSize ?? 32;
  const seconds = opts.seconds ?? 10;
  const workers = opts.workers ?? defaultWorkerCount();
  const config = applyOverrides(
    defaultConfig(),
    {
      'DATASET.DATASET': 'custom',
      'DATASET.ROOT': path.dirname(opts.annotationFile),
      'DATASET.TRAIN_SET': path.basename(opts.annotationFile),
      'DATASET.COLOR_RGB': true,
      'DATASET.PROB_HALF_BODY': 0.3,
      'DATASET.SCALE_FACTOR': 0.35,
      'DATASET.ROT_FACTOR': 45,
      'DATASET.FLIP': true,
      'MODEL.NUM_JOINTS': opts.numJoints ?? 17,
      'MODEL.IMAGE_SIZE': imageSize,
      'MODEL.HEATMAP_SIZE': [imageSize[0] / 4, imageSize[1] / 4],
    },
    'benchmarkDataPipeline',
  );
  const loaded = createDataset(config, 'train', { onWarning: () => undefined });
  const repeat = Math.max(1, Math.ceil((batchSize * Math.max(8, 4 * workers)) / loaded.records.length));
  const dataset: KeypointDataset = { ...loaded, records: Array.from({ length: repeat }, () => loaded.records).flat() };
  const options = { ...sampleOptionsFromConfig(config, true, 0), imageCacheBytes: opts.imageCacheBytes ?? 128 * 2 ** 20 };
  const joints = new JointsDataset(dataset, options);

  const pool = workers > 0 ? await SampleWorkerPool.create(joints.spec, workers) : undefined;
  try {
    const loaderOpts = { batchSize, shuffle: true, seed: 0, pool, workers, onWarning: () => undefined };
    // warm-up: one batch per worker (code paths compiled, caches filled)
    let warm = 0;
    for await (const _batch of createLoader(joints, { ...loaderOpts, epoch: -1 })) {
      if (++warm >= Math.max(1, workers)) break;
    }
    let samples = 0;
    const start = performance.now();
    let elapsed = 0;
    for (let epoch = 0; elapsed < seconds; epoch++) {
      for await (const batch of createLoader(joints, { ...loaderOpts, epoch })) {
        samples += batch.size;
        elapsed = (performance.now() - start) / 1000;
        if (elapsed >= seconds) break;
      }
    }
    return {
      samplesPerSecond: samples / elapsed,
      samples,
      seconds: elapsed,
      workers,
      batchSize,
      imageCache: options.imageCacheBytes > 0,
      loadAverage: os.loadavg()[0],
    };
  } finally {
    await pool?.close();
  }
}

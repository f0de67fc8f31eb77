/**
 * Batch preparation shared by the loader's worker threads and its in-process mode: {@link buildBatch} prepares
 * the samples of one batch into fresh `[N, …]` buffers. When this file runs as a worker thread (started by
 * `loader.ts` with `workerData.kind === 'hrnet-loader'`), it answers batch jobs and transfers the buffers back.
 */
import { isMainThread, parentPort, workerData } from 'worker_threads';
import type { DatasetRecord } from './dataset';
import { SamplePipeline, type SampleMeta, type SamplePipelineSpec } from './joints-dataset';

/** One sample to prepare: the record and its position in the dataset. */
export interface BatchItem {
  index: number;
  record: DatasetRecord;
}

/** A sample that could not be prepared (missing or corrupt image). */
export interface SkippedSample {
  /** Position of the record in the dataset. */
  index: number;
  imagePath: string;
  /** The decoder's message. */
  reason: string;
}

/** The prepared samples of one batch; `size` ≤ the number of items (skipped samples are left out). */
export interface BatchResult {
  /** Samples in the batch (N). */
  size: number;
  /** `[N, H, W, 3]` normalised images (the buffer may be longer; use the first N samples). */
  images: Float32Array;
  /** `[N, h, w, K]` targets. */
  target: Float32Array;
  /** `[N, K]` target weights. */
  targetWeight: Float32Array;
  /** `[N]` sample metas. */
  metas: SampleMeta[];
  /** Samples left out, in item order. */
  skipped: SkippedSample[];
}

/** Job message sent to a worker. */
export interface LoaderJob {
  id: number;
  epoch: number;
  items: BatchItem[];
}

/** Messages sent by a worker. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: BatchResult }
  | { type: 'failed'; id: number; message: string };

/** `workerData` of a loader worker. */
export interface LoaderWorkerData {
  kind: 'hrnet-loader';
  spec: SamplePipelineSpec;
}

/**
 * Prepares the samples of one batch, in item order. Images are decoded concurrently (all requested up front);
 * each sample is cropped as soon as its image is ready. A sample whose image is missing or corrupt is skipped and
 * listed in `skipped`.
 * @param pipeline sample pipeline of this thread
 * @param items records and dataset indices
 * @param epoch epoch number (seeds the augmentation)
 * @returns images `[N, H, W, 3]`, target `[N, h, w, K]`, targetWeight `[N, K]`, metas `[N]`
 */
export async function buildBatch(pipeline: SamplePipeline, items: readonly BatchItem[], epoch: number): Promise<BatchResult> {
  const sizes = pipeline.sampleSizes;
  const n = items.length;
  const images = new Float32Array(n * sizes.image);
  const target = new Float32Array(n * sizes.target);
  const targetWeight = new Float32Array(n * sizes.targetWeight);
  const decoded = items.map((item) => pipeline.cache.get(item.record.imagePath));
  for (const p of decoded) p.catch(() => undefined); // awaited below; avoids unhandled-rejection noise
  const metas: SampleMeta[] = [];
  const skipped: SkippedSample[] = [];
  for (let i = 0; i < n; i++) {
    const { index, record } = items[i];
    let image;
    try {
      image = await decoded[i];
    } catch (err) {
      skipped.push({ index, imagePath: record.imagePath, reason: (err as Error).message });
      continue;
    }
    const slot = metas.length;
    const meta = pipeline.prepareDecoded(image, record, index, epoch, {
      image: images.subarray(slot * sizes.image, (slot + 1) * sizes.image),
      target: target.subarray(slot * sizes.target, (slot + 1) * sizes.target),
      targetWeight: targetWeight.subarray(slot * sizes.targetWeight, (slot + 1) * sizes.targetWeight),
    });
    metas.push(meta);
  }
  return { size: metas.length, images, target, targetWeight, metas, skipped };
}

function serveJobs(data: LoaderWorkerData): void {
  const port = parentPort;
  if (port === null) return;
  const pipeline = new SamplePipeline(data.spec);
  port.on('message', (job: LoaderJob) => {
    buildBatch(pipeline, job.items, job.epoch).then(
      (result) => {
        const reply: WorkerReply = { type: 'done', id: job.id, result };
        const buffers = [result.images.buffer, result.target.buffer, result.targetWeight.buffer] as ArrayBuffer[];
        port.postMessage(reply, buffers);
      },
      (err: unknown) => {
        const reply: WorkerReply = { type: 'failed', id: job.id, message: err instanceof Error ? err.message : String(err) };
        port.postMessage(reply);
      },
    );
  });
  const ready: WorkerReply = { type: 'ready' };
  port.postMessage(ready);
}

const data = workerData as Partial<LoaderWorkerData> | null;
if (!isMainThread && data !== null && data !== undefined && data.kind === 'hrnet-loader' && data.spec !== undefined) {
  serveJobs(data as LoaderWorkerData);
}

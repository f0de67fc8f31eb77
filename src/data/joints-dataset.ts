/**
 * One training or test sample of the top-down pipeline, as the official `JointsDataset.__getitem__`: decode the
 * image, draw the training augmentation (half-body crop, scale, rotation, flip) in the official order, crop with
 * the codec's crop affine + `warpAffine`, normalise, map the joints through the same matrix and encode them into
 * the codec's targets (official, or UDP's with `MODEL.USE_UDP`).
 *
 * Reproducibility: the random stream of sample `i` in epoch `e` is `seedrandom("<seed>:<e>:<i>")`, so a sample
 * does not depend on which worker prepares it or in which order.
 */
import seedrandom from 'seedrandom';
import { affineTransformJointsInPlace } from '../codec/affine';
import { codecNameOf, createCodec } from '../codec/codecs';
import type { CodecName, HeatmapCodec } from '../codec/heatmap-codec';
import type { Config } from '../config/schema';
import type { DatasetRecord, KeypointDataset } from './dataset';
import { composeFlip, decodeImage, normalizeImage, warpAffine, type RgbImage } from './image';
import {
  fliplrJoints,
  halfBodyTransform,
  scaleRotateFromRandom,
  type UniformRng,
  type Vec2,
} from './transforms';

/** Default byte budget of the decoded-image cache of one pipeline (one per worker thread). */
export const DEFAULT_IMAGE_CACHE_BYTES = 128 * 1024 * 1024;

/** Sample-preparation settings (from `MODEL.*`, `DATASET.*`, `LOSS.*`), plain data so that workers can receive them. */
export interface SampleOptions {
  /** Network input `[width, height]`. */
  imageSize: Vec2;
  /** Heatmap `[width, height]`. */
  heatmapSize: Vec2;
  /** Gaussian sigma in heatmap cells. */
  sigma: number;
  /** The codec whose crop affine and targets the samples get (default `msra`, the official ones). */
  codec?: CodecName;
  /** Training mode (augmentation on); test mode crops the record's box as is. */
  isTrain: boolean;
  /** Random horizontal flip with probability 0.5 (training). */
  flip: boolean;
  /** `DATASET.SCALE_FACTOR`. */
  scaleFactor: number;
  /** `DATASET.ROT_FACTOR` in degrees. */
  rotFactor: number;
  /** `DATASET.PROB_HALF_BODY`. */
  probHalfBody: number;
  /** `DATASET.NUM_JOINTS_HALF_BODY`. */
  numJointsHalfBody: number;
  /** `DATASET.COLOR_RGB`: true feeds RGB; false swaps to BGR (OpenCV's order) before normalising, as official. */
  colorRgb: boolean;
  /** `LOSS.USE_DIFFERENT_JOINTS_WEIGHT`. */
  useDifferentJointsWeight: boolean;
  /** Seed of the augmentation streams. */
  seed: number;
  /** Byte budget of the decoded-image LRU cache (0 disables it). */
  imageCacheBytes: number;
}

/** What the sample pipeline needs from the keypoint meta, plain data. */
export interface SampleJointsInfo {
  /** K. */
  numJoints: number;
  /** 0-based flip pairs. */
  flipPairs: [number, number][];
  /** 0-based upper-body joints (half-body crop). */
  upperBodyIds: number[];
  /** `[K]` loss weights. */
  jointsWeight: number[];
}

/** Everything a worker thread needs to prepare samples: plain, structured-cloneable data. */
export interface SamplePipelineSpec {
  options: SampleOptions;
  joints: SampleJointsInfo;
}

/** Per-sample information of the official `meta` dict. */
export interface SampleMeta {
  /** Position of the record in the dataset. */
  index: number;
  imageId: number;
  imagePath: string;
  /** Crop center `[x, y]` after augmentation (in the flipped image when `flipped`). */
  center: Vec2;
  /** Crop scale `[sx, sy]` after augmentation. */
  scale: Vec2;
  /** Rotation in degrees. */
  rotation: number;
  /** Box score (1 for ground truth). */
  score: number;
  /** Flat `[K, 3]` joints in input-crop pixels (only visible ones are transformed, as official). */
  joints: Float64Array;
  /** Flat `[K, 3]` visibilities after the flip. */
  jointsVis: Float64Array;
  /** Whether the sample was mirrored. */
  flipped: boolean;
}

/** Output buffers of one sample (e.g. `subarray` views of one slot of a batch). */
export interface SampleBuffers {
  /** `[H, W, 3]` normalised image. */
  image: Float32Array;
  /** `[h, w, K]` Gaussian targets. */
  target: Float32Array;
  /** `[K]` target weights. */
  targetWeight: Float32Array;
}

/** One sample: buffers plus meta. */
export interface Sample extends SampleBuffers {
  meta: SampleMeta;
}

/**
 * Sample options from a config.
 * @param config experiment config
 * @param isTrain training (augmentation) or test mode
 * @param seed augmentation seed (default `TRAIN.SEED`, or 0 when it is null)
 */
export function sampleOptionsFromConfig(config: Config, isTrain: boolean, seed?: number): SampleOptions {
  const d = config.DATASET;
  return {
    imageSize: [config.MODEL.IMAGE_SIZE[0], config.MODEL.IMAGE_SIZE[1]],
    heatmapSize: [config.MODEL.HEATMAP_SIZE[0], config.MODEL.HEATMAP_SIZE[1]],
    sigma: config.MODEL.SIGMA,
    codec: codecNameOf(config),
    isTrain,
    flip: d.FLIP,
    scaleFactor: d.SCALE_FACTOR,
    rotFactor: d.ROT_FACTOR,
    probHalfBody: d.PROB_HALF_BODY,
    numJointsHalfBody: d.NUM_JOINTS_HALF_BODY,
    colorRgb: d.COLOR_RGB,
    useDifferentJointsWeight: config.LOSS.USE_DIFFERENT_JOINTS_WEIGHT,
    seed: seed ?? config.TRAIN.SEED ?? 0,
    imageCacheBytes: DEFAULT_IMAGE_CACHE_BYTES,
  };
}

/**
 * The augmentation stream of sample `index` in `epoch`.
 * @param seed run seed
 */
export function sampleRng(seed: number, epoch: number, index: number): UniformRng {
  return seedrandom(`${seed}:${epoch}:${index}`);
}

/** A byte-bounded LRU cache of decoded images; concurrent requests for one file share one decode. */
export class ImageCache {
  private readonly entries = new Map<string, { image: Promise<RgbImage>; bytes: number }>();
  private bytes = 0;

  /** @param maxBytes budget; 0 disables caching */
  constructor(readonly maxBytes: number) {}

  /** Total bytes of the decoded images held. */
  get size(): number {
    return this.bytes;
  }

  /**
   * The decoded image of `file` (from the cache, or decoded and cached).
   * @throws the decoder's error naming the file (the failure is not cached)
   */
  get(file: string): Promise<RgbImage> {
    const hit = this.entries.get(file);
    if (hit !== undefined) {
      this.entries.delete(file);
      this.entries.set(file, hit);
      return hit.image;
    }
    if (this.maxBytes <= 0) return decodeImage(file);
    const entry = { image: decodeImage(file), bytes: 0 };
    this.entries.set(file, entry);
    entry.image.then(
      (img) => {
        if (this.entries.get(file) !== entry) return;
        entry.bytes = img.data.byteLength;
        this.bytes += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(file) === entry) this.entries.delete(file);
      },
    );
    return entry.image;
  }

  private evict(): void {
    for (const [file, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (entry.bytes === 0) continue; // still decoding
      this.entries.delete(file);
      this.bytes -= entry.bytes;
    }
  }
}

/**
 * Prepares samples from records: the record-independent half of the official `JointsDataset` (settings, joint
 * info, image cache, scratch crop). One per thread.
 */
export class SamplePipeline {
  readonly options: SampleOptions;
  readonly joints: SampleJointsInfo;
  readonly cache: ImageCache;
  /** Crop affine and targets. */
  readonly codec: HeatmapCodec;
  private readonly crop: Uint8Array;

  constructor(spec: SamplePipelineSpec) {
    this.options = spec.options;
    const o = spec.options;
    this.codec = createCodec({ name: o.codec ?? 'msra', imageSize: o.imageSize, heatmapSize: o.heatmapSize, sigma: o.sigma });
    this.joints = spec.joints;
    this.cache = new ImageCache(spec.options.imageCacheBytes);
    const [w, h] = spec.options.imageSize;
    this.crop = new Uint8Array(w * h * 3);
  }

  /** Values per sample: image `H·W·3`, target `h·w·K`, targetWeight `K`. */
  get sampleSizes(): { image: number; target: number; targetWeight: number } {
    const [w, h] = this.options.imageSize;
    const [hw, hh] = this.options.heatmapSize;
    const k = this.joints.numJoints;
    return { image: w * h * 3, target: hw * hh * k, targetWeight: k };
  }

  /** Fresh buffers for one sample. */
  allocate(): SampleBuffers {
    const s = this.sampleSizes;
    return { image: new Float32Array(s.image), target: new Float32Array(s.target), targetWeight: new Float32Array(s.targetWeight) };
  }

  /**
   * Prepares one sample into `out` (official `__getitem__`).
   * @param record the dataset record
   * @param index the record's position in the dataset (seeds the augmentation)
   * @param epoch epoch number (seeds the augmentation)
   * @param out image `[H, W, 3]`, target `[h, w, K]`, targetWeight `[K]`
   * @throws an error naming the image file when it is missing or cannot be decoded
   */
  async prepare(record: DatasetRecord, index: number, epoch: number, out: SampleBuffers): Promise<SampleMeta> {
    const image = await this.cache.get(record.imagePath);
    return this.prepareDecoded(image, record, index, epoch, out);
  }

  /** {@link prepare} on an already decoded image `[height, width, 3]`. */
  prepareDecoded(image: RgbImage, record: DatasetRecord, index: number, epoch: number, out: SampleBuffers): SampleMeta {
    const o = this.options;
    const info = this.joints;
    let joints: Float64Array = Float64Array.from(record.joints3d);
    let jointsVis: Float64Array = Float64Array.from(record.joints3dVis);
    if (joints.length !== info.numJoints * 3 || jointsVis.length !== joints.length) {
      throw new Error(`sample ${index} (${record.imagePath}): joints must be [${info.numJoints}, 3], got ${joints.length / 3} joints`);
    }
    let center: Vec2 = [record.center[0], record.center[1]];
    let scale: Vec2 = [record.scale[0], record.scale[1]];
    let rotation = 0;
    let flipped = false;

    if (o.isTrain) {
      const rng = sampleRng(o.seed, epoch, index);
      let visible = 0;
      for (let k = 0; k < info.numJoints; k++) visible += jointsVis[k * 3];
      if (visible > o.numJointsHalfBody && rng() < o.probHalfBody) {
        const aspectRatio = o.imageSize[0] / o.imageSize[1];
        const half = halfBodyTransform(joints, jointsVis, { upperBodyIds: info.upperBodyIds, aspectRatio }, rng);
        if (half !== null) {
          center = half.center;
          scale = half.scale;
        }
      }
      const { scaleMultiplier, rotation: r } = scaleRotateFromRandom(rng, o.scaleFactor, o.rotFactor);
      scale = [Math.fround(scale[0] * scaleMultiplier), Math.fround(scale[1] * scaleMultiplier)];
      rotation = r;
      if (o.flip && rng() <= 0.5) {
        const flippedJoints = fliplrJoints(joints, jointsVis, image.width, info.flipPairs);
        joints = flippedJoints.joints;
        jointsVis = flippedJoints.jointsVis;
        center = [image.width - center[0] - 1, center[1]];
        flipped = true;
      }
    }

    const trans = this.codec.cropTransform(center, scale, rotation);
    const [w, h] = o.imageSize;
    const crop = warpAffine(image, flipped ? composeFlip(trans, image.width) : trans, w, h, this.crop);
    if (!o.colorRgb) swapRedBlue(crop);
    normalizeImage(crop, out.image, 0);
    affineTransformJointsInPlace(joints, trans, jointsVis);
    this.codec.encode(
      joints,
      jointsVis,
      { jointsWeight: info.jointsWeight, useDifferentJointsWeight: o.useDifferentJointsWeight, layout: 'HWK' },
      { target: out.target, targetWeight: out.targetWeight },
    );
    return {
      index,
      imageId: record.imageId,
      imagePath: record.imagePath,
      center,
      scale,
      rotation,
      score: record.score,
      joints,
      jointsVis,
      flipped,
    };
  }
}

/** RGB ↔ BGR in place on `[H, W, 3]` bytes. */
function swapRedBlue(pixels: Uint8Array): void {
  for (let i = 0; i < pixels.length; i += 3) {
    const r = pixels[i];
    pixels[i] = pixels[i + 2];
    pixels[i + 2] = r;
  }
}

/** The pipeline spec of a dataset. */
export function pipelineSpec(dataset: Pick<KeypointDataset, 'numJoints' | 'meta'>, options: SampleOptions): SamplePipelineSpec {
  const m = dataset.meta;
  return {
    options,
    joints: {
      numJoints: dataset.numJoints,
      flipPairs: m.flipPairs.map(([a, b]) => [a, b]),
      upperBodyIds: [...m.upperBodyIds],
      jointsWeight: [...m.jointsWeight],
    },
  };
}

/** A dataset's records seen as samples (official `JointsDataset`): `get(i)` returns the prepared sample `i`. */
export class JointsDataset {
  readonly dataset: KeypointDataset;
  readonly spec: SamplePipelineSpec;
  readonly pipeline: SamplePipeline;

  /**
   * @param dataset loaded dataset (records and meta)
   * @param options sample settings, e.g. {@link sampleOptionsFromConfig}
   */
  constructor(dataset: KeypointDataset, options: SampleOptions) {
    this.dataset = dataset;
    this.spec = pipelineSpec(dataset, options);
    this.pipeline = new SamplePipeline(this.spec);
  }

  /** Number of samples. */
  get length(): number {
    return this.dataset.records.length;
  }

  /**
   * Sample `i` of `epoch`: image `[H, W, 3]`, target `[h, w, K]`, targetWeight `[K]`, meta.
   * @throws an error naming the image file when it is missing or cannot be decoded
   */
  async get(i: number, epoch = 0): Promise<Sample> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`JointsDataset.get: index ${i} is out of range [0, ${this.length}) of ${this.dataset.name}`);
    }
    const out = this.pipeline.allocate();
    const meta = await this.pipeline.prepare(this.dataset.records[i], i, epoch, out);
    return { ...out, meta };
  }
}

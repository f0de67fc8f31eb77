/**
 * `hrnet-meta.json`: what a caller needs around an exported network, the same for every export
 * format — input size and layout, normalisation, crop geometry, keypoint names, flip pairs, skeleton,
 * OKS sigmas, and the decoding and flip-test settings of the checkpoint's config
 * ({@link decodingOfConfig}).
 */
import { DEFAULT_BLUR_KERNEL, codecOf } from '../codec/codecs';
import { describeCrop, describeDecoding } from '../codec/describe';
import type { CodecName } from '../codec/heatmap-codec';
import type { Config } from '../config/schema';
import { IMAGE_MEAN, IMAGE_STD } from '../data/image';
import type { KeypointMeta } from '../data/keypoint-meta';
import { PIXEL_STD } from '../data/transforms';

export { keypointMetaOfConfig } from '../data/keypoint-meta-of-config';

/** `format` of {@link HrnetExportMeta}. */
export const EXPORT_FORMAT = 'hrnet-tfjs-export';
/** Version of the export layout; bumped when `hrnet-meta.json` or the layer naming changes. */
export const EXPORT_VERSION = 2;
/** File name of the meta inside an export directory. */
export const META_JSON_FILE = 'hrnet-meta.json';

/** Tensor layout of an exported network. */
export type ExportLayout = 'NHWC' | 'NCHW';

/** Input normalisation of the exported network (the official `ToTensor` + `Normalize`). */
export interface ExportNormalization {
  /** Channel order the network expects. */
  colorOrder: 'RGB' | 'BGR';
  /** Pixels (0–255) are divided by this first. */
  divisor: 255;
  /** `[3]` mean of each input channel, in `colorOrder` (after the division by 255). */
  mean: [number, number, number];
  /** `[3]` standard deviation of each input channel, in `colorOrder`. */
  std: [number, number, number];
  formula: string;
}

/** How to cut the network input out of an image (official `_xywh2cs` + `get_affine_transform`). */
export interface ExportCrop {
  /** Scale unit: a box of scale s spans s · pixelStd pixels. */
  pixelStd: number;
  /** Enlargement of a person box before cropping. */
  boxEnlargement: number;
  /** Width / height of the crop (= input width / height). */
  aspectRatio: number;
  steps: string[];
}

/** Heatmap decoding and test-time flip settings of the checkpoint's config: its codec (`src/codec`). */
export interface ExportDecode {
  /** The codec: `msra` (official `get_final_preds`, quarter-pixel shift), `dark` or `udp`. */
  method: CodecName;
  /** `TEST.POST_PROCESS`: apply the refinement (without it: the plain argmax, whatever `method` says). */
  postProcess: boolean;
  /** DARK only: odd size of the Gaussian blur kernel applied before the log. */
  blurKernel?: number;
  /** `TEST.FLIP_TEST`: average with the flipped-back prediction of the mirrored crop. */
  flipTest: boolean;
  /** `TEST.SHIFT_HEATMAP`: shift the flipped-back heatmaps one pixel right before averaging. */
  shiftHeatmap: boolean;
  steps: string[];
}

/** Keypoint knowledge needed to use the heatmaps. */
export interface ExportKeypoints {
  /** `[K]` names, in heatmap channel order. */
  names: string[];
  /** `[P, 2]` left/right channel pairs swapped by a horizontal flip (0-based). */
  flipPairs: [number, number][];
  /** `[L, 2]` limbs (0-based joint indices). */
  skeleton: [number, number][];
  /** `[K]` OKS sigmas (pycocotools convention). */
  oksSigmas: number[];
}

/** Contents of `hrnet-meta.json` (also stored as `userDefinedMetadata.hrnet` in `model.json`). */
export interface HrnetExportMeta {
  format: typeof EXPORT_FORMAT;
  version: number;
  /** Name of the architecture (`MODEL.NAME`). */
  model: string;
  /** The network file of the export (`model.json`, `model.onnx`, `model.pth`). */
  modelFile: string;
  /** `[width, height]` of the input. */
  inputSize: [number, number];
  /** `[width, height]` of the heatmaps (input / 4). */
  heatmapSize: [number, number];
  /** `NHWC`: input `[N, H, W, 3]`, output `[N, H/4, W/4, K]` (TF.js); `NCHW`: `[N, 3, H, W]` → `[N, K, H/4, W/4]` (ONNX, PyTorch). */
  layout: ExportLayout;
  numJoints: number;
  /** σ of the training targets, in heatmap pixels (`MODEL.SIGMA`). */
  sigma: number;
  normalization: ExportNormalization;
  crop: ExportCrop;
  keypoints: ExportKeypoints;
  decode: ExportDecode;
}

/** Where the network file of an export sits and how its tensors are laid out. */
export interface ExportNetworkFile {
  /** File name inside the export directory. */
  modelFile: string;
  layout: ExportLayout;
}

/** The TF.js layers export: `model.json`, NHWC. */
export const TFJS_NETWORK_FILE: ExportNetworkFile = { modelFile: 'model.json', layout: 'NHWC' };

/**
 * The decoding and flip-test settings of a checkpoint's config, as every export records them: the
 * config's codec by its own name (`codecOf`), its steps in words, the refinement switch from
 * `TEST.POST_PROCESS` and the codec's flip test.
 */
export function decodingOfConfig(config: Config): ExportDecode {
  const codec = codecOf(config);
  const blur = codec.name === 'msra' ? {} : { blurKernel: codec.spec.blurKernel ?? DEFAULT_BLUR_KERNEL };
  return {
    method: codec.name,
    postProcess: config.TEST.POST_PROCESS,
    ...blur,
    flipTest: config.TEST.FLIP_TEST,
    shiftHeatmap: codec.flipTest([]).shift,
    steps: describeDecoding(codec),
  };
}

/**
 * The `hrnet-meta.json` of a model trained with `config`.
 * @param inputSize `[width, height]` of the exported input
 * @param meta keypoint meta (names, flip pairs, skeleton, sigmas)
 * @param network the export's network file and layout (default: the TF.js layers model)
 */
export function buildExportMeta(
  config: Config,
  inputSize: [number, number],
  meta: KeypointMeta,
  network: ExportNetworkFile = TFJS_NETWORK_FILE,
): HrnetExportMeta {
  const [w, h] = inputSize;
  const heatmapSize: [number, number] = [w / 4, h / 4];
  if (meta.keypointNames.length !== config.MODEL.NUM_JOINTS) {
    throw new Error(
      `export: the keypoint meta has ${meta.keypointNames.length} names but MODEL.NUM_JOINTS is ${config.MODEL.NUM_JOINTS}`,
    );
  }
  const rgb = config.DATASET.COLOR_RGB;
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    model: config.MODEL.NAME,
    modelFile: network.modelFile,
    inputSize: [w, h],
    heatmapSize,
    layout: network.layout,
    numJoints: config.MODEL.NUM_JOINTS,
    sigma: config.MODEL.SIGMA,
    normalization: {
      colorOrder: rgb ? 'RGB' : 'BGR',
      divisor: 255,
      mean: [...IMAGE_MEAN],
      std: [...IMAGE_STD],
      formula:
        'input[y][x][c] = (pixel[y][x][c] / 255 - mean[c]) / std[c], with the channels c in colorOrder ' +
        (rgb ? '(R, G, B)' : '(B, G, R: the image is swapped to BGR first and mean/std are applied in that order, as the official code does)'),
    },
    crop: {
      pixelStd: PIXEL_STD,
      boxEnlargement: 1.25,
      aspectRatio: w / h,
      steps: [
        'box [x, y, bw, bh] → center = [x + bw/2, y + bh/2]',
        'widen bw or heighten bh so bw / bh = aspectRatio; scale = [bw, bh] / pixelStd · boxEnlargement',
        describeCrop(codecOf(config), [w, h]),
      ],
    },
    keypoints: {
      names: [...meta.keypointNames],
      flipPairs: meta.flipPairs.map(([a, b]) => [a, b]),
      skeleton: meta.skeleton.map(([a, b]) => [a, b]),
      oksSigmas: [...meta.sigmas],
    },
    decode: decodingOfConfig(config),
  };
}


/**
 * `hrnet-meta.json`: what a caller needs around an exported network, the same for every export
 * format — input size and layout, normalisation, crop geometry, keypoint names, flip pairs, skeleton,
 * OKS sigmas, and the decoding and flip-test settings of the checkpoint's config
 * ({@link decodingOfConfig}).
 */
import * as fs from 'fs';
import type { Config } from '../config/schema';
import { cocoAnnotationFile } from '../data/coco';
import { applyMetaOverrides, datasetRoot, readJsonFile } from '../data/dataset';
import { IMAGE_MEAN, IMAGE_STD } from '../data/image';
import { COCO_META, CocoCategory, KeypointMeta, MPII_META, metaFromCocoCategory } from '../data/keypoint-meta';
import { PIXEL_STD } from '../data/transforms';

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

/**
 * The decoding methods an export can name: the official argmax with the quarter-pixel shift
 * (`TEST.DECODE: default`), and DARK (`TEST.DECODE: dark`).
 */
export type ExportDecodeMethod = 'argmax-quarter-offset' | 'dark';

/** Heatmap decoding (official `get_final_preds`) and test-time flip settings of the checkpoint's config. */
export interface ExportDecode {
  /** The sub-pixel refinement after the argmax (`TEST.DECODE`). */
  method: ExportDecodeMethod;
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

/**
 * The keypoint meta of a config's dataset: COCO / MPII built in; for `custom` and `synthetic` the
 * first keypoint category of the annotation file when it can be read, else generic names; then the
 * config's own meta keys (`DATASET.KEYPOINT_META`, `KEYPOINT_NAMES`, `FLIP_PAIRS`, …).
 * @returns the meta and notes on what could not be used
 */
export function keypointMetaOfConfig(config: Config): { meta: KeypointMeta; warnings: string[] } {
  const k = config.MODEL.NUM_JOINTS;
  const kind = config.DATASET.DATASET;
  const warnings: string[] = [];
  const generic = (): KeypointMeta =>
    metaFromCocoCategory({ name: kind, keypoints: Array.from({ length: k }, (_, i) => `keypoint_${i}`) }).meta;
  let base: KeypointMeta | null = null;
  if (kind === 'coco' && k === COCO_META.keypointNames.length) base = COCO_META;
  else if (kind === 'mpii' && k === MPII_META.keypointNames.length) base = MPII_META;
  const root = datasetRoot(config);
  if (base === null && (kind === 'custom' || kind === 'synthetic')) {
    for (const split of ['train', 'test'] as const) {
      const { file } = cocoAnnotationFile(config, split, root);
      if (!fs.existsSync(file)) continue;
      const data = readJsonFile(file, 'annotation file') as { categories?: CocoCategory[] };
      const cat = (data.categories ?? []).find((c) => Array.isArray(c.keypoints) && c.keypoints.length === k);
      if (cat) {
        const inferred = metaFromCocoCategory(cat);
        warnings.push(...inferred.warnings);
        base = inferred.meta;
        break;
      }
    }
  }
  if (base === null) {
    warnings.push(
      `no keypoint names for ${k} joints of dataset ${JSON.stringify(kind)}; exported generic names keypoint_0 … keypoint_${k - 1} ` +
        `and no flip pairs (set DATASET.KEYPOINT_NAMES / FLIP_PAIRS or DATASET.KEYPOINT_META)`,
    );
    base = generic();
  }
  return { meta: applyMetaOverrides(base, config, root), warnings };
}

/** Where the network file of an export sits and how its tensors are laid out. */
export interface ExportNetworkFile {
  /** File name inside the export directory. */
  modelFile: string;
  layout: ExportLayout;
}

/** The TF.js layers export: `model.json`, NHWC. */
export const TFJS_NETWORK_FILE: ExportNetworkFile = { modelFile: 'model.json', layout: 'NHWC' };

/** DARK's blur kernel size, as `getFinalPreds` uses it (`src/eval/decode.ts`). */
const DARK_BLUR_KERNEL = 11;

const ARGMAX_STEPS = [
  'per joint k: maxval = max of heatmap[k]; (x, y) = its first argmax in row-major order; if maxval <= 0 then (x, y) = (0, 0)',
];
const QUARTER_OFFSET_STEPS = [
  'postProcess: px = floor(x + 0.5), py = floor(y + 0.5); if 1 < px < W - 1 and 1 < py < H - 1: ' +
    'x += 0.25 · sign(hm[py][px + 1] − hm[py][px − 1]), y += 0.25 · sign(hm[py + 1][px] − hm[py − 1][px])',
];
const DARK_STEPS = [
  `postProcess (DARK): px = trunc(x), py = trunc(y); if 1 < px < W - 2 and 1 < py < H - 2: blur the heatmap with a ` +
    `${DARK_BLUR_KERNEL}×${DARK_BLUR_KERNEL} Gaussian (σ = 0.3·((blurKernel − 1)/2 − 1) + 0.8, zero padding), rescale it to the ` +
    'original maximum, L = log(max(blurred, 1e-10)); with central differences at (px, py) (first derivatives step 1, second ' +
    'step 2): (x, y) −= H⁻¹·∇L unless det H = 0',
];
const COMMON_STEPS = [
  'image coords = inverse affine getAffineTransform(center, scale, 0, heatmapSize, inv=1) applied to (x, y); ' +
    'with no rotation: X = center[0] + (x − W/2)·k, Y = center[1] + (y − H/2)·k, k = scale[0]·pixelStd / W (W, H: heatmap size)',
  'score of joint k = maxval',
  'flipTest: run the mirrored crop too, mirror its heatmaps back along x, swap the flipPairs channels, ' +
    'shift one pixel right when shiftHeatmap (column x ← x − 1, column 0 kept), and average with the plain heatmaps before decoding',
];

/**
 * The decoding and flip-test settings of a checkpoint's config, as every export records them: the
 * method from `TEST.DECODE`, the refinement switch from `TEST.POST_PROCESS`, the flip test from
 * `TEST.FLIP_TEST` and `TEST.SHIFT_HEATMAP`.
 */
export function decodingOfConfig(config: Config): ExportDecode {
  const dark = config.TEST.DECODE === 'dark';
  return {
    method: dark ? 'dark' : 'argmax-quarter-offset',
    postProcess: config.TEST.POST_PROCESS,
    ...(dark ? { blurKernel: DARK_BLUR_KERNEL } : {}),
    flipTest: config.TEST.FLIP_TEST,
    shiftHeatmap: config.TEST.SHIFT_HEATMAP,
    steps: [...ARGMAX_STEPS, ...(dark ? DARK_STEPS : QUARTER_OFFSET_STEPS), ...COMMON_STEPS],
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
        `crop = warpAffine(image, getAffineTransform(center, scale, 0, inputSize)), bilinear: the scale·pixelStd box ` +
          `around center mapped onto the ${w}×${h} input`,
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


/**
 * Export of a {@link PoseHRNet} to a stock TF.js `LayersModel` that a browser loads with
 * `tf.loadLayersModel('…/model.json')` and no project code:
 * - `model.json` — the Keras-style topology (tfjs-layers classes only: `InputLayer`, `ZeroPadding2D`,
 *   `Conv2D`, `BatchNormalization`, `Activation`, `Add`, `UpSampling2D`) and the weights manifest;
 * - `group1-shard{i}of{n}.bin` — the float32 weights, split into shards as the TF.js converter does;
 * - `hrnet-meta.json` — what a caller needs around the network: input size, normalisation, keypoint
 *   names, flip pairs, skeleton, and how to decode the heatmaps ({@link HrnetExportMeta}).
 *
 * The layers graph is built from the model's public state, not from its private module objects:
 * the stage layout comes from `model.extra` (`MODEL.EXTRA`) following the official builders
 * (`_make_layer`, `_make_transition_layer`, `_make_stage`, `_make_fuse_layers`), and every
 * convolution's kernel size, channel counts and bias, every block's `downsample` and every
 * transition slot are read from the {@link ParamStore} by their official state-dict names. A key the
 * walk expects but the store lacks is an error naming the key, so the export cannot silently
 * diverge from the model it copies.
 *
 * Layer names are the official module names (`stage2.0.fuse_layers.0.1.0`, `layer1.0.bn3`,
 * `final_layer`), which tfjs-layers accepts as they are (see {@link layerNameOf}); the layers the
 * official code has as unnamed functional steps get a suffix on the module they follow
 * (`conv1.pad`, `bn1.relu`, `layer1.0.add`, `layer1.0.relu`, `stage2.0.fuse_layers.1.add`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { codecOf } from '../codec/codecs';
import { describeCrop, describeDecoding } from '../codec/describe';
import type { CodecName } from '../codec/heatmap-codec';
import type { Config } from '../config/schema';
import { IMAGE_MEAN, IMAGE_STD } from '../data/image';
import type { KeypointMeta } from '../data/keypoint-meta';
import { keypointMetaOfConfig } from '../data/keypoint-meta-of-config';
import { PIXEL_STD } from '../data/transforms';
import type { BlockType } from '../model/blocks';
import { BN_EPS, BN_MOMENTUM } from '../model/nn';
import type { PoseHRNet } from '../model/pose-hrnet';
import { loadModelFromCheckpoint, writeFileAtomic } from './checkpoint';

/** `format` of {@link HrnetExportMeta}. */
export const EXPORT_FORMAT = 'hrnet-tfjs-export';
/** Version of the export layout; bumped when `hrnet-meta.json` or the layer naming changes. */
export const EXPORT_VERSION = 1;
/** File names inside an export directory. */
export const MODEL_JSON_FILE = 'model.json';
export const META_JSON_FILE = 'hrnet-meta.json';
/** Shard size of the weight files: 4 MiB, the TF.js converter's default. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

/** The tfjs-layers rule for layer and weight names (`isValidTensorName` in tfjs-layers `common.ts`). */
const TFJS_NAME = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

/**
 * The layer name of an official module name. tfjs-layers accepts letters, digits, `-`, `_`, `.` and
 * `/` after a leading letter or digit, so a state-dict module name (`stage2.0.fuse_layers.0.1.0`) is
 * used unchanged and weights are `<module>/kernel`, `<module>/gamma`, …; `/` is rejected because
 * tfjs-layers uses it to join a layer name and its weight names.
 * @param moduleName official module name, e.g. `transition1.1.0.0`
 */
export function layerNameOf(moduleName: string): string {
  if (!TFJS_NAME.test(moduleName) || moduleName.includes('/')) {
    throw new Error(
      `cannot name a TF.js layer ${JSON.stringify(moduleName)}: expected a letter or digit followed by letters, digits, '-', '_' or '.'`,
    );
  }
  return moduleName;
}

/** Options of {@link buildLayersModel}. */
export interface BuildLayersModelOptions {
  /**
   * `[width, height]` of the input the model accepts (default: the model's `imageSize`). Both must
   * be multiples of 32 (four stride-2 levels below the stride-4 stem output).
   */
  inputSize?: [number, number];
}

/** Walks the official module structure and emits named stock layers with the model's weights. */
class LayersGraphBuilder {
  constructor(private readonly model: PoseHRNet) {}

  /** A variable of the model by its state-dict key; an error names the key the walk expected. */
  private param(key: string): tf.Variable {
    if (!this.model.params.hasVariable(key)) {
      throw new Error(`export: the model has no ${key}, which its MODEL.EXTRA layout implies (state dict and config disagree)`);
    }
    return this.model.params.get(key);
  }

  private has(key: string): boolean {
    return this.model.params.hasVariable(key);
  }

  /**
   * `nn.Conv2d` as `ZeroPadding2D` + `Conv2D('valid')`: PyTorch pads both sides, TF's 'same' pads
   * only bottom/right for stride 2 on even sizes. Every official conv is k×k with padding (k−1)/2.
   * @param x `[N, H, W, in]` → `[N, H', W', out]`
   */
  conv(x: tf.SymbolicTensor, name: string, stride: number): tf.SymbolicTensor {
    const kernel = this.param(`${name}.weight`); // [kh, kw, in, out]
    const [kh, kw, , out] = kernel.shape;
    const pad = (kh - 1) / 2;
    let y = x;
    if (pad > 0) {
      const padLayer = tf.layers.zeroPadding2d({ padding: [[pad, pad], [pad, pad]], name: layerNameOf(`${name}.pad`) });
      y = padLayer.apply(y) as tf.SymbolicTensor;
    }
    const bias = this.has(`${name}.bias`) ? this.param(`${name}.bias`) : null;
    const layer = tf.layers.conv2d({
      name: layerNameOf(name),
      filters: out,
      kernelSize: [kh, kw],
      strides: stride,
      padding: 'valid',
      useBias: bias !== null,
      kernelInitializer: 'zeros',
      biasInitializer: 'zeros',
    });
    y = layer.apply(y) as tf.SymbolicTensor;
    layer.setWeights(bias ? [kernel, bias] : [kernel]);
    return y;
  }

  /** `nn.BatchNorm2d` in eval mode: the stock layer with ε = 1e-5 and the running statistics. */
  bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    const layer = tf.layers.batchNormalization({
      name: layerNameOf(name),
      axis: -1,
      epsilon: BN_EPS,
      // Keras' momentum is the decay of the running averages, PyTorch's the weight of the batch.
      momentum: 1 - BN_MOMENTUM,
    });
    const y = layer.apply(x) as tf.SymbolicTensor;
    layer.setWeights([
      this.param(`${name}.weight`),
      this.param(`${name}.bias`),
      this.param(`${name}.running_mean`),
      this.param(`${name}.running_var`),
    ]);
    return y;
  }

  relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers.activation({ activation: 'relu', name: layerNameOf(name) }).apply(x) as tf.SymbolicTensor;
  }

  add(xs: tf.SymbolicTensor[], name: string): tf.SymbolicTensor {
    return tf.layers.add({ name: layerNameOf(name) }).apply(xs) as tf.SymbolicTensor;
  }

  /** `nn.Sequential(conv, BN[, ReLU])` of transitions and fuse layers: `<name>.0`, `<name>.1`, ReLU `<name>.2`. */
  convBn(x: tf.SymbolicTensor, name: string, stride: number, relu: boolean): tf.SymbolicTensor {
    const y = this.bn(this.conv(x, `${name}.0`, stride), `${name}.1`);
    return relu ? this.relu(y, `${name}.2`) : y;
  }

  /** `BasicBlock` / `Bottleneck` (stride 1 everywhere in HRNet), with `downsample` when the store has it. */
  block(x: tf.SymbolicTensor, name: string, type: BlockType): tf.SymbolicTensor {
    let out = this.relu(this.bn(this.conv(x, `${name}.conv1`, 1), `${name}.bn1`), `${name}.bn1.relu`);
    out = this.bn(this.conv(out, `${name}.conv2`, 1), `${name}.bn2`);
    if (type === 'BOTTLENECK') {
      out = this.relu(out, `${name}.bn2.relu`);
      out = this.bn(this.conv(out, `${name}.conv3`, 1), `${name}.bn3`);
    }
    const residual = this.has(`${name}.downsample.0.weight`)
      ? this.bn(this.conv(x, `${name}.downsample.0`, 1), `${name}.downsample.1`)
      : x;
    return this.relu(this.add([out, residual], `${name}.add`), `${name}.relu`);
  }

  /** `_make_layer` / `_make_one_branch`: blocks `<name>.0 … <name>.{n−1}`. */
  blocks(x: tf.SymbolicTensor, name: string, type: BlockType, numBlocks: number): tf.SymbolicTensor {
    let y = x;
    for (let i = 0; i < numBlocks; i++) y = this.block(y, `${name}.${i}`, type);
    return y;
  }

  /**
   * `_make_transition_layer`: branch i < #inputs is adapted by conv3×3 + BN + ReLU when the store
   * has `<name>.i.0`, else passed through; a new branch is a chain of conv3×3/2 + BN + ReLU
   * (`<name>.i.j`) from the last input.
   */
  transition(xs: tf.SymbolicTensor[], name: string, numBranches: number): tf.SymbolicTensor[] {
    const numPre = xs.length;
    const out: tf.SymbolicTensor[] = [];
    for (let i = 0; i < numBranches; i++) {
      if (i < numPre) {
        out.push(this.has(`${name}.${i}.0.weight`) ? this.convBn(xs[i], `${name}.${i}`, 1, true) : xs[i]);
      } else {
        let y = xs[numPre - 1];
        for (let j = 0; j <= i - numPre; j++) y = this.convBn(y, `${name}.${i}.${j}`, 2, true);
        out.push(y);
      }
    }
    return out;
  }

  /**
   * `_make_fuse_layers` (SUM): output i sums, for j > i, conv1×1 + BN + nearest upsampling ×2^(j−i)
   * (`<name>.i.j.{0,1,2}`); j = i itself; j < i, i−j conv3×3/2 + BN with ReLU between
   * (`<name>.i.j.k`); the sum (`<name>.i.add`) is followed by a ReLU (`<name>.i.relu`).
   */
  fuse(xs: tf.SymbolicTensor[], name: string, numOutputs: number): tf.SymbolicTensor[] {
    const out: tf.SymbolicTensor[] = [];
    for (let i = 0; i < numOutputs; i++) {
      const terms = xs.map((x, j) => {
        if (j === i) return x;
        if (j > i) {
          const f = 2 ** (j - i);
          const y = this.convBn(x, `${name}.${i}.${j}`, 1, false);
          const up = tf.layers.upSampling2d({ size: [f, f], interpolation: 'nearest', name: layerNameOf(`${name}.${i}.${j}.2`) });
          return up.apply(y) as tf.SymbolicTensor;
        }
        let y = x;
        for (let k = 0; k < i - j; k++) y = this.convBn(y, `${name}.${i}.${j}.${k}`, 2, k !== i - j - 1);
        return y;
      });
      out.push(this.relu(this.add(terms, `${name}.${i}.add`), `${name}.${i}.relu`));
    }
    return out;
  }

  /** The whole network: `[N, H, W, 3]` → heatmaps `[N, H/4, W/4, K]`. */
  network(input: tf.SymbolicTensor): tf.SymbolicTensor {
    let y = this.relu(this.bn(this.conv(input, 'conv1', 2), 'bn1'), 'bn1.relu');
    y = this.relu(this.bn(this.conv(y, 'conv2', 2), 'bn2'), 'bn2.relu');
    const extra = this.model.extra;
    y = this.blocks(y, 'layer1', extra.STAGE1.BLOCK, countIndexed(this.model, 'layer1', 'conv1.weight'));
    let ys = [y];
    [extra.STAGE2, extra.STAGE3, extra.STAGE4].forEach((cfg, s) => {
      const k = s + 2;
      ys = this.transition(ys, `transition${k - 1}`, cfg.NUM_CHANNELS.length);
      for (let m = 0; m < cfg.NUM_MODULES; m++) {
        const moduleName = `stage${k}.${m}`;
        ys = ys.map((x, b) => this.blocks(x, `${moduleName}.branches.${b}`, cfg.BLOCK, cfg.NUM_BLOCKS[b]));
        if (ys.length > 1) {
          // Official `_make_stage`: only the last module of the last stage keeps one output.
          const multiScale = k !== 4 || m !== cfg.NUM_MODULES - 1;
          ys = this.fuse(ys, `${moduleName}.fuse_layers`, multiScale ? ys.length : 1);
        }
      }
    });
    return this.conv(ys[0], 'final_layer', 1);
  }
}

/** Number of consecutive indices i with `<prefix>.i.<suffix>` in the store (e.g. the blocks of `layer1`). */
function countIndexed(model: PoseHRNet, prefix: string, suffix: string): number {
  let n = 0;
  while (model.params.hasVariable(`${prefix}.${n}.${suffix}`)) n++;
  if (n === 0) throw new Error(`export: the model has no ${prefix}.0.${suffix}`);
  return n;
}

/**
 * The same network as `model.predict` (eval mode) as a tfjs-layers functional model built from stock
 * layers only, with the model's current weights (the layer variables share the values; later
 * changes to the model are not seen). Input `[N, H, W, 3]` normalised RGB (as `model.predict`),
 * output heatmaps `[N, H/4, W/4, NUM_JOINTS]`.
 * @param model the network; it stays usable and owned by the caller
 * @param opts input size
 */
export function buildLayersModel(model: PoseHRNet, opts: BuildLayersModelOptions = {}): tf.LayersModel {
  const [w, h] = opts.inputSize ?? model.imageSize;
  if (![w, h].every((d) => Number.isInteger(d) && d > 0 && d % 32 === 0)) {
    throw new Error(`export: inputSize [width, height] must be positive multiples of 32, got [${w}, ${h}]`);
  }
  const input = tf.input({ shape: [h, w, 3], name: 'input', dtype: 'float32' });
  const output = new LayersGraphBuilder(model).network(input);
  return tf.model({ inputs: input, outputs: output, name: 'pose_hrnet' });
}

// ---------------------------------------------------------------------------------------------
// hrnet-meta.json

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

/** Heatmap decoding: the config's codec (`msra`: official `get_final_preds`; `dark`; `udp`). */
export interface ExportDecode {
  method: CodecName;
  /** `TEST.POST_PROCESS`: apply the codec's sub-pixel refinement. */
  postProcess: boolean;
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
  /** The topology file to pass to `tf.loadLayersModel`. */
  modelFile: string;
  /** `[width, height]` of the input. */
  inputSize: [number, number];
  /** `[width, height]` of the heatmaps (input / 4). */
  heatmapSize: [number, number];
  /** Input `[N, H, W, 3]`, output `[N, H/4, W/4, K]`. */
  layout: 'NHWC';
  numJoints: number;
  /** σ of the training targets, in heatmap pixels (`MODEL.SIGMA`). */
  sigma: number;
  normalization: ExportNormalization;
  crop: ExportCrop;
  keypoints: ExportKeypoints;
  decode: ExportDecode;
}

export { keypointMetaOfConfig } from '../data/keypoint-meta-of-config';

/**
 * The `hrnet-meta.json` of a model trained with `config`.
 * @param inputSize `[width, height]` of the exported input
 * @param meta keypoint meta (names, flip pairs, skeleton, sigmas)
 */
export function buildExportMeta(config: Config, inputSize: [number, number], meta: KeypointMeta): HrnetExportMeta {
  const [w, h] = inputSize;
  const heatmapSize: [number, number] = [w / 4, h / 4];
  if (meta.keypointNames.length !== config.MODEL.NUM_JOINTS) {
    throw new Error(
      `export: the keypoint meta has ${meta.keypointNames.length} names but MODEL.NUM_JOINTS is ${config.MODEL.NUM_JOINTS}`,
    );
  }
  const rgb = config.DATASET.COLOR_RGB;
  const codec = codecOf(config);
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    model: config.MODEL.NAME,
    modelFile: MODEL_JSON_FILE,
    inputSize: [w, h],
    heatmapSize,
    layout: 'NHWC',
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
        describeCrop(codec, [w, h]),
      ],
    },
    keypoints: {
      names: [...meta.keypointNames],
      flipPairs: meta.flipPairs.map(([a, b]) => [a, b]),
      skeleton: meta.skeleton.map(([a, b]) => [a, b]),
      oksSigmas: [...meta.sigmas],
    },
    decode: {
      method: codec.name,
      postProcess: config.TEST.POST_PROCESS,
      flipTest: config.TEST.FLIP_TEST,
      shiftHeatmap: codec.flipTest([]).shift,
      steps: describeDecoding(codec),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Writing to disk

/** Options of {@link fileSaveHandler}. */
export interface FileSaveHandlerOptions {
  /** Largest weight shard in bytes (default {@link DEFAULT_SHARD_BYTES}). */
  shardBytes?: number;
  /** Written into `model.json` as `convertedBy`. */
  convertedBy?: string;
}

/**
 * A `tf.io` save handler writing a TF.js layers-model directory — `model.json` plus
 * `group1-shard{i}of{n}.bin` — the files `tf.loadLayersModel('http://…/model.json')` reads.
 * (The pure-JS `@tensorflow/tfjs` has no `file://` handler in Node.) Files are written atomically.
 * @param dir output directory (created)
 */
export function fileSaveHandler(dir: string, opts: FileSaveHandlerOptions = {}): tf.io.IOHandler {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!Number.isInteger(shardBytes) || shardBytes < 4) {
    throw new Error(`export: shardBytes must be an integer of at least 4 bytes, got ${shardBytes}`);
  }
  return tf.io.withSaveHandler(async (artifacts) => {
    if (artifacts.modelTopology === undefined || artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('export: the save handler expects a layers-model JSON topology');
    }
    fs.mkdirSync(dir, { recursive: true });
    const weights = new Uint8Array(
      artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
    );
    const numShards = Math.max(1, Math.ceil(weights.byteLength / shardBytes));
    const paths: string[] = [];
    for (let i = 0; i < numShards; i++) {
      const name = `group1-shard${i + 1}of${numShards}.bin`;
      writeFileAtomic(path.join(dir, name), weights.subarray(i * shardBytes, Math.min(weights.byteLength, (i + 1) * shardBytes)));
      paths.push(name);
    }
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: opts.convertedBy ?? artifacts.convertedBy ?? null,
      weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
    };
    if (artifacts.userDefinedMetadata !== undefined) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    writeFileAtomic(path.join(dir, MODEL_JSON_FILE), JSON.stringify(modelJson));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
}

/** Options of {@link exportModel}. */
export interface ExportModelOptions {
  /** `[width, height]` of the exported input (default `MODEL.IMAGE_SIZE`). */
  inputSize?: [number, number];
  /** Keypoint meta to record instead of the one derived from the config ({@link keypointMetaOfConfig}). */
  keypointMeta?: KeypointMeta;
  /** Largest weight shard in bytes (default 4 MiB). */
  shardBytes?: number;
}

/** What {@link exportModel} wrote. */
export interface ExportResult {
  /** The output directory. */
  dir: string;
  /** File names written in `dir`: `model.json`, the weight shards, `hrnet-meta.json`. */
  files: string[];
  meta: HrnetExportMeta;
  /** Number of weight values exported. */
  numWeights: number;
  /** Notes on meta that could not be derived (generic keypoint names, …). */
  warnings: string[];
}

/**
 * Exports a model as a browser-loadable TF.js layers model (`model.json` + weight shards) and
 * `hrnet-meta.json`.
 * @param source a checkpoint path (file, or directory holding one; its config is used) or a model
 * @param outDir output directory (created)
 * @param config the model's config; required when `source` is a model, overrides the checkpoint's otherwise
 */
export async function exportModel(
  source: string | PoseHRNet,
  outDir: string,
  config?: Config,
  opts: ExportModelOptions = {},
): Promise<ExportResult> {
  let model: PoseHRNet;
  let cfg: Config;
  let owned = false;
  if (typeof source === 'string') {
    const loaded = loadModelFromCheckpoint(source);
    model = loaded.model;
    cfg = config ?? loaded.config;
    owned = true;
  } else {
    if (config === undefined) throw new Error('exportModel: pass the config the model was built from when exporting a model object');
    model = source;
    cfg = config;
  }
  let layers: tf.LayersModel | null = null;
  try {
    const inputSize = opts.inputSize ?? model.imageSize;
    const { meta: kpMeta, warnings } = opts.keypointMeta
      ? { meta: opts.keypointMeta, warnings: [] as string[] }
      : keypointMetaOfConfig(cfg);
    const meta = buildExportMeta(cfg, inputSize, kpMeta);
    if (meta.numJoints !== model.numJoints) {
      throw new Error(`export: the config has MODEL.NUM_JOINTS ${meta.numJoints} but the model has ${model.numJoints} joints`);
    }
    layers = buildLayersModel(model, { inputSize });
    layers.setUserDefinedMetadata({ hrnet: meta });
    await layers.save(fileSaveHandler(outDir, { shardBytes: opts.shardBytes, convertedBy: `hrnet-tfjs export v${EXPORT_VERSION}` }));
    writeFileAtomic(path.join(outDir, META_JSON_FILE), JSON.stringify(meta, null, 2) + '\n');
    const manifest = JSON.parse(fs.readFileSync(path.join(outDir, MODEL_JSON_FILE), 'utf8')) as tf.io.ModelJSON;
    const shards = (manifest.weightsManifest ?? []).flatMap((g) => g.paths);
    return {
      dir: outDir,
      files: [MODEL_JSON_FILE, ...shards, META_JSON_FILE],
      meta,
      numWeights: layers.countParams(),
      warnings,
    };
  } finally {
    // The layer variables hold references to the model's tensors; disposing them frees only those references.
    layers?.dispose();
    if (owned) model.dispose();
  }
}

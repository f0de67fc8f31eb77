/**
 * Export of a {@link PoseHRNet} checkpoint in the format a tool of the field opens, each with
 * `hrnet-meta.json` beside it (input size, normalisation, keypoint names, flip pairs, skeleton, and
 * the decoding and flip-test settings of the checkpoint's config, see `./export-meta`):
 *
 * | format | files | for |
 * | --- | --- | --- |
 * | `tfjs` | `model.json` + `group1-shard*.bin` (`./export-layers`) | browsers: `tf.loadLayersModel` with stock TF.js |
 * | `onnx` | `model.onnx` (`./export-onnx`) | onnxruntime, TensorRT, OpenVINO, mobile runtimes |
 * | `pth` | `model.pth` (`./pth-writer`) | the official PyTorch code and `torch.load` + `load_state_dict` |
 *
 * The tfjs and ONNX networks are built from the model's own description of itself
 * (`PoseHRNet.describe`); the `.pth` is its state dict under the official keys.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { defaultConfig, type Config } from '../config/schema';
import type { KeypointMeta } from '../data/keypoint-meta';
import type { PoseHRNet } from '../model/pose-hrnet';
import { loadModelFromCheckpoint, writeFileAtomic } from './checkpoint';
import { EXPORT_VERSION, ExportNetworkFile, HrnetExportMeta, META_JSON_FILE, TFJS_NETWORK_FILE, buildExportMeta, keypointMetaOfConfig } from './export-meta';
import { MODEL_JSON_FILE, buildLayersModel, fileSaveHandler } from './export-layers';
import { buildOnnxModel } from './export-onnx';
import { writePth } from './pth-writer';
import { modelStateDict } from './state-dict';

export { DEFAULT_SHARD_BYTES, MODEL_JSON_FILE, buildLayersModel, fileSaveHandler, layerNameOf } from './export-layers';
export type { BuildLayersModelOptions, FileSaveHandlerOptions } from './export-layers';
export { EXPORT_FORMAT, EXPORT_VERSION, META_JSON_FILE, buildExportMeta, decodingOfConfig, keypointMetaOfConfig } from './export-meta';
export type { ExportDecode, ExportKeypoints, ExportNormalization, ExportCrop, HrnetExportMeta } from './export-meta';

/** The formats of {@link exportModel}. */
export const EXPORT_FORMATS = ['tfjs', 'onnx', 'pth'] as const;
/** An export format: `tfjs` (TF.js layers model), `onnx` (ONNX model), `pth` (official PyTorch state dict). */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** File name of the ONNX model in an export directory. */
export const ONNX_FILE = 'model.onnx';
/** File name of the PyTorch state dict in an export directory. */
export const PTH_FILE = 'model.pth';

/** Network file and layout of each format. */
const NETWORK_FILES: Record<ExportFormat, ExportNetworkFile> = {
  tfjs: TFJS_NETWORK_FILE,
  onnx: { modelFile: ONNX_FILE, layout: 'NCHW' },
  pth: { modelFile: PTH_FILE, layout: 'NCHW' },
};

/** Options of {@link exportModel}. */
export interface ExportModelOptions {
  /** What to write (default `tfjs`). */
  format?: ExportFormat;
  /** `[width, height]` of the exported input (default `MODEL.IMAGE_SIZE`; tfjs and onnx only). */
  inputSize?: [number, number];
  /** Keypoint meta to record instead of the one derived from the config ({@link keypointMetaOfConfig}). */
  keypointMeta?: KeypointMeta;
  /** Largest weight shard in bytes (default 4 MiB; tfjs only). */
  shardBytes?: number;
}

/** What {@link exportModel} wrote. */
export interface ExportResult {
  /** The output directory. */
  dir: string;
  format: ExportFormat;
  /** File names written in `dir`: the network file(s), then `hrnet-meta.json`. */
  files: string[];
  meta: HrnetExportMeta;
  /** Number of weight values exported (parameters and BatchNorm running statistics). */
  numWeights: number;
  /** Notes on meta that could not be derived (generic keypoint names, …). */
  warnings: string[];
}

/** `layer1` as the official network hard-codes it, 4 Bottlenecks of 64 planes: the default `MODEL.EXTRA.STAGE1`. */
const OFFICIAL_LAYER1 = defaultConfig().MODEL.EXTRA.STAGE1;

/**
 * Why the official code cannot build the network of `config`, or null when it can. Its
 * `pose_hrnet.py` hard-codes `layer1` and ignores `MODEL.EXTRA.STAGE1`.
 */
export function officialNetworkMismatch(config: Config): string | null {
  const s1 = config.MODEL.EXTRA.STAGE1;
  const same =
    s1.BLOCK === OFFICIAL_LAYER1.BLOCK &&
    s1.NUM_BLOCKS.length === 1 &&
    s1.NUM_BLOCKS[0] === OFFICIAL_LAYER1.NUM_BLOCKS[0] &&
    s1.NUM_CHANNELS.length === 1 &&
    s1.NUM_CHANNELS[0] === OFFICIAL_LAYER1.NUM_CHANNELS[0];
  if (same) return null;
  return (
    `MODEL.EXTRA.STAGE1 (layer1: ${s1.NUM_BLOCKS.join(',')} ${s1.BLOCK} blocks of ${s1.NUM_CHANNELS.join(',')} planes) is not the ` +
    'official layer1 (4 BOTTLENECK blocks of 64), which the official code hard-codes: its model will not take these weights'
  );
}

/** Writes the TF.js layers model; returns the files written. */
async function writeTfjs(model: PoseHRNet, outDir: string, meta: HrnetExportMeta, opts: ExportModelOptions): Promise<string[]> {
  const layers = buildLayersModel(model, { inputSize: meta.inputSize });
  try {
    layers.setUserDefinedMetadata({ hrnet: meta });
    await layers.save(fileSaveHandler(outDir, { shardBytes: opts.shardBytes, convertedBy: `hrnet-tfjs export v${EXPORT_VERSION}` }));
  } finally {
    // The layer variables hold references to the model's tensors; disposing them frees only those references.
    layers.dispose();
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(outDir, MODEL_JSON_FILE), 'utf8')) as tf.io.ModelJSON;
  return [MODEL_JSON_FILE, ...(manifest.weightsManifest ?? []).flatMap((g) => g.paths)];
}

/**
 * Exports a model in one format ({@link ExportFormat}) plus `hrnet-meta.json`.
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
  const format = opts.format ?? 'tfjs';
  if (!EXPORT_FORMATS.includes(format)) {
    throw new Error(`export: format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  if (format === 'pth' && opts.inputSize !== undefined) {
    throw new Error('export: a .pth holds weights only and has no input size; leave inputSize unset for format pth');
  }
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
  try {
    const inputSize = opts.inputSize ?? model.imageSize;
    const { meta: kpMeta, warnings } = opts.keypointMeta
      ? { meta: opts.keypointMeta, warnings: [] as string[] }
      : keypointMetaOfConfig(cfg);
    const meta = buildExportMeta(cfg, inputSize, kpMeta, NETWORK_FILES[format]);
    if (meta.numJoints !== model.numJoints) {
      throw new Error(`export: the config has MODEL.NUM_JOINTS ${meta.numJoints} but the model has ${model.numJoints} joints`);
    }
    let files: string[];
    if (format === 'tfjs') {
      files = await writeTfjs(model, outDir, meta, opts);
    } else if (format === 'onnx') {
      const bytes = await buildOnnxModel(model, { inputSize, meta, producerVersion: `export v${EXPORT_VERSION}` });
      writeFileAtomic(path.join(outDir, ONNX_FILE), bytes);
      files = [ONNX_FILE];
    } else {
      fs.mkdirSync(outDir, { recursive: true });
      writePth(path.join(outDir, PTH_FILE), await modelStateDict(model));
      files = [PTH_FILE];
      const mismatch = officialNetworkMismatch(cfg);
      if (mismatch !== null) warnings.push(mismatch);
    }
    writeFileAtomic(path.join(outDir, META_JSON_FILE), JSON.stringify(meta, null, 2) + '\n');
    return {
      dir: outDir,
      format,
      files: [...files, META_JSON_FILE],
      meta,
      numWeights: model.params.list().reduce((n, e) => n + e.variable.size, 0),
      warnings,
    };
  } finally {
    if (owned) model.dispose();
  }
}

/**
 * A {@link PoseHRNet} as a stock TF.js `LayersModel` that a browser loads with
 * `tf.loadLayersModel('…/model.json')` and no project code, built from the network's own
 * description (`PoseHRNet.describe`, see `src/model/graph.ts`):
 * - `model.json` — the Keras-style topology (tfjs-layers classes only: `InputLayer`, `ZeroPadding2D`,
 *   `Conv2D`, `BatchNormalization`, `Activation`, `Add`, `UpSampling2D`) and the weights manifest;
 * - `group1-shard{i}of{n}.bin` — the float32 weights, split into shards as the TF.js converter does.
 *
 * Layer names are the description's operation names, i.e. the official module names
 * (`stage2.0.fuse_layers.0.1.0`, `layer1.0.bn3`, `final_layer`), which tfjs-layers accepts as they
 * are (see {@link layerNameOf}); a padded convolution gets its `ZeroPadding2D` as `<conv>.pad`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BN_MOMENTUM } from '../model/nn';
import type { GraphOp } from '../model/graph';
import type { PoseHRNet } from '../model/pose-hrnet';
import { writeFileAtomic } from './checkpoint';
import { describeForExport } from './model-description';

/** File name of the topology in a TF.js export directory. */
export const MODEL_JSON_FILE = 'model.json';
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

/**
 * The stock layer(s) of one operation of the description, applied to its inputs, with the model's
 * weights set. `nn.Conv2d` becomes `ZeroPadding2D` + `Conv2D('valid')` (PyTorch pads both sides, TF's
 * 'same' pads only bottom/right for stride 2 on even sizes); eval-mode BatchNorm is the stock layer
 * with the model's ε and running statistics.
 * @param inputs `[N, H, W, C]` symbolic tensors, in the operation's input order
 */
function applyLayer(op: GraphOp, inputs: tf.SymbolicTensor[]): tf.SymbolicTensor {
  const name = layerNameOf(op.name);
  switch (op.kind) {
    case 'conv': {
      let y = inputs[0];
      const p = op.padding;
      if (p > 0) {
        const padLayer = tf.layers.zeroPadding2d({ padding: [[p, p], [p, p]], name: layerNameOf(`${op.name}.pad`) });
        y = padLayer.apply(y) as tf.SymbolicTensor;
      }
      const layer = tf.layers.conv2d({
        name,
        filters: op.outChannels,
        kernelSize: [op.kernelSize, op.kernelSize],
        strides: op.stride,
        padding: 'valid',
        useBias: op.bias !== null,
        kernelInitializer: 'zeros',
        biasInitializer: 'zeros',
      });
      y = layer.apply(y) as tf.SymbolicTensor;
      layer.setWeights(op.bias ? [op.weight, op.bias] : [op.weight]);
      return y;
    }
    case 'batchnorm': {
      const layer = tf.layers.batchNormalization({
        name,
        axis: -1,
        epsilon: op.eps,
        // Keras' momentum is the decay of the running averages, PyTorch's the weight of the batch.
        momentum: 1 - BN_MOMENTUM,
      });
      const y = layer.apply(inputs[0]) as tf.SymbolicTensor;
      layer.setWeights([op.gamma, op.beta, op.mean, op.variance]);
      return y;
    }
    case 'relu':
      return tf.layers.activation({ activation: 'relu', name }).apply(inputs[0]) as tf.SymbolicTensor;
    case 'add':
      return tf.layers.add({ name }).apply(inputs) as tf.SymbolicTensor;
    case 'upsample':
      return tf.layers
        .upSampling2d({ size: [op.factor, op.factor], interpolation: 'nearest', name })
        .apply(inputs[0]) as tf.SymbolicTensor;
  }
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
  const graph = describeForExport(model);
  const input = tf.input({ shape: [h, w, graph.input.channels], name: 'input', dtype: 'float32' });
  const values = new Map<number, tf.SymbolicTensor>([[graph.input.id, input]]);
  const valueOf = (id: number): tf.SymbolicTensor => {
    const v = values.get(id);
    if (v === undefined) throw new Error(`export: value ${id} is used before it is computed`);
    return v;
  };
  for (const op of graph.ops) {
    const inputs = op.kind === 'add' ? op.inputs : [op.input];
    values.set(op.output.id, applyLayer(op, inputs.map((v) => valueOf(v.id))));
  }
  return tf.model({ inputs: input, outputs: valueOf(graph.output.id), name: 'pose_hrnet' });
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


/**
 * A {@link PoseHRNet} as an ONNX model (`model.onnx`), built from the network's own description
 * (`PoseHRNet.describe`, see `src/model/graph.ts`) and encoded with ONNX's own schema
 * (`./onnx-schema`):
 *
 * - input `input` `[N, 3, H, W]` float32 (NCHW, normalised as the official code: RGB / 255, ImageNet
 *   mean and std), the batch `N` dynamic;
 * - output `heatmaps` `[N, K, H/4, W/4]`;
 * - operators of the default domain at opset {@link ONNX_OPSET}: `Conv` (explicit symmetric pads),
 *   `BatchNormalization` (eval mode, ε = 1e-5), `Relu`, `Add` / `Sum`, `Resize` (nearest, asymmetric,
 *   floor: the nearest upsampling of the fuse layers);
 * - initializers named by their official state-dict keys (`stage2.0.fuse_layers.0.1.0.weight`),
 *   conv weights OIHW as PyTorch holds them, float32 little-endian;
 * - `metadata_props`: `hrnet` = the export meta as JSON (input size, normalisation, keypoint names,
 *   flip pairs, skeleton, decoding and flip-test settings), and `decode` = its decoding alone.
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphOp, GraphValue } from '../model/graph';
import type { PoseHRNet } from '../model/pose-hrnet';
import type { HrnetExportMeta } from './export-meta';
import { describeForExport } from './model-description';
import { ONNX_ATTRIBUTE, ONNX_FLOAT, onnxModelProto } from './onnx-schema';

/** Opset of the default ONNX domain the model is written for. */
export const ONNX_OPSET = 17;
/** ONNX IR version of the file (IR 8 is the one of opset 17). */
export const ONNX_IR_VERSION = 8;
/** Name of the graph input and output. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'heatmaps';
/** Symbolic name of the dynamic batch dimension. */
export const ONNX_BATCH_DIM = 'N';

/** `onnx.AttributeProto`, the fields written here. */
interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}

/** `onnx.NodeProto`, the fields written here. */
interface OnnxNode {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

/** `onnx.TensorProto` with raw little-endian data. */
interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

/** `onnx.ValueInfoProto` of a float tensor. */
interface OnnxValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
}

const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: ONNX_ATTRIBUTE.INTS, ints: values });
const float = (name: string, value: number): OnnxAttribute => ({ name, type: ONNX_ATTRIBUTE.FLOAT, f: value });
const text = (name: string, value: string): OnnxAttribute => ({ name, type: ONNX_ATTRIBUTE.STRING, s: new TextEncoder().encode(value) });

/** A float32 initializer from a tensor's data (already in ONNX's layout). */
function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
  return { name, dims, data_type: ONNX_FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * A variable's values in ONNX's layout, read asynchronously: conv kernels `[kh, kw, in, out]` →
 * OIHW `[out, in, kh, kw]`, vectors unchanged.
 */
async function onnxData(v: tf.Variable): Promise<Float32Array> {
  const t = tf.tidy(() => (v.rank === 4 ? tf.transpose(v, [3, 2, 0, 1]) : v.clone()));
  try {
    // A copy: on some backends a clone's data() is the variable's own array.
    return new Float32Array((await t.data()) as Float32Array);
  } finally {
    t.dispose();
  }
}

function floatValueInfo(name: string, dims: (number | string)[]): OnnxValueInfo {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ONNX_FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
      },
    },
  };
}

/** Options of {@link buildOnnxModel}. */
export interface OnnxExportOptions {
  /** `[width, height]` of the input (default: the model's `imageSize`); multiples of 32. */
  inputSize?: [number, number];
  /** Recorded as `metadata_props` (`hrnet`, `decode`). */
  meta?: HrnetExportMeta;
  /** `producer_version` of the file. */
  producerVersion?: string;
}

/** The ONNX nodes and initializers of one operation of the description. */
async function lowerOp(op: GraphOp, nameOf: (v: GraphValue) => string, initializers: OnnxTensor[]): Promise<OnnxNode[]> {
  const out = nameOf(op.output);
  switch (op.kind) {
    case 'conv': {
      const [kh, kw, cin, cout] = op.weight.shape;
      initializers.push(floatTensor(`${op.name}.weight`, [cout, cin, kh, kw], await onnxData(op.weight)));
      const inputs = [nameOf(op.input), `${op.name}.weight`];
      if (op.bias) {
        initializers.push(floatTensor(`${op.name}.bias`, [cout], await onnxData(op.bias)));
        inputs.push(`${op.name}.bias`);
      }
      const p = op.padding;
      const attribute = [
        ints('kernel_shape', [op.kernelSize, op.kernelSize]),
        ints('strides', [op.stride, op.stride]),
        ints('pads', [p, p, p, p]),
        ints('dilations', [1, 1]),
        { name: 'group', type: ONNX_ATTRIBUTE.INT, i: 1 },
      ];
      return [{ name: op.name, op_type: 'Conv', input: inputs, output: [out], attribute }];
    }
    case 'batchnorm': {
      const c = op.gamma.size;
      const names = ['weight', 'bias', 'running_mean', 'running_var'].map((f) => `${op.name}.${f}`);
      const values = [op.gamma, op.beta, op.mean, op.variance];
      for (let i = 0; i < 4; i++) initializers.push(floatTensor(names[i], [c], await onnxData(values[i])));
      return [
        { name: op.name, op_type: 'BatchNormalization', input: [nameOf(op.input), ...names], output: [out], attribute: [float('epsilon', op.eps)] },
      ];
    }
    case 'relu':
      return [{ name: op.name, op_type: 'Relu', input: [nameOf(op.input)], output: [out], attribute: [] }];
    case 'add':
      return [{ name: op.name, op_type: op.inputs.length === 2 ? 'Add' : 'Sum', input: op.inputs.map(nameOf), output: [out], attribute: [] }];
    case 'upsample': {
      // Nearest resize reading source pixel floor(dst / factor): TF.js resizeNearestNeighbor without
      // align-corners or half-pixel centres, and PyTorch's nn.Upsample(mode='nearest').
      const scales = `${op.name}.scales`;
      initializers.push(floatTensor(scales, [4], Float32Array.of(1, 1, op.factor, op.factor)));
      const attribute = [text('mode', 'nearest'), text('coordinate_transformation_mode', 'asymmetric'), text('nearest_mode', 'floor')];
      return [{ name: op.name, op_type: 'Resize', input: [nameOf(op.input), '', scales], output: [out], attribute }];
    }
  }
}

/**
 * The ONNX model of `model` (eval mode, the model's current weights) as file bytes.
 * Input `[N, 3, H, W]`, output `[N, K, H/4, W/4]`.
 * @param model the network; it stays owned by the caller
 */
export async function buildOnnxModel(model: PoseHRNet, opts: OnnxExportOptions = {}): Promise<Uint8Array> {
  const [w, h] = opts.inputSize ?? model.imageSize;
  if (![w, h].every((d) => Number.isInteger(d) && d > 0 && d % 32 === 0)) {
    throw new Error(`export: inputSize [width, height] must be positive multiples of 32, got [${w}, ${h}]`);
  }
  const graph = describeForExport(model);
  const nameOf = (v: GraphValue): string => {
    if (v.id === graph.input.id) return ONNX_INPUT;
    if (v.id === graph.output.id) return ONNX_OUTPUT;
    return `v${v.id}`;
  };
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  for (const op of graph.ops) nodes.push(...(await lowerOp(op, nameOf, initializers)));

  const metadata = opts.meta
    ? [
        { key: 'hrnet', value: JSON.stringify(opts.meta) },
        { key: 'decode', value: JSON.stringify(opts.meta.decode) },
      ]
    : [];
  const out = graph.output;
  const message = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'hrnet-tfjs',
    producer_version: opts.producerVersion ?? '',
    doc_string: 'HRNet top-down keypoint heatmaps (PoseHighResolutionNet, official state-dict names)',
    graph: {
      name: 'pose_hrnet',
      node: nodes,
      initializer: initializers,
      input: [floatValueInfo(ONNX_INPUT, [ONNX_BATCH_DIM, graph.input.channels, h, w])],
      output: [floatValueInfo(ONNX_OUTPUT, [ONNX_BATCH_DIM, out.channels, h / out.stride, w / out.stride])],
    },
    metadata_props: metadata,
  };
  const type = onnxModelProto();
  const problem = type.verify(message);
  if (problem) throw new Error(`export: the ONNX model does not fit onnx.proto: ${problem}`);
  return type.encode(type.fromObject(message)).finish();
}

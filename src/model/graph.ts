/**
 * The network's description of itself: a flat, typed graph of the eval-mode operations of a
 * {@link PoseHRNet} — convolution, BatchNorm, ReLU, sum, nearest upsampling — in execution order,
 * each named by its official module name and holding the model's own weight variables.
 *
 * Every module of `src/model` emits its part of this graph next to its forward pass (`describe`
 * beside `apply`), so the exports (TF.js layers, ONNX, …) are built from one description instead of
 * re-deriving the topology from state-dict names: a new block type describes itself in its own file.
 *
 * Values are activations `[N, H/stride, W/stride, channels]` (NHWC here; an exporter chooses its own
 * layout). Weights keep the model's layout: conv kernels `[kh, kw, in, out]`, BN vectors `[C]`.
 */
import type * as tf from '@tensorflow/tfjs';

/** An activation of the graph: `[N, H / stride, W / stride, channels]`. */
export interface GraphValue {
  /** Index of the value, unique in its graph (the input is 0). */
  readonly id: number;
  readonly channels: number;
  /** Total stride relative to the network input (1 for the images). */
  readonly stride: number;
}

/** Fields every operation has. */
interface OpBase {
  /**
   * Official module name of the operation (`layer1.0.conv1`, `stage2.0.fuse_layers.0.1.2`); steps
   * the official code runs as unnamed functions get a suffix on the module they follow
   * (`bn1.relu`, `layer1.0.add`, `layer1.0.relu`, `stage2.0.fuse_layers.1.add`).
   */
  readonly name: string;
  readonly output: GraphValue;
}

/** `nn.Conv2d`, square kernel, symmetric zero padding: `[N, H, W, in]` → `[N, H', W', out]`. */
export interface ConvOp extends OpBase {
  readonly kind: 'conv';
  readonly input: GraphValue;
  readonly kernelSize: number;
  readonly stride: number;
  /** Zero padding on each side of H and W (PyTorch's `padding`). */
  readonly padding: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** `[kh, kw, in, out]`; its state-dict key is `<name>.weight`. */
  readonly weight: tf.Variable;
  /** `[out]` or none; `<name>.bias`. */
  readonly bias: tf.Variable | null;
}

/** Eval-mode `nn.BatchNorm2d`: `(x − mean) / √(var + eps) · gamma + beta` per channel. */
export interface BatchNormOp extends OpBase {
  readonly kind: 'batchnorm';
  readonly input: GraphValue;
  readonly eps: number;
  /** `[C]` each: `<name>.weight`, `<name>.bias`, `<name>.running_mean`, `<name>.running_var`. */
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly mean: tf.Variable;
  readonly variance: tf.Variable;
}

/** `max(x, 0)`. */
export interface ReluOp extends OpBase {
  readonly kind: 'relu';
  readonly input: GraphValue;
}

/** Element-wise sum of two or more values of one shape. */
export interface AddOp extends OpBase {
  readonly kind: 'add';
  readonly inputs: readonly GraphValue[];
}

/** Nearest-neighbour upsampling by an integer factor: `[N, H, W, C]` → `[N, H·f, W·f, C]`. */
export interface UpsampleOp extends OpBase {
  readonly kind: 'upsample';
  readonly input: GraphValue;
  readonly factor: number;
}

/** One operation of a {@link NetworkGraph}. */
export type GraphOp = ConvOp | BatchNormOp | ReluOp | AddOp | UpsampleOp;

/** Arguments of {@link NetworkGraph.conv}. */
export interface ConvOpArgs {
  kernelSize: number;
  stride: number;
  padding: number;
  inChannels: number;
  outChannels: number;
  weight: tf.Variable;
  bias: tf.Variable | null;
}

/** Arguments of {@link NetworkGraph.batchNorm}. */
export interface BatchNormOpArgs {
  eps: number;
  gamma: tf.Variable;
  beta: tf.Variable;
  mean: tf.Variable;
  variance: tf.Variable;
}

/**
 * A network graph under construction, then read by exporters: one input (the images), operations
 * appended in execution order (every input of an operation is the graph input or the output of an
 * earlier one), one output set by {@link NetworkGraph.setOutput}.
 */
export class NetworkGraph {
  /** The operations in execution order. */
  readonly ops: GraphOp[] = [];
  /** The images `[N, H, W, inputChannels]`. */
  readonly input: GraphValue;
  private result: GraphValue | null = null;
  private readonly names = new Set<string>();
  private nextId = 0;

  constructor(inputChannels: number) {
    this.input = this.value(inputChannels, 1);
  }

  /** The network output (heatmaps); an error until {@link setOutput} was called. */
  get output(): GraphValue {
    if (this.result === null) throw new Error('network graph: no output was set');
    return this.result;
  }

  setOutput(v: GraphValue): void {
    this.result = v;
  }

  conv(name: string, input: GraphValue, args: ConvOpArgs): GraphValue {
    if (input.channels !== args.inChannels) {
      throw new Error(`network graph: ${name} takes ${args.inChannels} channels but its input has ${input.channels}`);
    }
    const output = this.value(args.outChannels, input.stride * args.stride);
    return this.push({ kind: 'conv', name, input, output, ...args });
  }

  batchNorm(name: string, input: GraphValue, args: BatchNormOpArgs): GraphValue {
    if (args.gamma.size !== input.channels) {
      throw new Error(`network graph: ${name} normalises ${args.gamma.size} channels but its input has ${input.channels}`);
    }
    return this.push({ kind: 'batchnorm', name, input, output: this.value(input.channels, input.stride), ...args });
  }

  relu(name: string, input: GraphValue): GraphValue {
    return this.push({ kind: 'relu', name, input, output: this.value(input.channels, input.stride) });
  }

  add(name: string, inputs: readonly GraphValue[]): GraphValue {
    if (inputs.length < 2) throw new Error(`network graph: ${name} sums ${inputs.length} value(s); a sum needs at least two`);
    const [first] = inputs;
    for (const v of inputs) {
      if (v.channels !== first.channels || v.stride !== first.stride) {
        throw new Error(
          `network graph: ${name} sums values of different shapes (${v.channels} channels at stride ${v.stride} ` +
            `and ${first.channels} at stride ${first.stride})`,
        );
      }
    }
    return this.push({ kind: 'add', name, inputs: [...inputs], output: this.value(first.channels, first.stride) });
  }

  upsample(name: string, input: GraphValue, factor: number): GraphValue {
    if (!(Number.isInteger(factor) && factor >= 1 && input.stride % factor === 0)) {
      throw new Error(`network graph: ${name} upsamples by ${factor}, which must be an integer dividing the input stride ${input.stride}`);
    }
    return this.push({ kind: 'upsample', name, input, factor, output: this.value(input.channels, input.stride / factor) });
  }

  /**
   * Every weight variable of the graph with its official state-dict key, in execution order
   * (conv `weight`, `bias`; BN `weight`, `bias`, `running_mean`, `running_var`).
   */
  variables(): { key: string; variable: tf.Variable }[] {
    const out: { key: string; variable: tf.Variable }[] = [];
    for (const op of this.ops) {
      if (op.kind === 'conv') {
        out.push({ key: `${op.name}.weight`, variable: op.weight });
        if (op.bias) out.push({ key: `${op.name}.bias`, variable: op.bias });
      } else if (op.kind === 'batchnorm') {
        out.push(
          { key: `${op.name}.weight`, variable: op.gamma },
          { key: `${op.name}.bias`, variable: op.beta },
          { key: `${op.name}.running_mean`, variable: op.mean },
          { key: `${op.name}.running_var`, variable: op.variance },
        );
      }
    }
    return out;
  }

  private value(channels: number, stride: number): GraphValue {
    return { id: this.nextId++, channels, stride };
  }

  private push(op: GraphOp): GraphValue {
    if (this.names.has(op.name)) throw new Error(`network graph: two operations are named ${op.name}`);
    this.names.add(op.name);
    this.ops.push(op);
    return op.output;
  }
}

/**
 * The two parameterised primitives of HRNet — a 2-D convolution and a BatchNorm — with PyTorch
 * semantics, their parameters held as named `tf.Variable`s in a {@link ParamStore} whose names are
 * the official state-dict keys (`stage2.0.branches.1.3.bn2.running_var`, …).
 *
 * Layout: activations are NHWC, conv kernels `[kh, kw, in, out]` (PyTorch's `[out, in, kh, kw]` is
 * converted only when a checkpoint is read or written).
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvInit } from '../config/schema';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, BATCH_NORM_TRAIN_RUNNING, type BatchNormTrainAttrs, type BatchNormTrainRunningAttrs } from '../backend/batch-norm-kernel';
import { RELU_GRAD, SUM_RELU, SUM_RELU_MAX_INPUTS, type SumReluAttrs } from '../backend/sum-relu-webgpu';
import type { GraphValue, NetworkGraph } from './graph';

/** PyTorch's BatchNorm defaults, used by every BN of the official model. */
export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/** What a parameter is: trainable weights, or a BatchNorm buffer updated by train-mode forwards. */
export type ParamKind = 'parameter' | 'buffer';

export interface ParamEntry {
  /** Official state-dict key, e.g. `layer1.0.conv1.weight`. */
  name: string;
  kind: ParamKind;
  variable: tf.Variable;
}

/** Forward-pass options shared by every module. */
export interface ForwardOptions {
  /** Train mode: BatchNorm normalises with batch statistics and updates its running statistics. */
  training: boolean;
  /** Called after every convolution with its input and output shapes (for MAC counting, profiling). */
  onConv?: (conv: Conv2d, inShape: number[], outShape: number[]) => void;
  /** Shape-only pass: convolutions return zeros of their output shape without computing. */
  dryRun?: boolean;
}

/**
 * The ordered registry of a model's state: trainable parameters and BatchNorm buffers as named
 * `tf.Variable`s, and the BatchNorm `num_batches_tracked` counters (int64 scalars in PyTorch) as
 * plain numbers. Registration order is the official `state_dict()` order.
 */
export class ParamStore {
  private readonly entries = new Map<string, ParamEntry>();
  private readonly counters = new Map<string, number>();
  private readonly order: string[] = [];

  add(name: string, kind: ParamKind, value: tf.Tensor): tf.Variable {
    this.claim(name);
    const variable = tf.variable(value, kind === 'parameter', `${name}#${nextVarId()}`);
    value.dispose();
    this.entries.set(name, { name, kind, variable });
    return variable;
  }

  /** Registers an integer counter such as `bn1.num_batches_tracked`. */
  addCounter(name: string): void {
    this.claim(name);
    this.counters.set(name, 0);
  }

  private claim(name: string): void {
    if (this.entries.has(name) || this.counters.has(name)) throw new Error(`duplicate state-dict key ${name}`);
    this.order.push(name);
  }

  get(name: string): tf.Variable {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no parameter named ${name}`);
    return e.variable;
  }

  hasVariable(name: string): boolean {
    return this.entries.has(name);
  }

  hasCounter(name: string): boolean {
    return this.counters.has(name);
  }

  counter(name: string): number {
    const v = this.counters.get(name);
    if (v === undefined) throw new Error(`no counter named ${name}`);
    return v;
  }

  setCounter(name: string, value: number): void {
    if (!this.counters.has(name)) throw new Error(`no counter named ${name}`);
    this.counters.set(name, value);
  }

  /** Every state-dict key (variables and counters) in official order. */
  keys(): string[] {
    return [...this.order];
  }

  /** Every variable entry in state-dict order. */
  list(): ParamEntry[] {
    return [...this.entries.values()];
  }

  /** Trainable parameters in state-dict order. */
  parameters(): ParamEntry[] {
    return this.list().filter((e) => e.kind === 'parameter');
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
    this.counters.clear();
    this.order.length = 0;
  }
}

let varCounter = 0;
function nextVarId(): number {
  return varCounter++;
}

/** Joins state-dict name parts, skipping empty ones: `join('stage2', 0, 'fuse_layers')`. */
export function joinName(...parts: (string | number)[]): string {
  return parts.filter((p) => p !== '').join('.');
}

/** A deterministic source of initial weights. */
export interface Initializer {
  /** Normal(0, std²) tensor of the given shape. */
  normal(shape: number[], std: number): tf.Tensor;
  /**
   * A conv weight `[kh, kw, in, out]`; `output`: the conv is the network's output layer (it has a
   * bias and no BatchNorm after it).
   */
  convWeight(shape: [number, number, number, number], output: boolean): tf.Tensor;
}

/** Zeros for every weight: for models whose weights are loaded right after they are built. */
export const zeroInitializer: Initializer = {
  normal: (shape) => tf.zeros(shape),
  convWeight: (shape) => tf.zeros(shape),
};

/** Official std of every conv weight (`init_weights` of the official code). */
const OFFICIAL_CONV_STD = 0.001;

/** Seeded initialiser: each call draws with a fresh derived seed. */
export function seededInitializer(seed: number, convInit: ConvInit = 'normal'): Initializer {
  let counter = 0;
  const normal = (shape: number[], std: number): tf.Tensor => {
    counter += 1;
    return tf.randomNormal(shape, 0, std, 'float32', seed * 100003 + counter);
  };
  return {
    normal,
    convWeight(shape, output) {
      const [kh, kw, , out] = shape;
      const std = convInit === 'kaiming' && !output ? Math.sqrt(2 / (kh * kw * out)) : OFFICIAL_CONV_STD;
      return normal(shape, std);
    },
  };
}

/** Arguments of {@link Conv2d}. */
export interface Conv2dArgs {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  /** Symmetric zero padding on H and W, PyTorch style. */
  padding?: number;
  bias?: boolean;
}

/**
 * `nn.Conv2d` with symmetric explicit padding (PyTorch pads both sides; TF's 'same' with stride 2
 * on even sizes pads only bottom/right, so padding is always given explicitly).
 * Input `[N, H, W, in]` → output `[N, H', W', out]`.
 */
export class Conv2d {
  readonly weight: tf.Variable; // [kh, kw, in, out]
  readonly bias: tf.Variable | null; // [out]
  readonly stride: number;
  readonly padding: number;
  readonly kernelSize: number;
  readonly inChannels: number;
  readonly outChannels: number;

  constructor(
    store: ParamStore,
    readonly name: string,
    args: Conv2dArgs,
    init: Initializer,
  ) {
    this.stride = args.stride ?? 1;
    this.padding = args.padding ?? 0;
    this.kernelSize = args.kernelSize;
    this.inChannels = args.inChannels;
    this.outChannels = args.outChannels;
    const k = args.kernelSize;
    // Zero bias, as the official init_weights; only the output layer has one (HRNet's other convs
    // are all followed by BatchNorm).
    this.weight = store.add(
      joinName(name, 'weight'),
      'parameter',
      init.convWeight([k, k, args.inChannels, args.outChannels], args.bias === true),
    );
    this.bias = args.bias ? store.add(joinName(name, 'bias'), 'parameter', tf.zeros([args.outChannels])) : null;
  }

  /** Output shape for an input `[N, H, W, C]`. */
  outputShape(inShape: [number, number, number, number]): [number, number, number, number] {
    const size = (n: number) => Math.floor((n + 2 * this.padding - this.kernelSize) / this.stride) + 1;
    return [inShape[0], size(inShape[1]), size(inShape[2]), this.outChannels];
  }

  /** The padding argument of `tf.conv2d` for this layer. */
  get pad(): 'valid' | tf.backend_util.ExplicitPadding {
    const p = this.padding;
    return p === 0
      ? 'valid'
      : [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ];
  }

  apply(x: tf.Tensor4D, opts?: ForwardOptions): tf.Tensor4D {
    const y = opts?.dryRun ? tf.zeros<tf.Rank.R4>(this.outputShape(x.shape)) : tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad);
    opts?.onConv?.(this, x.shape, y.shape);
    return this.bias ? tf.add(y, this.bias) : y;
  }

  /** Appends this convolution to the network's description (see `./graph`). */
  describe(graph: NetworkGraph, x: GraphValue): GraphValue {
    return graph.conv(this.name, x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      weight: this.weight,
      bias: this.bias,
    });
  }
}

/**
 * `nn.BatchNorm2d(C, eps=1e-5, momentum=0.1)` over NHWC. Train mode normalises with the biased
 * batch variance and updates `running_var` with the unbiased one, as PyTorch does.
 */
export class BatchNorm2d {
  readonly weight: tf.Variable; // [C]
  readonly bias: tf.Variable; // [C]
  readonly runningMean: tf.Variable; // [C]
  readonly runningVar: tf.Variable; // [C]
  private readonly counterName: string;

  constructor(
    private readonly store: ParamStore,
    readonly name: string,
    channels: number,
  ) {
    this.weight = store.add(joinName(name, 'weight'), 'parameter', tf.ones([channels]));
    this.bias = store.add(joinName(name, 'bias'), 'parameter', tf.zeros([channels]));
    this.runningMean = store.add(joinName(name, 'running_mean'), 'buffer', tf.zeros([channels]));
    this.runningVar = store.add(joinName(name, 'running_var'), 'buffer', tf.ones([channels]));
    this.counterName = joinName(name, 'num_batches_tracked');
    store.addCounter(this.counterName);
  }

  /**
   * Eval-mode BatchNorm with the running statistics. Train mode is only reached through
   * {@link convBn}, which fuses the BN with the convolution before it.
   */
  apply(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    if (opts.training) throw new Error(`${this.name}: train-mode BatchNorm runs through convBn`);
    // The op the stock tfjs-layers BatchNormalization runs, so an exported model computes the same.
    return tf.batchNorm(x, this.runningMean, this.runningVar, this.bias, this.weight, BN_EPS) as tf.Tensor4D;
  }

  /** Appends this eval-mode BatchNorm to the network's description (see `./graph`). */
  describe(graph: NetworkGraph, x: GraphValue): GraphValue {
    return graph.batchNorm(this.name, x, {
      eps: BN_EPS,
      gamma: this.weight,
      beta: this.bias,
      mean: this.runningMean,
      variance: this.runningVar,
    });
  }

  /**
   * The train-mode forward of the backend's kernels on `y` (the convolution's output, channels last: [n, h, w, c],
   * or any shape whose last axis is the channel, the others the m rows; out and x̂ keep its shape) with this
   * BatchNorm's `gamma` and `beta` (as a gradient function receives them): out, x̂ and the statistics [3, c] (μ,
   * biased variance, α). The running statistics are updated too: by the kernel where the backend's forward
   * does it ({@link BATCH_NORM_TRAIN_RUNNING}, WebGPU), else by the ops.
   */
  trainKernel(y: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, attrs: BatchNormTrainAttrs): tf.Tensor[] {
    const m = y.size / y.shape[y.shape.length - 1];
    const params = { y, gamma, beta };
    if (tf.getKernel(BATCH_NORM_TRAIN_RUNNING, tf.getBackend()) === undefined) {
      const outs = tf.engine().runKernel(BATCH_NORM_TRAIN, params, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      tf.tidy(() => {
        const [mean, biasedVar] = tf.unstack(outs[2]);
        this.updateRunningStats(mean, biasedVar, m);
      });
      return outs;
    }
    const runningAttrs: BatchNormTrainRunningAttrs = { ...attrs, momentum: BN_MOMENTUM };
    const inputs = { ...params, mean: this.runningMean, variance: this.runningVar };
    const [out, xhat, stats, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN_RUNNING, inputs, runningAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    this.runningMean.assign(mean);
    this.runningVar.assign(variance);
    tf.dispose([mean, variance]);
    this.store.setCounter(this.counterName, this.store.counter(this.counterName) + 1);
    return [out, xhat, stats];
  }

  /** PyTorch's running-statistics update from a batch's mean and biased variance over `count` positions. */
  updateRunningStats(mean: tf.Tensor, biasedVar: tf.Tensor, count: number): void {
    tf.tidy(() => {
      const unbiased = count > 1 ? tf.mul(biasedVar, count / (count - 1)) : biasedVar;
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    });
    this.store.setCounter(this.counterName, this.store.counter(this.counterName) + 1);
  }
}

/** Largest divisor of `m` not above √m (1 for primes). */
function blockSize(m: number): number {
  for (let b = Math.floor(Math.sqrt(m)); b > 1; b--) if (m % b === 0) return b;
  return 1;
}

/** Rows per block of {@link channelSum} over `m` rows (`m`: a single block). */
export function channelSumBlock(m: number): number {
  const b = blockSize(m);
  return b === 1 || m <= 64 ? m : b;
}

/**
 * Column sums of `x [M, C]` → `[C]`, as two matrix products over blocks of about √M rows (a
 * blocked summation: each float32 accumulation runs over ~√M terms instead of M, so rounding
 * error grows with √M rather than M). Matrix products also avoid the transpose a reduction over
 * the leading axis costs on some backends.
 */
export function channelSum(x: tf.Tensor): tf.Tensor1D {
  const [m, c] = x.shape;
  return tf.tidy(() => {
    const b = channelSumBlock(m);
    if (b === m) return tf.reshape(tf.matMul(tf.ones([1, m]), x), [c]);
    const a = m / b;
    const partial = tf.matMul(tf.ones([a, 1, b]), tf.reshape(x, [a, b, c])); // [a, 1, c]
    return tf.reshape(tf.matMul(tf.ones([1, a]), tf.reshape(partial, [a, c])), [c]);
  });
}

/** Arguments of {@link ConvBn}. */
export interface ConvBnArgs extends Conv2dArgs {
  /** Follow the BN with a ReLU. */
  relu: boolean;
}

/**
 * The official `nn.Sequential(conv, BatchNorm2d[, ReLU])` unit used by transitions and fuse
 * layers: the conv is `<name>.0`, the BN `<name>.1`.
 */
export class ConvBn {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly relu: boolean;

  constructor(
    store: ParamStore,
    readonly name: string,
    args: ConvBnArgs,
    init: Initializer,
  ) {
    this.conv = new Conv2d(store, joinName(name, 0), args, init);
    this.bn = new BatchNorm2d(store, joinName(name, 1), args.outChannels);
    this.relu = args.relu;
  }

  apply(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    return convBn(this.conv, this.bn, x, opts, this.relu);
  }

  /** conv `<name>.0`, BN `<name>.1` and, with `relu`, the ReLU `<name>.2` (the `nn.Sequential` slot). */
  describe(graph: NetworkGraph, x: GraphValue): GraphValue {
    const y = this.bn.describe(graph, this.conv.describe(graph, x));
    return this.relu ? graph.relu(joinName(this.name, 2), y) : y;
  }
}

/**
 * `conv → BN (→ ReLU)`. In eval mode (and shape-only passes) it is the three ops. In train mode it is
 * one op with its own gradient ({@link convBnTrain}).
 * @param inputIsData `x` is the network's input (images): its gradient is not computed (zeros)
 */
export function convBn(conv: Conv2d, bn: BatchNorm2d, x: tf.Tensor4D, opts: ForwardOptions, relu: boolean, inputIsData = false): tf.Tensor4D {
  if (!opts.training || opts.dryRun) {
    return tf.tidy(() => {
      const y = bn.apply(conv.apply(x, opts), { ...opts, training: false });
      return relu ? tf.relu(y) : y;
    });
  }
  opts.onConv?.(conv, x.shape, conv.outputShape(x.shape));
  return convBnTrain(conv, bn, x, relu, inputIsData);
}

/** Disposes `dy` and the saved tensors of a custom-gradient op once its gradient is computed. */
function releaseGradInputs(dy: tf.Tensor, saved: tf.Tensor[]): void {
  // The engine reads neither again: the op's output gradient is consumed by this op alone, and saved
  // tensors are kept clones. Freeing them here, instead of when the whole backward pass ends, keeps
  // the memory of a training step to about one layer's activations plus what is still saved.
  dy.dispose();
  for (const t of saved) t.dispose();
}

/**
 * Train-mode `conv → BatchNorm (→ ReLU)` as one op with a hand-written gradient, so that the tape
 * holds one node per unit and each node frees its tensors as soon as its gradient is computed.
 *
 * BatchNorm, per channel over the M = N·H·W positions: forward `x̂ = (x − μ)/σ`, `y = γ·x̂ + β`
 * (evaluated as `x·α + (β − μα)`, α = γ/σ, PyTorch's formula, so roundings follow the reference);
 * backward `dβ = Σ dy`, `dγ = Σ dy·x̂`, `dx = γ/σ · (dy − dβ/M − x̂·dγ/M)`. The sums are blocked
 * (see {@link channelSum}): the input gradient of a BatchNorm sums to zero per channel, so the
 * gradients upstream of it are small differences of large terms, and a single sequential float32
 * sum loses them. The running statistics are updated as PyTorch does (unbiased variance).
 * The ReLU's gradient uses its output (`y > 0` exactly where its input is), which the next
 * convolution saves anyway. Saved: the unit's input, the filter, x̂, α (in the kernels' statistics where the
 * backend has them) and the output.
 * With `inputIsData` (the images entering the network) the input gradient is zeros, not computed.
 */
export function convBnTrain(conv: Conv2d, bn: BatchNorm2d, x: tf.Tensor4D, relu: boolean, inputIsData = false): tf.Tensor4D {
  if (conv.bias) throw new Error(`${conv.name}: a convolution followed by BatchNorm has no bias`);
  const [n, oh, ow, c] = conv.outputShape(x.shape);
  const m = n * oh * ow;
  const strides = conv.stride;
  const pad = conv.pad;
  // The backend's own train-mode BatchNorm kernels where they are registered: WASM's compiled ones
  // (batch-norm-kernel.ts), WebGPU's shaders (batch-norm-webgpu.ts); both sum as channelSum does on WASM.
  const compiled = c % 4 === 0 && tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined;
  const block = channelSumBlock(m);
  const unit = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, filter, gamma, beta] = args as tf.Tensor4D[];
    const save = args[4] as tf.GradSaveFunc;
    // `scale`: the kernels' statistics [3, c] (μ, biased variance, α), or α [c] of the ops.
    const [value, xhat, scale] = tf.tidy(() => {
      const y = tf.conv2d(input, filter, strides, pad);
      // The kernels take the convolution's [n, oh, ow, c] as it is (channels last: m rows of c).
      if (compiled) return bn.trainKernel(y, gamma, beta, { relu, block, eps: BN_EPS });
      const y2 = tf.reshape(y, [m, c]);
      const mu = tf.div(channelSum(y2), m);
      const centered = tf.sub(y2, mu);
      const biasedVar = tf.div(channelSum(tf.square(centered)), m);
      const invStd = tf.rsqrt(tf.add(biasedVar, BN_EPS));
      const a = tf.mul(gamma, invStd);
      const bnOut = tf.reshape(tf.add(tf.mul(y2, a), tf.sub(beta, tf.mul(mu, a))), [n, oh, ow, c]);
      bn.updateRunningStats(mu, biasedVar, m);
      return [relu ? tf.relu(bnOut) : bnOut, tf.mul(centered, invStd), a];
    });
    save(relu ? [input, filter, xhat, scale, value] : [input, filter, xhat, scale]);
    tf.dispose([xhat, scale]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [savedInput, savedFilter, savedXhat, scale, savedOutput] = saved;
      try {
        return tf.tidy(() => {
          let dConv: tf.Tensor;
          let dGamma: tf.Tensor;
          let dBeta: tf.Tensor;
          if (compiled) {
            const inputs: tf.NamedTensorMap = { dy, xhat: savedXhat, stats: scale };
            if (relu) inputs.out = savedOutput;
            const attrs: BatchNormTrainAttrs = { relu, block };
            [dConv, dGamma, dBeta] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
          } else {
            let g = tf.reshape(dy, [m, c]);
            if (relu) g = tf.mul(g, tf.step(tf.reshape(savedOutput, [m, c])));
            dBeta = channelSum(g);
            dGamma = channelSum(tf.mul(g, savedXhat));
            const inner = tf.sub(tf.sub(g, tf.div(dBeta, m)), tf.mul(savedXhat, tf.div(dGamma, m)));
            dConv = tf.reshape(tf.mul(inner, scale), [n, oh, ow, c]);
          }
          const dx = inputIsData
            ? tf.zerosLike(savedInput)
            : (tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dConv, filter: savedFilter }, {
                strides,
                pad,
                dataFormat: 'NHWC',
                inputShape: savedInput.shape,
              } as unknown as tf.NamedAttrMap) as tf.Tensor);
          const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: savedInput, dy: dConv }, {
            strides,
            pad,
            dataFormat: 'NHWC',
            filterShape: savedFilter.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor;
          return [dx, dw, dGamma, dBeta];
        });
      } finally {
        releaseGradInputs(dy, saved);
      }
    };
    return { value, gradFunc };
  });
  return unit(x, conv.weight, bn.weight, bn.bias) as tf.Tensor4D;
}

/**
 * `ReLU(x₀ + x₁ + …)`: the residual and fuse sums. In train mode one op whose gradient (the
 * output's ReLU mask times dy, for every input) uses the saved output. On a backend with the
 * one-dispatch kernels (WebGPU: backend/sum-relu-webgpu.ts) the forward and the mask are one kernel each.
 */
export function sumRelu(xs: tf.Tensor4D[], opts: ForwardOptions): tf.Tensor4D {
  if (xs.length === 0) throw new Error('sumRelu: no inputs');
  // The backend's one-dispatch kernels where it has them (WebGPU), for inputs of one shape.
  const backend = tf.getBackend();
  const fused =
    tf.getKernel(SUM_RELU, backend) !== undefined && xs.length <= SUM_RELU_MAX_INPUTS && xs.every((x) => tf.util.arraysEqual(x.shape, xs[0].shape));
  const plain = (ts: tf.Tensor[]): tf.Tensor4D =>
    fused
      ? (tf.engine().runKernel(SUM_RELU, Object.fromEntries(ts.map((t, i) => [`x${i}`, t])), { n: ts.length } satisfies SumReluAttrs as unknown as tf.NamedAttrMap) as tf.Tensor4D)
      : tf.tidy(() => tf.relu(ts.slice(1).reduce<tf.Tensor>((acc, t) => tf.add(acc, t), ts[0])) as tf.Tensor4D);
  if (!opts.training) return plain(xs);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, xs.length) as tf.Tensor[];
    const save = args[xs.length] as tf.GradSaveFunc;
    const value = plain(inputs);
    save([value]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      try {
        const g = fused ? (tf.engine().runKernel(RELU_GRAD, { dy, out: saved[0] }) as tf.Tensor) : tf.tidy(() => tf.mul(dy, tf.step(saved[0])));
        // One tensor object per input: the engine stores each as a separate gradient.
        return inputs.map((_, i) => (i === 0 ? g : g.clone()));
      } finally {
        releaseGradInputs(dy, saved);
      }
    };
    return { value, gradFunc };
  });
  return op(...xs) as tf.Tensor4D;
}

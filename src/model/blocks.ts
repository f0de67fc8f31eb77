/**
 * The residual units of HRNet: `BasicBlock` (two 3×3 convs, expansion 1) and `Bottleneck`
 * (1×1 → 3×3 → 1×1, expansion 4), each with an optional 1×1 conv + BN `downsample` on the
 * shortcut, as in the official `pose_hrnet.py`. Input/output `[N, H, W, C]`.
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphValue, NetworkGraph } from './graph';
import type { BlockType } from '../config/schema';
import { BatchNorm2d, Conv2d, ForwardOptions, Initializer, ParamStore, convBn, joinName, sumRelu } from './nn';

export type { BlockType } from '../config/schema';

/** Channel expansion of each block type (`BasicBlock.expansion`, `Bottleneck.expansion`). */
export const BLOCK_EXPANSION: Record<BlockType, number> = { BASIC: 1, BOTTLENECK: 4 };

/** A residual unit. */
export interface ResidualBlock {
  apply(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D;
  /** Appends the block's eval-mode operations to the network's description (see `./graph`). */
  describe(graph: NetworkGraph, x: GraphValue): GraphValue;
}

/** Arguments shared by both block types. */
export interface BlockArgs {
  inplanes: number;
  planes: number;
  stride?: number;
  /** Build the shortcut projection (`downsample.0` conv1×1, `downsample.1` BN). */
  downsample?: boolean;
}

/** The shortcut projection `downsample`: conv1×1 (stride) + BN. */
class Downsample {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm2d;

  constructor(store: ParamStore, name: string, inCh: number, outCh: number, stride: number, init: Initializer) {
    this.conv = new Conv2d(store, joinName(name, 0), { inChannels: inCh, outChannels: outCh, kernelSize: 1, stride }, init);
    this.bn = new BatchNorm2d(store, joinName(name, 1), outCh);
  }

  apply(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    return convBn(this.conv, this.bn, x, opts, false);
  }

  describe(graph: NetworkGraph, x: GraphValue): GraphValue {
    return this.bn.describe(graph, this.conv.describe(graph, x));
  }
}

/** The residual sum `<name>.add` of a block and its ReLU `<name>.relu`. */
function describeResidual(graph: NetworkGraph, name: string, out: GraphValue, residual: GraphValue): GraphValue {
  return graph.relu(joinName(name, 'relu'), graph.add(joinName(name, 'add'), [out, residual]));
}

/** `BasicBlock`: conv3×3(stride) → BN → ReLU → conv3×3 → BN, + shortcut, ReLU. */
export class BasicBlock implements ResidualBlock {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly downsample: Downsample | null;

  constructor(
    store: ParamStore,
    readonly name: string,
    args: BlockArgs,
    init: Initializer,
  ) {
    const stride = args.stride ?? 1;
    this.conv1 = new Conv2d(store, joinName(name, 'conv1'), { inChannels: args.inplanes, outChannels: args.planes, kernelSize: 3, stride, padding: 1 }, init);
    this.bn1 = new BatchNorm2d(store, joinName(name, 'bn1'), args.planes);
    this.conv2 = new Conv2d(store, joinName(name, 'conv2'), { inChannels: args.planes, outChannels: args.planes, kernelSize: 3, padding: 1 }, init);
    this.bn2 = new BatchNorm2d(store, joinName(name, 'bn2'), args.planes);
    this.downsample = args.downsample
      ? new Downsample(store, joinName(name, 'downsample'), args.inplanes, args.planes * BLOCK_EXPANSION.BASIC, stride, init)
      : null;
  }

  apply(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    return tf.tidy(() => {
      const out = convBn(this.conv2, this.bn2, convBn(this.conv1, this.bn1, x, opts, true), opts, false);
      const residual = this.downsample ? this.downsample.apply(x, opts) : x;
      return sumRelu([out, residual], opts);
    });
  }

  describe(graph: NetworkGraph, x: GraphValue): GraphValue {
    let out = graph.relu(joinName(this.name, 'bn1', 'relu'), this.bn1.describe(graph, this.conv1.describe(graph, x)));
    out = this.bn2.describe(graph, this.conv2.describe(graph, out));
    const residual = this.downsample ? this.downsample.describe(graph, x) : x;
    return describeResidual(graph, this.name, out, residual);
  }
}

/** `Bottleneck`: conv1×1 → BN → ReLU → conv3×3(stride) → BN → ReLU → conv1×1 (×4) → BN, + shortcut, ReLU. */
export class Bottleneck implements ResidualBlock {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm2d;
  private readonly downsample: Downsample | null;

  constructor(
    store: ParamStore,
    readonly name: string,
    args: BlockArgs,
    init: Initializer,
  ) {
    const stride = args.stride ?? 1;
    const out = args.planes * BLOCK_EXPANSION.BOTTLENECK;
    this.conv1 = new Conv2d(store, joinName(name, 'conv1'), { inChannels: args.inplanes, outChannels: args.planes, kernelSize: 1 }, init);
    this.bn1 = new BatchNorm2d(store, joinName(name, 'bn1'), args.planes);
    this.conv2 = new Conv2d(store, joinName(name, 'conv2'), { inChannels: args.planes, outChannels: args.planes, kernelSize: 3, stride, padding: 1 }, init);
    this.bn2 = new BatchNorm2d(store, joinName(name, 'bn2'), args.planes);
    this.conv3 = new Conv2d(store, joinName(name, 'conv3'), { inChannels: args.planes, outChannels: out, kernelSize: 1 }, init);
    this.bn3 = new BatchNorm2d(store, joinName(name, 'bn3'), out);
    this.downsample = args.downsample
      ? new Downsample(store, joinName(name, 'downsample'), args.inplanes, out, stride, init)
      : null;
  }

  apply(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    return tf.tidy(() => {
      let out = convBn(this.conv1, this.bn1, x, opts, true);
      out = convBn(this.conv2, this.bn2, out, opts, true);
      out = convBn(this.conv3, this.bn3, out, opts, false);
      const residual = this.downsample ? this.downsample.apply(x, opts) : x;
      return sumRelu([out, residual], opts);
    });
  }

  describe(graph: NetworkGraph, x: GraphValue): GraphValue {
    let out = graph.relu(joinName(this.name, 'bn1', 'relu'), this.bn1.describe(graph, this.conv1.describe(graph, x)));
    out = graph.relu(joinName(this.name, 'bn2', 'relu'), this.bn2.describe(graph, this.conv2.describe(graph, out)));
    out = this.bn3.describe(graph, this.conv3.describe(graph, out));
    const residual = this.downsample ? this.downsample.describe(graph, x) : x;
    return describeResidual(graph, this.name, out, residual);
  }
}

/**
 * A sequence of `numBlocks` blocks named `<name>.0 … <name>.{n-1}` — the official `_make_layer` /
 * `_make_one_branch`: the first block takes `inplanes` and gets a downsample when the stride is not 1
 * or the channel count changes; the rest take `planes · expansion`. Returns the blocks and the
 * output channel count.
 */
export function makeBlockSequence(
  store: ParamStore,
  name: string,
  block: BlockType,
  inplanes: number,
  planes: number,
  numBlocks: number,
  init: Initializer,
  stride = 1,
): { blocks: ResidualBlock[]; outChannels: number } {
  const expansion = BLOCK_EXPANSION[block];
  const Ctor = block === 'BASIC' ? BasicBlock : Bottleneck;
  const blocks: ResidualBlock[] = [];
  const downsample = stride !== 1 || inplanes !== planes * expansion;
  blocks.push(new Ctor(store, joinName(name, 0), { inplanes, planes, stride, downsample }, init));
  for (let i = 1; i < numBlocks; i++) {
    blocks.push(new Ctor(store, joinName(name, i), { inplanes: planes * expansion, planes }, init));
  }
  return { blocks, outChannels: planes * expansion };
}

/** Applies a block sequence in order. */
export function applySequence(blocks: ResidualBlock[], x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
  let y = x;
  for (const b of blocks) y = b.apply(y, opts);
  return y;
}

/** Describes a block sequence in order (see `./graph`). */
export function describeSequence(blocks: ResidualBlock[], graph: NetworkGraph, x: GraphValue): GraphValue {
  let y = x;
  for (const b of blocks) y = b.describe(graph, y);
  return y;
}

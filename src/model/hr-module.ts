/**
 * `HighResolutionModule`: parallel branches of residual blocks, one per resolution, followed by a
 * {@link FuseLayer} (the official class of the same name). Branch i is `branches.i.<block>`, the fuse
 * `fuse_layers.*`. A single-branch module has no fuse layer.
 */
import * as tf from '@tensorflow/tfjs';
import { BLOCK_EXPANSION, BlockType, ResidualBlock, applySequence, describeSequence, makeBlockSequence } from './blocks';
import { FuseLayer } from './fuse';
import type { GraphValue, NetworkGraph } from './graph';
import { ForwardOptions, Initializer, ParamStore, joinName } from './nn';

/** Arguments of {@link HighResolutionModule}. */
export interface HighResolutionModuleArgs {
  block: BlockType;
  numBlocks: number[];
  /** Input widths of the branches. */
  inChannels: number[];
  /** Block widths (`planes`) of the branches; outputs are `numChannels · expansion`. */
  numChannels: number[];
  /** Output every branch (true) or only the highest-resolution one (last module of the network). */
  multiScaleOutput: boolean;
}

export class HighResolutionModule {
  private readonly branches: ResidualBlock[][] = [];
  private readonly fuse: FuseLayer | null;
  /** Output widths of the branches (the official `get_num_inchannels()`). */
  readonly outChannels: number[];

  constructor(store: ParamStore, name: string, args: HighResolutionModuleArgs, init: Initializer) {
    const n = args.numChannels.length;
    if (args.numBlocks.length !== n || args.inChannels.length !== n) {
      throw new Error(
        `${name}: NUM_BRANCHES(${n}) <> NUM_BLOCKS(${args.numBlocks.length}) / NUM_INCHANNELS(${args.inChannels.length})`,
      );
    }
    for (let i = 0; i < n; i++) {
      const { blocks } = makeBlockSequence(
        store,
        joinName(name, 'branches', i),
        args.block,
        args.inChannels[i],
        args.numChannels[i],
        args.numBlocks[i],
        init,
      );
      this.branches.push(blocks);
    }
    this.outChannels = args.numChannels.map((c) => c * BLOCK_EXPANSION[args.block]);
    this.fuse =
      n === 1
        ? null
        : new FuseLayer(store, joinName(name, 'fuse_layers'), this.outChannels, args.multiScaleOutput ? n : 1, init);
  }

  apply(xs: tf.Tensor4D[], opts: ForwardOptions): tf.Tensor4D[] {
    const ys = this.branches.map((blocks, i) => applySequence(blocks, xs[i], opts));
    return this.fuse ? this.fuse.apply(ys, opts) : ys;
  }

  /** Appends the module to the network's description (see `./graph`): the branches, then the fuse. */
  describe(graph: NetworkGraph, xs: GraphValue[]): GraphValue[] {
    const ys = this.branches.map((blocks, i) => describeSequence(blocks, graph, xs[i]));
    return this.fuse ? this.fuse.describe(graph, ys) : ys;
  }
}

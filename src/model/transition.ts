/**
 * `TransitionLayer`: maps the branches of one stage to the branches of the next (the official
 * `_make_transition_layer`). An existing branch whose width changes gets conv3×3 + BN + ReLU
 * (`transitionK.i.{0,1}`); one whose width is unchanged passes through (no keys); a new branch is
 * made from the previous stage's LAST (lowest-resolution) branch by a chain of conv3×3/2 + BN + ReLU
 * (`transitionK.i.j.{0,1}`), the last of which outputs the new width.
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphValue, NetworkGraph } from './graph';
import { ConvBn, ForwardOptions, Initializer, ParamStore, joinName } from './nn';

type BranchTransform = { kind: 'identity' } | { kind: 'adapt'; unit: ConvBn } | { kind: 'new'; chain: ConvBn[] };

export class TransitionLayer {
  private readonly branches: BranchTransform[] = [];

  /**
   * @param preChannels widths of the previous stage's branches
   * @param curChannels widths of the next stage's branches (at least as many)
   */
  constructor(store: ParamStore, name: string, preChannels: number[], curChannels: number[], init: Initializer) {
    const numPre = preChannels.length;
    for (let i = 0; i < curChannels.length; i++) {
      if (i < numPre) {
        if (curChannels[i] !== preChannels[i]) {
          const unit = new ConvBn(
            store,
            joinName(name, i),
            { inChannels: preChannels[i], outChannels: curChannels[i], kernelSize: 3, stride: 1, padding: 1, relu: true },
            init,
          );
          this.branches.push({ kind: 'adapt', unit });
        } else {
          this.branches.push({ kind: 'identity' });
        }
      } else {
        const chain: ConvBn[] = [];
        const steps = i + 1 - numPre;
        const inCh = preChannels[numPre - 1];
        for (let j = 0; j < steps; j++) {
          const outCh = j === i - numPre ? curChannels[i] : inCh;
          chain.push(
            new ConvBn(
              store,
              joinName(name, i, j),
              { inChannels: inCh, outChannels: outCh, kernelSize: 3, stride: 2, padding: 1, relu: true },
              init,
            ),
          );
        }
        this.branches.push({ kind: 'new', chain });
      }
    }
  }

  /** `xs` — the previous stage's branch outputs, highest resolution first → the next stage's inputs. */
  apply(xs: tf.Tensor4D[], opts: ForwardOptions): tf.Tensor4D[] {
    const last = xs[xs.length - 1];
    return this.branches.map((b, i) => {
      switch (b.kind) {
        case 'identity':
          return xs[i];
        case 'adapt':
          return b.unit.apply(xs[i], opts);
        case 'new':
          return b.chain.reduce((y, unit) => unit.apply(y, opts), last);
      }
    });
  }

  /** Appends the transition to the network's description (see `./graph`); same routing as {@link apply}. */
  describe(graph: NetworkGraph, xs: GraphValue[]): GraphValue[] {
    const last = xs[xs.length - 1];
    return this.branches.map((b, i) => {
      switch (b.kind) {
        case 'identity':
          return xs[i];
        case 'adapt':
          return b.unit.describe(graph, xs[i]);
        case 'new':
          return b.chain.reduce((y, unit) => unit.describe(graph, y), last);
      }
    });
  }
}

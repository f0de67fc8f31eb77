/**
 * `FuseLayer`: the multi-resolution exchange at the end of a `HighResolutionModule` (the official
 * `_make_fuse_layers`, FUSE_METHOD SUM). For output branch i, input branch j contributes
 * - j > i: conv1×1 (C_j → C_i) + BN, then nearest upsampling by 2^(j−i)
 *   (`fuse_layers.i.j.{0,1}`);
 * - j = i: itself;
 * - j < i: i−j conv3×3/2 + BN, ReLU after all but the last; intermediate convs keep C_j channels,
 *   the last outputs C_i (`fuse_layers.i.j.k.{0,1}`).
 * The contributions are summed in order j = 0 … n−1 and followed by a ReLU.
 */
import * as tf from '@tensorflow/tfjs';
import { UPSAMPLE_MAX_FACTOR, UPSAMPLE_NEAREST_GRAD, type UpsampleNearestGradAttrs } from '../backend/upsample-grad-webgpu';
import type { GraphValue, NetworkGraph } from './graph';
import { ConvBn, ForwardOptions, Initializer, ParamStore, joinName, sumRelu } from './nn';

type Path = { kind: 'identity' } | { kind: 'up'; unit: ConvBn; factor: number; name: string } | { kind: 'down'; chain: ConvBn[] };

/**
 * Nearest-neighbour upsampling by an integer factor, `[N, H, W, C]` → `[N, H·f, W·f, C]`
 * (`nn.Upsample(scale_factor=f, mode='nearest')`): each pixel becomes an f×f block; the gradient
 * sums each f×f block of the output gradient (in one kernel call where the backend has
 * {@link UPSAMPLE_NEAREST_GRAD}: WebGPU). `factor` is a power of 2, as in HRNet.
 */
export function upsampleNearest(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  if (!(Number.isInteger(Math.log2(factor)) && factor >= 1)) throw new Error(`upsampleNearest: factor must be a power of 2, got ${factor}`);
  const [n, h, w, c] = x.shape;
  const up = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    // Nearest-neighbour resize reads source pixel floor(y·h/(h·factor)): exact for the power-of-2
    // factors of HRNet (1/factor is exact in binary), and far faster on WASM than a broadcast (Tile).
    const value = tf.image.resizeNearestNeighbor(input as tf.Tensor4D, [h * factor, w * factor], false, false);
    const gradFunc = (dy: tf.Tensor) => {
      try {
        if (tf.getKernel(UPSAMPLE_NEAREST_GRAD, tf.getBackend()) !== undefined && factor <= UPSAMPLE_MAX_FACTOR) {
          return tf.engine().runKernel(UPSAMPLE_NEAREST_GRAD, { dy }, { factor } satisfies UpsampleNearestGradAttrs as unknown as tf.NamedAttrMap) as tf.Tensor;
        }
        return tf.tidy(() => tf.sum(tf.reshape(dy, [n, h, factor, w, factor, c]), [2, 4]));
      } finally {
        dy.dispose(); // consumed by this op alone; freed now rather than at the end of the backward pass
      }
    };
    return { value, gradFunc };
  });
  return up(x) as tf.Tensor4D;
}

export class FuseLayer {
  /** paths[i][j]: how input branch j reaches output branch i. */
  private readonly paths: Path[][] = [];

  /**
   * @param channels widths of the module's branches
   * @param numOutputs how many output branches to build (all, or only the highest resolution
   *   for the last module of the last stage)
   */
  constructor(
    store: ParamStore,
    readonly name: string,
    channels: number[],
    numOutputs: number,
    init: Initializer,
  ) {
    const n = channels.length;
    for (let i = 0; i < numOutputs; i++) {
      const row: Path[] = [];
      for (let j = 0; j < n; j++) {
        if (j > i) {
          const unit = new ConvBn(
            store,
            joinName(name, i, j),
            { inChannels: channels[j], outChannels: channels[i], kernelSize: 1, relu: false },
            init,
          );
          // The official nn.Upsample is slot 2 of the Sequential (after conv and BN).
          row.push({ kind: 'up', unit, factor: 2 ** (j - i), name: joinName(name, i, j, 2) });
        } else if (j === i) {
          row.push({ kind: 'identity' });
        } else {
          const chain: ConvBn[] = [];
          for (let k = 0; k < i - j; k++) {
            const last = k === i - j - 1;
            chain.push(
              new ConvBn(
                store,
                joinName(name, i, j, k),
                {
                  inChannels: channels[j],
                  outChannels: last ? channels[i] : channels[j],
                  kernelSize: 3,
                  stride: 2,
                  padding: 1,
                  relu: !last,
                },
                init,
              ),
            );
          }
          row.push({ kind: 'down', chain });
        }
      }
      this.paths.push(row);
    }
  }

  /** `xs` — branch outputs, highest resolution first → fused outputs (as many as built). */
  apply(xs: tf.Tensor4D[], opts: ForwardOptions): tf.Tensor4D[] {
    return this.paths.map((row) => tf.tidy(() => sumRelu(row.map((path, j) => this.route(path, xs[j], opts)), opts)));
  }

  private route(path: Path, x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    switch (path.kind) {
      case 'identity':
        return x;
      case 'up':
        return upsampleNearest(path.unit.apply(x, opts), path.factor);
      case 'down':
        return path.chain.reduce((y, unit) => unit.apply(y, opts), x);
    }
  }

  /**
   * Appends the fuse to the network's description (see `./graph`): per output i, the routed terms,
   * their sum `<name>.i.add` and its ReLU `<name>.i.relu`.
   * @param xs the branch outputs, highest resolution first
   */
  describe(graph: NetworkGraph, xs: GraphValue[]): GraphValue[] {
    return this.paths.map((row, i) => {
      const terms = row.map((path, j) => {
        switch (path.kind) {
          case 'identity':
            return xs[j];
          case 'up':
            return graph.upsample(path.name, path.unit.describe(graph, xs[j]), path.factor);
          case 'down':
            return path.chain.reduce((y, unit) => unit.describe(graph, y), xs[j]);
        }
      });
      return graph.relu(joinName(this.name, i, 'relu'), graph.add(joinName(this.name, i, 'add'), terms));
    });
  }
}

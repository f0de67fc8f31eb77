/**
 * The flip test of the heatmap codecs (official `flip_back` + `SHIFT_HEATMAP` in `core/function.py`): the heatmaps
 * of the mirrored crop are mirrored back, their left/right channels swapped, optionally shifted one column right, and
 * averaged with the heatmaps of the plain crop. On TF.js tensors, so that it runs where the model runs (a worker
 * thread, a web page).
 */
import * as tf from '@tensorflow/tfjs';

/** How flipped heatmaps are brought back: the left/right joint pairs and the one-column shift. */
export interface FlipTest {
  /** `[P, 2]` 0-based left/right joint pairs, swapped by a horizontal flip. */
  pairs: [number, number][];
  /** Shift the flipped-back heatmaps one column right (the official `SHIFT_HEATMAP`; never with UDP). */
  shift: boolean;
}

/**
 * The channel order that swaps every flip pair.
 * @param numJoints K
 * @returns `[K]` source channel of each output channel
 * @throws when a pair names a joint outside `[0, K)`
 */
export function flipPermutation(numJoints: number, pairs: ReadonlyArray<readonly [number, number]>): number[] {
  const perm = Array.from({ length: numJoints }, (_, i) => i);
  for (const [a, b] of pairs) {
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= numJoints || b >= numJoints) {
      throw new Error(`flip test: flip pair [${a}, ${b}] is out of range for ${numJoints} joints`);
    }
    perm[a] = b;
    perm[b] = a;
  }
  return perm;
}

/**
 * Heatmaps of a mirrored input brought back to the original orientation: width reversed, pair channels swapped
 * (official `flip_back`), then with `flip.shift` every column moved one right (column 0 kept), as the official test.
 * @param mirrored `[N, H, W, K]` heatmaps of the mirrored crops
 * @returns `[N, H, W, K]`, a new tensor
 */
export function flipBackHeatmaps(mirrored: tf.Tensor4D, flip: FlipTest): tf.Tensor4D {
  return tf.tidy(() => {
    const perm = flipPermutation(mirrored.shape[3], flip.pairs);
    let out = tf.gather(tf.reverse(mirrored, 2), perm, 3) as tf.Tensor4D;
    if (flip.shift) {
      const w = out.shape[2];
      out = tf.concat([tf.slice(out, [0, 0, 0, 0], [-1, -1, 1, -1]), tf.slice(out, [0, 0, 0, 0], [-1, -1, w - 1, -1])], 2);
    }
    return out;
  });
}

/**
 * The flip-test heatmaps: `(plain + flipBack(mirrored)) / 2`.
 * @param plain `[N, H, W, K]` heatmaps of the crops
 * @param mirrored `[N, H, W, K]` heatmaps of the mirrored crops
 * @returns `[N, H, W, K]`, a new tensor
 */
export function flipTestAverage(plain: tf.Tensor4D, mirrored: tf.Tensor4D, flip: FlipTest): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.add(plain, flipBackHeatmaps(mirrored, flip)), 0.5));
}

/**
 * The flip test's heatmaps of crops `x` `[N, H, W, 3]` from `predict` (eval-mode heatmaps): the crops and their mirror
 * images go through one forward pass of 2N, whose halves are averaged by {@link flipTestAverage}: half the kernel
 * calls of two passes, which is what the host spends on a pass before a GPU computes it. A network in eval mode
 * computes each sample on its own, so the heatmaps are those of two passes where the backend runs the same programs
 * for N and 2N samples: bit for bit on WASM, and on WebGPU at the main job's input size (tested). TF.js's WebGPU
 * backend picks a convolution program by the size of the problem, and on tiny ones (4–32 channels at 64×32) the
 * doubled batch moved values by up to 1.2e-7.
 * @returns `[N, h, w, K]`, a new tensor
 */
export function flipTestHeatmaps(predict: (x: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, flip: FlipTest): tf.Tensor4D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const both = predict(tf.concat([x, tf.reverse(x, 2)], 0));
    return flipTestAverage(tf.slice(both, [0, 0, 0, 0], [n, -1, -1, -1]), tf.slice(both, [n, 0, 0, 0], [n, -1, -1, -1]), flip);
  });
}

/**
 * Gradients tfjs-core lacks for ops a training step of HRNet uses, registered for every backend.
 *
 * - `Tile`: tfjs-core 4.22 implements it only up to rank 4, while nearest upsampling by 2^k is a
 *   rank-6 tile (`[N, H, 1, W, 1, C]` → `[N, H, f, W, f, C]`). The gradient here handles any rank.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Gradient of `tile(x, reps)`: dy [r0·d0, r1·d1, …] viewed as [r0, d0, r1, d1, …] and summed over
 * the repetition axes gives dx [d0, d1, …].
 */
function tileGrad(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x] = saved;
  const reps = attrs.reps as number[];
  const grad = Array.isArray(dy) ? dy[0] : dy;
  return {
    x: () => {
      const split: number[] = [];
      const repAxes: number[] = [];
      x.shape.forEach((d, i) => {
        repAxes.push(split.length);
        split.push(reps[i], d);
      });
      return tf.sum(tf.reshape(grad, split), repAxes);
    },
  };
}

let registered = false;

/** Registers the gradients above (idempotent). */
export function registerTrainingGradients(): void {
  if (registered) return;
  tf.registerGradient({ kernelName: tf.Tile, inputsToSave: ['x'], gradFunc: tileGrad });
  registered = true;
}

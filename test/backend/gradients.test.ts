/**
 * The rank-general Tile gradient against the gradient of the same upsampling written as a
 * broadcasting multiply (whose gradient tfjs-core computes independently).
 */
import * as tf from '@tensorflow/tfjs';
import { registerTrainingGradients } from '../../src/backend/gradients';
import { useTestBackend } from '../helpers/backend';
import { relL2 } from '../helpers/fixtures';

describe('registerTrainingGradients', () => {
  beforeAll(async () => {
    await useTestBackend();
    registerTrainingGradients();
  });

  it('differentiates a rank-6 tile (nearest upsampling by 4) as a broadcast does', () => {
    const [n, h, w, c, f] = [2, 3, 4, 5, 4];
    const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 1);
    const r = tf.randomNormal([n, h * f, w * f, c], 0, 1, 'float32', 2);
    const viaTile = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(tf.reshape(tf.tile(tf.reshape(a, [n, h, 1, w, 1, c]), [1, 1, f, 1, f, 1]), r.shape), r)),
    )(x);
    const viaBroadcast = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(tf.reshape(tf.mul(tf.reshape(a, [n, h, 1, w, 1, c]), tf.ones([1, 1, f, 1, f, 1])), r.shape), r)),
    )(x);
    expect(viaTile.shape).toEqual(x.shape);
    expect(relL2(viaTile.dataSync(), viaBroadcast.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, r, viaTile, viaBroadcast]);
  });

  it('differentiates a rank-2 tile with several repetitions per axis', () => {
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const dy = tf.range(0, 4 * 9).reshape([4, 9]);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.tile(a, [2, 3]), dy)))(x);
    // dx[i][j] = Σ over repetitions p < 2, q < 3 of dy[2p + i][3q + j]
    const dyv = dy.arraySync() as number[][];
    const expected = [0, 1].map((i) => [0, 1, 2].map((j) => [0, 1].reduce((s, p) => s + [0, 1, 2].reduce((t, q) => t + dyv[2 * p + i][3 * q + j], 0), 0)));
    expect(dx.arraySync()).toEqual(expected);
    tf.dispose([x, dy, dx]);
  });
});

/**
 * The compiled train-mode BatchNorm kernels of the WASM backend against the TF.js ops they stand
 * for (the formulas of convBnTrain, with channelSum's blocked sums): equal to the bit.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../../src/backend/batch-norm-kernel';
import { initBackend } from '../../src/backend/select';
import { BN_EPS, channelSum, channelSumBlock } from '../../src/model/nn';

/** The forward and gradient by TF.js ops, as nn.ts computes them without the kernels. */
function byOps(y: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, dy: tf.Tensor2D, relu: boolean): tf.Tensor[] {
  const m = y.shape[0];
  const mu = tf.div(channelSum(y), m);
  const centered = tf.sub(y, mu);
  const biasedVar = tf.div(channelSum(tf.square(centered)), m);
  const invStd = tf.rsqrt(tf.add(biasedVar, BN_EPS));
  const a = tf.mul(gamma, invStd);
  const bn = tf.add(tf.mul(y, a), tf.sub(beta, tf.mul(mu, a)));
  const out = relu ? tf.relu(bn) : bn;
  const xhat = tf.mul(centered, invStd);
  const g = relu ? tf.mul(dy, tf.step(out)) : dy;
  const dBeta = channelSum(g);
  const dGamma = channelSum(tf.mul(g, xhat));
  const dConv = tf.mul(tf.sub(tf.sub(g, tf.div(dBeta, m)), tf.mul(xhat, tf.div(dGamma, m))), a);
  return [out, xhat, tf.stack([mu, biasedVar, a]), dConv, dGamma, dBeta];
}

describe('compiled train-mode BatchNorm kernels (WASM)', () => {
  beforeAll(async () => {
    tf.env().set('PROD', true);
    await initBackend({ preferred: 'wasm', quiet: true });
  });

  // One block (m ≤ 64, or m prime), blocks of 24 rows, blocks of 64 (more than the 48-row runs).
  it('blocks the sums as channelSum does', () => {
    expect([50, 61, 768, 2 * 64 * 48].map(channelSumBlock)).toEqual([50, 61, 24, 64]);
  });

  it.each([
    [50, 8],
    [61, 4],
    [768, 32],
    [2 * 64 * 48, 8],
  ])('give the TF.js ops their values to the bit: m = %i, c = %i', (m, c) => {
    for (const relu of [false, true]) {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        // A mean far from zero, so that the sums cancel as they do below a BatchNorm.
        const y = tf.randomNormal([m, c], 3, 2, 'float32', 1) as tf.Tensor2D;
        const gamma = tf.randomNormal([c], 1, 0.2, 'float32', 2) as tf.Tensor1D;
        const beta = tf.randomNormal([c], 0, 0.2, 'float32', 3) as tf.Tensor1D;
        const dy = tf.randomNormal([m, c], 0, 1, 'float32', 4) as tf.Tensor2D;
        const block = channelSumBlock(m);
        const [out, xhat, stats] = tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma, beta }, { relu, block, eps: BN_EPS }) as tf.Tensor[];
        const inputs: tf.NamedTensorMap = { dy, xhat, stats };
        if (relu) inputs.out = out;
        const [dConv, dGamma, dBeta] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, { relu, block }) as tf.Tensor[];
        const want = byOps(y, gamma, beta, dy, relu);
        [out, xhat, stats, dConv, dGamma, dBeta].forEach((got, i) => {
          expect(got.shape).toEqual(want[i].shape);
          expect(Array.from(got.dataSync())).toEqual(Array.from(want[i].dataSync()));
        });
      });
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('compute eval-mode BatchNorm (tf.batchNorm) with the stock WASM formula and float32 rounding', () => {
    const [m, c] = [300, 12];
    const r = (shape: number[], mean: number, std: number, seed: number) => tf.randomNormal(shape, mean, std, 'float32', seed);
    tf.tidy(() => {
      const x = r([3, 10, 10, c], 1, 2, 5);
      const mean = r([c], 0.5, 1, 6);
      const variance = tf.abs(r([c], 2, 1, 7));
      const offset = r([c], 0, 1, 8);
      const scale = r([c], 1, 0.5, 9);
      const got = tf.batchNorm(x, mean, variance, offset, scale, BN_EPS).dataSync();
      // out = offset + (x − mean) · scale / √(var + ε), every step rounded to float32.
      const f = Math.fround;
      const [xs, ms, vs, os, ss] = [x, mean, variance, offset, scale].map((t) => t.dataSync());
      const want = new Float32Array(m * c);
      for (let i = 0; i < m * c; i++) {
        const k = i % c;
        const norm = f(Math.sqrt(f(vs[k] + f(BN_EPS))));
        want[i] = f(os[k] + f(f(f(xs[i] - ms[k]) * ss[k]) / norm));
      }
      expect(Array.from(got)).toEqual(Array.from(want));
    });
  });

  it('take a convolution\'s [n, h, w, c] as m rows of c channels: the values of [m, c], out, x̂ and dconv of its shape', () => {
    const shape = [2, 16, 12, 8];
    const rows = [2 * 16 * 12, 8];
    for (const relu of [false, true]) {
      tf.tidy(() => {
        const y = tf.randomNormal(shape, 3, 2, 'float32', 1);
        const gamma = tf.randomNormal([8], 1, 0.2, 'float32', 2);
        const beta = tf.randomNormal([8], 0, 0.2, 'float32', 3);
        const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
        const block = channelSumBlock(rows[0]);
        const run = (yy: tf.Tensor, dyy: tf.Tensor): tf.Tensor[] => {
          const [out, xhat, stats] = tf.engine().runKernel(BATCH_NORM_TRAIN, { y: yy, gamma, beta }, { relu, block, eps: BN_EPS }) as tf.Tensor[];
          const inputs: tf.NamedTensorMap = { dy: dyy, xhat, stats };
          if (relu) inputs.out = out;
          return [out, xhat, stats, ...(tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, { relu, block }) as tf.Tensor[])];
        };
        const got = run(y, dy);
        const want = run(tf.reshape(y, rows), tf.reshape(dy, rows));
        expect(got.map((t) => t.shape)).toEqual([shape, shape, [3, 8], shape, [8], [8]]);
        got.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(want[i].dataSync())));
      });
    }
  });

  it('are registered for WASM only', () => {
    expect(tf.getKernel(BATCH_NORM_TRAIN, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAIN_GRAD, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAIN, 'cpu')).toBeUndefined();
  });
});

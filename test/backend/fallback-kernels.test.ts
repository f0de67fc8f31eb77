/**
 * Registration of the WASM training kernels, kernel coverage of an HRNet training step, and the
 * gradients of a small HRNet-like stack on WASM against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import {
  HRNET_TRAINING_KERNELS,
  registerWasmTrainingKernels,
  wasmTrainingKernelsRegistered,
} from '../../src/backend/fallback-kernels';
import { registerTrainingGradients } from '../../src/backend/gradients';
import { relL2 } from '../helpers/fixtures';

function randomValues(shape: number[], seed: number): { values: Float32Array; shape: number[] } {
  return { values: tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync() as Float32Array), shape };
}

/** Nearest upsampling by `factor` as the model does it: [N, H, W, C] → [N, H·f, W·f, C]. */
function upsampleNearest(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.tile(tf.reshape(x, [n, h, 1, w, 1, c]), [1, 1, factor, 1, factor, 1]), [n, h * factor, w * factor, c]);
}

/** BatchNorm with batch statistics (training mode): moments over [0, 1, 2], eps 1e-5. */
function batchNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
}

const P1: tf.backend_util.ExplicitPadding = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

/** A two-branch fuse: stride-2 conv + BN + ReLU, 1×1 conv + bias, upsample, sum, ReLU, MSE-like loss. */
function stackLoss(...ts: tf.Tensor[]): tf.Scalar {
  const [x, w1, g1, b1, w2, w3, bias3, target] = ts;
  const hi = tf.relu(batchNorm(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, P1), g1, b1)); // [2, 8, 6, 8]
  const lo = tf.relu(tf.conv2d(hi, w2 as tf.Tensor4D, 2, P1)); // [2, 4, 3, 16]
  const up = upsampleNearest(tf.add(tf.conv2d(lo, w3 as tf.Tensor4D, 1, 'valid'), bias3) as tf.Tensor4D, 2); // [2, 8, 6, 8]
  const fused = tf.relu(tf.addN([hi, up, tf.maximum(hi, up)]));
  const padded = tf.pad(fused, [
    [0, 0],
    [1, 1],
    [0, 0],
    [0, 0],
  ]);
  const cropped = tf.slice(padded, [0, 1, 0, 0], [2, 8, 6, 8]);
  const both = tf.concat([cropped, tf.transpose(tf.transpose(cropped, [0, 2, 1, 3]), [0, 2, 1, 3])], 3);
  const diff = tf.squaredDifference(both, tf.concat([target, target], 3));
  return tf.add(tf.mean(diff), tf.mul(tf.sum(tf.square(tf.sqrt(tf.add(tf.square(w1), 1)))), 1e-3)) as tf.Scalar;
}

function stackGrads(inputs: Array<{ values: Float32Array; shape: number[] }>): { loss: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const ts = inputs.map((i) => tf.tensor(i.values, i.shape));
    const { value, grads } = tf.valueAndGrads(stackLoss)(ts);
    return { loss: value.dataSync()[0], grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

describe('WASM training kernels', () => {
  beforeAll(async () => {
    registerTrainingGradients();
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('registers the convolution gradients idempotently', () => {
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    const before = tf.getKernelsForBackend('wasm').length;
    registerWasmTrainingKernels();
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    expect(tf.getKernelsForBackend('wasm').length).toBe(before);
  });

  it('leaves no kernel of an HRNet training step missing on WASM', () => {
    expect(HRNET_TRAINING_KERNELS).toContain('Conv2DBackpropFilter');
    expect(HRNET_TRAINING_KERNELS.filter((name) => tf.getKernel(name, 'wasm') === undefined)).toEqual([]);
  });

  it('gives the gradients of an HRNet-like stack as the cpu backend does', async () => {
    const target = randomValues([2, 8, 6, 8], 18);
    const inputs = [
      randomValues([2, 8, 6, 3], 11), // x
      randomValues([3, 3, 3, 8], 12), // w1
      randomValues([8], 13), // gamma
      randomValues([8], 14), // beta
      randomValues([3, 3, 8, 16], 15), // w2 (stride 2)
      randomValues([1, 1, 16, 8], 16), // w3
      randomValues([8], 17), // bias3
      target,
    ];
    await tf.setBackend('cpu');
    const ref = stackGrads(inputs);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const got = stackGrads(inputs);
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    expect(got.grads).toHaveLength(ref.grads.length);
    got.grads.forEach((g, i) => {
      expect(ref.grads[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeGreaterThan(0); // a real gradient
      expect(relL2(g, ref.grads[i])).toBeLessThan(1e-5);
    });
  });

  it('falls back to the stock input gradient for unequal strides', async () => {
    const x = randomValues([1, 7, 8, 3], 21);
    const w = randomValues([3, 3, 3, 4], 22);
    const grads = (): Float32Array[] =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [2, 1], P1)));
        return tf.grads(f)([tf.tensor(x.values, x.shape), tf.tensor(w.values, w.shape)]).map((g) => g.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const ref = grads();
    await tf.setBackend('wasm');
    const got = grads();
    expect(relL2(got[0], ref[0])).toBeLessThan(1e-6);
    expect(relL2(got[1], ref[1])).toBeLessThan(1e-6);
  });
});

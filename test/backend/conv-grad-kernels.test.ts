/**
 * The WASM convolution and its gradients (the compiled kernels, and the gradients built from
 * forward convolutions) against the cpu backend's reference kernels, over the geometries HRNet
 * uses and the awkward ones around them.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterFast } from '../../src/backend/conv-grad-kernels';
import { registerWasmTrainingKernels, wasmTrainingKernelsRegistered } from '../../src/backend/fallback-kernels';
import { relL2 } from '../helpers/fixtures';

/** One convolution geometry: input [n, h, w, ci], filter [k, k, ci, co]. */
interface Geometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
}

const sym = (p: number): tf.backend_util.ExplicitPadding => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

const GEOMETRIES: Geometry[] = [
  // HRNet: 3×3 pad 1 stride 1 and 2 (even and odd sizes), 1×1 pad 0, the RGB stem.
  { n: 2, h: 8, w: 6, ci: 16, co: 8, k: 3, stride: 1, pad: sym(1) },
  { n: 2, h: 8, w: 6, ci: 8, co: 16, k: 3, stride: 2, pad: sym(1) },
  { n: 3, h: 7, w: 9, ci: 4, co: 5, k: 3, stride: 2, pad: sym(1) },
  { n: 1, h: 16, w: 12, ci: 3, co: 64, k: 3, stride: 2, pad: sym(1) },
  { n: 4, h: 6, w: 5, ci: 64, co: 32, k: 1, stride: 1, pad: sym(0) },
  { n: 2, h: 5, w: 4, ci: 32, co: 64, k: 3, stride: 1, pad: sym(1) },
  // 'same' (stride 2 on even sizes pads only bottom/right) and 'valid' (trailing row unread).
  { n: 2, h: 8, w: 8, ci: 6, co: 7, k: 3, stride: 2, pad: 'same' },
  { n: 2, h: 9, w: 7, ci: 6, co: 7, k: 3, stride: 2, pad: 'same' },
  { n: 2, h: 8, w: 10, ci: 5, co: 3, k: 3, stride: 2, pad: 'valid' },
  { n: 1, h: 7, w: 6, ci: 5, co: 3, k: 3, stride: 1, pad: 'valid' },
  { n: 2, h: 6, w: 7, ci: 4, co: 4, k: 3, stride: 1, pad: 'same' },
  // Numeric and asymmetric padding, 1×1 stride 2 (phases without taps), a 5×5 stride 2 and stride 3.
  { n: 2, h: 6, w: 6, ci: 3, co: 4, k: 3, stride: 1, pad: 1 },
  { n: 2, h: 7, w: 6, ci: 3, co: 4, k: 3, stride: 2, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
  { n: 2, h: 8, w: 7, ci: 8, co: 6, k: 1, stride: 2, pad: sym(0) },
  { n: 1, h: 11, w: 10, ci: 4, co: 5, k: 5, stride: 2, pad: sym(2) },
  { n: 2, h: 10, w: 11, ci: 3, co: 4, k: 3, stride: 3, pad: sym(1) },
  // The same awkward cases with Cin % 4 == 0 and Cout % 8 == 0, which the compiled kernels take.
  { n: 2, h: 8, w: 8, ci: 8, co: 8, k: 3, stride: 2, pad: 'same' },
  { n: 2, h: 9, w: 7, ci: 4, co: 16, k: 3, stride: 2, pad: 'same' },
  { n: 2, h: 8, w: 10, ci: 4, co: 8, k: 3, stride: 2, pad: 'valid' },
  { n: 2, h: 7, w: 6, ci: 12, co: 8, k: 3, stride: 2, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
  { n: 1, h: 11, w: 10, ci: 4, co: 8, k: 5, stride: 2, pad: sym(2) },
  { n: 2, h: 10, w: 11, ci: 8, co: 8, k: 3, stride: 3, pad: sym(1) },
  { n: 1, h: 3, w: 2, ci: 4, co: 8, k: 5, stride: 1, pad: sym(2) },
  { n: 2, h: 7, w: 6, ci: 8, co: 8, k: 3, stride: 1, pad: 'valid' },
  { n: 2, h: 5, w: 6, ci: 8, co: 16, k: 2, stride: 1, pad: 'same' },
  { n: 1, h: 4, w: 3, ci: 16, co: 8, k: 5, stride: 1, pad: sym(2) },
];

/** conv2d(x, w) and the gradients of Σ conv2d(x, w) ⊙ r with respect to x and w, on the active backend. */
function convGrads(g: Geometry, x: Float32Array, w: Float32Array, r: Float32Array): { y: Float32Array; dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [g.n, g.h, g.w, g.ci]);
    const wt = tf.tensor4d(w, [g.k, g.k, g.ci, g.co]);
    const y = tf.conv2d(xt, wt, g.stride, g.pad).dataSync() as Float32Array;
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, g.stride, g.pad);
      return tf.sum(tf.mul(y, tf.tensor(r, y.shape)));
    };
    const [dx, dw] = tf.grads(f)([xt, wt]);
    return { y, dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function outShape(g: Geometry): number[] {
  return tf.tidy(() => tf.conv2d(tf.zeros([g.n, g.h, g.w, g.ci]) as tf.Tensor4D, tf.zeros([g.k, g.k, g.ci, g.co]) as tf.Tensor4D, g.stride, g.pad).shape);
}

function randomValues(size: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomNormal([size], 0, 1, 'float32', seed).dataSync() as Float32Array);
}

describe('WASM convolution gradient kernels', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('cpu');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(GEOMETRIES.map((g) => [JSON.stringify(g), g] as const))('and the forward convolution match the cpu backend: %s', async (_label, g) => {
    await tf.setBackend('cpu');
    const ySize = outShape(g).reduce((a, b) => a * b, 1);
    const x = randomValues(g.n * g.h * g.w * g.ci, 1);
    const w = randomValues(g.k * g.k * g.ci * g.co, 2);
    const r = randomValues(ySize, 3);
    const ref = convGrads(g, x, w, r);
    await tf.setBackend('wasm');
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    const before = tf.memory().numTensors;
    const got = convGrads(g, x, w, r);
    expect(tf.memory().numTensors).toBe(before);
    expect(relL2(got.y, ref.y)).toBeLessThan(1e-6);
    expect(relL2(got.dx, ref.dx)).toBeLessThan(1e-6);
    expect(relL2(got.dw, ref.dw)).toBeLessThan(1e-6);
    await tf.setBackend('cpu');
  });

  it.each([
    { n: 8, h: 6, w: 5, ci: 8, co: 8, k: 3, stride: 1, pad: sym(1) },
    { n: 8, h: 8, w: 6, ci: 4, co: 16, k: 3, stride: 2, pad: sym(1) },
    { n: 8, h: 5, w: 4, ci: 12, co: 8, k: 1, stride: 1, pad: sym(0) },
  ] as Geometry[])('computes the same filter gradient by convolution, by matrix product and directly: %j', async (g) => {
    await tf.setBackend('cpu');
    const ySize = outShape(g).reduce((a, b) => a * b, 1);
    const x = randomValues(g.n * g.h * g.w * g.ci, 4);
    const w = randomValues(g.k * g.k * g.ci * g.co, 5);
    const r = randomValues(ySize, 6);
    const ref = convGrads(g, x, w, r).dw;
    await tf.setBackend('wasm');
    const yShape = outShape(g);
    for (const method of ['conv', 'matmul', 'direct'] as const) {
      const got = tf.tidy(() => {
        const xt = tf.tensor4d(x, [g.n, g.h, g.w, g.ci]);
        const dy = tf.tensor(r, yShape);
        const attrs = { strides: g.stride, pad: g.pad, dataFormat: 'NHWC' as const, filterShape: [g.k, g.k, g.ci, g.co] as [number, number, number, number] };
        const info = conv2DBackpropFilterFast({ inputs: { x: xt, dy }, backend: tf.backend(), attrs }, 'wasm', method);
        return tf.engine().makeTensorFromTensorInfo(info).dataSync() as Float32Array;
      });
      expect(relL2(got, ref)).toBeLessThan(1e-6);
    }
    await tf.setBackend('cpu');
  });
});

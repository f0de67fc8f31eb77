/**
 * The WebGPU backend's kernel for the gradient of nearest-neighbour upsampling (a software Vulkan driver where there
 * is no GPU), as the fuse layers' `upsampleNearest` runs it: the sums of the f×f blocks, added in row-major order in
 * float32, to the bit; one dispatch where the TF.js ops take a transpose and a reduction; nothing left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { UPSAMPLE_NEAREST_GRAD } from '../../src/backend/upsample-grad-webgpu';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { upsampleNearest } from '../../src/model/fuse';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

/** Float32 bit patterns, so that the comparisons are exact (and −0 differs from 0). */
function bits(v: Float32Array): number[] {
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

/** The block sums of `dy` [n, h·f, w·f, c], each added in float32 from 0 in the block's row-major order. */
function blockSums(dy: Float32Array, [n, hf, wf, c]: number[], f: number): Float32Array {
  const [h, w] = [hf / f, wf / f];
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          let sum = 0;
          for (let a = 0; a < f; a++) {
            for (let b = 0; b < f; b++) sum = Math.fround(sum + dy[(((i * hf + y * f + a) * wf + x * f + b) * c + ch)]);
          }
          out[((i * h + y) * w + x) * c + ch] = sum;
        }
      }
    }
  }
  return out;
}

it('is registered for webgpu', () => {
  expect(tf.getBackend()).toBe('webgpu');
  expect(tf.getKernel(UPSAMPLE_NEAREST_GRAD, 'webgpu')).toBeDefined();
});

it.each([
  [2, [2, 3, 5, 7]],
  [4, [1, 2, 3, 18]],
  [8, [2, 2, 1, 5]],
])('the gradient of upsampling by %i of %j: float32 block sums in row-major order, to the bit', async (f, inShape) => {
  const [n, h, w, c] = inShape;
  const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 3) as tf.Tensor4D;
  // A weighted sum of the upsampled values, so that each block's output gradients differ.
  const weights = tf.randomNormal([n, h * f, w * f, c], 0, 1, 'float32', 4);
  try {
    const before = tf.memory().numTensors;
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsampleNearest(t as tf.Tensor4D, f), weights)))(x);
    expect(grad.shape).toEqual([n, h, w, c]);
    const got = (await grad.data()) as Float32Array;
    grad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const want = blockSums((await weights.data()) as Float32Array, weights.shape, f);
    expect(bits(got)).toEqual(bits(want));
    // The upsampled values themselves: each input value repeated over its block.
    const up = upsampleNearest(x, f);
    const [xs, ups] = [(await x.data()) as Float32Array, (await up.data()) as Float32Array];
    up.dispose();
    expect(ups[(((n - 1) * h * f + h * f - 1) * w * f + w * f - 1) * c + c - 1]).toBe(xs[xs.length - 1]);
  } finally {
    tf.dispose([x, weights]);
  }
});

it('is one dispatch, with no transpose or reduction of TF.js', async () => {
  const x = tf.randomNormal([2, 4, 3, 8], 0, 1, 'float32', 5) as tf.Tensor4D;
  try {
    const info = await tf.profile(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(upsampleNearest(t as tf.Tensor4D, 2)))(x)));
    const names = info.kernels.map((k) => k.name);
    expect(names.filter((k) => k === UPSAMPLE_NEAREST_GRAD)).toHaveLength(1);
    expect(names).not.toContain('Transpose');
    // The only reduction is the loss's own sum, forward.
    expect(names.filter((k) => k === 'Sum')).toHaveLength(1);
  } finally {
    x.dispose();
  }
});

it('refuses a gradient whose size is not a multiple of the factor, naming both', () => {
  const dy = tf.zeros([1, 6, 4, 2]);
  try {
    expect(() => tf.engine().runKernel(UPSAMPLE_NEAREST_GRAD, { dy }, { factor: 4 } as unknown as tf.NamedAttrMap)).toThrow(/dy must be \[n, h·4, w·4, c\], got \[1,6,4,2\]/);
  } finally {
    dy.dispose();
  }
});

/**
 * The WebGPU backend's filter gradient (a software Vulkan driver where there is no GPU) against the sum in
 * float64, over HRNet's geometries and the awkward ones around them, with one chunk and with many: every value
 * within the bound of a float32 sum in any order (n·2⁻²⁴·Σ|terms|), the same bits on every run, nothing left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { filterGradChunks, filterGradTile, registerWebGpuConvFilterGradKernel } from '../../src/backend/conv-filter-grad-webgpu';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';

interface Geometry {
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: 'same' | 'valid' | number;
}

const GEOMETRIES: Geometry[] = [
  // HRNet: 3×3 pad 1 stride 1 and 2 (even and odd sizes), 1×1, the RGB stem.
  { x: [2, 8, 6, 16], k: 3, co: 8, stride: 1, pad: 1 },
  { x: [2, 8, 6, 8], k: 3, co: 16, stride: 2, pad: 1 },
  { x: [3, 7, 9, 4], k: 3, co: 5, stride: 2, pad: 1 },
  { x: [1, 32, 24, 3], k: 3, co: 16, stride: 2, pad: 1 },
  { x: [4, 6, 5, 64], k: 1, co: 32, stride: 1, pad: 0 },
  // Many chunks: 2·40 output rows of 6 columns, 43 rows a chunk.
  { x: [2, 40, 6, 4], k: 3, co: 4, stride: 1, pad: 1 },
  // 'same' with stride 2 on even sizes pads only bottom and right; 'valid' leaves the last row unread.
  { x: [2, 8, 8, 6], k: 3, co: 7, stride: 2, pad: 'same' },
  { x: [2, 9, 7, 6], k: 3, co: 7, stride: 2, pad: 'valid' },
  // Tiles of 2 and 1 input channels, 4 output channels; one 8 × 4 tile per tap with columns of odd count.
  { x: [2, 6, 5, 2], k: 3, co: 12, stride: 1, pad: 1 },
  { x: [2, 6, 5, 5], k: 3, co: 4, stride: 1, pad: 1 },
  { x: [3, 5, 7, 8], k: 3, co: 4, stride: 1, pad: 1 },
];

/** Each filter value's sum in float64 and the bound of a float32 sum of its terms in any order. */
function reference(g: Geometry, xv: Float32Array, dv: Float32Array, outShape: number[], padTop: number, padLeft: number): { sum: Float64Array; bound: Float64Array } {
  const [n, h, w, ci] = g.x;
  const [, oh, ow, co] = outShape;
  const size = g.k * g.k * ci * co;
  const sum = new Float64Array(size);
  const bound = new Float64Array(size);
  for (let wr = 0; wr < g.k; wr++)
    for (let wc = 0; wc < g.k; wc++)
      for (let d1 = 0; d1 < ci; d1++)
        for (let d2 = 0; d2 < co; d2++) {
          let s = 0;
          let abs = 0;
          let terms = 0;
          for (let b = 0; b < n; b++)
            for (let yr = 0; yr < oh; yr++) {
              const xr = wr + yr * g.stride - padTop;
              if (xr < 0 || xr >= h) continue;
              for (let yc = 0; yc < ow; yc++) {
                const xc = wc + yc * g.stride - padLeft;
                if (xc < 0 || xc >= w) continue;
                const t = xv[((b * h + xr) * w + xc) * ci + d1] * dv[((b * oh + yr) * ow + yc) * co + d2];
                s += t;
                abs += Math.abs(t);
                terms++;
              }
            }
          const i = ((wr * g.k + wc) * ci + d1) * co + d2;
          sum[i] = s;
          bound[i] = (terms + 1) * 2 ** -24 * abs;
        }
  return { sum, bound };
}

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

it('cuts the output rows into chunks of at least 256 terms a sum, keeping at most 4M chunk sums', () => {
  expect(filterGradChunks(2 * 64, 48, 9 * 32 * 32)).toEqual({ rowsPerChunk: 6, chunks: 22 });
  expect(filterGradChunks(80, 6, 144)).toEqual({ rowsPerChunk: 43, chunks: 2 });
  expect(filterGradChunks(4, 5, 2048)).toEqual({ rowsPerChunk: 52, chunks: 1 });
  // W32's second stem convolution at batch 32: 2048 output rows of 48 columns, 36,864 filter values: 113 chunks at most.
  expect(filterGradChunks(32 * 64, 48, 9 * 64 * 64)).toEqual({ rowsPerChunk: 19, chunks: 108 });
  expect(filterGradChunks(1 << 16, 1, 1 << 20)).toEqual({ rowsPerChunk: 16384, chunks: 4 });
});

it('sums tiles of up to 8 input × 4 output channels, smaller where the channel counts are not multiples', () => {
  expect(filterGradTile(32, 32)).toEqual({ inTile: 8, outTile: 4 });
  expect(filterGradTile(4, 64)).toEqual({ inTile: 4, outTile: 4 });
  expect(filterGradTile(3, 64)).toEqual({ inTile: 3, outTile: 4 });
  expect(filterGradTile(6, 7)).toEqual({ inTile: 3, outTile: 1 });
  expect(filterGradTile(2, 12)).toEqual({ inTile: 2, outTile: 4 });
  expect(filterGradTile(5, 4)).toEqual({ inTile: 1, outTile: 4 });
  expect(filterGradTile(32, 17)).toEqual({ inTile: 8, outTile: 1 });
});

it.each(GEOMETRIES)('is within float32 summation error of the exact sum: %j', async (g) => {
  const x = tf.randomNormal(g.x, 0, 1, 'float32', 1) as tf.Tensor4D;
  const filterShape: [number, number, number, number] = [g.k, g.k, g.x[3], g.co];
  const info = tf.backend_util.computeConv2DInfo(g.x, filterShape, g.stride, 1, g.pad);
  const dy = tf.randomNormal(info.outShape, 0, 1, 'float32', 2) as tf.Tensor4D;
  const run = () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: g.stride, pad: g.pad, dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  try {
    const got = run();
    const values = (await got.data()) as Float32Array;
    got.dispose();
    expect(values.length).toBe(tf.util.sizeFromShape(filterShape));
    const { sum, bound } = reference(g, (await x.data()) as Float32Array, (await dy.data()) as Float32Array, info.outShape, info.padInfo.top, info.padInfo.left);
    const outside = Array.from(values.keys()).filter((i) => !(Math.abs(values[i] - sum[i]) <= bound[i]));
    expect(outside).toEqual([]);
    const again = run();
    expect(Array.from(new Uint32Array(((await again.data()) as Float32Array).buffer))).toEqual(Array.from(new Uint32Array(values.buffer)));
    again.dispose();
  } finally {
    tf.dispose([x, dy]);
  }
}, 60000);

it('leaves no tensor and no GPU memory behind, and registers once', async () => {
  registerWebGpuConvFilterGradKernel();
  const kernel = tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu');
  registerWebGpuConvFilterGradKernel();
  expect(tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu')).toBe(kernel);
  const x = tf.randomNormal([2, 40, 6, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
  const dy = tf.randomNormal([2, 40, 6, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
  const grad = async () => {
    const g = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 1, dataFormat: 'NHWC', filterShape: [3, 3, 4, 4] } as unknown as tf.NamedAttrMap) as tf.Tensor;
    await g.data();
    g.dispose();
  };
  try {
    await grad();
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    for (let i = 0; i < 3; i++) await grad();
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytesInGPU).toBe(before.numBytesInGPU);
  } finally {
    tf.dispose([x, dy]);
  }
});

/**
 * A convolution's filter gradient (`Conv2DBackpropFilter`, NHWC) as a kernel of TF.js's WebGPU backend, in place
 * of the stock one.
 *
 * The stock program gives each filter value one thread, which sums over every output position of the batch:
 * a 3×3 convolution of 32 channels on the 64×48 branch of W32 at batch 32 is 9,216 threads of 98,304 steps each,
 * too few threads for a GPU and too long a chain for one. Here the output rows of the batch are cut into chunks:
 * one thread per chunk and filter value sums its chunk (the valid columns of each row found once, the indices
 * stepped instead of recomputed), and a second pass adds the chunk sums of each filter value in chunk order.
 * The chunks depend on the shapes alone, so the sums, and the gradients, are the same on every run and device.
 */
import * as tf from '@tensorflow/tfjs';
import { orderedSum, PerOutputSpec, runPerOutput, WebGpuKernelBackend, withTemps } from './webgpu-program';

/** Products a thread of the first pass sums, at least (whole rows of the output). */
const PRODUCTS_PER_THREAD = 256;
/** Most values of chunk sums kept between the passes (16 MB of float32). */
const MAX_PARTIAL_VALUES = 1 << 22;

/** How the output rows (batch × output height) are cut: `chunks` chunks of `rowsPerChunk` rows (the last may be shorter). */
export interface FilterGradChunks {
  rowsPerChunk: number;
  chunks: number;
}

/** The chunking for a gradient of `filterSize` values over `rows` output rows of `outWidth` columns. */
export function filterGradChunks(rows: number, outWidth: number, filterSize: number): FilterGradChunks {
  let rowsPerChunk = Math.max(1, Math.ceil(PRODUCTS_PER_THREAD / Math.max(1, outWidth)));
  const maxChunks = Math.max(1, Math.floor(MAX_PARTIAL_VALUES / filterSize));
  if (Math.ceil(rows / rowsPerChunk) > maxChunks) rowsPerChunk = Math.ceil(rows / maxChunks);
  return { rowsPerChunk, chunks: Math.ceil(rows / rowsPerChunk) };
}

const UNIFORMS =
  'inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, filterWidth : i32, strideHeight : i32, strideWidth : i32, padTop : i32, padLeft : i32, rows : i32, rowsPerChunk : i32, filterSize : i32, chunks : i32,';

/** Chunk sums `[chunks, filterSize]` (or, with one chunk, the gradient itself): thread = chunk × filter value. */
function chunkSums(outputShape: number[]): PerOutputSpec {
  return {
    key: 'convFilterGradChunks',
    inputs: ['X', 'Dy'],
    uniforms: UNIFORMS,
    outputShape,
    body: `
          let chunk = index / uniforms.filterSize;
          let f = index % uniforms.filterSize;
          // The filter value [wR, wC, d1, d2] (HWIO).
          let d2 = f % uniforms.outChannels;
          let d1 = (f / uniforms.outChannels) % uniforms.inChannels;
          let wC = (f / (uniforms.outChannels * uniforms.inChannels)) % uniforms.filterWidth;
          let wR = f / (uniforms.outChannels * uniforms.inChannels * uniforms.filterWidth);
          // Output columns whose input column wC + yC·stride − pad lies inside the image.
          let c0 = uniforms.padLeft - wC;
          var yC0 = 0;
          if (c0 > 0) { yC0 = (c0 + uniforms.strideWidth - 1) / uniforms.strideWidth; }
          let c1 = uniforms.inWidth - 1 + uniforms.padLeft - wC;
          var yC1 = -1;
          if (c1 >= 0) { yC1 = min(uniforms.outWidth - 1, c1 / uniforms.strideWidth); }
          let xStep = uniforms.strideWidth * uniforms.inChannels;
          let dStep = uniforms.outChannels;
          var sum = 0.0;
          let r1 = min(uniforms.rows, (chunk + 1) * uniforms.rowsPerChunk);
          for (var row = chunk * uniforms.rowsPerChunk; row < r1; row = row + 1) {
            let b = row / uniforms.outHeight;
            let yR = row % uniforms.outHeight;
            let xR = wR + yR * uniforms.strideHeight - uniforms.padTop;
            if (xR < 0 || xR >= uniforms.inHeight) {
              continue;
            }
            var xi = ((b * uniforms.inHeight + xR) * uniforms.inWidth + (wC + yC0 * uniforms.strideWidth - uniforms.padLeft)) * uniforms.inChannels + d1;
            var di = (row * uniforms.outWidth + yC0) * uniforms.outChannels + d2;
            // Four products computed before they are added (four loads in flight), the sum in column order.
            var yC = yC0;
            for (; yC + 3 <= yC1; yC = yC + 4) {
              let p0 = X[xi] * Dy[di];
              let p1 = X[xi + xStep] * Dy[di + dStep];
              let p2 = X[xi + 2 * xStep] * Dy[di + 2 * dStep];
              let p3 = X[xi + 3 * xStep] * Dy[di + 3 * dStep];
              sum = sum + p0; sum = sum + p1; sum = sum + p2; sum = sum + p3;
              xi = xi + 4 * xStep;
              di = di + 4 * dStep;
            }
            for (; yC <= yC1; yC = yC + 1) {
              sum = sum + X[xi] * Dy[di];
              xi = xi + xStep;
              di = di + dStep;
            }
          }
          setOutputAtIndex(index, sum);`,
  };
}

/** The gradient `[filterSize]`: each filter value's chunk sums added in chunk order. */
function chunkTotals(filterShape: number[]): PerOutputSpec {
  return {
    key: 'convFilterGradTotal',
    inputs: ['Part'],
    uniforms: UNIFORMS,
    outputShape: filterShape,
    body: `
          var total = 0.0;
          ${orderedSum('total', '0', 'uniforms.chunks', (c) => `Part[${c} * uniforms.filterSize + index]`, 'c')}
          setOutputAtIndex(index, total);`,
  };
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Builds the kernel function; `stock` computes what it does not handle (NCHW, dtypes other than float32). */
function filterGradKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { inputs, attrs } = args;
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (x.dtype !== 'float32' || (a.dataFormat !== undefined && a.dataFormat !== 'NHWC')) return stock(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const backend = args.backend as unknown as WebGpuKernelBackend;
    const rows = info.batchSize * info.outHeight;
    const filterSize = tf.util.sizeFromShape(info.filterShape);
    const { rowsPerChunk, chunks } = filterGradChunks(rows, info.outWidth, filterSize);
    const uniforms = [
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.outChannels,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
      rows,
      rowsPerChunk,
      filterSize,
      chunks,
    ].map((v) => ({ type: 'int32' as const, data: [v] }));
    if (chunks === 1) return runPerOutput(backend, chunkSums(info.filterShape), [x, dy], uniforms);
    return withTemps(backend, (temp) => {
      const parts = temp(runPerOutput(backend, chunkSums([chunks, filterSize]), [x, dy], uniforms));
      return temp(runPerOutput(backend, chunkTotals(info.filterShape), [parts], uniforms));
    });
  };
}

/** Replaces the `webgpu` backend's `Conv2DBackpropFilter` with this kernel (the stock one serves NCHW). Idempotent. */
export function registerWebGpuConvFilterGradKernel(): void {
  const current = tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu');
  if (current === undefined || registeredKernels.has(current.kernelFunc)) return;
  const kernelFunc = filterGradKernel(current.kernelFunc);
  registeredKernels.add(kernelFunc);
  tf.unregisterKernel(tf.Conv2DBackpropFilter, 'webgpu');
  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: 'webgpu', kernelFunc });
}

const registeredKernels = new Set<tf.KernelFunc>();

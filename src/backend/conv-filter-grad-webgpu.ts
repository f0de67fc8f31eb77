/**
 * A convolution's filter gradient (`Conv2DBackpropFilter`, NHWC) as a kernel of TF.js's WebGPU backend, in place
 * of the stock one.
 *
 * The stock program gives each filter value one thread, which sums over every output position of the batch:
 * a 3×3 convolution of 32 channels on the 64×48 branch of W32 at batch 32 is 9,216 threads of 98,304 steps each,
 * too few threads for a GPU and too long a chain for one, and two loads for every product. Here the output rows
 * of the batch are cut into chunks, and one thread sums a chunk for a tile of filter values (up to 8 input
 * channels × 4 output channels of one tap: 12 loads for 32 products, the valid columns of each row found once,
 * the indices stepped instead of recomputed); a second pass adds the chunk sums of each filter value in chunk
 * order. The chunks depend on the shapes alone, and each sum adds its terms in row and column order whatever the
 * tile, so the gradients are the same on every run and device.
 */
import * as tf from '@tensorflow/tfjs';
import { orderedSum, PerOutputSpec, programVariants, runPerOutput, WebGpuKernelBackend, withTemps } from './webgpu-program';

/** Terms of each chunk sum, at least (whole rows of the output). */
const TERMS_PER_CHUNK = 256;
/** Most values of chunk sums kept between the passes (16 MB of float32). */
const MAX_PARTIAL_VALUES = 1 << 22;

/** How the output rows (batch × output height) are cut: `chunks` chunks of `rowsPerChunk` rows (the last may be shorter). */
export interface FilterGradChunks {
  rowsPerChunk: number;
  chunks: number;
}

/** The chunking for a gradient of `filterSize` values over `rows` output rows of `outWidth` columns. */
export function filterGradChunks(rows: number, outWidth: number, filterSize: number): FilterGradChunks {
  let rowsPerChunk = Math.max(1, Math.ceil(TERMS_PER_CHUNK / Math.max(1, outWidth)));
  const maxChunks = Math.max(1, Math.floor(MAX_PARTIAL_VALUES / filterSize));
  if (Math.ceil(rows / rowsPerChunk) > maxChunks) rowsPerChunk = Math.ceil(rows / maxChunks);
  return { rowsPerChunk, chunks: Math.ceil(rows / rowsPerChunk) };
}

const UNIFORMS =
  'inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, filterWidth : i32, strideHeight : i32, strideWidth : i32, padTop : i32, padLeft : i32, rows : i32, rowsPerChunk : i32, filterSize : i32, chunks : i32,';

/**
 * Filter values a thread sums together: `inTile` input channels × `outTile` output channels of one filter tap.
 * An 8 × 4 tile loads 12 values for 32 products, where a thread per value loads 2 for each. The input channels
 * take the largest of 8, 4, 3, 2 that divides their count (3 for the RGB stem), the output channels 4 (a vec4)
 * where it divides theirs, else 1 (17 joints).
 */
export interface FilterGradTile {
  inTile: number;
  outTile: number;
}

/** The tile for a filter of `inChannels` → `outChannels`. */
export function filterGradTile(inChannels: number, outChannels: number): FilterGradTile {
  return { inTile: [8, 4, 3, 2].find((t) => inChannels % t === 0) ?? 1, outTile: outChannels % 4 === 0 ? 4 : 1 };
}

/**
 * Chunk sums `[chunks, filterSize]` (or, with one chunk, the gradient itself) for tiles of `inTile` × `outTile`
 * (the variant `${inTile}x${outTile}`): thread = chunk × tile of filter values, the tile's sums in registers.
 * Every sum adds its products in row and column order, as a thread of its own would.
 */
const chunkSums = programVariants((variant: string): PerOutputSpec => {
  const [inTile, outTile] = variant.split('x').map(Number);
  const lanes = Array.from({ length: inTile }, (_, i) => i);
  const outs = Array.from({ length: outTile }, (_, j) => j);
  const vec = outTile === 4 ? 'vec4<f32>' : 'f32';
  const dyAt = (offset: string) => (outTile === 4 ? `vec4<f32>(Dy[${offset}], Dy[${offset} + 1], Dy[${offset} + 2], Dy[${offset} + 3])` : `Dy[${offset}]`);
  // A column's values: the tile's inputs x{k}_{i} and output gradients g{k}; then its products added.
  const load = (xOff: string, dOff: string, k: number) => `let g${k} = ${dyAt(dOff)}; ${lanes.map((i) => `let x${k}_${i} = X[${xOff} + ${i}];`).join(' ')}`;
  const add = (k: number) => lanes.map((i) => `s${i} = s${i} + x${k}_${i} * g${k};`).join(' ');
  const store = lanes
    .map((i) => outs.map((j) => `setOutputAtIndex(base + ${i} * uniforms.outChannels + ${j}, s${i}${outTile === 4 ? `[${j}]` : ''});`).join(' '))
    .join('\n          ');
  return {
    key: `convFilterGradChunks_${inTile}x${outTile}`,
    inputs: ['X', 'Dy'],
    uniforms: UNIFORMS,
    body: `
          let tiles = uniforms.filterSize / ${inTile * outTile};
          let chunk = index / tiles;
          let t = index % tiles;
          // The tile's first filter value [wR, wC, d1, d2] (HWIO).
          let d2 = (t % (uniforms.outChannels / ${outTile})) * ${outTile};
          let rest = t / (uniforms.outChannels / ${outTile});
          let d1 = (rest % (uniforms.inChannels / ${inTile})) * ${inTile};
          let wC = (rest / (uniforms.inChannels / ${inTile})) % uniforms.filterWidth;
          let wR = rest / ((uniforms.inChannels / ${inTile}) * uniforms.filterWidth);
          // Output columns whose input column wC + yC·stride − pad lies inside the image.
          let c0 = uniforms.padLeft - wC;
          var yC0 = 0;
          if (c0 > 0) { yC0 = (c0 + uniforms.strideWidth - 1) / uniforms.strideWidth; }
          let c1 = uniforms.inWidth - 1 + uniforms.padLeft - wC;
          var yC1 = -1;
          if (c1 >= 0) { yC1 = min(uniforms.outWidth - 1, c1 / uniforms.strideWidth); }
          let xStep = uniforms.strideWidth * uniforms.inChannels;
          let dStep = uniforms.outChannels;
          ${lanes.map((i) => `var s${i} = ${vec}(0.0);`).join(' ')}
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
            // Two columns' values loaded before any is added (more loads in flight), the sums in column order.
            var yC = yC0;
            for (; yC + 1 <= yC1; yC = yC + 2) {
              ${load('xi', 'di', 0)}
              ${load('xi + xStep', 'di + dStep', 1)}
              ${add(0)}
              ${add(1)}
              xi = xi + 2 * xStep;
              di = di + 2 * dStep;
            }
            for (; yC <= yC1; yC = yC + 1) {
              ${load('xi', 'di', 0)}
              ${add(0)}
              xi = xi + xStep;
              di = di + dStep;
            }
          }
          let base = chunk * uniforms.filterSize + (((wR * uniforms.filterWidth + wC) * uniforms.inChannels + d1) * uniforms.outChannels + d2);
          ${store}`,
  };
});

/** The gradient `[filterSize]`: each filter value's chunk sums added in chunk order. */
const CHUNK_TOTALS: PerOutputSpec = {
  key: 'convFilterGradTotal',
  inputs: ['Part'],
  uniforms: UNIFORMS,
  body: `
          var total = 0.0;
          ${orderedSum('total', '0', 'uniforms.chunks', (c) => `Part[${c} * uniforms.filterSize + index]`, 'c')}
          setOutputAtIndex(index, total);`,
};

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
    const tile = filterGradTile(info.inChannels, info.outChannels);
    const sums = chunkSums(`${tile.inTile}x${tile.outTile}`);
    const threads = (chunks * filterSize) / (tile.inTile * tile.outTile);
    if (chunks === 1) return runPerOutput(backend, sums, [x, dy], uniforms, info.filterShape, threads);
    return withTemps(backend, (temp) => {
      const parts = temp(runPerOutput(backend, sums, [x, dy], uniforms, [chunks, filterSize], threads));
      return temp(runPerOutput(backend, CHUNK_TOTALS, [parts], uniforms, info.filterShape));
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

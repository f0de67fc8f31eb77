/**
 * Gradients of a 2-D convolution for the fallback backends. On WASM, where channels fit their
 * register tiles, the compiled kernels of `wasm-kernels/` compute both in place in the heap
 * (filter_grad.c; conv2d.c's convolution and transposed convolution). Otherwise they are written
 * as forward convolutions, so that a backend whose forward `Conv2D` is fast trains at a comparable
 * speed:
 *
 * - filter gradient: the input correlated with the output gradient, with the batch as the channel
 *   axis, the input channels as the batch and the stride as the dilation; or, on WASM where it is
 *   faster, one matrix product of the input's im2col columns with the output gradient;
 * - input gradient: the input rows split into stride² phases (y ≡ a mod s); each phase is the output
 *   gradient correlated with the spatially flipped, in/out-transposed filter taps that reach it. All
 *   phases come out of one convolution as channel groups and a depth-to-space interleaves them. Exact
 *   for PyTorch-style symmetric padding, 'same', 'valid' and any explicit padding, including the
 *   rows a strided forward never reads.
 *
 * Only NHWC with dilation 1 is handled here (the gradients tfjs-core defines never ask for other
 * dilations); the input gradient also needs equal strides (`inputGradientSupported`).
 */
import * as tf from '@tensorflow/tfjs';
import { FILTER_GRAD_CHUNK_FLOATS, heapFilterGradient } from './heap-kernels';
import { KernelCalls } from './kernel-calls';

/** Kernel arguments as the engine passes them. */
interface KernelArgs<A> {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs: A;
}

/** Attributes shared by both convolution gradient kernels. */
interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Attributes of `Conv2DBackpropFilter`: `filterShape` is [kh, kw, Cin, Cout]. */
export interface Conv2DBackpropFilterKernelAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/** Attributes of `Conv2DBackpropInput`: `inputShape` is [N, H, W, Cin]. */
export interface Conv2DBackpropInputKernelAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/** Input `name` of a kernel call; throws naming the kernel if it is missing. */
function requireInput(kernelName: string, inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernelName}: missing input '${name}'`);
  return t;
}

/** Whether `conv2DBackpropInputViaConv` handles these attributes (NHWC, equal strides). */
export function inputGradientSupported(attrs: Pick<ConvGradAttrs, 'strides' | 'dataFormat'>): boolean {
  const [sh, sw] = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
  return attrs.dataFormat === 'NHWC' && sh === sw;
}

/** The forward geometry of the convolution whose gradient is asked for; validates `dy`. */
function forwardGeometry(
  kernelName: string,
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ConvGradAttrs,
  dy: tf.TensorInfo,
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernelName}: dataFormat '${attrs.dataFormat}' is not supported, expected 'NHWC'`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernelName}: dy has shape [${dy.shape}], expected [${expected}] for input [${inShape}]`);
  }
  return info;
}

/**
 * The filter gradient as one forward convolution: the input correlated with the output gradient,
 * with the batch as the channel axis, the input channels as the batch and the stride as the
 * dilation. Returns dW [kh, kw, Cin, Cout] (a temporary of `calls`).
 */
function filterGradientByConv(calls: KernelCalls, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  // dW[i, j, c, o] = Σ_{n, y, x} x[n, y·sh + i − top, x·sw + j − left, c] · dy[n, y, x, o]:
  // a correlation over (y, x) with input xᵀ [Cin, H, W, N] and filter dyᵀ [oh, ow, N, Cout].
  // Transposes on merged axes (rank 3) run much faster on WASM than rank-4 ones.
  const xt = calls.reshapeView(calls.transpose(calls.reshapeView(x, [n, h * w, ci]), [2, 1, 0]), [ci, h, w, n]);
  const dyt = calls.reshapeView(calls.transpose(calls.reshapeView(dy, [n, oh * ow, co]), [1, 0, 2]), [oh, ow, n, co]);
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const pads = { top, left, bottom: kh - h - top + (oh - 1) * sh, right: kw - w - left + (ow - 1) * sw };
  const r = calls.conv2dStride1(xt, dyt, pads, [sh, sw]); // [Cin, kh, kw, Cout]
  return calls.reshapeView(calls.transpose(calls.reshapeView(r, [ci, kh * kw, co]), [1, 0, 2]), [kh, kw, ci, co]);
}

/**
 * Columns of the filter gradient: `cols[(i·kw + j)·Cin + c, (n·oh + y)·ow + x] =
 * x[n, y·sh + i − top, x·sw + j − left, c]`, zero outside the input (im2col, transposed).
 * @param xt the input with channels first, `[Cin, N, H, W]`
 */
function filterGradientColumns(calls: KernelCalls, xt: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, filterHeight: kh, filterWidth: kw } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const p = n * oh * ow;
  // Strided columns: split each input row into its sw phases first ([…, W/sw, sw] → [sw, W/sw]),
  // so that the columns one tap reads become a contiguous run of one phase.
  const phased = sw > 1 && w % sw === 0;
  const wq = phased ? w / sw : w;
  const source = phased ? calls.reshapeView(calls.transpose(calls.reshapeView(xt, [ci * n * h, wq, sw]), [0, 2, 1]), [ci, n, h, w]) : xt;
  return calls.produce([kh * kw * ci, p], (cols) => {
    const src = calls.view(source);
    // Rows of stride-1 columns are contiguous runs of the input: copied with copyWithin over one
    // array spanning both (on WASM they share the heap), which allocates nothing per run.
    const shared = cols.buffer === src.buffer ? new Float32Array(cols.buffer) : null;
    const colsBase = shared ? cols.byteOffset / 4 : 0;
    const srcBase = shared ? src.byteOffset / 4 : 0;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // Output columns x whose input column x·sw + j − left lies inside [0, w).
        const x0 = Math.min(ow, Math.max(0, Math.ceil((left - j) / sw)));
        const x1 = Math.max(x0, Math.min(ow, Math.floor((w - 1 + left - j) / sw) + 1));
        for (let c = 0; c < ci; c++) {
          let dst = ((i * kw + j) * ci + c) * p;
          for (let b = 0; b < n; b++) {
            const plane = (c * n + b) * h * w;
            for (let y = 0; y < oh; y++, dst += ow) {
              const row = y * sh + i - top;
              if (row < 0 || row >= h) {
                cols.fill(0, dst, dst + ow);
                continue;
              }
              for (let x = 0; x < x0; x++) cols[dst + x] = 0;
              for (let x = x1; x < ow; x++) cols[dst + x] = 0;
              let from = plane + row * w + x0 * sw + j - left;
              if (phased) {
                // Input column x·sw + j − left = sw·(x + q) + r with phase r: run x0…x1 of phase r.
                const col = x0 * sw + j - left;
                from = plane + row * w + (col % sw) * wq + Math.floor(col / sw);
              }
              if (sw !== 1 && !phased) {
                for (let x = x0, k = from; x < x1; x++, k += sw) cols[dst + x] = src[k];
              } else if (shared) {
                shared.copyWithin(colsBase + dst + x0, srcBase + from, srcBase + from + x1 - x0);
              } else {
                cols.set(src.subarray(from, from + x1 - x0), dst + x0);
              }
            }
          }
        }
      }
    }
  });
}

/**
 * Whether the matrix-product filter gradient is the faster one on WASM for this geometry, as
 * measured on HRNet's layers: always for 1×1 stride-1 filters and for batches under 8; otherwise
 * when the output has at least 512 positions per image and the output channels are not far fewer
 * than the input ones (the im2col copy grows with the input channels, the product's efficiency
 * with the output ones). Small low-resolution layers of larger batches run faster as one
 * convolution.
 */
export function preferMatMulFilterGradient(info: tf.backend_util.Conv2DInfo): boolean {
  const pointwise = info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1;
  // The convolution contracts over the batch, innermost: with fewer than 8 images it is slow.
  if (pointwise || info.batchSize < 8) return true;
  return info.outHeight * info.outWidth >= 512 && info.outChannels * 4 >= info.inChannels;
}

/**
 * The filter gradient as one matrix product, for backends whose matrix product is fast (WASM):
 * `dW [kh·kw·Cin, Cout] = cols · dy [N·oh·ow, Cout]` with the im2col columns of the input; a 1×1
 * stride-1 filter needs no columns, only the input transposed (or the output gradient, whichever
 * is smaller). Returns dW [kh, kw, Cin, Cout] (a temporary of `calls`).
 */
function filterGradientByMatMul(calls: KernelCalls, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const p = n * oh * ow;
  const dy2 = calls.reshapeView(dy, [p, co]);
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && oh === h && ow === w;
  let dw: tf.TensorInfo;
  if (pointwise && co < ci) {
    // dWᵀ [Cout, Cin] = dyᵀ · x, transposing the smaller operand.
    const dwt = calls.matMul(calls.transpose(dy2, [1, 0]), calls.reshapeView(x, [p, ci]));
    dw = calls.transpose(dwt, [1, 0]);
  } else {
    const xt = calls.transpose(calls.reshapeView(x, [n, h * w, ci]), [2, 0, 1]); // [Cin, N, H·W]
    const cols = pointwise ? xt : filterGradientColumns(calls, xt, info);
    dw = calls.matMul(calls.reshapeView(cols, [kh * kw * ci, p]), dy2);
  }
  return calls.reshapeView(dw, [kh, kw, ci, co]);
}

/**
 * Whether the compiled direct filter gradient (filter_grad.c) takes this geometry on `backend`:
 * the WASM backend, input channels a multiple of 4 and output channels a multiple of 8.
 */
export function directFilterGradientSupported(info: tf.backend_util.Conv2DInfo, backend: tf.KernelBackend): boolean {
  return info.inChannels % 4 === 0 && info.outChannels % 8 === 0 && heapFilterGradient(backend) !== undefined;
}

/**
 * The filter gradient by the compiled kernel of filter_grad.c, which reads the NHWC input and
 * output gradient in place in the WASM backend's memory: no im2col, no transpose. Returns dW
 * [kh, kw, Cin, Cout] (a temporary of `calls`).
 */
function filterGradientDirect(calls: KernelCalls, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const kernel = heapFilterGradient(calls.backend);
  if (kernel === undefined) throw new Error(`Conv2DBackpropFilter: the direct kernel needs the WASM backend, not '${calls.backendName}'`);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const [dw] = calls.runOnHeap([x, dy], [[kh, kw, ci, co]], ([xp, dyp, dwp]) =>
    kernel(xp, dyp, dwp, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, info.padInfo.top, info.padInfo.left, FILTER_GRAD_CHUNK_FLOATS),
  );
  return dw;
}

/** How {@link conv2DBackpropFilterFast} computes the gradient: by geometry, or always one way. */
export type FilterGradientMethod = 'auto' | 'conv' | 'matmul' | 'direct';

/**
 * `Conv2DBackpropFilter` for backend `backendName`: by the compiled kernel, the forward convolution
 * or the matrix product (`method`; `auto` takes the compiled kernel where
 * {@link directFilterGradientSupported}, else picks by {@link preferMatMulFilterGradient}).
 * Inputs: `x` [N, H, W, Cin], `dy` [N, oh, ow, Cout]. Returns dW [kh, kw, Cin, Cout].
 */
export function conv2DBackpropFilterFast(
  args: KernelArgs<Conv2DBackpropFilterKernelAttrs>,
  backendName = 'wasm',
  method: FilterGradientMethod = 'auto',
): tf.TensorInfo {
  const x = requireInput('Conv2DBackpropFilter', args.inputs, 'x');
  const dy = requireInput('Conv2DBackpropFilter', args.inputs, 'dy');
  const info = forwardGeometry('Conv2DBackpropFilter', x.shape as [number, number, number, number], args.attrs.filterShape, args.attrs, dy);
  const chosen: Exclude<FilterGradientMethod, 'auto'> =
    method !== 'auto'
      ? method
      : directFilterGradientSupported(info, args.backend)
        ? 'direct'
        : preferMatMulFilterGradient(info)
          ? 'matmul'
          : 'conv';
  const calls = new KernelCalls(args.backend, backendName);
  const compute = { direct: filterGradientDirect, matmul: filterGradientByMatMul, conv: filterGradientByConv }[chosen];
  try {
    return calls.keep(compute(calls, x, dy, info));
  } finally {
    calls.disposeTemps();
  }
}

/**
 * How one output phase of the input gradient reads the output gradient along one spatial axis.
 * Phase `phase` holds the input rows y = s·q + phase; tap `residue + s·m` of the filter reaches
 * them from output-gradient row q + `shift` − m.
 */
interface AxisPhase {
  /** Filter taps of this phase start at `residue` (< stride) and step by the stride. */
  residue: number;
  /** Number of those taps inside the filter (0: the phase gets no gradient). */
  taps: number;
  /** Offset of the phase's first tap in output-gradient rows: `floor((phase + padBefore) / stride)`. */
  shift: number;
}

/** The phases of one spatial axis: filter size k, stride s, padding before the first input row. */
function axisPhases(k: number, s: number, padBefore: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let phase = 0; phase < s; phase++) {
    const residue = (phase + padBefore) % s;
    phases.push({ residue, taps: residue < k ? Math.ceil((k - residue) / s) : 0, shift: Math.floor((phase + padBefore) / s) });
  }
  return phases;
}

/**
 * The range of output-gradient offsets δ (row q + δ feeds phase row q) used by any phase:
 * `[min, max]`; the combined kernel has `max − min + 1` taps along this axis.
 */
function offsetRange(phases: AxisPhase[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const p of phases) {
    if (p.taps === 0) continue;
    min = Math.min(min, p.shift - p.taps + 1);
    max = Math.max(max, p.shift);
  }
  return min === Infinity ? { min: 0, max: 0 } : { min, max };
}

/**
 * The filter of the single convolution that computes every output phase at once: spatially
 * flipped, in/out-transposed taps of each phase, zero where a phase has no tap at that offset.
 * @param w filter values, layout [kh, kw, Cin, Cout]
 * @returns values of layout [lh, lw, Cout, sh·sw·Cin], output channel (a·sw + b)·Cin + c for phase (a, b)
 */
function phaseCombinedKernel(
  w: Float32Array,
  filterShape: [number, number, number, number],
  strides: [number, number],
  rows: { phases: AxisPhase[]; min: number; length: number },
  cols: { phases: AxisPhase[]; min: number; length: number },
): Float32Array {
  const [, kw, ci, co] = filterShape;
  const [sh, sw] = strides;
  const outCh = sh * sw * ci;
  const out = new Float32Array(rows.length * cols.length * co * outCh);
  rows.phases.forEach((rp, a) => {
    cols.phases.forEach((cp, b) => {
      const chBase = (a * sw + b) * ci;
      for (let t = 0; t < rows.length; t++) {
        const m = rp.shift - rows.min - t; // tap index along rows
        if (m < 0 || m >= rp.taps) continue;
        const i = rp.residue + sh * m;
        for (let u = 0; u < cols.length; u++) {
          const n = cp.shift - cols.min - u;
          if (n < 0 || n >= cp.taps) continue;
          const j = cp.residue + sw * n;
          const src = (i * kw + j) * ci * co;
          const dst = (t * cols.length + u) * co * outCh + chBase;
          for (let c = 0; c < ci; c++) {
            for (let o = 0; o < co; o++) out[dst + o * outCh + c] = w[src + c * co + o];
          }
        }
      }
    });
  });
  return out;
}

/**
 * `Conv2DBackpropInput` for backend `backendName` (square strides only): by the compiled kernels
 * of conv2d.c when the WASM heap and Cin % 8 == 0 allow, else {@link inputGradientByPhases}.
 * Inputs: `dy` [N, oh, ow, Cout], `filter` [kh, kw, Cin, Cout]. Returns dx [N, H, W, Cin] (`inputShape`).
 */
export function conv2DBackpropInputViaConv(
  args: KernelArgs<Conv2DBackpropInputKernelAttrs>,
  backendName = 'wasm',
): tf.TensorInfo {
  const dy = requireInput('Conv2DBackpropInput', args.inputs, 'dy');
  const filter = requireInput('Conv2DBackpropInput', args.inputs, 'filter');
  const filterShape = filter.shape as [number, number, number, number];
  const info = forwardGeometry('Conv2DBackpropInput', args.attrs.inputShape, filterShape, args.attrs, dy);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (sh !== sw) {
    throw new Error(`Conv2DBackpropInput: strides [${sh}, ${sw}] are not supported, expected equal strides`);
  }
  const calls = new KernelCalls(args.backend, backendName);
  try {
    if (calls.heapConvSupports(ci)) {
      // By the compiled kernels, in place in the WASM heap: stride 1 as the output gradient
      // convolved with the flipped, transposed filter; larger strides by the transposed convolution.
      const flipped = calls.flipTransposeHeap(filter);
      const dx =
        sh === 1
          ? calls.conv2dHeap(dy, flipped, [1, 1], kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left, [n, h, w, ci])
          : calls.conv2dInputGradHeap(dy, flipped, [sh, sw], info.padInfo.top, info.padInfo.left, [n, h, w, ci]);
      return calls.keep(dx);
    }
    return calls.keep(inputGradientByPhases(calls, dy, filter, info));
  } finally {
    calls.disposeTemps();
  }
}

/**
 * The input gradient as one stride-1 convolution of `dy` with the phase-combined kernel, then a
 * depth-to-space to interleave the stride² phases (square strides). Returns dx (a temporary of `calls`).
 */
function inputGradientByPhases(calls: KernelCalls, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const filterShape = filter.shape as [number, number, number, number];
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const rowPhases = axisPhases(kh, sh, info.padInfo.top);
  const colPhases = axisPhases(kw, sw, info.padInfo.left);
  const rowRange = offsetRange(rowPhases);
  const colRange = offsetRange(colPhases);
  const lh = rowRange.max - rowRange.min + 1;
  const lw = colRange.max - colRange.min + 1;
  const qh = Math.ceil(h / sh); // phase rows: y = sh·q + a for q < qh
  const qw = Math.ceil(w / sw);
  const kernel = calls.write(
    phaseCombinedKernel(
      calls.read(filter),
      filterShape,
      [sh, sw],
      { phases: rowPhases, min: rowRange.min, length: lh },
      { phases: colPhases, min: colRange.min, length: lw },
    ),
    [lh, lw, co, sh * sw * ci],
  );
  // Output row q reads dy rows q + min … q + max.
  const pads = {
    top: -rowRange.min,
    bottom: qh - 1 + rowRange.max - (oh - 1),
    left: -colRange.min,
    right: qw - 1 + colRange.max - (ow - 1),
  };
  const phases = calls.conv2dStride1(dy, kernel, pads, [1, 1]); // [N, qh, qw, sh·sw·Cin]
  return sh === 1 ? phases : calls.depthToSpaceCropped(phases, sh, [n, h, w, ci]);
}

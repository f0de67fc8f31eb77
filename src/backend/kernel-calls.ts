/**
 * Calls registered kernels of one backend directly on `TensorInfo`s, below the engine, the way a
 * backend's own kernels compose each other. Used to build the WASM training kernels out of the
 * backend's fast convolution. Every intermediate result is tracked and freed by `disposeTemps`.
 */
import * as tf from '@tensorflow/tfjs';
import { heapConv } from './heap-kernels';

/** Input `name` of a call of `kernel`; throws naming both when it is missing. */
export function kernelInput(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}

/** What the WASM backend offers for writing results in place. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Explicit spatial padding of a 2-D convolution; a negative side crops the input instead. */
export interface SignedPads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * A scope of direct kernel calls on one backend. Results of `run` and `write` are temporaries until
 * `keep` hands one to the caller; `disposeTemps` frees the rest.
 */
export class KernelCalls {
  private readonly temps: tf.TensorInfo[] = [];

  /**
   * @param backend the backend instance the calling kernel received
   * @param backendName the registry name of that backend (e.g. `'wasm'`)
   */
  constructor(
    readonly backend: tf.KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs kernel `kernelName` of this backend; the single output is tracked as a temporary. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName);
    if (config === undefined) {
      throw new Error(`kernel ${kernelName} is not registered for backend '${this.backendName}'`);
    }
    const out = config.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      throw new Error(`kernel ${kernelName} returned ${out.length} outputs where one was expected`);
    }
    this.temps.push(out);
    return out;
  }

  /** Uploads float32 `values` with `shape` to the backend; tracked as a temporary. */
  write(values: Float32Array, shape: number[]): tf.TensorInfo {
    const info: tf.TensorInfo = { dataId: this.backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
    this.temps.push(info);
    return info;
  }

  /** Reads the float32 values of `x` synchronously. */
  read(x: tf.TensorInfo): Float32Array {
    return this.backend.readSync(x.dataId) as Float32Array;
  }

  /** A view of `x` with another shape of the same size (row-major data unchanged; not tracked). */
  reshapeView(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    const size = shape.reduce((a, b) => a * b, 1);
    const xSize = x.shape.reduce((a, b) => a * b, 1);
    if (size !== xSize) throw new Error(`cannot view shape [${x.shape}] as [${shape}]`);
    return { dataId: x.dataId, shape, dtype: x.dtype };
  }

  /** `x` with its axes permuted by `perm` (Transpose kernel). */
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  /** The window `[begin, begin + size)` of `x` (Slice kernel). */
  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    return this.run(tf.Slice, { x }, { begin, size });
  }

  /** Zero padding of `x` by `paddings[d] = [before, after]` (PadV2 kernel). */
  pad(x: tf.TensorInfo, paddings: Array<[number, number]>): tf.TensorInfo {
    return this.run(tf.PadV2, { x }, { paddings, constantValue: 0 });
  }

  /** Concatenation of `xs` along `axis` (Concat kernel). */
  concat(xs: tf.TensorInfo[], axis: number): tf.TensorInfo {
    return this.run(tf.Concat, xs, { axis });
  }

  /** A float32 tensor of `shape` filled with zeros (Fill kernel). */
  zeros(shape: number[]): tf.TensorInfo {
    return this.run(tf.Fill, {}, { shape, value: 0, dtype: 'float32' });
  }

  /**
   * NHWC convolution with stride 1 (Conv2D kernel).
   * @param x input [N, H, W, Cin]
   * @param filter [kh, kw, Cin, Cout]
   * @param pads spatial padding; a negative side first crops that many rows/columns off `x`
   * @param dilations [dh, dw] of the filter
   * @returns [N, H + top + bottom − dh·(kh − 1), W + left + right − dw·(kw − 1), Cout]
   */
  conv2dStride1(x: tf.TensorInfo, filter: tf.TensorInfo, pads: SignedPads, dilations: [number, number]): tf.TensorInfo {
    const [n, h, w, c] = x.shape;
    const [kh, kw, , co] = filter.shape;
    if (dilations[0] === 1 && dilations[1] === 1 && this.heapConvSupports(co)) {
      const outShape = [n, h + pads.top + pads.bottom - kh + 1, w + pads.left + pads.right - kw + 1, co];
      return this.conv2dHeap(x, filter, [1, 1], pads.top, pads.left, outShape);
    }
    const cropTop = Math.max(0, -pads.top);
    const cropBottom = Math.max(0, -pads.bottom);
    const cropLeft = Math.max(0, -pads.left);
    const cropRight = Math.max(0, -pads.right);
    let input = x;
    if (cropTop + cropBottom + cropLeft + cropRight > 0) {
      input = this.slice(x, [0, cropTop, cropLeft, 0], [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c]);
    }
    const pad: Array<[number, number]> = [
      [0, 0],
      [Math.max(0, pads.top), Math.max(0, pads.bottom)],
      [Math.max(0, pads.left), Math.max(0, pads.right)],
      [0, 0],
    ];
    return this.run(
      tf.Conv2D,
      { x: input, filter },
      { strides: [1, 1], pad, dataFormat: 'NHWC', dilations },
    );
  }

  /** Whether {@link conv2dHeap} runs on this backend for a filter with `outChannels` outputs. */
  heapConvSupports(outChannels: number): boolean {
    return outChannels % 8 === 0 && heapConv(this.backend) !== undefined;
  }

  /**
   * NHWC convolution by the compiled kernel of conv2d.c, in place in the WASM backend's memory
   * (see {@link heapConvSupports}).
   * @param x input [N, H, W, Cin]
   * @param filter [kh, kw, Cin, Cout]
   * @param top rows of zero padding above the input (negative: rows skipped); likewise `left`
   * @param outShape [N, oh, ow, Cout]; the padding below and right is what this size implies
   */
  conv2dHeap(x: tf.TensorInfo, filter: tf.TensorInfo, strides: [number, number], top: number, left: number, outShape: number[]): tf.TensorInfo {
    const kernel = heapConv(this.backend)?.conv2d;
    if (kernel === undefined) throw new Error(`conv2dHeap: needs the WASM backend, not '${this.backendName}'`);
    const [n, h, w, ci] = x.shape;
    const [kh, kw, fci, co] = filter.shape;
    if (fci !== ci || outShape[0] !== n || outShape[3] !== co || co % 8 !== 0) {
      throw new Error(`conv2dHeap: cannot convolve [${x.shape}] with [${filter.shape}] into [${outShape}]`);
    }
    const [out] = this.runOnHeap([x, filter], [outShape], ([xp, fp, op]) =>
      kernel(xp, fp, op, n, h, w, ci, outShape[1], outShape[2], co, kh, kw, strides[0], strides[1], top, left),
    );
    return out;
  }

  /**
   * The input gradient of a convolution with `strides` by conv2d.c's `conv2d_input_grad`, in place
   * in the WASM heap (Cin % 8 == 0, see {@link heapConvSupports}).
   * @param dy [N, oh, ow, Cout]
   * @param flipped the filter from {@link flipTransposeHeap}, [kh, kw, Cout, Cin]
   * @param top, left the forward convolution's padding
   * @param inShape [N, H, W, Cin] of the forward input
   */
  conv2dInputGradHeap(dy: tf.TensorInfo, flipped: tf.TensorInfo, strides: [number, number], top: number, left: number, inShape: number[]): tf.TensorInfo {
    const kernel = heapConv(this.backend)?.conv2d_input_grad;
    if (kernel === undefined) throw new Error(`conv2dInputGradHeap: needs the WASM backend, not '${this.backendName}'`);
    const [n, oh, ow, co] = dy.shape;
    const [kh, kw, fco, ci] = flipped.shape;
    if (fco !== co || inShape[0] !== n || inShape[3] !== ci || ci % 8 !== 0) {
      throw new Error(`conv2dInputGradHeap: cannot take [${dy.shape}] with [${flipped.shape}] to [${inShape}]`);
    }
    const [dx] = this.runOnHeap([dy, flipped], [inShape], ([dyp, fp, dxp]) =>
      kernel(dyp, fp, dxp, n, inShape[1], inShape[2], ci, oh, ow, co, kh, kw, strides[0], strides[1], top, left),
    );
    return dx;
  }

  /**
   * The filter of a stride-1 input gradient, by conv2d.c's `flip_transpose`: `filter`
   * [kh, kw, Cin, Cout] flipped in both spatial axes and transposed to [kh, kw, Cout, Cin].
   */
  flipTransposeHeap(filter: tf.TensorInfo): tf.TensorInfo {
    const kernel = heapConv(this.backend)?.flip_transpose;
    if (kernel === undefined) throw new Error(`flipTransposeHeap: needs the WASM backend, not '${this.backendName}'`);
    const [kh, kw, ci, co] = filter.shape;
    const [out] = this.runOnHeap([filter], [[kh, kw, co, ci]], ([fp, op]) => kernel(fp, op, kh, kw, ci, co));
    return out;
  }

  /**
   * Interleaves channel groups into space (DepthToSpace, NHWC) and crops, in one pass over host memory
   * (the WASM DepthToSpace and rank-6 Transpose kernels are an order of magnitude slower than a copy).
   * @param x [N, Q, Qw, s·s·C], channel (a·s + b)·C + c holding output pixel (s·q + a, s·r + b)
   * @param outShape [N, H, W, C] with H ≤ s·Q and W ≤ s·Qw (the rest is cropped)
   * @returns [N, H, W, C]
   */
  depthToSpaceCropped(x: tf.TensorInfo, blockSize: number, outShape: [number, number, number, number]): tf.TensorInfo {
    const [n, q, qw, depth] = x.shape;
    const [, h, w, c] = outShape;
    const s = blockSize;
    if (depth !== s * s * c || h > q * s || w > qw * s || outShape[0] !== n) {
      throw new Error(`depthToSpaceCropped: cannot map [${x.shape}] with block ${s} to [${outShape}]`);
    }
    const src = this.read(x);
    const out = new Float32Array(n * h * w * c);
    const run = s * c; // out pixels s·r … s·r + s − 1 of one row are contiguous, as are their source channels
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < h; y++) {
        const qy = Math.floor(y / s);
        const a = y - qy * s;
        const srcRow = ((b * q + qy) * qw) * depth + a * run;
        const dstRow = (b * h + y) * w * c;
        for (let r = 0; r < qw; r++) {
          const len = Math.min(run, (w - r * s) * c);
          if (len <= 0) break;
          const from = srcRow + r * depth;
          out.set(src.subarray(from, from + len), dstRow + r * run);
        }
      }
    }
    return this.write(out, outShape);
  }

  /** `a [M, K] · b [K, N]` → `[M, N]` (BatchMatMul kernel on rank-3 views). */
  matMul(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    const [m, k] = a.shape;
    const [k2, n] = b.shape;
    if (a.shape.length !== 2 || b.shape.length !== 2 || k !== k2) {
      throw new Error(`matMul: cannot multiply [${a.shape}] by [${b.shape}]`);
    }
    const out = this.run(tf.BatchMatMul, { a: this.reshapeView(a, [1, m, k]), b: this.reshapeView(b, [1, k, n]) }, { transposeA: false, transposeB: false });
    return this.reshapeView(out, [m, n]);
  }

  /**
   * A new float32 tensor of `shape` filled by `fill(values)`. On WASM the values are written in
   * place in the module's heap; elsewhere they are uploaded. `fill` must write every element.
   */
  produce(shape: number[], fill: (values: Float32Array) => void): tf.TensorInfo {
    const heap = this.backend as unknown as Partial<HeapBackend>;
    if (typeof heap.makeOutput === 'function' && typeof heap.typedArrayFromHeap === 'function') {
      const out = heap.makeOutput(shape, 'float32');
      this.temps.push(out);
      fill(heap.typedArrayFromHeap(out) as Float32Array);
      return out;
    }
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(values);
    return this.write(values, shape);
  }

  /**
   * Runs a compiled kernel of `heap-kernels.ts` in place in the WASM heap: allocates float32
   * outputs of `outShapes` (uninitialised: the kernel writes every element; tracked as
   * temporaries), then calls `run` with the byte offsets of `inputs` and of the outputs, in that
   * order. The offsets are taken after every allocation, since one may grow (and move) the heap.
   * Throws on backends without a heap.
   */
  runOnHeap(inputs: tf.TensorInfo[], outShapes: number[][], run: (ptrs: number[]) => void): tf.TensorInfo[] {
    const heap = this.backend as unknown as Partial<HeapBackend>;
    if (typeof heap.makeOutput !== 'function') throw new Error(`runOnHeap: backend '${this.backendName}' has no heap`);
    const makeOutput = heap.makeOutput.bind(heap);
    const outs = outShapes.map((shape) => {
      const out = makeOutput(shape, 'float32');
      this.temps.push(out);
      return out;
    });
    run([...inputs, ...outs].map((t) => this.view(t).byteOffset));
    return outs;
  }

  /** The float32 values of `x`: a view of the heap on WASM (valid until the next allocation), a copy elsewhere. */
  view(x: tf.TensorInfo): Float32Array {
    const heap = this.backend as unknown as Partial<HeapBackend>;
    if (typeof heap.typedArrayFromHeap === 'function') return heap.typedArrayFromHeap(x) as Float32Array;
    return this.read(x);
  }

  /** Stops tracking the data of `x` (a result or a view of one) so that `disposeTemps` leaves it alive. */
  keep(x: tf.TensorInfo): tf.TensorInfo {
    const i = this.temps.findIndex((t) => t.dataId === x.dataId);
    if (i < 0) throw new Error(`keep: the data of the [${x.shape}] tensor was not made in this scope`);
    this.temps.splice(i, 1);
    return x;
  }

  /** Frees every tracked temporary. */
  disposeTemps(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/**
 * Kernels compiled to WebAssembly from `src/backend/wasm-kernels/*.c` (by
 * `scripts/build-wasm-kernels.sh`; the binaries are embedded in `*-wasm.ts`). Each module imports
 * the memory of TF.js's WASM backend, so it reads and writes tensors where they live: no copy in or
 * out. The modules use no stack and no data segment, so they write only the output they are given.
 */
import * as tf from '@tensorflow/tfjs';
import { WASM_BASE64 as BATCH_NORM_WASM } from './wasm-kernels/batch-norm-wasm';
import { WASM_BASE64 as CONV2D_WASM } from './wasm-kernels/conv2d-wasm';
import { WASM_BASE64 as FILTER_GRAD_WASM } from './wasm-kernels/filter-grad-wasm';

/**
 * The arguments the compiled convolution kernels share: three tensor pointers (byte offsets in the
 * backend's memory: two inputs, then the output), then the forward geometry.
 */
export type ConvCallArgs = [
  aPtr: number,
  bPtr: number,
  outPtr: number,
  n: number,
  h: number,
  w: number,
  ci: number,
  oh: number,
  ow: number,
  co: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  top: number,
  left: number,
];

/**
 * `filter_grad` of filter_grad.c: the filter gradient of an NHWC convolution, written to `dwPtr`.
 * Pointers are byte offsets in the backend's memory. Needs Cin % 4 == 0 and Cout % 8 == 0.
 * `chunkFloats`: input and output-gradient values per chunk of rows (see {@link FILTER_GRAD_CHUNK_FLOATS}).
 */
export type HeapFilterGradient = (...args: [...ConvCallArgs, chunkFloats: number]) => void;

/** The WebAssembly JS API of Node (its types are not in this project's TypeScript lib). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
};

/**
 * Chunk size of `filter_grad`: on a 2-core EPYC, W32's layers ran at 37–51 GFLOP/s with chunks
 * of 1,024 to 16,384 values, within 5% of each other except the smallest layers (best at 8,192+).
 */
export const FILTER_GRAD_CHUNK_FLOATS = 8192;

/** The part of the WASM backend this module uses: the Emscripten module's exported memory. */
interface WasmBackendMemory {
  wasm?: { asm?: { memory?: unknown } };
}

/**
 * `conv2d` of conv2d.c: an NHWC convolution with explicit zero padding, written to `outPtr`.
 * Pointers are byte offsets in the backend's memory. Needs Cout % 8 == 0.
 */
export type HeapConv2D = (...args: ConvCallArgs) => void;

/** `flip_transpose` of conv2d.c: w [kh, kw, Cin, Cout] → [kh, kw, Cout, Cin], both spatial axes flipped. */
export type HeapFlipTranspose = (filterPtr: number, outPtr: number, kh: number, kw: number, ci: number, co: number) => void;

/** The exports of conv2d.c. */
export interface HeapConvExports {
  conv2d: HeapConv2D;
  /**
   * The input gradient of a convolution of any stride: `(dyPtr, flippedPtr, dxPtr, n, h, w, ci,
   * oh, ow, co, kh, kw, sh, sw, top, left)`, the filter from `flip_transpose`. Needs Cin % 8 == 0.
   */
  conv2d_input_grad: HeapConv2D;
  flip_transpose: HeapFlipTranspose;
}

/** The exports of batch_norm.c (pointers are byte offsets in the backend's memory; c % 4 == 0). */
export interface HeapBatchNormExports {
  /** Train-mode BN forward of y [m, c]: out and xhat [m, c], stats [mean, var, alpha] (3c); scratch 4c. */
  bn_forward(
    yPtr: number,
    gammaPtr: number,
    betaPtr: number,
    outPtr: number,
    xhatPtr: number,
    statsPtr: number,
    scratchPtr: number,
    m: number,
    c: number,
    block: number,
    relu: number,
    eps: number,
  ): void;
  /** Eval-mode BatchNorm (FusedBatchNorm) of x [m, c] with per-channel statistics; scratch c. */
  bn_eval(xPtr: number, meanPtr: number, varPtr: number, offsetPtr: number, scalePtr: number, outPtr: number, scratchPtr: number, m: number, c: number, eps: number): void;
  /** Its gradient: dconv [m, c] and grads [dgamma, dbeta] (2c); `outPtr` is read only when `relu`; scratch 4c. */
  bn_backward(
    dyPtr: number,
    outPtr: number,
    xhatPtr: number,
    alphaPtr: number,
    dconvPtr: number,
    gradsPtr: number,
    scratchPtr: number,
    m: number,
    c: number,
    block: number,
    relu: number,
  ): void;
}

/** The exports of filter_grad.c. */
export interface HeapFilterGradExports {
  filter_grad: HeapFilterGradient;
}

/** One compiled module: its bytes, and its exports bound to each backend's memory. */
class HeapModule<E extends object> {
  private module: object | undefined;
  /** Per backend: its exports, or `null` when they cannot be bound to it. */
  private readonly byBackend = new WeakMap<object, E | null>();

  constructor(private readonly base64: string) {}

  /**
   * The exports bound to `backend`'s memory; `undefined` when `backend` is not the WASM backend or
   * its memory cannot be imported (the multi-threaded build's shared memory): the callers then use
   * the TF.js kernels.
   */
  bind(backend: tf.KernelBackend): E | undefined {
    const cached = this.byBackend.get(backend);
    if (cached !== undefined) return cached ?? undefined;
    const memory = backendMemory(backend);
    let exports: E | null = null;
    if (memory !== undefined) {
      try {
        this.module ??= new WebAssembly.Module(Buffer.from(this.base64, 'base64'));
        exports = new WebAssembly.Instance(this.module, { env: { memory } }).exports as unknown as E;
      } catch {
        exports = null;
      }
    }
    this.byBackend.set(backend, exports);
    return exports ?? undefined;
  }
}

const filterGradModule = new HeapModule<HeapFilterGradExports>(FILTER_GRAD_WASM);
const convModule = new HeapModule<HeapConvExports>(CONV2D_WASM);
const batchNormModule = new HeapModule<HeapBatchNormExports>(BATCH_NORM_WASM);

/** The memory of `backend` if it is TF.js's WASM backend, else `undefined`. */
function backendMemory(backend: tf.KernelBackend): WasmMemory | undefined {
  const memory = (backend as unknown as WasmBackendMemory).wasm?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/** The compiled filter gradient bound to `backend`'s memory; `undefined` off the WASM backend. */
export function heapFilterGradient(backend: tf.KernelBackend): HeapFilterGradient | undefined {
  return filterGradModule.bind(backend)?.filter_grad;
}

/** The compiled convolution kernels bound to `backend`'s memory; `undefined` off the WASM backend. */
export function heapConv(backend: tf.KernelBackend): HeapConvExports | undefined {
  return convModule.bind(backend);
}

/** The compiled train-mode BatchNorm bound to `backend`'s memory; `undefined` off the WASM backend. */
export function heapBatchNorm(backend: tf.KernelBackend): HeapBatchNormExports | undefined {
  return batchNormModule.bind(backend);
}

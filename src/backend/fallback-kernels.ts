/**
 * Training kernels for the fallback backends, built from each backend's forward convolution
 * (see `conv-grad-kernels.ts`). WASM has no `Conv2DBackpropFilter` and a `Conv2DBackpropInput`
 * about ten times slower than its forward convolution: both are replaced. The pure-JS cpu
 * backend's own `Conv2DBackpropFilter` is two orders of magnitude slower than its forward
 * convolution: it is replaced too. WASM's `Transpose`, which those gradients call on every
 * activation, is replaced by a tiled one (`transpose-kernel.ts`).
 */
import * as tf from '@tensorflow/tfjs';
// Registers the stock WASM kernels first, so that the ones below replace them and not the reverse.
import '@tensorflow/tfjs-backend-wasm';
import {
  Conv2DBackpropFilterKernelAttrs,
  Conv2DBackpropInputKernelAttrs,
  conv2DBackpropFilterFast,
  conv2DBackpropInputViaConv,
  inputGradientSupported,
} from './conv-grad-kernels';
import { BATCH_NORM_TRAIN, fusedBatchNormOnHeap, registerWasmBatchNormKernels } from './batch-norm-kernel';
import { Conv2DKernelAttrs, conv2DOnHeap } from './conv-kernel';
import { wasmTransposeKernel } from './transpose-kernel';

const WASM = 'wasm';

/**
 * Kernels a training step of HRNet runs (forward ops and the kernels their gradients call):
 * convolution and its gradients, BatchNorm arithmetic, ReLU, nearest upsampling (reshape + tile),
 * the fuse sums, the joint-weighted MSE loss and the optimizer updates.
 */
export const HRNET_TRAINING_KERNELS: readonly string[] = [
  tf.Conv2D,
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.Relu,
  tf.Step,
  tf.Cast,
  tf.Add,
  tf.AddN,
  tf.Sub,
  tf.Multiply,
  tf.RealDiv,
  tf.Neg,
  tf.Mean,
  tf.Sum,
  tf.Square,
  tf.SquaredDifference,
  tf.Sqrt,
  tf.Rsqrt,
  tf.Pow,
  tf.Maximum,
  tf.Minimum,
  tf.GreaterEqual,
  tf.Greater,
  tf.Less,
  tf.LessEqual,
  tf.Select,
  tf.Reshape,
  tf.Tile,
  tf.PadV2,
  tf.Transpose,
  tf.Concat,
  tf.Slice,
  tf.SplitV,
  tf.Fill,
  tf.ZerosLike,
  tf.OnesLike,
  tf.Identity,
  tf.Abs,
  tf.Sign,
];

/** The stock `Conv2DBackpropInput`, kept for what the convolution-based kernel does not take (NCHW, unequal strides). */
let stockConv2DBackpropInput: tf.KernelConfig | undefined;
/** The stock (XNNPACK) `Conv2D`, kept for what the compiled one does not take. */
let stockConv2D: tf.KernelConfig | undefined;
/** The stock `FusedBatchNorm`, kept for what the compiled one does not take. */
let stockFusedBatchNorm: tf.KernelConfig | undefined;

function fusedBatchNormKernel(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const eps = (params.attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
  const out = fusedBatchNormOnHeap(params.inputs, params.backend as tf.KernelBackend, eps);
  if (out !== undefined) return out;
  if (stockFusedBatchNorm === undefined) throw new Error('FusedBatchNorm: the stock WASM kernel is not registered');
  return stockFusedBatchNorm.kernelFunc(params);
}

function conv2DKernel(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const out = conv2DOnHeap(params.inputs, params.backend as tf.KernelBackend, params.attrs as unknown as Conv2DKernelAttrs);
  if (out !== undefined) return out;
  if (stockConv2D === undefined) throw new Error('Conv2D: the stock WASM kernel is not registered');
  return stockConv2D.kernelFunc(params);
}

function conv2DBackpropFilterKernel(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  return conv2DBackpropFilterFast({
    inputs: params.inputs,
    backend: params.backend as tf.KernelBackend,
    attrs: params.attrs as unknown as Conv2DBackpropFilterKernelAttrs,
  });
}

function conv2DBackpropInputKernel(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const attrs = params.attrs as unknown as Conv2DBackpropInputKernelAttrs;
  if (!inputGradientSupported(attrs) && stockConv2DBackpropInput !== undefined) {
    return stockConv2DBackpropInput.kernelFunc(params);
  }
  return conv2DBackpropInputViaConv({ inputs: params.inputs, backend: params.backend as tf.KernelBackend, attrs });
}

/** Whether the project's kernels are the ones currently registered for WASM. */
export function wasmTrainingKernelsRegistered(): boolean {
  return (
    tf.getKernel(tf.Conv2DBackpropFilter, WASM)?.kernelFunc === conv2DBackpropFilterKernel &&
    tf.getKernel(tf.Conv2DBackpropInput, WASM)?.kernelFunc === conv2DBackpropInputKernel &&
    tf.getKernel(tf.Transpose, WASM)?.kernelFunc === wasmTransposeKernel &&
    tf.getKernel(tf.Conv2D, WASM)?.kernelFunc === conv2DKernel &&
    tf.getKernel(BATCH_NORM_TRAIN, WASM) !== undefined &&
    tf.getKernel(tf.FusedBatchNorm, WASM)?.kernelFunc === fusedBatchNormKernel
  );
}

/**
 * Registers `Conv2DBackpropFilter` and `Conv2DBackpropInput` for the WASM backend, replacing the
 * stock ones. Idempotent; may run before or after the backend is initialised, and must run
 * before a gradient of `conv2d` is taken on WASM.
 */
export function registerWasmTrainingKernels(): void {
  if (wasmTrainingKernelsRegistered()) return;

  const stockInput = tf.getKernel(tf.Conv2DBackpropInput, WASM);
  if (stockInput !== undefined) {
    if (stockInput.kernelFunc !== conv2DBackpropInputKernel) stockConv2DBackpropInput = stockInput;
    tf.unregisterKernel(tf.Conv2DBackpropInput, WASM);
  }
  const stockFilter = tf.getKernel(tf.Conv2DBackpropFilter, WASM);
  if (stockFilter !== undefined) tf.unregisterKernel(tf.Conv2DBackpropFilter, WASM);

  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: WASM, kernelFunc: conv2DBackpropFilterKernel });
  const stockTranspose = tf.getKernel(tf.Transpose, WASM);
  if (stockTranspose !== undefined) tf.unregisterKernel(tf.Transpose, WASM);
  tf.registerKernel({
    kernelName: tf.Transpose,
    backendName: WASM,
    kernelFunc: wasmTransposeKernel,
    // Other stock kernels call the stock transpose's WASM binding, which this sets up.
    setupFunc: stockTranspose?.setupFunc,
  });
  registerWasmBatchNormKernels();
  const stockBn = tf.getKernel(tf.FusedBatchNorm, WASM);
  if (stockBn !== undefined) {
    if (stockBn.kernelFunc !== fusedBatchNormKernel) stockFusedBatchNorm = stockBn;
    tf.unregisterKernel(tf.FusedBatchNorm, WASM);
  }
  tf.registerKernel({ kernelName: tf.FusedBatchNorm, backendName: WASM, kernelFunc: fusedBatchNormKernel, setupFunc: stockFusedBatchNorm?.setupFunc });
  const stockConv = tf.getKernel(tf.Conv2D, WASM);
  if (stockConv !== undefined) {
    if (stockConv.kernelFunc !== conv2DKernel) stockConv2D = stockConv;
    tf.unregisterKernel(tf.Conv2D, WASM);
  }
  tf.registerKernel({
    kernelName: tf.Conv2D,
    backendName: WASM,
    kernelFunc: conv2DKernel,
    // The stock kernel's WASM bindings are set up with the backend; kept for the other geometries.
    setupFunc: stockConv2D?.setupFunc,
  });
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropInput,
    backendName: WASM,
    kernelFunc: conv2DBackpropInputKernel,
    // The stock kernel's WASM bindings are set up with the backend; keep that for the NCHW fallback.
    setupFunc: stockConv2DBackpropInput?.setupFunc,
  });
}

function cpuConv2DBackpropFilterKernel(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  return conv2DBackpropFilterFast(
    {
      inputs: params.inputs,
      backend: params.backend as tf.KernelBackend,
      attrs: params.attrs as unknown as Conv2DBackpropFilterKernelAttrs,
    },
    'cpu',
    'conv',
  );
}

/** Replaces the cpu backend's `Conv2DBackpropFilter` with the convolution-based one. Idempotent. */
export function registerCpuTrainingKernels(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')?.kernelFunc === cpuConv2DBackpropFilterKernel) return;
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'cpu') !== undefined) tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: 'cpu', kernelFunc: cpuConv2DBackpropFilterKernel });
}

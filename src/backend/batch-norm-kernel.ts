/**
 * Train-mode BatchNorm (+ ReLU) as two kernels of the WASM backend, by the compiled code of
 * batch_norm.c: the forward and its gradient each stream the activation two or three times,
 * where the same computation in TF.js ops makes about ten passes and as many temporaries. The
 * model (`convBnTrain` in nn.ts) uses them when they are registered for the active backend, and
 * the TF.js ops otherwise; on WASM both give the same values, to the bit (see batch_norm.c). The WebGPU
 * backend registers the same kernel names (batch-norm-webgpu.ts), with the same values.
 */
import * as tf from '@tensorflow/tfjs';
import { heapBatchNorm } from './heap-kernels';
import { KernelCalls, kernelInput } from './kernel-calls';

/**
 * Kernel name of the forward: inputs `y` [m, c], `gamma`, `beta` [c]; outputs out, xhat [m, c] and stats [3, c]
 * (mean, biased var, gamma/√(var+ε)). `y` may have any rank ≥ 2 (a convolution's [n, h, w, c]): its last axis is
 * the channel and the others are the m rows, and out and xhat have its shape, so that the model reshapes nothing.
 */
export const BATCH_NORM_TRAIN = 'HRNetBatchNormTrain';
/**
 * Kernel name of the gradient: inputs `dy`, `xhat` [m, c], the forward's `stats` [3, c] (it reads α, the last
 * row), `out` [m, c] (after a ReLU); outputs dconv [m, c], dgamma and dbeta [c]. As in the forward, [m, c] is
 * any shape whose last axis is the channel; dconv has the shape of `dy`.
 */
export const BATCH_NORM_TRAIN_GRAD = 'HRNetBatchNormTrainGrad';
/**
 * Kernel name of the forward with PyTorch's running-statistics update: the inputs of {@link BATCH_NORM_TRAIN} and
 * the running `mean` and `variance` [c]; its outputs, then the new mean and variance [c],
 * `running·(1 − momentum) + s·momentum` with s the batch mean, or the biased variance made unbiased by
 * `m / (m − 1)`, each product and sum rounded to float32 as the TF.js ops round them. Registered where a
 * dispatch costs more than the arithmetic (WebGPU, where the update is part of a pass the forward makes
 * anyway); elsewhere the model runs {@link BATCH_NORM_TRAIN} and the ops.
 */
export const BATCH_NORM_TRAIN_RUNNING = 'HRNetBatchNormTrainRunning';

/** Attributes of both kernels. */
export interface BatchNormTrainAttrs {
  /** A ReLU follows the BatchNorm. */
  relu: boolean;
  /** Rows per block of the blocked channel sums (`channelSumBlock`: a divisor of m, or m). */
  block: number;
  /** ε added to the variance (forward only). */
  eps?: number;
}

/** Attributes of {@link BATCH_NORM_TRAIN_RUNNING}. */
export interface BatchNormTrainRunningAttrs extends BatchNormTrainAttrs {
  /** PyTorch's BatchNorm momentum (the weight of the batch's statistic). */
  momentum: number;
}

/**
 * The rows m and channels c of a kernel's activation (any rank ≥ 2, channels last), checked against the block of
 * the channel sums.
 */
export function rowsAndChannels(kernel: string, x: tf.TensorInfo, block: number): { m: number; c: number } {
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.length >= 2 && c > 0 ? tf.util.sizeFromShape(x.shape) / c : 0;
  if (x.shape.length < 2 || !(block >= 1) || m % block !== 0) {
    throw new Error(`${kernel}: needs an input of rank 2 or more, channels last, and a block dividing its rows (got [${x.shape}], block ${block})`);
  }
  return { m, c };
}

/** Throws unless `stats` is the [3, c] statistics of a forward over `c` channels. */
export function checkStatsShape(kernel: string, stats: tf.TensorInfo, c: number): void {
  if (stats.shape.length !== 2 || stats.shape[0] !== 3 || stats.shape[1] !== c) {
    throw new Error(`${kernel}: 'stats' must be the forward's [3, ${c}] statistics (got [${stats.shape}])`);
  }
}

function batchNormTrain({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const a = attrs as unknown as BatchNormTrainAttrs;
  const y = kernelInput(inputs, 'y', BATCH_NORM_TRAIN);
  const gamma = kernelInput(inputs, 'gamma', BATCH_NORM_TRAIN);
  const beta = kernelInput(inputs, 'beta', BATCH_NORM_TRAIN);
  const { m, c } = rowsAndChannels(BATCH_NORM_TRAIN, y, a.block);
  const b = backend as tf.KernelBackend;
  const bn = heapBatchNorm(b);
  if (bn === undefined || c % 4 !== 0) throw new Error(`${BATCH_NORM_TRAIN}: needs the WASM backend and c % 4 == 0 (got [${y.shape}])`);
  const calls = new KernelCalls(b, 'wasm');
  try {
    const [out, xhat, stats] = calls.runOnHeap([y, gamma, beta], [y.shape, y.shape, [3, c], [4, c]], ([yp, gp, bp, op, xp, sp, scratch]) =>
      bn.bn_forward(yp, gp, bp, op, xp, sp, scratch, m, c, a.block, a.relu ? 1 : 0, a.eps ?? 1e-5),
    );
    return [calls.keep(out), calls.keep(xhat), calls.keep(stats)];
  } finally {
    calls.disposeTemps();
  }
}

function batchNormTrainGrad({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const a = attrs as unknown as BatchNormTrainAttrs;
  const dy = kernelInput(inputs, 'dy', BATCH_NORM_TRAIN_GRAD);
  const xhat = kernelInput(inputs, 'xhat', BATCH_NORM_TRAIN_GRAD);
  const stats = kernelInput(inputs, 'stats', BATCH_NORM_TRAIN_GRAD);
  const out = a.relu ? kernelInput(inputs, 'out', BATCH_NORM_TRAIN_GRAD) : xhat;
  const { m, c } = rowsAndChannels(BATCH_NORM_TRAIN_GRAD, dy, a.block);
  const b = backend as tf.KernelBackend;
  const bn = heapBatchNorm(b);
  if (bn === undefined || c % 4 !== 0) throw new Error(`${BATCH_NORM_TRAIN_GRAD}: needs the WASM backend and c % 4 == 0 (got [${dy.shape}])`);
  checkStatsShape(BATCH_NORM_TRAIN_GRAD, stats, c);
  const calls = new KernelCalls(b, 'wasm');
  try {
    // α is the last row of stats: 2c floats in.
    const [dconv, grads] = calls.runOnHeap([dy, out, xhat, stats], [dy.shape, [2, c], [4, c]], ([dyp, op, xp, sp, dp, gp, scratch]) =>
      bn.bn_backward(dyp, op, xp, sp + 8 * c, dp, gp, scratch, m, c, a.block, a.relu ? 1 : 0),
    );
    // batch_norm.c writes dγ then dβ; the kernel hands them on as the parameters' gradients.
    const dgamma = calls.produce([c], (values) => values.set(calls.view(grads).subarray(0, c)));
    const dbeta = calls.produce([c], (values) => values.set(calls.view(grads).subarray(c, 2 * c)));
    return [calls.keep(dconv), calls.keep(dgamma), calls.keep(dbeta)];
  } finally {
    calls.disposeTemps();
  }
}

/**
 * `FusedBatchNorm` (eval-mode BatchNorm, `tf.batchNorm`) by the compiled kernel when the statistics
 * are per channel of the last axis and the channels a multiple of 4; `undefined` otherwise (the
 * caller runs the stock kernel). Same formula and float32 rounding as the stock WASM kernel.
 */
export function fusedBatchNormOnHeap(inputs: tf.NamedTensorInfoMap, backend: tf.KernelBackend, varianceEpsilon: number): tf.TensorInfo | undefined {
  const { x, mean, variance, offset, scale } = inputs;
  const bn = heapBatchNorm(backend);
  if (bn === undefined || x === undefined || mean === undefined || variance === undefined || offset === undefined || scale === undefined) return undefined;
  const c = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((a, b) => a * b, 1);
  const perChannel = [mean, variance, offset, scale].every((t) => t.shape.length === 1 && t.shape[0] === c);
  if (!perChannel || c % 4 !== 0 || size === 0 || x.dtype !== 'float32') return undefined;
  const calls = new KernelCalls(backend, 'wasm');
  try {
    const [out] = calls.runOnHeap([x, mean, variance, offset, scale], [x.shape, [c]], ([xp, mp, vp, op, sp, outp, scratch]) =>
      bn.bn_eval(xp, mp, vp, op, sp, outp, scratch, size / c, c, varianceEpsilon),
    );
    return calls.keep(out);
  } finally {
    calls.disposeTemps();
  }
}

/** Registers both kernels for the WASM backend. Idempotent. */
export function registerWasmBatchNormKernels(): void {
  if (tf.getKernel(BATCH_NORM_TRAIN, 'wasm') === undefined) {
    tf.registerKernel({ kernelName: BATCH_NORM_TRAIN, backendName: 'wasm', kernelFunc: batchNormTrain });
  }
  if (tf.getKernel(BATCH_NORM_TRAIN_GRAD, 'wasm') === undefined) {
    tf.registerKernel({ kernelName: BATCH_NORM_TRAIN_GRAD, backendName: 'wasm', kernelFunc: batchNormTrainGrad });
  }
}

/**
 * The weighted sum of data-parallel chunk gradients as one kernel of the WebGPU backend: `s + g·w` for every
 * parameter of a network, where the TF.js ops take a multiplication and an addition a parameter (and upload the
 * weight as a scalar each time). With the replicas of `GPUS` computed in turn on one GPU that was two dispatches
 * a parameter and chunk: for HRNet's 878 parameter tensors, as many dispatches for two chunks as their forward
 * and backward passes make. Here, as in the multi-tensor Adam kernels (adam-kernel.ts), the gradients (and the
 * sums so far) of a group of parameters are copied into flat buffers, one dispatch computes the group, and the
 * results are copied out into tensors of each parameter's shape. The float32 operations are the ops', the
 * product rounded before the sum: on a driver without fused multiply-add (SwiftShader) the same bits (a test
 * holds them to it); a GPU's shader compiler may fuse the two, which changes the last bit of a few values.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelInput } from './kernel-calls';
import { ElementwiseSpec, ForeachItem, groupValues, programVariants, runForeach, WebGpuKernelBackend } from './webgpu-program';

/**
 * Kernel name: the weighted sum of n gradients, and with `accumulate` their addition to n sums. Inputs `g0`, …,
 * `g(n-1)`, and with `accumulate` also `s0`, …, `s(n-1)` of the same shapes; outputs `s_i + g_i·w` (or `g_i·w`)
 * for each i in turn.
 */
export const ACCUMULATE_FOREACH = 'HRNetAccumulateForeach';

/** Attributes of {@link ACCUMULATE_FOREACH}. */
export interface AccumulateForeachAttrs {
  /** Number of parameters. */
  n: number;
  /** The chunk's weight w (rounded to float32, as the ops round a number operand). */
  weight: number;
  /** Whether the inputs include sums `s_i` to add to; without, the outputs are the weighted gradients. */
  accumulate: boolean;
  /** Values a group may hold at most (default: 4 Mi values, or fewer where the device binds less). */
  maxGroupValues?: number;
}

/** The program: one thread per value; `S + G·w` as `tf.add(s, tf.mul(g, w))` computes it, or `G·w`. */
const accumulateProgram = programVariants(
  (accumulate: boolean): ElementwiseSpec => ({
    key: `accumulate${accumulate ? '_sum' : ''}`,
    inputs: accumulate ? ['G', 'S'] : ['G'],
    outputs: ['Out'],
    uniforms: 'weight : f32,',
    body: accumulate ? 'let t = G[index] * uniforms.weight; Out[index] = S[index] + t;' : 'Out[index] = G[index] * uniforms.weight;',
  }),
);

function accumulateForeachWebGpu({ inputs, backend: b, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const backend = b as unknown as WebGpuKernelBackend;
  const a = attrs as unknown as AccumulateForeachAttrs;
  if (!Number.isInteger(a.n) || a.n < 1) throw new Error(`${ACCUMULATE_FOREACH}: attribute n must be a positive integer, got ${a.n}`);
  const terms: ForeachItem[] = Array.from({ length: a.n }, (_, i) => {
    const g = kernelInput(inputs, `g${i}`, ACCUMULATE_FOREACH);
    if (!a.accumulate) return { inputs: [g], size: tf.util.sizeFromShape(g.shape) };
    const s = kernelInput(inputs, `s${i}`, ACCUMULATE_FOREACH);
    if (!tf.util.arraysEqual(s.shape, g.shape)) throw new Error(`${ACCUMULATE_FOREACH}: s${i} has shape [${s.shape}], g${i} has [${g.shape}]`);
    return { inputs: [g, s], size: tf.util.sizeFromShape(g.shape) };
  });
  return runForeach(backend, accumulateProgram(a.accumulate), terms, [{ type: 'float32', data: [a.weight] }], groupValues(backend, a.maxGroupValues));
}

/** Registers the kernel for TF.js's WebGPU backend (`webgpu`). Idempotent. */
export function registerWebGpuAccumulateKernel(): void {
  if (tf.getKernel(ACCUMULATE_FOREACH, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: ACCUMULATE_FOREACH, backendName: 'webgpu', kernelFunc: accumulateForeachWebGpu });
  }
}

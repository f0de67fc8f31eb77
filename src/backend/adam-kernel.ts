/**
 * The Adam update of one parameter as one kernel of the WebGPU backend. In TF.js ops the update is thirteen
 * element-wise ops, each a dispatch of its own and a temporary: for a network of some 300 parameter tensors
 * that is about 4,000 dispatches a step, most of them on tensors of a few hundred values, where the cost of
 * a dispatch is all there is. The kernel computes the same float32 operations in the same order in one
 * dispatch that writes the three results (parameter, moment, second moment). Two kernels update many parameters
 * with one dispatch a group, as PyTorch's multi-tensor ("foreach") Adam: {@link ADAM_FOREACH} with moments of each
 * parameter's shape, {@link ADAM_FLAT} with moments kept flat from step to step. The optimizer (`Adam` in
 * train/optim.ts) uses them when they are registered for the active backend, and the TF.js ops otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelInput } from './kernel-calls';
import { BufferCopy, ElementwiseSpec, emptyTensor, ForeachItem, groupsOf, groupValues, programVariants, recordCopies, runElementwise, runForeach, submitRecorded, WebGpuKernelBackend, withTemps } from './webgpu-program';

/** Kernel name: inputs `p`, `g`, `m`, `v` of one shape; outputs the new p, m and v. */
export const ADAM_UPDATE = 'HRNetAdamUpdate';

/**
 * Kernel name: the Adam update of n parameters with the same coefficients (PyTorch's multi-tensor "foreach"
 * Adam). Inputs `p0`, `g0`, `m0`, `v0`, `p1`, …; outputs the new p, m and v of each parameter in turn.
 */
export const ADAM_FOREACH = 'HRNetAdamForeach';

/**
 * Kernel name: the Adam update of n parameters whose moments live in two flat tensors (the parameters' values
 * one after another). Inputs `p0`, `g0`, `p1`, `g1`, …, and `m`, `v` of shape [Σ sizes]; outputs the new p of
 * each parameter in turn, then the new m and v. Parameters, gradients and moments of one call must fit one
 * storage binding: cut larger sets with {@link adamFlatGroups}.
 */
export const ADAM_FLAT = 'HRNetAdamFlat';

/**
 * Attributes of {@link ADAM_UPDATE}: the coefficients of one Adam step, each already rounded to float32 (PyTorch
 * passes Python floats to float32 kernels); `stepSize` and `biasCorrection2Sqrt` depend on the step count t.
 */
export interface AdamUpdateAttrs {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  eps: number;
  /** `null` when weight decay is 0 (then no L2 term, as PyTorch) */
  weightDecay: number | null;
  /** `lr / (1 − β1^t)`, computed in float64 */
  stepSize: number;
  /** `sqrt(1 − β2^t)`, computed in float64 */
  biasCorrection2Sqrt: number;
}

/** Attributes of {@link ADAM_FLAT}: the coefficients and the number of parameters. */
export interface AdamFlatAttrs extends AdamUpdateAttrs {
  n: number;
}

/** Attributes of {@link ADAM_FOREACH}: the coefficients, the number of parameters, and optionally a smaller group size. */
export interface AdamForeachAttrs extends AdamUpdateAttrs {
  n: number;
  /** Values a group may hold at most (default: 4 Mi values, or fewer where the device binds less). */
  maxGroupValues?: number;
}

const ADAM_UNIFORMS = 'beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, eps : f32, weightDecay : f32, stepSize : f32, biasCorrection2Sqrt : f32,';

/**
 * The program: one thread per element computes the update and writes the three results. The coefficients are
 * uniforms, so one compiled pipeline serves every step (the step size changes with the step count).
 */
const adamProgram = programVariants((decay: boolean): ElementwiseSpec => {
  // PyTorch's order of operations (see `Adam` in train/optim.ts), as the TF.js ops compute it.
  const g = decay ? 'G[index] + P[index] * uniforms.weightDecay' : 'G[index]';
  return {
    key: `adam${decay ? '_decay' : ''}`,
    inputs: ['P', 'G', 'M', 'V'],
    outputs: ['PNew', 'MNew', 'VNew'],
    uniforms: ADAM_UNIFORMS,
    uniformsPerCall: true,
    body: `let g = ${g};
      let m = M[index] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
      let v = V[index] * uniforms.beta2 + (g * uniforms.oneMinusBeta2) * g;
      PNew[index] = P[index] - (m * uniforms.stepSize) / (sqrt(v) / uniforms.biasCorrection2Sqrt + uniforms.eps);
      MNew[index] = m;
      VNew[index] = v;`,
  };
});

/** The kernel's coefficients as the program's uniforms. */
function adamUniforms(a: AdamUpdateAttrs): { type: 'float32'; data: number[] }[] {
  return [a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.eps, a.weightDecay ?? 0, a.stepSize, a.biasCorrection2Sqrt].map((x) => ({ type: 'float32' as const, data: [x] }));
}

function adamUpdateWebGpu({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const a = attrs as unknown as AdamUpdateAttrs;
  const { p, g, m, v } = inputs;
  if (p === undefined || g === undefined || m === undefined || v === undefined) throw new Error(`${ADAM_UPDATE}: needs inputs p, g, m and v`);
  for (const [name, t] of [['g', g], ['m', m], ['v', v]] as const) {
    if (!tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`${ADAM_UPDATE}: ${name} has shape [${t.shape}], p has [${p.shape}]`);
  }
  return runElementwise(backend, adamProgram(a.weightDecay !== null), [p, g, m, v], p.shape.slice(), adamUniforms(a));
}

/**
 * Parameters of `sizes` values cut in order into the groups of a {@link ADAM_FLAT} call each, as indices into
 * `sizes`: at most `maxGroupValues` (default 4 Mi) values a group, and no more than the active WebGPU backend
 * binds; a parameter larger than that is a group alone (and fails the call where the device cannot bind it).
 */
export function adamFlatGroups(sizes: number[], maxGroupValues?: number): number[][] {
  const max = groupValues(tf.backend(), maxGroupValues);
  return groupsOf(
    sizes.map((size, index) => ({ size, index })),
    max,
  ).map((group) => group.map((q) => q.index));
}

/**
 * The flat update: the parameters and gradients are copied into two flat buffers, one dispatch of the program
 * of {@link ADAM_UPDATE} updates them with the flat moments, and the new parameters are copied out into tensors
 * of each parameter's shape. The moments stay flat from step to step, so where {@link ADAM_FOREACH} copies
 * seven values a parameter value (and makes three tensors a parameter), this copies three (and makes one).
 */
function adamFlatWebGpu({ inputs, backend: b, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const backend = b as unknown as WebGpuKernelBackend;
  const a = attrs as unknown as AdamFlatAttrs;
  if (!Number.isInteger(a.n) || a.n < 1) throw new Error(`${ADAM_FLAT}: attribute n must be a positive integer, got ${a.n}`);
  const params = Array.from({ length: a.n }, (_, i) => {
    const p = kernelInput(inputs, `p${i}`, ADAM_FLAT);
    const g = kernelInput(inputs, `g${i}`, ADAM_FLAT);
    if (!tf.util.arraysEqual(g.shape, p.shape)) throw new Error(`${ADAM_FLAT}: g${i} has shape [${g.shape}], p${i} has [${p.shape}]`);
    return { p, g, size: tf.util.sizeFromShape(p.shape) };
  });
  const offsets: number[] = [];
  let total = 0;
  for (const q of params) {
    offsets.push(total);
    total += q.size;
  }
  const moments = (['m', 'v'] as const).map((k) => {
    const t = kernelInput(inputs, k, ADAM_FLAT);
    if (t.shape.length !== 1 || t.shape[0] !== total) throw new Error(`${ADAM_FLAT}: ${k} must have shape [${total}] (the parameters' values), got [${t.shape}]`);
    return t;
  });
  const max = groupValues(backend);
  if (total > max) throw new Error(`${ADAM_FLAT}: ${total} values do not fit one storage binding of this device (${max} values); cut the parameters with adamFlatGroups`);
  const outs = withTemps(backend, (temp) => {
    const [p, g] = [0, 1].map(() => temp(emptyTensor(backend, [total])));
    recordCopies(
      backend,
      params.flatMap((q, i): BufferCopy[] => [
        { from: q.p, fromOffset: 0, to: p, toOffset: offsets[i], length: q.size },
        { from: q.g, fromOffset: 0, to: g, toOffset: offsets[i], length: q.size },
      ]),
    );
    const [pNew, mNew, vNew] = runElementwise(backend, adamProgram(a.weightDecay !== null), [p, g, ...moments], [total], adamUniforms(a)).map(temp);
    const perParam = params.map((q) => temp(emptyTensor(backend, q.p.shape.slice())));
    recordCopies(
      backend,
      params.map((q, i) => ({ from: pNew, fromOffset: offsets[i], to: perParam[i], toOffset: 0, length: q.size })),
    );
    return [...perParam, mNew, vNew];
  });
  // The flat temporaries go back to the pool before the next group asks for its own.
  submitRecorded(backend);
  return outs;
}

/**
 * The foreach update: per group, the parameters, gradients and moments are copied into four flat buffers, one
 * dispatch of the same program as {@link ADAM_UPDATE} updates them all, and the results are copied out into
 * tensors of each parameter's shape. Copies cost the host a few microseconds each and the GPU a pass over
 * memory; a dispatch costs the host a bind group of eight buffers and uniforms, about 100 µs in Dawn's Node
 * bindings, so a network of some 900 parameter tensors saves most of a tenth of its training step's host time.
 * The values are the per-parameter kernel's, bit for bit.
 */
function adamForeachWebGpu({ inputs, backend: b, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const backend = b as unknown as WebGpuKernelBackend;
  const a = attrs as unknown as AdamForeachAttrs;
  if (!Number.isInteger(a.n) || a.n < 1) throw new Error(`${ADAM_FOREACH}: attribute n must be a positive integer, got ${a.n}`);
  const params: ForeachItem[] = Array.from({ length: a.n }, (_, i) => {
    const [p, g, m, v] = (['p', 'g', 'm', 'v'] as const).map((k) => kernelInput(inputs, `${k}${i}`, ADAM_FOREACH));
    for (const [name, t] of [[`g${i}`, g], [`m${i}`, m], [`v${i}`, v]] as const) {
      if (!tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`${ADAM_FOREACH}: ${name} has shape [${t.shape}], p${i} has [${p.shape}]`);
    }
    return { inputs: [p, g, m, v], size: tf.util.sizeFromShape(p.shape) };
  });
  return runForeach(backend, adamProgram(a.weightDecay !== null), params, adamUniforms(a), groupValues(backend, a.maxGroupValues));
}

/** Registers the three kernels for TF.js's WebGPU backend (`webgpu`). Idempotent. */
export function registerWebGpuAdamKernel(): void {
  if (tf.getKernel(ADAM_UPDATE, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'webgpu', kernelFunc: adamUpdateWebGpu });
  }
  if (tf.getKernel(ADAM_FOREACH, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: ADAM_FOREACH, backendName: 'webgpu', kernelFunc: adamForeachWebGpu });
  }
  if (tf.getKernel(ADAM_FLAT, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: ADAM_FLAT, backendName: 'webgpu', kernelFunc: adamFlatWebGpu });
  }
}

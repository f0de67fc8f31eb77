/**
 * The Adam update of one parameter as one kernel of the WebGPU backend. In TF.js ops the update is thirteen
 * element-wise ops, each a dispatch of its own and a temporary: for a network of some 300 parameter tensors
 * that is about 4,000 dispatches a step, most of them on tensors of a few hundred values, where the cost of
 * a dispatch is all there is. The kernel computes the same float32 operations in the same order in one
 * dispatch that writes the three results (parameter, moment, second moment). The optimizer (`Adam` in train/optim.ts)
 * uses it when it is registered for the active backend, and the TF.js ops otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseSpec, runElementwise } from './webgpu-program';

/** Kernel name: inputs `p`, `g`, `m`, `v` of one shape; outputs the new p, m and v. */
export const ADAM_UPDATE = 'HRNetAdamUpdate';

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

const ADAM_UNIFORMS = 'beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, eps : f32, weightDecay : f32, stepSize : f32, biasCorrection2Sqrt : f32,';

/**
 * The program: one thread per element computes the update and writes the three results. The coefficients are
 * uniforms, so one compiled pipeline serves every step (the step size changes with the step count).
 */
function adamProgram(decay: boolean): ElementwiseSpec {
  // PyTorch's order of operations (see `Adam` in train/optim.ts), as the TF.js ops compute it.
  const g = decay ? 'G[index] + P[index] * uniforms.weightDecay' : 'G[index]';
  return {
    key: `adam${decay ? '_decay' : ''}`,
    inputs: ['P', 'G', 'M', 'V'],
    outputs: ['PNew', 'MNew', 'VNew'],
    uniforms: ADAM_UNIFORMS,
    body: `let g = ${g};
      let m = M[index] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
      let v = V[index] * uniforms.beta2 + (g * uniforms.oneMinusBeta2) * g;
      PNew[index] = P[index] - (m * uniforms.stepSize) / (sqrt(v) / uniforms.biasCorrection2Sqrt + uniforms.eps);
      MNew[index] = m;
      VNew[index] = v;`,
  };
}

function adamUpdateWebGpu({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const a = attrs as unknown as AdamUpdateAttrs;
  const { p, g, m, v } = inputs;
  if (p === undefined || g === undefined || m === undefined || v === undefined) throw new Error(`${ADAM_UPDATE}: needs inputs p, g, m and v`);
  for (const [name, t] of [['g', g], ['m', m], ['v', v]] as const) {
    if (!tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`${ADAM_UPDATE}: ${name} has shape [${t.shape}], p has [${p.shape}]`);
  }
  const uniforms = [a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.eps, a.weightDecay ?? 0, a.stepSize, a.biasCorrection2Sqrt].map((x) => ({ type: 'float32' as const, data: [x] }));
  return runElementwise(backend, adamProgram(a.weightDecay !== null), [p, g, m, v], p.shape.slice(), uniforms);
}

/** Registers the kernel for TF.js's WebGPU backend (`webgpu`). Idempotent. */
export function registerWebGpuAdamKernel(): void {
  if (tf.getKernel(ADAM_UPDATE, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'webgpu', kernelFunc: adamUpdateWebGpu });
  }
}

/**
 * The Adam update of one parameter as one kernel of the WebGPU backend. In TF.js ops the update is thirteen
 * element-wise ops, each a dispatch of its own and a temporary: for a network of some 300 parameter tensors
 * that is about 4,000 dispatches a step, most of them on tensors of a few hundred values, where the cost of
 * a dispatch is all there is. The kernel computes the same float32 operations in the same order in three
 * dispatches (one per output: moment, second moment, parameter). The optimizer (`Adam` in train/optim.ts)
 * uses it when it is registered for the active backend, and the TF.js ops otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { PerOutputSpec, runPerOutput, WebGpuKernelBackend } from './webgpu-program';

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

/** Which of the three results a program writes. */
type AdamOutput = 'm' | 'v' | 'p';

const ADAM_UNIFORMS = 'beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, eps : f32, weightDecay : f32, stepSize : f32, biasCorrection2Sqrt : f32,';

/**
 * The program of one result: one thread per element computes the update up to the result it writes. The
 * coefficients are uniforms, so one compiled pipeline serves every step (the step size changes with the step count).
 */
function adamProgram(shape: readonly number[], output: AdamOutput, decay: boolean): PerOutputSpec {
  // PyTorch's order of operations (see `Adam` in train/optim.ts), as the TF.js ops compute it.
  const g = decay ? 'getGByOutputIndex(index) + getPByOutputIndex(index) * uniforms.weightDecay' : 'getGByOutputIndex(index)';
  const m = 'getMByOutputIndex(index) * uniforms.beta1 + g * uniforms.oneMinusBeta1';
  const v = 'getVByOutputIndex(index) * uniforms.beta2 + (g * uniforms.oneMinusBeta2) * g';
  const result = {
    m: 'm',
    v: 'v',
    p: 'getPByOutputIndex(index) - (m * uniforms.stepSize) / (sqrt(v) / uniforms.biasCorrection2Sqrt + uniforms.eps)',
  }[output];
  return {
    key: `adam_${output}${decay ? '_decay' : ''}`,
    inputs: inputsOf(output, decay),
    uniforms: ADAM_UNIFORMS,
    outputShape: shape.slice(),
    body: `let g = ${g};
      ${output !== 'v' ? `let m = ${m};` : ''}
      ${output !== 'm' ? `let v = ${v};` : ''}
      setOutputAtIndex(index, ${result});`,
  };
}

/** The inputs a result reads: the parameter (for the update, or the weight decay), the gradient, and the moments it needs. */
function inputsOf(output: AdamOutput, decay: boolean): string[] {
  const names = { m: ['G', 'M'], v: ['G', 'V'], p: ['G', 'M', 'V'] }[output];
  return output === 'p' || decay ? ['P', ...names] : names;
}

function adamUpdateWebGpu({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const a = attrs as unknown as AdamUpdateAttrs;
  const { p, g, m, v } = inputs;
  if (p === undefined || g === undefined || m === undefined || v === undefined) throw new Error(`${ADAM_UPDATE}: needs inputs p, g, m and v`);
  for (const [name, t] of [['g', g], ['m', m], ['v', v]] as const) {
    if (!tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`${ADAM_UPDATE}: ${name} has shape [${t.shape}], p has [${p.shape}]`);
  }
  const decay = a.weightDecay !== null;
  const uniforms = [a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.eps, a.weightDecay ?? 0, a.stepSize, a.biasCorrection2Sqrt].map((x) => ({ type: 'float32' as const, data: [x] }));
  const byName: Record<string, tf.TensorInfo> = { P: p, G: g, M: m, V: v };
  const run = (output: AdamOutput) => {
    const spec = adamProgram(p.shape, output, decay);
    return runPerOutput(backend as unknown as WebGpuKernelBackend, spec, spec.inputs.map((n) => byName[n]), uniforms);
  };
  return [run('p'), run('m'), run('v')];
}

/** Registers the kernel for TF.js's WebGPU backend (`webgpu`). Idempotent. */
export function registerWebGpuAdamKernel(): void {
  if (tf.getKernel(ADAM_UPDATE, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'webgpu', kernelFunc: adamUpdateWebGpu });
  }
}

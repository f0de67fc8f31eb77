/**
 * The Adam update of one parameter as one kernel of the WebGPU backend. In TF.js ops the update is thirteen
 * element-wise ops, each a dispatch of its own and a temporary: for a network of some 300 parameter tensors
 * that is about 4,000 dispatches a step, most of them on tensors of a few hundred values, where the cost of
 * a dispatch is all there is. The kernel computes the same float32 operations in the same order in three
 * dispatches (one per output: moment, second moment, parameter). The optimizer (`Adam` in train/optim.ts)
 * uses it when it is registered for the active backend, and the TF.js ops otherwise.
 */
import * as tf from '@tensorflow/tfjs';

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

/** The subset of TF.js's WebGPU backend the kernel calls. */
interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms: { type: 'float32'; data: number[] }[]): tf.TensorInfo;
}

const WORKGROUP = 64;

/**
 * A WebGPU program of TF.js (the shape `runWebGPUProgram` reads): one thread per element, computing the
 * update up to the result it writes. The coefficients are uniforms, so one compiled pipeline serves every
 * step (the step size changes with the step count).
 */
class AdamProgram {
  /** The inputs the result reads, in `inputsOf` order (an input the shader does not read has no binding). */
  readonly variableNames: string[];
  readonly uniforms = 'beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, eps : f32, weightDecay : f32, stepSize : f32, biasCorrection2Sqrt : f32,';
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  /** TF.js reshapes it where it exceeds the device's workgroups per dimension. */
  dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    shape: readonly number[],
    private readonly output: AdamOutput,
    private readonly decay: boolean,
  ) {
    this.variableNames = inputsOf(output, decay);
    this.outputShape = shape.slice();
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(this.outputShape) / WORKGROUP), 1, 1];
    this.shaderKey = `hrnetAdam_${output}${decay ? '_decay' : ''}`;
  }

  getUserCode(): string {
    // PyTorch's order of operations (see `Adam` in train/optim.ts), as the TF.js ops compute it.
    const g = this.decay ? 'getGByOutputIndex(index) + getPByOutputIndex(index) * uniforms.weightDecay' : 'getGByOutputIndex(index)';
    const m = 'getMByOutputIndex(index) * uniforms.beta1 + g * uniforms.oneMinusBeta1';
    const v = 'getVByOutputIndex(index) * uniforms.beta2 + (g * uniforms.oneMinusBeta2) * g';
    const result = {
      m: 'm',
      v: 'v',
      p: 'getPByOutputIndex(index) - (m * uniforms.stepSize) / (sqrt(v) / uniforms.biasCorrection2Sqrt + uniforms.eps)',
    }[this.output];
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let g = ${g};
          ${this.output !== 'v' ? `let m = ${m};` : ''}
          ${this.output !== 'm' ? `let v = ${v};` : ''}
          setOutputAtIndex(index, ${result});
        }
      }
    `;
  }
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
    const program = new AdamProgram(p.shape, output, decay);
    return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(program, program.variableNames.map((n) => byName[n]), 'float32', uniforms);
  };
  return [run('p'), run('m'), run('v')];
}

/** Registers the kernel for TF.js's WebGPU backend (`webgpu`). Idempotent. */
export function registerWebGpuAdamKernel(): void {
  if (tf.getKernel(ADAM_UPDATE, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'webgpu', kernelFunc: adamUpdateWebGpu });
  }
}

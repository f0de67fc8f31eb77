/**
 * `ReLU(x₀ + x₁ + …)` and its gradient as kernels of TF.js's WebGPU backend: the residual and fuse sums of
 * HRNet's blocks. In TF.js ops the forward is n − 1 additions and a ReLU, the gradient a step and a product,
 * each a dispatch of its own; here each is one dispatch, with the ops' float32 values (the inputs added in
 * order). The model (`sumRelu` in model/nn.ts) uses them where they are registered and the ops elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelInput } from './kernel-calls';
import { ElementwiseSpec, programVariants, runElementwise } from './webgpu-program';

/** Kernel name of the forward: inputs `x0`, `x1`, … of one shape; output their sum, in order, through a ReLU. */
export const SUM_RELU = 'HRNetSumRelu';
/** Kernel name of the gradient: inputs `dy` and the forward's output `out`; output dy where out > 0, else 0. */
export const RELU_GRAD = 'HRNetReluGrad';

/**
 * Most inputs one call takes: a WebGPU shader stage may bind 8 storage buffers unless the device allows more,
 * and the output is one of them.
 */
export const SUM_RELU_MAX_INPUTS = 7;

/** The forward's program for n inputs. */
const sumReluProgram = programVariants((n: number): ElementwiseSpec => {
  const names = Array.from({ length: n }, (_, i) => `X${i}`);
  const sum = names.slice(1).reduce((acc, name) => `(${acc} + ${name}[index])`, `${names[0]}[index]`);
  return { key: `sumRelu_${n}`, inputs: names, outputs: ['Out'], uniforms: '', body: `Out[index] = max(${sum}, 0.0);` };
});

/** The gradient's program. */
const RELU_GRAD_PROGRAM: ElementwiseSpec = { key: 'reluGrad', inputs: ['Dy', 'Output'], outputs: ['Dx'], uniforms: '', body: 'Dx[index] = Dy[index] * select(0.0, 1.0, Output[index] > 0.0);' };

function sumReluWebGpu({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const n = Object.keys(inputs).length;
  if (n < 1 || n > SUM_RELU_MAX_INPUTS) throw new Error(`${SUM_RELU}: takes 1 to ${SUM_RELU_MAX_INPUTS} inputs, got ${n}`);
  const xs = Array.from({ length: n }, (_, i) => kernelInput(inputs, `x${i}`, SUM_RELU));
  for (const [i, x] of xs.entries()) {
    if (!tf.util.arraysEqual(x.shape, xs[0].shape)) throw new Error(`${SUM_RELU}: x${i} has shape [${x.shape}], x0 has [${xs[0].shape}]`);
  }
  const [out] = runElementwise(backend, sumReluProgram(n), xs, xs[0].shape.slice(), []);
  return out;
}

function reluGradWebGpu({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const dy = kernelInput(inputs, 'dy', RELU_GRAD);
  const out = kernelInput(inputs, 'out', RELU_GRAD);
  if (!tf.util.arraysEqual(dy.shape, out.shape)) throw new Error(`${RELU_GRAD}: dy has shape [${dy.shape}], out has [${out.shape}]`);
  const [dx] = runElementwise(backend, RELU_GRAD_PROGRAM, [dy, out], dy.shape.slice(), []);
  return dx;
}

/** Attributes of {@link SUM_RELU}: the number of inputs (for its gradient). */
export interface SumReluAttrs {
  n: number;
}

/**
 * Registers both kernels for TF.js's WebGPU backend (`webgpu`), and the forward's gradient (each input's is dy
 * where the output is positive), for where the model's own gradient does not stand in (eval mode). Idempotent.
 */
export function registerWebGpuSumReluKernels(): void {
  if (tf.getKernel(SUM_RELU, 'webgpu') === undefined) tf.registerKernel({ kernelName: SUM_RELU, backendName: 'webgpu', kernelFunc: sumReluWebGpu });
  if (tf.getKernel(RELU_GRAD, 'webgpu') === undefined) tf.registerKernel({ kernelName: RELU_GRAD, backendName: 'webgpu', kernelFunc: reluGradWebGpu });
  if (tf.getGradient(SUM_RELU) === undefined) {
    tf.registerGradient({
      kernelName: SUM_RELU,
      outputsToSave: [true],
      gradFunc: (dy, saved, attrs) => {
        const grad = () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, out: saved[0] }) as tf.Tensor;
        return Object.fromEntries(Array.from({ length: (attrs as unknown as SumReluAttrs).n }, (_, i) => [`x${i}`, grad]));
      },
    });
  }
}

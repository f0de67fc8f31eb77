/**
 * The gradient of the fuse layers' nearest-neighbour upsampling (`nn.Upsample(scale_factor=f, mode='nearest')`)
 * as a kernel of TF.js's WebGPU backend: each input value's gradient is the sum of its f×f block of the output
 * gradient. In TF.js ops that is a sum over two axes of a 6-d reshape, which TF.js's WebGPU backend runs as a
 * transpose of the whole gradient and then a reduction with a workgroup of 256 threads per output value, for the
 * four to sixty-four terms of a block. Here one thread sums one value's block: one dispatch, no barrier, the f²
 * loads issued before the additions, which are made in the block's row-major order (the order in which the
 * WASM backend's sum adds them). The model (`upsampleNearest` in model/fuse.ts) uses it where it is registered.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelInput } from './kernel-calls';
import { PerOutputSpec, programVariants, runPerOutput, WebGpuKernelBackend } from './webgpu-program';

/** Kernel name: input `dy` `[n, h·f, w·f, c]`, attribute `factor` f; output `[n, h, w, c]`, the sums of the f×f blocks. */
export const UPSAMPLE_NEAREST_GRAD = 'HRNetUpsampleNearestGrad';

/** Attributes of {@link UPSAMPLE_NEAREST_GRAD}. */
export interface UpsampleNearestGradAttrs {
  /** The upsampling factor, an integer from 1 to 8 (HRNet's are 2, 4 and 8). */
  factor: number;
}

/** Largest factor: a block's f² terms are loaded into registers before they are added. */
export const UPSAMPLE_MAX_FACTOR = 8;

/** The program for factor f: the block's terms, loaded row by row, then added in that order. */
const blockSumProgram = programVariants((f: number): PerOutputSpec => {
  const terms: string[] = [];
  for (let a = 0; a < f; a++) {
    for (let b = 0; b < f; b++) terms.push(`Dy[corner + ${a} * rowStride + ${b} * uniforms.c]`);
  }
  return {
    key: `upsampleNearestGrad_${f}`,
    inputs: ['Dy'],
    uniforms: 'h : i32, w : i32, c : i32,',
    body: `
      let ch = index % uniforms.c;
      let pixel = index / uniforms.c;
      let x = pixel % uniforms.w;
      let rows = pixel / uniforms.w;
      let y = rows % uniforms.h;
      let image = rows / uniforms.h;
      let rowStride = uniforms.w * ${f} * uniforms.c;
      let corner = ((image * uniforms.h + y) * ${f} * uniforms.w + x) * ${f} * uniforms.c + ch;
      ${terms.map((t, i) => `let t${i} = ${t};`).join('\n      ')}
      var sum = 0.0;
      ${terms.map((_, i) => `sum = sum + t${i};`).join(' ')}
      setOutputAtIndex(index, sum);`,
  };
});

function upsampleNearestGradWebGpu({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const dy = kernelInput(inputs, 'dy', UPSAMPLE_NEAREST_GRAD);
  const f = (attrs as unknown as UpsampleNearestGradAttrs).factor;
  if (!Number.isInteger(f) || f < 1 || f > UPSAMPLE_MAX_FACTOR) throw new Error(`${UPSAMPLE_NEAREST_GRAD}: factor must be an integer from 1 to ${UPSAMPLE_MAX_FACTOR}, got ${f}`);
  if (dy.shape.length !== 4 || dy.shape[1] % f !== 0 || dy.shape[2] % f !== 0) {
    throw new Error(`${UPSAMPLE_NEAREST_GRAD}: dy must be [n, h·${f}, w·${f}, c], got [${dy.shape}]`);
  }
  const [n, hf, wf, c] = dy.shape;
  const [h, w] = [hf / f, wf / f];
  const uniforms = [h, w, c].map((v) => ({ type: 'int32' as const, data: [v] }));
  return runPerOutput(backend as unknown as WebGpuKernelBackend, blockSumProgram(f), [dy], uniforms, [n, h, w, c]);
}

/** Registers the kernel for TF.js's WebGPU backend (`webgpu`). Idempotent. */
export function registerWebGpuUpsampleGradKernel(): void {
  if (tf.getKernel(UPSAMPLE_NEAREST_GRAD, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: UPSAMPLE_NEAREST_GRAD, backendName: 'webgpu', kernelFunc: upsampleNearestGradWebGpu });
  }
}

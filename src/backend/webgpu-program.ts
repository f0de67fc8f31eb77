/**
 * What the project's WebGPU kernels share: the part of TF.js's WebGPU backend they call, and a program of one
 * thread per output value, given as the WGSL of its body (the shape of program `runWebGPUProgram` reads).
 */
import * as tf from '@tensorflow/tfjs';

/** A uniform of a program, in the order of its `uniforms` declaration. */
export interface ProgramUniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** The subset of TF.js's WebGPU backend the project's kernels call. */
export interface WebGpuKernelBackend {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms: ProgramUniform[]): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** What a {@link PerOutputProgram} computes. */
export interface PerOutputSpec {
  /** Names the compiled pipeline: equal keys must mean equal WGSL (shapes and sizes come as uniforms). */
  key: string;
  /**
   * Input buffers in binding order. The shader must read every one: with TF.js's `layout: 'auto'` an input it
   * does not read loses its binding and the dispatch fails. `Out` is no input name: its uniform `outShape` is the
   * output's.
   */
  inputs: string[];
  /** WGSL fields of the uniforms (e.g. `rows : i32, eps : f32,`); the values are passed to `runWebGPUProgram`. */
  uniforms: string;
  outputShape: number[];
  /** WGSL statements computing output `index` (already bounds-checked) and writing it with `setOutputAtIndex`. */
  body: string;
  /** WGSL functions the body calls. */
  helpers?: string;
}

const WORKGROUP = 64;

/** A WebGPU program of TF.js with one thread per output value. */
export class PerOutputProgram {
  readonly variableNames: string[];
  readonly uniforms: string;
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  /** TF.js reshapes it where it exceeds the device's workgroups per dimension. */
  dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(private readonly spec: PerOutputSpec) {
    this.variableNames = spec.inputs;
    this.uniforms = spec.uniforms;
    this.outputShape = spec.outputShape;
    this.dispatchLayout = { x: spec.outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(spec.outputShape) / WORKGROUP), 1, 1];
    this.shaderKey = `hrnet_${spec.key}`;
  }

  getUserCode(): string {
    return `
      ${this.spec.helpers ?? ''}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.spec.body}
        }
      }
    `;
  }
}

/** Runs `spec` on `inputs` with `uniforms`: a float32 output of `spec.outputShape`. */
export function runPerOutput(backend: WebGpuKernelBackend, spec: PerOutputSpec, inputs: tf.TensorInfo[], uniforms: ProgramUniform[]): tf.TensorInfo {
  return backend.runWebGPUProgram(new PerOutputProgram(spec), inputs, 'float32', uniforms);
}

/** Runs `body` with a function that collects intermediate results, and frees them whatever happens. */
export function withTemps<T>(backend: WebGpuKernelBackend, body: (temp: (t: tf.TensorInfo) => tf.TensorInfo) => T): T {
  const temps: tf.TensorInfo[] = [];
  try {
    return body((t) => {
      temps.push(t);
      return t;
    });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

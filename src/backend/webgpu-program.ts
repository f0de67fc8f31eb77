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

/**
 * What a {@link runElementwise} program computes: several float32 outputs of one shape, element by element, in
 * one dispatch. TF.js's programs have one output buffer, so a kernel with n results is n dispatches there; on a
 * GPU the cost of a dispatch (a bind group, a uniform buffer, the encoding) is about all a small tensor costs.
 */
export interface ElementwiseSpec {
  /** Names the compiled pipeline: equal keys must mean equal WGSL. */
  key: string;
  /** Input buffers (`array<f32>`), in the order of the tensors passed. The body must read every one. */
  inputs: string[];
  /** Output buffers (`array<f32>`), in the order of the results. The body must write every one. */
  outputs: string[];
  /** WGSL fields of the uniforms after `size : i32,` (the element count), e.g. `eps : f32,`. */
  uniforms: string;
  /** WGSL statements for element `index` (an i32 below `uniforms.size`), e.g. `Out[index] = A[index] * 2.0;`. */
  body: string;
}

/** A WebGPU compute pass encoder, as far as {@link runElementwise} uses it. */
interface PassEncoder {
  setPipeline(pipeline: unknown): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

/**
 * The members of TF.js's `WebGPUBackend` (tfjs-backend-webgpu 4.22.0, the version package.json pins) that
 * {@link runElementwise} uses to record a dispatch as `recordAndSubmit` records one: the same command encoder,
 * compute pass, batching of submits, ownership of buffers until a submit, and timestamp queries under `tf.profile`.
 */
interface WebGpuBackendInternals {
  device: {
    limits: { maxComputeWorkgroupsPerDimension: number };
    createShaderModule(d: { code: string }): unknown;
    createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
    createBindGroup(d: { layout: unknown; entries: { binding: number; resource: unknown }[] }): unknown;
    createQuerySet(d: { type: 'timestamp'; count: number }): unknown;
  };
  tensorMap: { get(dataId: object): { dtype: tf.DataType; values: unknown } };
  pipelineCache: Record<string, unknown>;
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: { beginComputePass(d: object): PassEncoder };
  computePassEncoder: PassEncoder | null;
  dispatchCountInPass: number;
  activeTimers: { name: string; query: Promise<number> }[] | null;
  supportTimestampQuery: boolean;
  querySet: unknown;
  querySetCount: number;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  tensorToBinding(t: tf.TensorInfo): unknown;
  makeUniforms(uniforms: ProgramUniform[]): unknown;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
}

/** The WGSL of an {@link ElementwiseSpec}: one thread per element, the grid folded into two dimensions. */
function elementwiseShader(spec: ElementwiseSpec): string {
  const buffers = [
    ...spec.outputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read_write> ${name} : array<f32>;`),
    ...spec.inputs.map((name, i) => `@group(0) @binding(${spec.outputs.length + i}) var<storage, read> ${name} : array<f32>;`),
  ];
  return `
    struct Uniforms { size : i32, ${spec.uniforms} };
    ${buffers.join('\n    ')}
    @group(0) @binding(${spec.outputs.length + spec.inputs.length}) var<uniform> uniforms : Uniforms;
    @compute @workgroup_size(${WORKGROUP}, 1, 1)
    fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
      let index = i32(gid.y * groups.x * ${WORKGROUP}u + gid.x);
      if (index < uniforms.size) {
        ${spec.body}
      }
    }`;
}

/**
 * Runs `spec` on `inputs` (float32 tensors, each read at the output's element index or by the body's own
 * indexing): the outputs, float32 tensors of `shape`, from one dispatch recorded into the backend's pass.
 */
export function runElementwise(backend: object, spec: ElementwiseSpec, inputs: tf.TensorInfo[], shape: number[], uniforms: ProgramUniform[]): tf.TensorInfo[] {
  const b = backend as WebGpuBackendInternals;
  if (inputs.length !== spec.inputs.length) throw new Error(`${spec.key}: ${spec.inputs.length} inputs (${spec.inputs}), got ${inputs.length}`);
  inputs.forEach((t, i) => {
    if (t.dtype !== 'float32') throw new Error(`${spec.key}: input ${spec.inputs[i]} must be float32, got ${t.dtype}`);
  });
  const size = tf.util.sizeFromShape(shape);
  const outputs = spec.outputs.map(() => b.makeTensorInfo(shape, 'float32'));
  if (size === 0) {
    for (const o of outputs) b.tensorMap.get(o.dataId).values = new Float32Array(0);
    return outputs;
  }
  for (const t of [...outputs, ...inputs]) b.uploadToGPU(t.dataId);
  const key = `hrnet_elementwise_${spec.key}`;
  if (!(key in b.pipelineCache)) {
    const module = b.device.createShaderModule({ code: elementwiseShader(spec) });
    b.pipelineCache[key] = b.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  }
  const pipeline = b.pipelineCache[key] as { getBindGroupLayout(i: number): unknown };
  const resources = [...[...outputs, ...inputs].map((t) => b.tensorToBinding(t)), b.makeUniforms([{ type: 'int32', data: [size] }, ...uniforms])];
  const bindGroup = b.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: resources.map((resource, binding) => ({ binding, resource })) });
  for (const t of [...inputs, ...outputs]) b.commandQueueOwnedIds.add(t.dataId);
  const groups = Math.ceil(size / WORKGROUP);
  const x = Math.min(groups, b.device.limits.maxComputeWorkgroupsPerDimension);
  const y = Math.ceil(groups / x);
  // As recordAndSubmit: under tf.profile a pass of its own with timestamps, else the open pass, submitted in batches.
  const timed = b.activeTimers !== null && b.activeTimers !== undefined;
  b.ensureCommandEncoderReady();
  if (timed && b.supportTimestampQuery) {
    b.endComputePassEncoder();
    if (b.querySet === null || b.querySet === undefined) b.querySet = b.device.createQuerySet({ type: 'timestamp', count: b.querySetCount });
    b.computePassEncoder = b.commandEncoder.beginComputePass({ timestampWrites: { querySet: b.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
  } else if (b.computePassEncoder === null || b.computePassEncoder === undefined) {
    b.computePassEncoder = b.commandEncoder.beginComputePass({});
  }
  const pass = b.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(x, y, 1);
  b.dispatchCountInPass++;
  if (timed || (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= b.dispatchCountInPass) {
    b.endComputePassEncoder();
    if (timed) (b.activeTimers as { name: string; query: Promise<number> }[]).push({ name: key, query: b.getQueryTime() });
    else b.submitQueue();
  }
  return outputs;
}

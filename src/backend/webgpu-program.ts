/**
 * What the project's WebGPU kernels share: programs given as the WGSL of their body (one thread per output value,
 * or per element with several outputs), recorded into the pass of TF.js's WebGPU backend as TF.js records its own
 * programs, and the freeing of intermediates.
 */
import * as tf from '@tensorflow/tfjs';

/** A uniform of a program, in the order of its `uniforms` declaration. */
export interface ProgramUniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** The subset of TF.js's WebGPU backend the project's kernels call. */
export interface WebGpuKernelBackend {
  disposeData(dataId: object): boolean;
}

/**
 * A program of one output, which the body writes with `setOutputAtIndex(index, value)` (`Out` is no input name:
 * it is the output). Its shape is the call's (see {@link runPerOutput}), so one spec serves every shape.
 */
export type PerOutputSpec = Omit<ElementwiseSpec, 'outputs'>;

/** The {@link ElementwiseSpec} of each {@link PerOutputSpec}, made once. */
const perOutputPrograms = new WeakMap<PerOutputSpec, ElementwiseSpec>();

/**
 * Runs `spec` on `inputs` with `uniforms`: a float32 output of `outputShape`, one thread per value, or `threads`
 * threads where each writes several values.
 */
export function runPerOutput(backend: WebGpuKernelBackend, spec: PerOutputSpec, inputs: tf.TensorInfo[], uniforms: ProgramUniform[], outputShape: number[], threads?: number): tf.TensorInfo {
  let program = perOutputPrograms.get(spec);
  if (program === undefined) {
    program = {
      ...spec,
      key: `perOutput_${spec.key}`,
      outputs: ['Out'],
      helpers: `${spec.helpers ?? ''}
        fn setOutputAtIndex(i : i32, value : f32) { Out[i] = value; }`,
    };
    perOutputPrograms.set(spec, program);
  }
  const [out] = runElementwise(backend, program, inputs, threads === undefined ? outputShape : [threads], uniforms, threads === undefined ? undefined : [outputShape]);
  return out;
}

/**
 * `build` memoized by its argument: a kernel's programs are the same WGSL call after call, and building their
 * strings (template literals, unrolled sums) would cost the host microseconds at every dispatch.
 */
export function programVariants<V extends string | number | boolean, S>(build: (variant: V) => S): (variant: V) => S {
  const made = new Map<V, S>();
  return (variant) => {
    let spec = made.get(variant);
    if (spec === undefined) {
      spec = build(variant);
      made.set(variant, spec);
    }
    return spec;
  };
}

/** Terms of a sum computed before any of them is added (see {@link orderedSum}). */
const UNROLL = 8;

/**
 * WGSL adding `term(i)` to `acc` for i from `from` up to `to`, in order of i. The terms are computed eight at a
 * time before they are added, so a GPU thread has eight loads in flight instead of one; the additions are the
 * same, in the same order, so the sum is the same to the bit.
 * @param v the loop variable's name (distinct per loop in one program)
 */
export function orderedSum(acc: string, from: string, to: string, term: (i: string) => string, v: string): string {
  const ks = Array.from({ length: UNROLL }, (_, k) => k);
  const computed = ks.map((k) => `let ${v}Term${k} = ${term(k === 0 ? v : `(${v} + ${k})`)};`).join(' ');
  const added = ks.map((k) => `${acc} = ${acc} + ${v}Term${k};`).join(' ');
  return `
    var ${v} = ${from};
    for (; ${v} + ${UNROLL} <= ${to}; ${v} = ${v} + ${UNROLL}) { ${computed} ${added} }
    for (; ${v} < ${to}; ${v} = ${v} + 1) { ${acc} = ${acc} + ${term(v)}; }`;
}

/**
 * Runs `body` with a function `temp` that collects the results it makes. Those it returns are the caller's; the
 * others are freed, and all of them when `body` throws.
 */
export function withTemps<T extends tf.TensorInfo | tf.TensorInfo[]>(backend: WebGpuKernelBackend, body: (temp: (t: tf.TensorInfo) => tf.TensorInfo) => T): T {
  const temps: tf.TensorInfo[] = [];
  let kept: tf.TensorInfo[] = [];
  try {
    const result = body((t) => {
      temps.push(t);
      return t;
    });
    kept = Array.isArray(result) ? result : [result];
    return result;
  } finally {
    for (const t of temps) if (!kept.includes(t)) backend.disposeData(t.dataId);
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
  /**
   * Input buffers (`array<f32>`), in the order of the tensors passed. The body must read every one: with
   * `layout: 'auto'` an input it does not read loses its binding and the dispatch fails.
   */
  inputs: string[];
  /** Output buffers (`array<f32>`), in the order of the results. The body must write every one. */
  outputs: string[];
  /** WGSL fields of the uniforms after `size : i32,` (the element count), e.g. `eps : f32,`. */
  uniforms: string;
  /** WGSL statements for element `index` (an i32 below `uniforms.size`), e.g. `Out[index] = A[index] * 2.0;`. */
  body: string;
  /** WGSL functions the body calls. */
  helpers?: string;
  /**
   * Whether the uniforms change from call to call (a step count, a learning rate): then each dispatch writes a
   * uniform buffer of TF.js's pool, as TF.js's programs do. Otherwise (sizes, constants) the values recur step
   * after step, and one buffer per set of values is written once and bound again (see {@link uniformBuffer}).
   */
  uniformsPerCall?: boolean;
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
interface WebGpuBackendInternals extends WebGpuKernelBackend {
  device: {
    limits: { maxComputeWorkgroupsPerDimension: number; maxStorageBufferBindingSize: number };
    createShaderModule(d: { code: string }): unknown;
    createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
    createBindGroup(d: { layout: unknown; entries: { binding: number; resource: unknown }[] }): unknown;
    createQuerySet(d: { type: 'timestamp'; count: number }): unknown;
    createBuffer(d: { size: number; usage: number; mappedAtCreation: boolean }): { getMappedRange(): ArrayBuffer; unmap(): void };
  };
  tensorMap: { get(dataId: object): { dtype: tf.DataType; values: unknown; resource?: unknown } };
  pipelineCache: Record<string, unknown>;
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: { beginComputePass(d: object): PassEncoder; copyBufferToBuffer(src: unknown, srcOffset: number, dst: unknown, dstOffset: number, size: number): void };
  computePassEncoder: PassEncoder | null;
  dispatchCountInPass: number;
  activeTimers: { name: string; query: Promise<number> }[] | null;
  supportTimestampQuery: boolean;
  querySet: unknown;
  querySetCount: number;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  makeUniforms(uniforms: ProgramUniform[]): unknown;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
}

/** Threads of a workgroup. */
const WORKGROUP = 64;

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
    ${spec.helpers ?? ''}
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
 * indexing): the outputs, float32 tensors of `shape` (or of `outputShapes`, one per output, which the body
 * indexes itself), from one dispatch of one thread per element of `shape` recorded into the backend's pass.
 */
export function runElementwise(backend: object, spec: ElementwiseSpec, inputs: tf.TensorInfo[], shape: number[], uniforms: ProgramUniform[], outputShapes?: number[][]): tf.TensorInfo[] {
  const b = backend as WebGpuBackendInternals;
  if (inputs.length !== spec.inputs.length) throw new Error(`${spec.key}: ${spec.inputs.length} inputs (${spec.inputs}), got ${inputs.length}`);
  inputs.forEach((t, i) => {
    if (t.dtype !== 'float32') throw new Error(`${spec.key}: input ${spec.inputs[i]} must be float32, got ${t.dtype}`);
  });
  if (outputShapes !== undefined && outputShapes.length !== spec.outputs.length) throw new Error(`${spec.key}: ${spec.outputs.length} outputs (${spec.outputs}), got ${outputShapes.length} shapes`);
  const size = tf.util.sizeFromShape(shape);
  const outputs = spec.outputs.map((_, i) => b.makeTensorInfo(outputShapes?.[i] ?? shape, 'float32'));
  if (size === 0) {
    for (const o of outputs) b.tensorMap.get(o.dataId).values = new Float32Array(tf.util.sizeFromShape(o.shape));
    return outputs;
  }
  try {
    recordElementwise(b, spec, inputs, outputs, size, uniforms);
  } catch (err) {
    for (const o of outputs) b.disposeData(o.dataId);
    throw err;
  }
  return outputs;
}

/** Uniform buffers of programs whose uniforms recur, per backend, by program and values. */
const recurringUniforms = new WeakMap<object, Map<string, unknown>>();
/** Sets of recurring values kept per backend; past it, values are written per dispatch (W32 needs some 200). */
const MAX_RECURRING_UNIFORMS = 4096;

/**
 * The uniform buffer of a dispatch. Writing one per dispatch (TF.js's `makeUniforms`: a buffer of its pool and a
 * queue write) costs the host some 12 µs; the kernels' sizes and constants recur every step, so their buffers
 * are written once, at creation, and bound again. The fields are 4-byte scalars, laid out in order.
 */
function uniformBuffer(b: WebGpuBackendInternals, spec: ElementwiseSpec, values: ProgramUniform[]): unknown {
  const perDispatch = () => (b.makeUniforms(values) as { buffer: unknown }).buffer;
  if (spec.uniformsPerCall === true || !values.every((u) => u.data.length === 1)) return perDispatch();
  let cache = recurringUniforms.get(b);
  if (cache === undefined) {
    cache = new Map();
    recurringUniforms.set(b, cache);
  }
  const key = `${spec.key}|${values.map((u) => `${u.type}:${u.data[0]}`).join('|')}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  if (cache.size >= MAX_RECURRING_UNIFORMS) return perDispatch();
  const buffer = b.device.createBuffer({ size: Math.ceil((4 * values.length) / 16) * 16, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  const range = buffer.getMappedRange();
  const ints = new Int32Array(range);
  const floats = new Float32Array(range);
  values.forEach((u, i) => {
    if (u.type === 'int32') ints[i] = u.data[0];
    else floats[i] = u.data[0];
  });
  buffer.unmap();
  cache.set(key, buffer);
  return buffer;
}

/** Records the dispatch of {@link runElementwise} into the backend's pass. */
function recordElementwise(b: WebGpuBackendInternals, spec: ElementwiseSpec, inputs: tf.TensorInfo[], outputs: tf.TensorInfo[], size: number, uniforms: ProgramUniform[]): void {
  for (const t of [...outputs, ...inputs]) b.uploadToGPU(t.dataId);
  // The pipeline with its bind group layout (asking the pipeline for it costs a call into Dawn each time).
  const key = `hrnet_elementwise_${spec.key}`;
  if (!(key in b.pipelineCache)) {
    const module = b.device.createShaderModule({ code: elementwiseShader(spec) });
    const compiled = b.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    b.pipelineCache[key] = { pipeline: compiled, layout: compiled.getBindGroupLayout(0) };
  }
  const { pipeline, layout } = b.pipelineCache[key] as { pipeline: unknown; layout: unknown };
  // Buffers bound whole, as GPUBuffers rather than { buffer } dictionaries: Dawn's Node bindings convert a
  // dictionary entry by entry, which costs a dispatch with eight buffers some 15 µs more.
  const resources = [...[...outputs, ...inputs].map((t) => b.tensorMap.get(t.dataId).resource), uniformBuffer(b, spec, [{ type: 'int32', data: [size] }, ...uniforms])];
  const bindGroup = b.device.createBindGroup({ layout, entries: resources.map((resource, binding) => ({ binding, resource })) });
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
}

/**
 * Submits what the backend has recorded, as TF.js does every few dispatches: buffers freed since the last
 * submit go back to TF.js's pool, where the next programs find them.
 */
export function submitRecorded(backend: object): void {
  const b = backend as WebGpuBackendInternals;
  // TF.js sets the encoder to null after each submit.
  if ((b.commandEncoder as unknown) === null) return;
  b.endComputePassEncoder();
  b.submitQueue();
}

/** The most bytes one storage buffer binding of the backend's device may have. */
export function maxBindingBytes(backend: object): number {
  return (backend as WebGpuBackendInternals).device.limits.maxStorageBufferBindingSize;
}

/** A float32 tensor of `shape` with no values yet (its buffer is allocated when a program or copy writes it). */
export function emptyTensor(backend: object, shape: number[]): tf.TensorInfo {
  return (backend as WebGpuBackendInternals).makeTensorInfo(shape, 'float32');
}

/** A copy of `length` float32 values from `from` at element `fromOffset` to `to` at element `toOffset`. */
export interface BufferCopy {
  from: tf.TensorInfo;
  fromOffset: number;
  to: tf.TensorInfo;
  toOffset: number;
  length: number;
}

/**
 * Records `copies` into the backend's command encoder, between compute passes, as TF.js records its own buffer
 * copies: the queue runs them in order with the dispatches around them, and the buffers stay the queue's until
 * the next submit. A copy costs the host a few microseconds and no bind group.
 */
export function recordCopies(backend: object, copies: BufferCopy[]): void {
  const b = backend as WebGpuBackendInternals;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  for (const c of copies) {
    for (const t of [c.from, c.to]) {
      if (t.dtype !== 'float32') throw new Error(`recordCopies: tensors must be float32, got ${t.dtype}`);
    }
    if (c.fromOffset < 0 || c.toOffset < 0 || c.fromOffset + c.length > tf.util.sizeFromShape(c.from.shape) || c.toOffset + c.length > tf.util.sizeFromShape(c.to.shape)) {
      throw new Error(`recordCopies: ${c.length} values from [${c.from.shape}] at ${c.fromOffset} to [${c.to.shape}] at ${c.toOffset} do not fit`);
    }
    if (c.length === 0) continue;
    b.uploadToGPU(c.from.dataId);
    b.uploadToGPU(c.to.dataId);
    b.commandEncoder.copyBufferToBuffer(b.tensorMap.get(c.from.dataId).resource, 4 * c.fromOffset, b.tensorMap.get(c.to.dataId).resource, 4 * c.toOffset, 4 * c.length);
    b.commandQueueOwnedIds.add(c.from.dataId);
    b.commandQueueOwnedIds.add(c.to.dataId);
  }
}

/**
 * Values a flat buffer of a multi-tensor ("foreach") kernel holds by default: 16 MiB, so that Adam's seven flat
 * buffers of a group take some 112 MiB of GPU memory while it runs (the groups run one after another).
 */
const GROUP_VALUES = 4 * 1024 * 1024;

/** `params` cut in order into groups of at most `max` values; a parameter larger than `max` is a group alone. */
export function groupsOf<P extends { size: number }>(params: P[], max: number): P[][] {
  const groups: P[][] = [];
  let current: P[] = [];
  let values = 0;
  for (const q of params) {
    if (current.length > 0 && values + q.size > max) {
      groups.push(current);
      current = [];
      values = 0;
    }
    current.push(q);
    values += q.size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Values a group may hold: `requested` or {@link GROUP_VALUES}, at most what one storage binding of the device holds. */
export function groupValues(backend: object, requested?: number): number {
  return Math.min(requested ?? GROUP_VALUES, Math.floor(maxBindingBytes(backend) / 4));
}

/** One item of {@link runForeach}: the inputs of the program for it, all of one shape, and their number of values. */
export interface ForeachItem {
  inputs: tf.TensorInfo[];
  size: number;
}

/**
 * An element-wise program over many tensors with one dispatch a group, as PyTorch's multi-tensor ("foreach")
 * kernels: per group of at most `maxValues` values, the items' inputs are copied into flat buffers, one dispatch
 * runs `spec` over them, and its outputs are copied out into tensors of each item's shape (an item alone in its
 * group is run as it is). Copies cost the host a few microseconds each and no bind group. Returns the outputs of
 * the spec for each item in turn.
 */
export function runForeach(backend: WebGpuKernelBackend, spec: ElementwiseSpec, items: ForeachItem[], uniforms: ProgramUniform[], maxValues: number): tf.TensorInfo[] {
  const results: tf.TensorInfo[] = [];
  try {
    for (const group of groupsOf(items, maxValues)) {
      if (group.length === 1) {
        results.push(...runElementwise(backend, spec, group[0].inputs, group[0].inputs[0].shape.slice(), uniforms));
        continue;
      }
      const offsets: number[] = [];
      let total = 0;
      for (const q of group) {
        offsets.push(total);
        total += q.size;
      }
      const outs = withTemps(backend, (temp) => {
        const flat = group[0].inputs.map(() => temp(emptyTensor(backend, [total])));
        recordCopies(backend, group.flatMap((q, i): BufferCopy[] => q.inputs.map((t, k) => ({ from: t, fromOffset: 0, to: flat[k], toOffset: offsets[i], length: q.size }))));
        const computed = runElementwise(backend, spec, flat, [total], uniforms).map(temp);
        const perItem = group.map((q) => computed.map(() => temp(emptyTensor(backend, q.inputs[0].shape.slice()))));
        recordCopies(backend, group.flatMap((q, i): BufferCopy[] => computed.map((src, k) => ({ from: src, fromOffset: offsets[i], to: perItem[i][k], toOffset: 0, length: q.size }))));
        return perItem.flat();
      });
      results.push(...outs);
      // The group's flat buffers go back to the pool before the next group asks for its own.
      submitRecorded(backend);
    }
    return results;
  } catch (err) {
    for (const r of results) backend.disposeData(r.dataId);
    throw err;
  }
}

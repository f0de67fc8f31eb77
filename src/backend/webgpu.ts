/**
 * TensorFlow.js's WebGPU backend, on any vendor's GPU with no CUDA toolkit: in Node through Dawn's
 * bindings (the `webgpu` npm package's prebuilt `dawn.node`: Vulkan on Linux, Metal on macOS, D3D12 on
 * Windows), in a browser through `navigator.gpu`.
 *
 * Adapters are hardware or software. A software one (SwiftShader, llvmpipe, WARP) runs the same shaders on
 * the CPU, far slower than the `wasm` backend, so it is never chosen automatically; named explicitly
 * (`--backend webgpu`) it is used, which is how the test suite runs the GPU code path on machines without
 * a GPU. Where Linux has no Vulkan loader at all (or `HRNET_VULKAN=swiftshader` asks for it), the
 * SwiftShader driver that the npm package `@sparticuz/chromium` carries is used for an explicit request.
 *
 * Reads are asynchronous on this backend: `dataSync`/`arraySync` need an `OffscreenCanvas` and throw in
 * Node. The training, evaluation and checkpoint paths only read with `await tensor.data()`.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerWebGpuAccumulateKernel } from './accumulate-kernel';
import { registerWebGpuAdamKernel } from './adam-kernel';
import { registerWebGpuBatchNormKernels } from './batch-norm-webgpu';
import { registerWebGpuConvFilterGradKernel } from './conv-filter-grad-webgpu';
import { registerWebGpuSumReluKernels } from './sum-relu-webgpu';
import { registerWebGpuUpsampleGradKernel } from './upsample-grad-webgpu';
import { requireOptional } from './optional';
import { DeviceErrorEvents, releaseDevice, watchDeviceErrors } from './webgpu-errors';
import { nvidiaVulkanHint, planVulkan, useNpmLoader, useNpmSwiftShader } from './vulkan-driver';

/** The WebGPU entry point (`navigator.gpu`), typed to what is used here. */
export interface GpuEntry {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapter | null>;
}

/** The parts of a `GPUAdapter` used here. */
export interface GpuAdapter {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  readonly features: ReadonlySet<string>;
  readonly limits: Readonly<Record<string, number>>;
  requestDevice(descriptor?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<unknown>;
}

/** What a run prints and records about the adapter it computes on. */
export interface AdapterDescription {
  vendor: string;
  /** The device's name as the driver reports it, e.g. `NVIDIA H200` or `SwiftShader Device (Subzero)`. */
  device: string;
  /** The driver's description, e.g. `NVIDIA 570.124.06` or `SwiftShader driver 5.0.0`. */
  driver: string;
  /** True for a CPU implementation of the API (SwiftShader, llvmpipe, WARP, a fallback adapter). */
  software: boolean;
  /** Why a GPU of the machine is not what runs, and what to do, where that is known (see `nvidiaVulkanHint`). */
  hint?: string;
  /**
   * How Dawn reached the driver in Node: the system's Vulkan loader, the npm package's loader with the system's
   * drivers, or the npm package's SwiftShader.
   */
  source: 'system' | 'npm-loader' | 'npm-swiftshader' | 'browser';
}

const SOFTWARE_DEVICES = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|warp/i;

/** `SwiftShader Device (Subzero)` → `swiftshader-device-subzero-`, as WebGPU's `info.device` reports names. */
function webGpuNameForm(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/**
 * Describes an adapter; `software` from the fallback flag or the well-known CPU drivers' names.
 * @param names the adapters' full names (Dawn's list), to show instead of WebGPU's shortened form
 */
export function describeAdapter(adapter: GpuAdapter, source: AdapterDescription['source'], names: readonly string[] = []): AdapterDescription {
  const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info;
  const fullName = names.find((n) => device !== '' && webGpuNameForm(n) === device);
  const text = [vendor, architecture, device, description, fullName ?? ''].join(' ');
  return {
    vendor: vendor || '?',
    device: fullName ?? (device || architecture || '?'),
    driver: description || '?',
    software: isFallbackAdapter === true || SOFTWARE_DEVICES.test(text),
    source,
  };
}

/** `NVIDIA H200, driver NVIDIA 570.124.06, hardware` as the backend line shows it. */
export function formatAdapter(a: AdapterDescription): string {
  const via = { 'npm-swiftshader': ' (SwiftShader from @sparticuz/chromium)', 'npm-loader': ' (Vulkan loader from @sparticuz/chromium)', system: '', browser: '' }[a.source];
  return `${a.vendor} ${a.device}, driver ${a.driver}, ${a.software ? 'software' : 'hardware'}${via}`;
}

/** Dawn's module: `create(flags)` gives a `navigator.gpu`; `globals` are the WebGPU constants/classes. */
interface DawnModule {
  create(flags: string[]): GpuEntry;
  globals: Record<string, unknown>;
}

/** The path of `dawn.node` in the `webgpu` package, for this platform. */
export function dawnModulePath(): string {
  const pkgDir = path.dirname(require.resolve('webgpu/package.json'));
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  return path.join(pkgDir, 'dist', `${process.platform}-${arch}`, 'dawn.node');
}

/** Where `navigator.gpu` came from in this process. */
interface GpuProvider {
  gpu: GpuEntry;
  source: AdapterDescription['source'];
  /** Dawn's module, in Node. */
  dawn?: DawnModule;
}

let provider: Promise<GpuProvider> | undefined;
let dawnVulkanSource: AdapterDescription['source'] | undefined;

/**
 * The flags of every Dawn instance the backend creates. Dawn rounds timestamp queries down to multiples of
 * 65,536 ns unless told otherwise (a browser's defence against timing attacks, pointless in a Node process,
 * which can time anything); `tf.profile` times each dispatch with them, and on a GPU most dispatches take a few
 * microseconds, so the rounding would turn a kernel's time into 0 or 65.5 µs a call.
 */
const DAWN_FLAGS: readonly string[] = ['disable-dawn-features=timestamp_quantization'];

function browserGpu(): GpuEntry | undefined {
  const nav = (globalThis as unknown as { navigator?: { gpu?: GpuEntry } }).navigator;
  return nav?.gpu;
}

/**
 * `navigator.gpu` of this process: the browser's, or Dawn's in Node (installing the WebGPU globals the
 * TF.js backend expects). On Linux without a system Vulkan loader, the npm package's loader serves the
 * drivers that are installed (or named); where there are none, `softwareFallback` brings the npm package's
 * SwiftShader, and without it no adapter will be found.
 */
async function gpuProvider(softwareFallback: boolean): Promise<GpuProvider> {
  const inBrowser = browserGpu();
  if (inBrowser !== undefined && typeof process === 'undefined') return { gpu: inBrowser, source: 'browser' };
  if (process.platform === 'linux' && dawnVulkanSource === undefined) {
    const plan = planVulkan();
    if (plan.kind === 'system') {
      dawnVulkanSource = 'system';
    } else if (plan.kind === 'npm-loader') {
      dawnVulkanSource = (await useNpmLoader(plan)) ? 'npm-swiftshader' : 'npm-loader';
    } else if (softwareFallback) {
      await useNpmSwiftShader();
      dawnVulkanSource = 'npm-swiftshader';
    } else if (plan.kind === 'npm-swiftshader') {
      throw new Error('HRNET_VULKAN=swiftshader asks for a software driver, which only a named backend (--backend webgpu) accepts');
    } else {
      throw new Error(
        `no Vulkan loader (libvulkan.so.1) and no Vulkan driver on this system (no ICD manifest in /usr/share/vulkan/icd.d or the loader's other folders): ${nvidiaVulkanHint() ?? "install the GPU vendor's Vulkan driver"}`,
      );
    }
  }
  provider ??= (async () => {
    let dawn: DawnModule;
    try {
      dawn = requireOptional(dawnModulePath()) as DawnModule;
    } catch (err) {
      throw new Error(`loading Dawn's Node bindings (the webgpu package) failed: ${String((err as Error).message).split('\n')[0]}`);
    }
    const g = globalThis as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(dawn.globals)) if (g[k] === undefined) g[k] = v;
    const gpu = dawn.create([...DAWN_FLAGS]);
    const nav = (g.navigator ?? {}) as { gpu?: GpuEntry };
    if (nav.gpu === undefined) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
    if (g.navigator === undefined) g.navigator = nav;
    return { gpu, source: dawnVulkanSource ?? 'system', dawn };
  })();
  provider.catch(() => {
    provider = undefined;
  });
  return provider;
}

/** What `registerWebGpuBackend` found. */
export interface WebGpuRegistration {
  /** The tfjs backend name registered (`webgpu`). */
  tfBackend: string;
  adapter: AdapterDescription;
}

/** Options of `registerWebGpuBackend`. */
export interface WebGpuOptions {
  /** Accept a software adapter (and, on Linux without Vulkan, bring the npm SwiftShader). Default false. */
  allowSoftware?: boolean;
  /**
   * Which GPU (an entry of the config's `GPUS`): the index into the adapters Dawn enumerates, in its
   * order. Default: the adapter WebGPU offers for `high-performance`.
   */
  gpu?: number;
}

/** A backend that cannot be used here, with the reason (e.g. only a software adapter). */
export class WebGpuUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'WebGpuUnavailableError';
  }
}

const TF_BACKEND = 'webgpu';
let registered: WebGpuRegistration | undefined;
/** The device of the registered backend (`GPUDevice.destroy` releases it with everything created on it). */
let registeredDevice: { destroy(): void } | undefined;

/**
 * Finds a WebGPU adapter and registers TF.js's WebGPU backend on a device of it under `webgpu`.
 * @throws WebGpuUnavailableError when there is no adapter, or only a software one and `allowSoftware` is off
 */
export async function registerWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuRegistration> {
  if (registered !== undefined) {
    if (registered.adapter.software && opts.allowSoftware !== true) {
      const hint = registered.adapter.hint;
      throw new WebGpuUnavailableError(`only a software adapter: ${formatAdapter(registered.adapter)}${hint === undefined ? '' : `; ${hint}`}`);
    }
    return registered;
  }
  const { backend, device, adapter: description } = await openWebGpuDevice(opts);
  // The package registers a factory of its own on import where `navigator.gpu` exists; this device replaces it.
  if (tf.findBackendFactory(TF_BACKEND) !== null) tf.removeBackend(TF_BACKEND);
  tf.registerBackend(TF_BACKEND, () => backend, 0);
  // Before any device backend of replicas copies the `webgpu` kernels.
  registerWebGpuKernels();
  registered = { tfBackend: TF_BACKEND, adapter: description };
  registeredDevice = device;
  return registered;
}

/** Registers the project's kernels for TF.js's WebGPU backend (`webgpu`): the weighted sum of chunk gradients, Adam, BatchNorm, the filter gradient, sum + ReLU, the upsampling's gradient. Idempotent. */
export function registerWebGpuKernels(): void {
  registerWebGpuAccumulateKernel();
  registerWebGpuAdamKernel();
  registerWebGpuBatchNormKernels();
  registerWebGpuConvFilterGradKernel();
  registerWebGpuSumReluKernels();
  registerWebGpuUpsampleGradKernel();
}

/** A device of its own and TF.js's WebGPU backend on it, not yet registered. */
interface OpenedDevice {
  backend: tf.KernelBackend;
  device: { destroy(): void };
  adapter: AdapterDescription;
}

/**
 * Opens a device on GPU `opts.gpu` of Dawn's list (default: the high-performance adapter) and builds the WebGPU
 * backend on it.
 * @throws WebGpuUnavailableError when there is no adapter, or only a software one and `allowSoftware` is off
 */
async function openWebGpuDevice(opts: WebGpuOptions): Promise<OpenedDevice> {
  let gpu: GpuProvider;
  try {
    gpu = await gpuProvider(opts.allowSoftware === true);
  } catch (err) {
    throw new WebGpuUnavailableError((err as Error).message);
  }
  const names = gpu.dawn ? await dawnAdapterNames(gpu.dawn) : [];
  const adapter = await requestAdapter(gpu, names, opts.gpu);
  const which = opts.gpu === undefined ? '' : `GPUS: GPU ${opts.gpu}: `;
  if (adapter === null) {
    const drivers = gpu.source === 'npm-loader' ? `; the Vulkan loader of @sparticuz/chromium tried the drivers ${process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES}` : '';
    const hint = process.platform === 'linux' ? nvidiaVulkanHint() : undefined;
    throw new WebGpuUnavailableError(`${which}no WebGPU adapter found (Dawn sees no Vulkan/Metal/D3D12 device${drivers})${hint === undefined ? '' : `: ${hint}`}`);
  }
  const description = describeAdapter(adapter, gpu.source, names);
  const hint = description.software && process.platform === 'linux' ? nvidiaVulkanHint() : undefined;
  if (hint !== undefined) description.hint = hint;
  if (description.software && opts.allowSoftware !== true) {
    throw new WebGpuUnavailableError(`${which}only a software adapter: ${formatAdapter(description)}${hint === undefined ? '' : `; ${hint}`}`);
  }
  const { WebGPUBackend } = requireOptional('@tensorflow/tfjs-backend-webgpu') as {
    WebGPUBackend: new (device: unknown, info?: unknown) => tf.KernelBackend;
  };
  const device = (await adapter.requestDevice(deviceDescriptor(adapter))) as { destroy(): void } & DeviceErrorEvents;
  watchDeviceErrors(device, formatAdapter(description));
  return { backend: new WebGPUBackend(device, adapter.info), device, adapter: description };
}

const DAWN_ADAPTER_LINE = /^\s*\* backend: '([^']*)', name: '(.*)'\s*$/;

/**
 * The names of the adapters Dawn enumerates, in its order. Dawn's Node bindings have no enumeration
 * call; a request for an adapter no device is named after is refused with the list of them.
 */
async function dawnAdapterNames(dawn: DawnModule): Promise<string[]> {
  try {
    await dawn.create(['adapter=\u0001no adapter has this name']).requestAdapter();
    return [];
  } catch (err) {
    const text = String((err as Error).message ?? err);
    return text
      .split('\n')
      .map((line) => DAWN_ADAPTER_LINE.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => m[2]);
  }
}

/** The adapter for GPU `index` of Dawn's list, or WebGPU's high-performance one without an index. */
async function requestAdapter(gpu: GpuProvider, names: string[], index: number | undefined): Promise<GpuAdapter | null> {
  if (index === undefined) return gpu.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (gpu.dawn === undefined) {
    if (index !== 0) throw new WebGpuUnavailableError(`GPUS: GPU ${index} cannot be chosen in a browser, which offers one adapter`);
    return gpu.gpu.requestAdapter({ powerPreference: 'high-performance' });
  }
  if (!(Number.isInteger(index) && index >= 0 && index < names.length)) {
    const list = names.map((n, i) => `${i}: ${n}`).join(', ') || 'none';
    throw new WebGpuUnavailableError(`GPUS: there is no GPU ${index}; Dawn sees ${names.length} adapter(s) (${list})`);
  }
  const name = names[index];
  const first = names.indexOf(name);
  if (first !== index) {
    throw new WebGpuUnavailableError(
      `GPUS: GPU ${index} (${name}) has the same name as GPU ${first}, and Dawn's Node bindings choose adapters by name: ` +
        'identical GPUs cannot be told apart; list the first of them only',
    );
  }
  // The instance must outlive its devices: Dawn's Node bindings free a collected instance's state under them.
  let instance = dawnInstances.get(name);
  if (instance === undefined) {
    instance = gpu.dawn.create([`adapter=${name}`, ...DAWN_FLAGS]);
    dawnInstances.set(name, instance);
  }
  return instance.requestAdapter({ powerPreference: 'high-performance' });
}

/** Dawn instances that choose one adapter by name, kept for the life of the process (see {@link requestAdapter}). */
const dawnInstances = new Map<string, GpuEntry>();

/** The device TF.js's own registration asks for: the adapter's limits for the big buffers, and timestamps. */
function deviceDescriptor(adapter: GpuAdapter): { requiredFeatures: string[]; requiredLimits: Record<string, number> } {
  const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
  const limits = adapter.limits;
  const keys = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ];
  const requiredLimits: Record<string, number> = {};
  for (const k of keys) requiredLimits[k] = limits[k];
  return { requiredFeatures, requiredLimits };
}

/** The adapter of the registered backend, if any. */
export function webGpuAdapter(): AdapterDescription | undefined {
  return registered?.adapter;
}

/** The names of the adapters Dawn lists, in its order (GPU `i` of `GPUS` is entry `i`); empty in a browser. */
export async function webGpuAdapterNames(opts: Pick<WebGpuOptions, 'allowSoftware'> = {}): Promise<string[]> {
  const gpu = await gpuProvider(opts.allowSoftware === true);
  return gpu.dawn ? dawnAdapterNames(gpu.dawn) : [];
}

/**
 * How this process reached Vulkan, in words (Linux, once Dawn is loaded): the system's loader, or the npm
 * package's loader with the drivers it runs, or its SwiftShader; `undefined` before, and elsewhere.
 */
export function webGpuVulkanRoute(): string | undefined {
  const drivers = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES;
  switch (dawnVulkanSource) {
    case 'system':
      return `the system's Vulkan loader${drivers ? `, drivers ${drivers}` : ''}`;
    case 'npm-loader':
      return `the Vulkan loader of @sparticuz/chromium, drivers ${drivers ?? '?'}`;
    case 'npm-swiftshader':
      return 'SwiftShader and the Vulkan loader of @sparticuz/chromium';
    default:
      return undefined;
  }
}

/** A further WebGPU device, registered as a TF.js backend of its own; {@link WebGpuDeviceBackend.dispose} it. */
export interface WebGpuDeviceBackend extends WebGpuRegistration {
  /** Removes the TF.js backend (and its kernel registrations) and destroys the device. */
  dispose(): void;
}

let deviceBackends = 0;

/**
 * A device of its own on GPU `gpu` (an index into Dawn's adapters), registered as TF.js backend
 * `webgpu-<n>` with every kernel of `webgpu`: a data-parallel replica computes there while the main
 * backend computes on its own device. Tensors never cross backends implicitly here (that would be a
 * synchronous read): values move with `await tensor.data()` and a new tensor on the other side.
 * Needs the main backend ({@link registerWebGpuBackend}) registered first.
 */
export async function registerWebGpuDeviceBackend(gpu: number, opts: Pick<WebGpuOptions, 'allowSoftware'> = {}): Promise<WebGpuDeviceBackend> {
  if (registered === undefined) throw new Error('registerWebGpuDeviceBackend: register the main WebGPU backend first (initBackend)');
  const { backend, device, adapter: description } = await openWebGpuDevice({ ...opts, gpu });
  const name = `${TF_BACKEND}-${++deviceBackends}`;
  tf.registerBackend(name, () => backend, 0);
  const kernels = tf.getKernelsForBackend(TF_BACKEND);
  for (const k of kernels) tf.registerKernel({ ...k, backendName: name });
  let disposed = false;
  return {
    tfBackend: name,
    adapter: description,
    dispose() {
      if (disposed) return;
      if (tf.getBackend() === name) throw new Error(`${name} is the active backend; activate another before disposing it`);
      disposed = true;
      for (const k of kernels) tf.unregisterKernel(k.kernelName, name);
      tf.removeBackend(name);
      releaseDevice(device);
    },
  };
}

/**
 * Releases what {@link registerWebGpuBackend} holds: TF.js's `webgpu` backend is removed (its tensors and the
 * buffers it pools are freed) and the device is destroyed with every buffer and pipeline created on it. In Node
 * these are Dawn's native objects (on a software adapter, SwiftShader's buffers and compiled shaders), which the
 * garbage collector does not weigh: without this call they are released only as the process exits. A later
 * `registerWebGpuBackend` (or `initBackend`) starts on a new device.
 */
export function disposeWebGpuBackend(): void {
  if (registered === undefined) return;
  if (tf.findBackendFactory(TF_BACKEND) !== null) tf.removeBackend(TF_BACKEND);
  if (registeredDevice !== undefined) releaseDevice(registeredDevice);
  registered = undefined;
  registeredDevice = undefined;
}

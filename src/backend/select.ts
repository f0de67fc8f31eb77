/**
 * Chooses the TensorFlow.js backend a run computes on.
 *
 * Names (the CLI's `--backend` and the `HRNET_BACKEND` variable take the same):
 * - `node-gpu`: `@tensorflow/tfjs-node-gpu` (libtensorflow with CUDA; tfjs backend `tensorflow`)
 * - `webgpu`: `@tensorflow/tfjs-backend-webgpu` on a WebGPU adapter (Dawn's Node bindings from the `webgpu`
 *   package: Vulkan, Metal or D3D12, any vendor, no CUDA toolkit; see `webgpu.ts`)
 * - `node`: `@tensorflow/tfjs-node` (libtensorflow on the CPU; tfjs backend `tensorflow`)
 * - `wasm`: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD) with the project's training kernels
 * - `cpu`: the pure-JavaScript backend (slow; always available)
 * The tfjs-side names `tensorflow`, `tensorflow-gpu`, `tfjs-node`, `tfjs-node-gpu` are accepted as aliases.
 *
 * Without a choice the first that loads of node-gpu → webgpu → node → wasm → cpu is used: `node-gpu` only
 * when TensorFlow actually registers a GPU device, `webgpu` only on a hardware adapter. Both tfjs-node
 * packages are optional dependencies; they register with the `@tensorflow/tfjs` core this project
 * imports when they resolve it to the same installed copy (same version, deduplicated).
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { registerTrainingGradients } from './gradients';
import { registerCpuTrainingKernels, registerWasmTrainingKernels } from './fallback-kernels';
import { requireOptional } from './optional';
import { applyTfjsFlags, tfjsFlagsFromEnv, unknownTfjsFlagError } from './tfjs-flags';
import { AdapterDescription, WebGpuUnavailableError, formatAdapter, registerWebGpuBackend } from './webgpu';

export { requireOptional };

/** A backend as users name it. */
export type BackendName = 'node-gpu' | 'webgpu' | 'node' | 'wasm' | 'cpu';

/** Automatic selection order (`webgpu` only on a hardware adapter). */
export const BACKEND_ORDER: readonly BackendName[] = ['node-gpu', 'webgpu', 'node', 'wasm', 'cpu'];

/** What `initBackend` settled on. */
export interface BackendInfo {
  /** The backend as users name it. */
  name: BackendName;
  /** The name tfjs registers it under (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  /** Version of `@tensorflow/tfjs`. */
  tfjsVersion: string;
  /** Backend specifics, e.g. `SIMD, 1 thread` or `tfjs-node 4.22.0`. */
  details: string;
  /** Backends tried before this one during automatic selection, each with why it was not used. */
  skipped: string[];
  /** The GPU adapter (webgpu only). */
  adapter?: AdapterDescription;
  /** TF.js flags set from `HRNET_TFJS_FLAGS`, as `FLAG=value`. */
  tfjsFlags?: string[];
}

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /** Backend to load, exactly (error if it cannot); `auto` or empty: automatic. Default: env `HRNET_BACKEND`. */
  preferred?: string;
  /** Do not print the `backend: …` line. */
  quiet?: boolean;
  /** Where the line goes; default `console.error`, so that stdout stays clean for JSON output. */
  log?: (msg: string) => void;
  /** WebGPU only: which GPU (an entry of the config's `GPUS`, an index into Dawn's adapters). */
  gpu?: number;
}

const ALIASES: Readonly<Record<string, BackendName>> = {
  'node-gpu': 'node-gpu',
  'tfjs-node-gpu': 'node-gpu',
  'tensorflow-gpu': 'node-gpu',
  gpu: 'node-gpu',
  webgpu: 'webgpu',
  dawn: 'webgpu',
  node: 'node',
  'tfjs-node': 'node',
  tensorflow: 'node',
  wasm: 'wasm',
  cpu: 'cpu',
};

/**
 * Parses a user-given backend name (case-insensitive, aliases allowed).
 * @returns the backend, or `undefined` for automatic selection (`auto`, empty or undefined)
 */
export function parseBackendName(value: string | undefined, source = '--backend'): BackendName | undefined {
  const key = (value ?? '').trim().toLowerCase();
  if (key === '' || key === 'auto') return undefined;
  const name = ALIASES[key];
  if (name === undefined) {
    throw new Error(`${source}: unknown backend '${value}', expected one of ${BACKEND_ORDER.join(', ')} or auto`);
  }
  return name;
}

const NODE_PACKAGES: Readonly<Record<'node-gpu' | 'node', string>> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};


/** Why loading failed, as one line. */
function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}

/** A backend that could not be loaded; `reason` says why. */
class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
  ) {
    super(`backend '${backend}' is unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

async function activate(tfBackend: string, name: BackendName): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfBackend);
  } catch (err) {
    throw new BackendUnavailableError(name, `initialising tfjs backend '${tfBackend}' failed: ${firstLine(err)}`);
  }
  if (!ok) throw new BackendUnavailableError(name, `initialising tfjs backend '${tfBackend}' failed`);
  await tf.ready();
}

/** Whether the active tfjs-node backend computes on a GPU (TensorFlow found CUDA and a device). */
function usesGpuDevice(): boolean {
  return (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
}

/**
 * Loads and activates one backend; throws `BackendUnavailableError` if it cannot. `explicit`: the user
 * named it (a software WebGPU adapter is then accepted).
 */
async function load(name: BackendName, explicit: boolean, gpu?: number): Promise<Omit<BackendInfo, 'skipped'>> {
  const tfjsVersion = tf.version.tfjs;
  switch (name) {
    case 'node-gpu':
    case 'node': {
      const pkg = NODE_PACKAGES[name];
      let mod: { version?: Record<string, string> };
      try {
        mod = requireOptional(pkg) as typeof mod;
      } catch (err) {
        const missing = (err as { code?: string }).code === 'MODULE_NOT_FOUND' && firstLine(err).includes(pkg);
        throw new BackendUnavailableError(
          name,
          missing ? `${pkg} is not installed: npm install ${pkg}` : `loading ${pkg} failed: ${firstLine(err)}`,
        );
      }
      if (tf.getKernelsForBackend('tensorflow').length === 0) {
        throw new BackendUnavailableError(
          name,
          `${pkg} registered with another copy of @tensorflow/tfjs; install the version matching @tensorflow/tfjs ${tfjsVersion}`,
        );
      }
      await activate('tensorflow', name);
      if (name === 'node-gpu' && !usesGpuDevice()) {
        throw new BackendUnavailableError(
          name,
          '@tensorflow/tfjs-node-gpu loaded but TensorFlow registered no GPU device (it needs CUDA 11.2 and cuDNN 8.1 libraries on the library path)',
        );
      }
      const nodeVersion = mod.version?.['tfjs-node'] ?? mod.version?.['tfjs-node-gpu'];
      return { name, tfBackend: 'tensorflow', tfjsVersion, details: `${pkg.replace('@tensorflow/', '')} ${nodeVersion ?? '?'}` };
    }
    case 'webgpu': {
      let reg;
      try {
        reg = await registerWebGpuBackend({ allowSoftware: explicit, gpu });
      } catch (err) {
        if (err instanceof WebGpuUnavailableError) throw new BackendUnavailableError(name, err.reason);
        throw err;
      }
      await activate(reg.tfBackend, name);
      return { name, tfBackend: reg.tfBackend, tfjsVersion, details: formatAdapter(reg.adapter), adapter: reg.adapter };
    }
    case 'wasm': {
      registerWasmTrainingKernels();
      await activate('wasm', name);
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
      const threads = getThreadsCount();
      return { name, tfBackend: 'wasm', tfjsVersion, details: `${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}` };
    }
    case 'cpu': {
      registerCpuTrainingKernels();
      await activate('cpu', name);
      return { name, tfBackend: 'cpu', tfjsVersion, details: 'pure JS' };
    }
  }
}

/** The last selection, for idempotence: request (`auto` or a name) and its result. */
let current: { request: BackendName | 'auto'; info: BackendInfo } | undefined;

/**
 * Loads and activates the backend, prints `backend: <name> (tfjs <version>, <details>)` and returns
 * what was chosen. With a preferred backend (option or env `HRNET_BACKEND`) exactly that one is
 * loaded or an error says why not; otherwise node-gpu → webgpu → node → wasm → cpu. Also registers the
 * gradients tfjs-core lacks (`gradients.ts`) for whichever backend is chosen. Calling again with the
 * same request while that backend is still active returns the same info without printing.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const requestedRaw = opts.preferred ?? process.env.HRNET_BACKEND;
  const source = opts.preferred !== undefined ? 'backend' : 'HRNET_BACKEND';
  const requested = parseBackendName(requestedRaw, source);
  const request = requested ?? 'auto';
  if (current !== undefined && current.request === request && tf.getBackend() === current.info.tfBackend) {
    return current.info;
  }

  registerTrainingGradients();
  // The flags TF.js knows now are set before any backend initialises (some are read then, WASM's threads
  // say); a backend's own flags are registered when its package loads, and set once it has.
  const early = applyTfjsFlags(tfjsFlagsFromEnv());
  let info: BackendInfo | undefined;
  if (requested !== undefined) {
    info = { ...(await load(requested, true, opts.gpu)), skipped: [] };
  } else {
    const skipped: string[] = [];
    for (const name of BACKEND_ORDER) {
      try {
        info = { ...(await load(name, false)), skipped };
        break;
      } catch (err) {
        if (!(err instanceof BackendUnavailableError)) throw err;
        skipped.push(`${name}: ${err.reason}`);
      }
    }
    if (info === undefined) throw new Error(`no TensorFlow.js backend could be loaded:\n  ${skipped.join('\n  ')}`);
  }

  const late = applyTfjsFlags(early.unregistered);
  if (late.unregistered.length > 0) throw unknownTfjsFlagError(late.unregistered[0].name, info.name);
  const tfjsFlags = [...early.applied, ...late.applied];
  if (tfjsFlags.length > 0) info = { ...info, tfjsFlags };
  current = { request, info };
  if (opts.quiet !== true) {
    (opts.log ?? console.error)(formatBackendLine(info));
    if (tfjsFlags.length > 0) (opts.log ?? console.error)(`tfjs flags (HRNET_TFJS_FLAGS): ${tfjsFlags.join(', ')}`);
    if (info.adapter?.hint !== undefined) (opts.log ?? console.error)(`note: ${info.adapter.hint}`);
    else if (info.adapter?.software === true) (opts.log ?? console.error)(`note: ${softwareAdapterNote(info.adapter)}`);
  }
  return info;
}

/** What a run on a software adapter (only ever named, never chosen) should know. */
export function softwareAdapterNote(adapter: AdapterDescription): string {
  return `${adapter.device} is a software adapter: WebGPU computes on this machine's CPU, many times slower than the wasm backend; it serves to test the GPU code path`;
}

/** The one-line description every run prints, e.g. `backend: wasm (tfjs 4.22.0, SIMD, 1 thread)`. */
export function formatBackendLine(info: BackendInfo): string {
  return `backend: ${info.name} (tfjs ${info.tfjsVersion}, ${info.details})`;
}

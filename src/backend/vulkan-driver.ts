/**
 * How Dawn (WebGPU in Node, Linux) reaches a Vulkan driver: through the system's loader, or through the loader
 * that the npm package `@sparticuz/chromium` carries, with the system's drivers (installed without a loader,
 * as in containers that get the NVIDIA driver mounted) or with the package's SwiftShader (where there is no
 * driver, or `HRNET_VULKAN=swiftshader` asks for it). Kept apart from the WebGPU backend (no TF.js here) so that a
 * test runner's global set-up can prepare the environment without loading TF.js.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NpmChromium, unpackNpmChromium } from './npm-chromium';

/** `dlopen` flag that keeps a library loaded after `dlclose` (glibc's RTLD_NODELETE). */
const RTLD_NODELETE = 0x1000;

/** Whether the dynamic loader finds `name` on the system's library path (the probe is unloaded again). */
function systemLibraryLoads(name: string): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, name, os.constants.dlopen.RTLD_LAZY);
    return true;
  } catch (err) {
    // A library that loads but is no Node addon says so; one that is missing says "cannot open".
    return !/cannot open shared object file|image not found|not found/i.test(String((err as Error).message));
  }
}

/**
 * How this process reaches Vulkan (Linux): through the system's loader; through the npm package's loader
 * (`@sparticuz/chromium` carries the Khronos loader beside SwiftShader) and the system's drivers, where the
 * drivers are installed without a loader, as the NVIDIA container runtime mounts its driver into images
 * that have no `libvulkan1`; through the npm package's loader and SwiftShader; or not at all.
 */
export type VulkanPlan =
  | { kind: 'system' }
  | {
      kind: 'npm-loader';
      /** The drivers' ICD manifests: those `VK_DRIVER_FILES` or `VK_ICD_FILENAMES` name, else those found installed. */
      drivers: string[];
      /** Whether the environment named them (then it is left as it is). */
      named: boolean;
    }
  | { kind: 'npm-swiftshader' }
  | { kind: 'none' };

/**
 * Folders where the Vulkan loader looks for drivers' ICD manifests on Linux (the user's and the system's
 * XDG folders and `/etc/vulkan`), and where the NVIDIA container runtime mounts its manifest.
 */
export function driverManifestDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? os.homedir();
  const list = (value: string | undefined, fallback: string) => (value === undefined || value === '' ? fallback : value).split(':').filter((d) => d !== '');
  const configDirs = [env.XDG_CONFIG_HOME || path.join(home, '.config'), ...list(env.XDG_CONFIG_DIRS, '/etc/xdg'), '/etc'];
  const dataDirs = [env.XDG_DATA_HOME || path.join(home, '.local/share'), ...list(env.XDG_DATA_DIRS, '/usr/local/share:/usr/share')];
  const dirs = [...configDirs, ...dataDirs].map((d) => path.join(d, 'vulkan', 'icd.d'));
  return [...new Set([...dirs, '/usr/local/nvidia/share/vulkan/icd.d'])];
}

/** The ICD manifests (`*.json`) in `dirs`, in order of the folders, then of their names. */
export function driverManifests(dirs: string[]): string[] {
  return dirs.flatMap((dir) => {
    try {
      return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  });
}

/** Inputs of {@link planVulkan}, for tests: the environment, whether a system loader loads, where manifests are. */
export interface VulkanPlanInputs {
  env?: NodeJS.ProcessEnv;
  systemLoader?: () => boolean;
  manifestDirs?: string[];
}

/**
 * How this process will reach Vulkan: the npm package's SwiftShader where `HRNET_VULKAN=swiftshader` asks for
 * it; else the system's loader where one loads; else the npm package's loader with the drivers the
 * environment names (`VK_DRIVER_FILES`, `VK_ICD_FILENAMES`) or that are installed; else nothing (the npm
 * package's SwiftShader remains, for whoever accepts a software adapter). A process that has loaded a loader
 * finds `libvulkan.so.1` loaded: plan before.
 */
export function planVulkan(inputs: VulkanPlanInputs = {}): VulkanPlan {
  const env = inputs.env ?? process.env;
  if ((env.HRNET_VULKAN ?? '').toLowerCase() === 'swiftshader') return { kind: 'npm-swiftshader' };
  if ((inputs.systemLoader ?? (() => systemLibraryLoads('libvulkan.so.1')))()) return { kind: 'system' };
  const named = (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || '').split(':').filter((f) => f !== '');
  if (named.length > 0) return { kind: 'npm-loader', drivers: named, named: true };
  const installed = driverManifests(inputs.manifestDirs ?? driverManifestDirs(env));
  if (installed.length > 0) return { kind: 'npm-loader', drivers: installed, named: false };
  return { kind: 'none' };
}

/** Where the NVIDIA kernel driver reports its version when it is loaded. */
const NVIDIA_KERNEL_DRIVER = '/proc/driver/nvidia/version';

/**
 * What to do where an NVIDIA GPU's kernel driver runs (`procFile` exists) but no NVIDIA Vulkan driver is
 * installed or named: the NVIDIA container runtime mounts the Vulkan driver only for containers given the
 * `graphics` capability, which its default (`compute,utility`) lacks, so WebGPU finds no GPU there. `undefined`
 * where this is not the case.
 */
export function nvidiaVulkanHint(env: NodeJS.ProcessEnv = process.env, manifestDirs: string[] = driverManifestDirs(env), procFile = NVIDIA_KERNEL_DRIVER): string | undefined {
  if (!fs.existsSync(procFile)) return undefined;
  const named = (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || '').split(':');
  if ([...named, ...driverManifests(manifestDirs)].some((f) => /nvidia/i.test(path.basename(f)))) return undefined;
  return (
    `an NVIDIA GPU driver runs here (${procFile}) but its Vulkan driver is not installed: in a container, give it the graphics capability ` +
    '(NVIDIA_DRIVER_CAPABILITIES=all, or compute,utility,graphics) so that the NVIDIA runtime mounts it; elsewhere install it ' +
    '(Ubuntu: libnvidia-gl-<driver version>; Debian: nvidia-vulkan-icd)'
  );
}

/**
 * The environment a process needs for Dawn to find the npm package's SwiftShader (`VK_ICD_FILENAMES`), where
 * the plan leaves it nothing else; `undefined` otherwise. The Vulkan loader reads the variable from the real
 * process environment: a test runner that gives each test file a copy of `process.env` (Jest) sets it in its
 * global set-up, before the workers start.
 */
export async function npmSwiftShaderEnvironment(): Promise<Record<string, string> | undefined> {
  if (process.platform !== 'linux') return undefined;
  const plan = planVulkan();
  if (plan.kind !== 'npm-swiftshader' && plan.kind !== 'none') return undefined;
  const chromium = await unpackNpmChromium();
  return { VK_ICD_FILENAMES: chromium.vulkanIcd };
}

/** The npm package's loader, once this process has loaded it. */
let npmLoader: string | undefined;

/** The path of the npm package's Vulkan loader where this process uses it, for processes it starts that load Dawn. */
export function npmVulkanLoaderInUse(): string | undefined {
  return npmLoader;
}

/**
 * Loads the npm package's Vulkan loader into this process and keeps it (so Dawn's later
 * `dlopen("libvulkan.so.1")` finds it by its soname).
 */
async function loadNpmLoader(): Promise<NpmChromium> {
  const chromium = await unpackNpmChromium();
  if (!fs.existsSync(chromium.vulkanLoader)) throw new Error(`${chromium.vulkanLoader} is missing from the unpacked @sparticuz/chromium ${chromium.version}`);
  preloadVulkanLoader(chromium.vulkanLoader);
  npmLoader = chromium.vulkanLoader;
  return chromium;
}

/** `dlopen` flags that load a Vulkan loader for good, its symbols global, so that Dawn's `dlopen` by soname finds it. */
export const VULKAN_LOADER_DLOPEN_FLAGS = (os.constants.dlopen?.RTLD_NOW ?? 2) | (os.constants.dlopen?.RTLD_GLOBAL ?? 0x100) | RTLD_NODELETE;

/** `dlopen`s `loader` for good, with its symbols global (Node's `process.dlopen` refuses it as an addon, after loading it). */
function preloadVulkanLoader(loader: string): void {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, loader, VULKAN_LOADER_DLOPEN_FLAGS);
  } catch (err) {
    // Expected: the loader is no Node addon. It stays loaded all the same (RTLD_NODELETE).
    if (!/did not self-register/.test(String((err as Error).message))) throw err;
  }
}

/** Makes the npm package's SwiftShader the Vulkan driver of this process: its loader, pointed at SwiftShader's ICD manifest. */
export async function useNpmSwiftShader(): Promise<void> {
  const chromium = await unpackNpmChromium();
  if (!fs.existsSync(chromium.vulkanIcd)) throw new Error(`${chromium.vulkanIcd} is missing from the unpacked @sparticuz/chromium ${chromium.version}`);
  process.env.VK_ICD_FILENAMES = chromium.vulkanIcd;
  await loadNpmLoader();
}

/**
 * Gives this process the npm package's loader with the system's drivers of `plan`: where the environment does
 * not name them, `VK_DRIVER_FILES` does (the loader would not look in the NVIDIA container runtime's folder).
 * @returns whether the drivers are the npm package's SwiftShader alone (as the test set-up names it)
 */
export async function useNpmLoader(plan: Extract<VulkanPlan, { kind: 'npm-loader' }>): Promise<boolean> {
  if (!plan.named) process.env.VK_DRIVER_FILES = plan.drivers.join(':');
  const chromium = await loadNpmLoader();
  return plan.drivers.length === 1 && path.resolve(plan.drivers[0]) === chromium.vulkanIcd;
}

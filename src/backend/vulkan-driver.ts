/**
 * Which Vulkan driver Dawn (WebGPU in Node, Linux) runs on: the system's, or the SwiftShader driver that
 * the npm package `@sparticuz/chromium` carries, used where Linux has no Vulkan loader at all or
 * `HRNET_VULKAN=swiftshader` asks for it. Kept apart from the WebGPU backend (no TF.js here) so that a
 * test runner's global set-up can prepare the environment without loading TF.js.
 */
import * as fs from 'fs';
import * as os from 'os';
import { unpackNpmChromium } from './npm-chromium';

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

/** Whether Dawn should run on the npm package's SwiftShader: no system Vulkan loader, or `HRNET_VULKAN=swiftshader`. */
export function wantsNpmSwiftShader(): boolean {
  if (process.platform !== 'linux') return false;
  return (process.env.HRNET_VULKAN ?? '').toLowerCase() === 'swiftshader' || !systemLibraryLoads('libvulkan.so.1');
}

/**
 * The environment a process needs for Dawn to find the npm package's SwiftShader (`VK_ICD_FILENAMES`),
 * when it will use it (see {@link wantsNpmSwiftShader}); `undefined` otherwise. The Vulkan loader reads
 * the variable from the real process environment: a test runner that gives each test file a copy of
 * `process.env` (Jest) sets it in its global set-up, before the workers start.
 */
export async function npmSwiftShaderEnvironment(): Promise<Record<string, string> | undefined> {
  if (!wantsNpmSwiftShader()) return undefined;
  const chromium = await unpackNpmChromium();
  return { VK_ICD_FILENAMES: chromium.vulkanIcd };
}

/**
 * Makes the npm package's SwiftShader the Vulkan driver of this process: its loader is loaded and kept
 * (so Dawn's later `dlopen("libvulkan.so.1")` finds it by its soname), and the loader is pointed at
 * SwiftShader's ICD manifest.
 */
export async function useNpmSwiftShader(): Promise<void> {
  const chromium = await unpackNpmChromium();
  for (const file of [chromium.vulkanLoader, chromium.vulkanIcd]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing from the unpacked @sparticuz/chromium ${chromium.version}`);
  }
  process.env.VK_ICD_FILENAMES = chromium.vulkanIcd;
  try {
    const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
    process.dlopen({ exports: {} } as NodeJS.Module, chromium.vulkanLoader, flags);
  } catch (err) {
    // Expected: the loader is no Node addon. It stays loaded all the same (RTLD_NODELETE).
    if (!/did not self-register/.test(String((err as Error).message))) throw err;
  }
}

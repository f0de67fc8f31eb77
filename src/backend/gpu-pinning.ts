/**
 * Showing a process one GPU alone, for data-parallel replicas on identical GPUs. Dawn's Node bindings pick
 * an adapter by its name, so in one process two GPUs of the same model cannot be told apart; a process whose
 * Vulkan driver sees only one of them can. On Linux, Mesa's device-select Vulkan layer (an implicit layer,
 * installed with Mesa's Vulkan drivers: `mesa-vulkan-drivers` on Debian and Ubuntu) does this for any
 * vendor's driver, NVIDIA's included, from variables it reads when the process enumerates its devices:
 * `DRI_PRIME=pci-DDDD_BB_DD_F!` keeps the GPU at that PCI address alone, `MESA_VK_DEVICE_SELECT=VID:DID!`
 * the only device with those ids. The layer also lists the devices with their PCI addresses
 * (`MESA_VK_DEVICE_SELECT=list`), which is how the devices are found here: a short probe process.
 */
import { spawn } from 'child_process';
import { npmVulkanLoaderInUse, VULKAN_LOADER_DLOPEN_FLAGS } from './vulkan-driver';

/** A Vulkan device as Mesa's device-select layer lists it. */
export interface VulkanDevice {
  /** Position in the Vulkan driver's enumeration. */
  index: number;
  vendorId: number;
  deviceId: number;
  /** The device name, which is also the adapter name Dawn reports. */
  name: string;
  /** `discrete GPU`, `integrated GPU`, `virtual GPU`, `CPU` or `other`. */
  type: string;
  /** `pci-DDDD_BB_DD_F`, where the driver reports a PCI address (hardware does; software drivers do not). */
  pci?: string;
}

const LIST_LINE = /^\s*GPU (\d+): ([0-9a-f]+):([0-9a-f]+) "(.*)" (other|integrated GPU|discrete GPU|virtual GPU|CPU)(?: ([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-9a-f]))?\s*$/i;

/** The devices in the output of `MESA_VK_DEVICE_SELECT=list`; `undefined` when it holds no list (the layer did not run). */
export function parseDeviceSelectList(text: string): VulkanDevice[] | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'selectable devices:');
  if (start < 0) return undefined;
  const devices: VulkanDevice[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = LIST_LINE.exec(line);
    if (m === null) continue;
    devices.push({
      index: Number(m[1]),
      vendorId: parseInt(m[2], 16),
      deviceId: parseInt(m[3], 16),
      name: m[4],
      type: m[5],
      pci: m[6] === undefined ? undefined : `pci-${m[6]}_${m[7]}_${m[8]}_${m[9]}`,
    });
  }
  return devices;
}

/** What the probe found: the devices, or why there is no list. */
export type VulkanDeviceList = { devices: VulkanDevice[] } | { reason: string };

const PROBE_TIMEOUT_MS = 60_000;

/**
 * The Vulkan devices of this machine with their PCI addresses, from a probe process that loads Dawn
 * (`dawnModule`, the path of `dawn.node`) with `MESA_VK_DEVICE_SELECT=list`: the layer prints the list as
 * Dawn enumerates and ends the process. Without the layer there is no list, and the reason says what to install.
 */
export async function listVulkanDevices(dawnModule: string, env: NodeJS.ProcessEnv = process.env, loader: string | undefined = npmVulkanLoaderInUse()): Promise<VulkanDeviceList> {
  if (process.platform !== 'linux') return { reason: 'one process per GPU is built on Linux only (Mesa\'s device-select Vulkan layer)' };
  // Where this process runs on the npm package's Vulkan loader, the probe loads it before Dawn, as this process did.
  const preload = loader === undefined ? '' : `try { process.dlopen({ exports: {} }, ${JSON.stringify(loader)}, ${VULKAN_LOADER_DLOPEN_FLAGS}); } catch (e) { if (!/did not self-register/.test(String(e.message))) throw e; }`;
  const script = `${preload}require(${JSON.stringify(dawnModule)}).create([]).requestAdapter().then(() => process.exit(0), () => process.exit(0));`;
  const output = await new Promise<{ text: string; failure?: string }>((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { env: { ...env, MESA_VK_DEVICE_SELECT: 'list' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ text, failure: err.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ text, failure: code === 0 ? undefined : `the probe process ended with ${signal ?? `code ${code}`}` });
    });
  });
  const devices = parseDeviceSelectList(output.text);
  if (devices !== undefined) return { devices };
  if (env.NODEVICE_SELECT === '1') return { reason: 'Mesa\'s device-select Vulkan layer is turned off (NODEVICE_SELECT=1)' };
  return {
    reason:
      `Mesa's device-select Vulkan layer, which shows a process one GPU, did not run${output.failure !== undefined ? ` (${output.failure})` : ''}: ` +
      'install Mesa\'s Vulkan drivers, which bring it (Debian and Ubuntu: apt install mesa-vulkan-drivers; Fedora: mesa-vulkan-drivers; Arch: vulkan-mesa-layers)',
  };
}

/**
 * The variables that show a process `device` alone: its PCI address where it has one, else its vendor and
 * device ids where no other device of `all` shares them; `undefined` when neither tells it apart.
 */
export function pinningEnvironment(device: VulkanDevice, all: readonly VulkanDevice[]): Record<string, string> | undefined {
  if (device.pci !== undefined) return { DRI_PRIME: `${device.pci}!` };
  const twins = all.filter((d) => d.vendorId === device.vendorId && d.deviceId === device.deviceId);
  if (twins.length === 1) return { MESA_VK_DEVICE_SELECT: `${device.vendorId.toString(16)}:${device.deviceId.toString(16)}!` };
  return undefined;
}

/** A device of the list, and the variables that show a process that device alone. */
export interface PinnedGpu {
  device: VulkanDevice;
  env: Record<string, string>;
}

/**
 * The device of each entry of `gpus` (indices into `adapterNames`, Dawn's list), with the variables that show
 * a process that device alone. Adapters of the same name are matched to the listed devices of that name in
 * order: the k-th adapter named N is the k-th device named N (GPUs of one model are interchangeable).
 * @returns the pinned devices in `gpus` order, or why they cannot all be told apart
 */
export function pinGpus(adapterNames: readonly string[], gpus: readonly number[], devices: readonly VulkanDevice[]): { pinned: PinnedGpu[] } | { reason: string } {
  const pinned: PinnedGpu[] = [];
  for (const gpu of gpus) {
    const name = adapterNames[gpu];
    if (name === undefined) return { reason: `there is no GPU ${gpu} (Dawn lists ${adapterNames.length})` };
    const occurrence = adapterNames.slice(0, gpu).filter((n) => n === name).length;
    const device = devices.filter((d) => d.name === name)[occurrence];
    if (device === undefined) return { reason: `GPU ${gpu} (${name}) is not in the Vulkan layer's list of devices (${devices.map((d) => d.name).join(', ') || 'none'})` };
    const env = pinningEnvironment(device, devices);
    if (env === undefined) return { reason: `GPU ${gpu} (${name}) has no PCI address and shares its ids with another device, so no variable can show a process it alone` };
    pinned.push({ device, env });
  }
  return { pinned };
}

/** `NVIDIA H200 (pci-0000_41_00_0)`, for the log. */
export function formatPinned(device: VulkanDevice): string {
  return `${device.name} (${device.pci ?? `${device.vendorId.toString(16)}:${device.deviceId.toString(16)}`})`;
}

/**
 * `hrnet gpus`: the GPUs WebGPU sees, numbered as a config's `GPUS` numbers them (Dawn's order), how Vulkan
 * was reached (the system's loader or the npm package's, and which drivers), and how several of them would train: a device each in this process, a process each (GPUs of one model, through
 * Mesa's device-select Vulkan layer, with the PCI address each process is pinned to), or not at all.
 */
import type { Argv, CommandModule } from 'yargs';
import { listVulkanDevices, pinGpus, type VulkanDevice } from '../backend/gpu-pinning';
import { dawnModulePath, webGpuAdapterNames, webGpuVulkanRoute } from '../backend/webgpu';

interface GpusArgs {
  json?: boolean;
}

/** One adapter of Dawn's list, as `hrnet gpus` reports it. */
export interface GpuListing {
  /** The index a config's `GPUS` gives it. */
  gpu: number;
  name: string;
  /** Whether another adapter has the same name (one process cannot tell them apart). */
  twin: boolean;
  /** The device Mesa's layer lists for it, where the layer runs. */
  device?: VulkanDevice;
  /** The variables that pin a replica process to it, where it can be pinned. */
  pinning?: Record<string, string>;
}

/**
 * Dawn's adapters with their `GPUS` index, how Vulkan was reached (Linux), and why identical ones cannot get a
 * process each, if they cannot.
 */
export async function listGpus(): Promise<{ gpus: GpuListing[]; vulkan?: string; processesUnavailable?: string }> {
  const names = await webGpuAdapterNames({ allowSoftware: true });
  const vulkan = webGpuVulkanRoute();
  const devices = await listVulkanDevices(dawnModulePath());
  const gpus: GpuListing[] = names.map((name, gpu) => ({ gpu, name, twin: names.filter((n) => n === name).length > 1 }));
  if ('reason' in devices) return { gpus, vulkan, processesUnavailable: devices.reason };
  for (const g of gpus) {
    const pins = pinGpus(names, [g.gpu], devices.devices);
    if ('pinned' in pins) {
      g.device = pins.pinned[0].device;
      g.pinning = pins.pinned[0].env;
    }
  }
  return { gpus, vulkan };
}

export const gpusCommand: CommandModule<object, GpusArgs> = {
  command: 'gpus',
  describe: "list the GPUs WebGPU sees, numbered as a config's GPUS numbers them",
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<GpusArgs>,
  handler: async (args) => {
    let listing: Awaited<ReturnType<typeof listGpus>>;
    try {
      listing = await listGpus();
    } catch (e) {
      // No Vulkan loader and no software driver to fall back on, or Dawn's module missing.
      const reason = (e as Error).message.split('\n')[0];
      console.log(args.json ? JSON.stringify({ gpus: [], unavailable: reason }) : `no GPU adapter listed: ${reason}`);
      return;
    }
    if (args.json) {
      console.log(JSON.stringify(listing));
      return;
    }
    if (listing.gpus.length === 0) {
      console.log(`no GPU adapter: Dawn sees no Vulkan, Metal or D3D12 device${listing.vulkan === undefined ? '' : ` (Vulkan through ${listing.vulkan})`}`);
      return;
    }
    for (const g of listing.gpus) {
      const where = g.device === undefined ? '' : `  ${g.device.type}${g.device.pci === undefined ? '' : `, ${g.device.pci}`}`;
      console.log(`GPU ${g.gpu}: ${g.name}${where}`);
    }
    if (listing.vulkan !== undefined) console.log(`Vulkan through ${listing.vulkan}`);
    const twins = listing.gpus.some((g) => g.twin);
    if (listing.processesUnavailable !== undefined) {
      console.log(`one process per GPU: not available (${listing.processesUnavailable})`);
      if (twins) console.log('GPUs of the same model in GPUS are computed in turn on one of them');
    } else {
      console.log("one process per GPU: available (Mesa's device-select Vulkan layer); GPUs of the same model in GPUS get a process each");
    }
  },
};

/**
 * `hrnet gpus`: Dawn's adapters numbered as `GPUS` numbers them, how Vulkan was reached, and whether GPUs of
 * one model can get a process each. CI has one software adapter (SwiftShader) and no Mesa device-select layer.
 */
import type { GpuListing } from '../../src/cli/gpus';
import { runCli } from '../helpers/cli';

it('lists the adapters with their GPUS index and says whether one process per GPU is available', async () => {
  const listing = JSON.parse(await runCli(['gpus', '--json'])) as { gpus: GpuListing[]; vulkan?: string; processesUnavailable?: string };
  expect(listing.gpus[0]).toMatchObject({ gpu: 0, name: expect.stringMatching(/SwiftShader|llvmpipe/), twin: false });
  listing.gpus.forEach((g, i) => expect(g.gpu).toBe(i));
  if (listing.processesUnavailable !== undefined) {
    // Without the layer: what to install.
    expect(listing.processesUnavailable).toMatch(/device-select Vulkan layer.*mesa-vulkan-drivers/);
    expect(listing.gpus.every((g) => g.pinning === undefined)).toBe(true);
  } else {
    // With it: each adapter's device and the variables that pin a process to it.
    expect(listing.gpus.every((g) => g.device?.name === g.name && g.pinning !== undefined)).toBe(true);
  }
  // How Vulkan was reached: on CI the npm package's loader and SwiftShader, elsewhere what the machine has.
  expect(listing.vulkan).toMatch(/^(the system's Vulkan loader|SwiftShader and the Vulkan loader of @sparticuz\/chromium|the Vulkan loader of @sparticuz\/chromium, drivers .+)/);
  const text = await runCli(['gpus']);
  expect(text).toMatch(/^GPU 0: /);
  expect(text).toContain(`\nVulkan through ${listing.vulkan}\n`);
  expect(text).toMatch(/\none process per GPU: (not )?available/);
}, 120000);

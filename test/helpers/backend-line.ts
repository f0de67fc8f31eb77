/**
 * A process that chooses a backend as a run does and prints what it chose, for tests of how a fresh process
 * reaches its GPU: `node backend-line.ts [webgpu|auto]` prints one JSON line `{ plan, name, adapter,
 * skipped, driverFiles }` (the Vulkan plan it started with), or `{ plan, error }`.
 */
import { initBackend, parseBackendName } from '../../src/backend/select';
import { planVulkan } from '../../src/backend/vulkan-driver';

async function report(): Promise<void> {
  const wanted = process.argv[2] === 'auto' ? undefined : parseBackendName(process.argv[2]);
  // Planned before anything is loaded: once a loader is loaded, `libvulkan.so.1` loads in this process.
  const plan = planVulkan();
  try {
    const info = await initBackend({ preferred: wanted, quiet: true });
    console.log(JSON.stringify({ plan, name: info.name, adapter: info.adapter, skipped: info.skipped, driverFiles: process.env.VK_DRIVER_FILES ?? null }));
  } catch (err) {
    console.log(JSON.stringify({ plan, error: (err as Error).message }));
  }
}

void report().then(() => process.exit(0));

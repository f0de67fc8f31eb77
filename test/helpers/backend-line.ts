/**
 * A process that chooses a backend as a run does and prints what it chose, for tests of how a fresh process
 * reaches its GPU: `node backend-line.ts [webgpu|auto]` prints one JSON line `{ name, adapter, skipped,
 * driverFiles }`, or `{ error }`.
 */
import { initBackend, parseBackendName } from '../../src/backend/select';

async function report(): Promise<void> {
  const wanted = process.argv[2] === 'auto' ? undefined : parseBackendName(process.argv[2]);
  try {
    const info = await initBackend({ preferred: wanted, quiet: true });
    console.log(JSON.stringify({ name: info.name, adapter: info.adapter, skipped: info.skipped, driverFiles: process.env.VK_DRIVER_FILES ?? null }));
  } catch (err) {
    console.log(JSON.stringify({ error: (err as Error).message }));
  }
}

void report().then(() => process.exit(0));

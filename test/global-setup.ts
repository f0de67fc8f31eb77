/**
 * Jest's global set-up, run once before the test workers start: where the WebGPU tests will run on the
 * npm package's SwiftShader (no system Vulkan), its ICD goes into the real environment, which the
 * Vulkan loader reads (each test file only gets a copy of `process.env`).
 */
import { npmSwiftShaderEnvironment } from '../src/backend/webgpu';

export default async function globalSetup(): Promise<void> {
  const env = await npmSwiftShaderEnvironment();
  if (env !== undefined) Object.assign(process.env, env);
}

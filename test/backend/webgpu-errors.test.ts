/**
 * Errors a WebGPU device reports on its own (validation, out of memory) reach the caller: TF.js does not check
 * for them, so a rejected command would otherwise leave wrong results and no exception. The trainer checks after
 * every step and after validation; `eval`, `predict` and `bench` after their computation (webgpu-training.test.ts
 * provokes one during `eval` and `predict`).
 */
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend, takeWebGpuErrors, throwOnWebGpuErrors } from '../../src/backend/webgpu';
import { provokeWebGpuError } from '../helpers/webgpu-errors';

beforeAll(async () => {
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

it('collects what the device reported, with the adapter, once', async () => {
  expect(takeWebGpuErrors()).toEqual([]);
  await provokeWebGpuError();
  const errors = takeWebGpuErrors();
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/SwiftShader.*: Buffer usages must not be 0/);
  expect(takeWebGpuErrors()).toEqual([]);
});

it('throws with what was running and the first error, and then starts clean', async () => {
  expect(() => throwOnWebGpuErrors('training step 3 of epoch 1')).not.toThrow();
  await provokeWebGpuError();
  await provokeWebGpuError();
  expect(() => throwOnWebGpuErrors('training step 3 of epoch 1')).toThrow(
    /^the WebGPU device reported an error during training step 3 of epoch 1, so what it computed since cannot be trusted: .*Buffer usages must not be 0.* \(and 1 more\)$/s,
  );
  expect(() => throwOnWebGpuErrors('training step 4 of epoch 1')).not.toThrow();
});

/**
 * Errors a WebGPU device reports on its own (validation, out of memory) reach the caller: TF.js does not check
 * for them, so a rejected command would otherwise leave wrong results and no exception. The trainer checks after
 * every step and after validation.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend, takeWebGpuErrors, throwOnWebGpuErrors } from '../../src/backend/webgpu';

interface DeviceLike {
  createBuffer(descriptor: { size: number; usage: number }): unknown;
  queue: { onSubmittedWorkDone(): Promise<void> };
}

beforeAll(async () => {
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

/** Makes the backend's device reject a call (a buffer with no usage), as a bad bind group or an allocation would. */
async function provokeError(): Promise<void> {
  const { device } = tf.backend() as unknown as { device: DeviceLike };
  device.createBuffer({ size: 4, usage: 0 });
  await device.queue.onSubmittedWorkDone();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

it('collects what the device reported, with the adapter, once', async () => {
  expect(takeWebGpuErrors()).toEqual([]);
  await provokeError();
  const errors = takeWebGpuErrors();
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/SwiftShader.*: Buffer usages must not be 0/);
  expect(takeWebGpuErrors()).toEqual([]);
});

it('throws with what was running and the first error, and then starts clean', async () => {
  expect(() => throwOnWebGpuErrors('training step 3 of epoch 1')).not.toThrow();
  await provokeError();
  await provokeError();
  expect(() => throwOnWebGpuErrors('training step 3 of epoch 1')).toThrow(
    /^the WebGPU device reported an error during training step 3 of epoch 1, so what it computed since cannot be trusted: .*Buffer usages must not be 0.* \(and 1 more\)$/s,
  );
  expect(() => throwOnWebGpuErrors('training step 4 of epoch 1')).not.toThrow();
});

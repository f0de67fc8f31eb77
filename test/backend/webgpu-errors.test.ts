/**
 * Errors a WebGPU device reports on its own (validation, out of memory) reach the caller: TF.js does not check
 * for them, so a rejected command would otherwise leave wrong results and no exception. The trainer checks after
 * every step and after validation; `eval`, `predict` and `bench` after their computation (webgpu-training.test.ts
 * provokes one during `eval` and `predict`). A device lost other than by release counts as such an error.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { checkedOnWebGpu, disposeWebGpuBackend, takeWebGpuErrors, throwOnWebGpuErrors } from '../../src/backend/webgpu';
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

it('checkedOnWebGpu raises the device\'s error where the work failed after it, with the failure as cause', async () => {
  await expect(checkedOnWebGpu('validation', async () => 7)).resolves.toBe(7);
  await provokeWebGpuError();
  await expect(checkedOnWebGpu('validation', async () => 7)).rejects.toThrow(/during validation, .*Buffer usages must not be 0/s);
  await provokeWebGpuError();
  const failure = new Error('read failed');
  const raised = await checkedOnWebGpu('validation', async () => {
    throw failure;
  }).catch((err: Error) => err);
  expect(raised.message).toMatch(/^the WebGPU device reported an error during validation, .*Buffer usages must not be 0/s);
  expect(raised.cause).toBe(failure);
  // Without a device error the failure itself comes through.
  await expect(checkedOnWebGpu('validation', async () => Promise.reject(failure))).rejects.toBe(failure);
});

it('a device lost other than by release stops the work reading from it with the loss, not a bare AbortError; a release reports nothing', async () => {
  const { device } = tf.backend() as unknown as { device: { destroy(): void; lost: Promise<unknown> } };
  const x = tf.range(0, 4096);
  try {
    device.destroy();
    await device.lost;
    await expect(checkedOnWebGpu('training step 5 of epoch 2', () => tf.tidy(() => tf.add(x, 1)).data())).rejects.toThrow(
      /^the WebGPU device reported an error during training step 5 of epoch 2, .*SwiftShader.*: the device was lost \(destroyed: /s,
    );
  } finally {
    x.dispose();
  }
  disposeWebGpuBackend();
  await initBackend({ preferred: 'webgpu', quiet: true });
  const { device: next } = tf.backend() as unknown as { device: { lost: Promise<unknown> } };
  disposeWebGpuBackend();
  await next.lost;
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(takeWebGpuErrors()).toEqual([]);
});

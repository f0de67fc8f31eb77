/**
 * Errors a WebGPU device reports on its own (validation, out of memory) reach the caller: TF.js does not check
 * for them, so a rejected command would otherwise leave wrong results and no exception. The trainer checks after
 * every step and after validation; `eval`, `predict` and `bench` after their computation (webgpu-training.test.ts
 * provokes one during `eval` and `predict`). A device lost other than by release counts as such an error; a device
 * out of memory is told apart, and the message says what to make smaller.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, requireOptional } from '../../src/backend/select';
import { dawnModulePath, disposeWebGpuBackend } from '../../src/backend/webgpu';
import { WebGpuDeviceError, checkedOnWebGpu, releaseDevice, takeWebGpuErrors, throwOnWebGpuErrors, watchDeviceErrors } from '../../src/backend/webgpu-errors';
import { loadConfig } from '../../src/config/load';
import { deviceMemoryAdvice } from '../../src/config/memory-advice';
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

it('tells a device out of memory apart and says which config fields to lower, with their values', async () => {
  // Dawn's Null device (it records commands and runs none) holds a fixed amount of memory: eight buffers of
  // 128 MiB do not fit, and the device reports GPUOutOfMemoryError, as a GPU does.
  const { create } = requireOptional(dawnModulePath()) as { create(flags: string[]): { requestAdapter(): Promise<NullAdapter | null> } };
  const gpu = create(['backend=null']);
  dawnInstances.push(gpu); // kept: Dawn aborts the process where an instance is collected while its device works
  const adapter = await gpu.requestAdapter();
  if (adapter === null) throw new Error("Dawn's Null backend offers no adapter");
  const device = await adapter.requestDevice();
  watchDeviceErrors(device, 'Null device');
  const buffers: { destroy(): void }[] = [];
  try {
    for (let i = 0; i < 8; i++) buffers.push(device.createBuffer({ size: 128 * 1024 * 1024, usage: STORAGE_USAGE }));
    await device.queue.onSubmittedWorkDone();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const config = loadConfig('configs/coco/w32_256x192.yaml');
    const raised = (() => {
      try {
        throwOnWebGpuErrors('training step 1 of epoch 0', { outOfMemory: deviceMemoryAdvice(config, 'train') });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(raised).toBeInstanceOf(WebGpuDeviceError);
    expect((raised as WebGpuDeviceError).outOfMemory).toBe(true);
    expect((raised as Error).message).toMatch(
      /^the WebGPU device ran out of memory during training step 1 of epoch 0: lower TRAIN\.BATCH_SIZE_PER_GPU \(now 32\) or MODEL\.IMAGE_SIZE \(now \[192, 256\]\), in the config or with --set\. The device said: Null device: Out of memory\./,
    );
    expect(deviceMemoryAdvice(config, 'test')).toBe('lower TEST.BATCH_SIZE_PER_GPU (now 32), in the config or with --set');
    // Without advice, the batch and the input size in general words.
    buffers.push(device.createBuffer({ size: 128 * 1024 * 1024, usage: STORAGE_USAGE }));
    await device.queue.onSubmittedWorkDone();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(checkedOnWebGpu('the benchmark', async () => 1)).rejects.toThrow(
      /^the WebGPU device ran out of memory during the benchmark: use a smaller batch or input size\. The device said: Null device: Out of memory\./,
    );
  } finally {
    for (const b of buffers) b.destroy();
    releaseDevice(device);
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(takeWebGpuErrors()).toEqual([]);
});

/** Dawn instances the tests made, alive until the process ends. */
const dawnInstances: unknown[] = [];

/** GPUBufferUsage.STORAGE. */
const STORAGE_USAGE = 0x80;

interface NullAdapter {
  requestDevice(): Promise<
    { destroy(): void; createBuffer(d: { size: number; usage: number }): { destroy(): void }; queue: { onSubmittedWorkDone(): Promise<void> } } & object
  >;
}

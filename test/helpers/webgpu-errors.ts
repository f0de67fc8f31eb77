/** Makes the active WebGPU backend's device report an error, as a bad binding or an allocation that fails would. */
import * as tf from '@tensorflow/tfjs';

interface DeviceLike {
  createBuffer(descriptor: { size: number; usage: number }): unknown;
  queue: { onSubmittedWorkDone(): Promise<void> };
}

/** A buffer with no usage: the device rejects it and reports `Buffer usages must not be 0` as an uncaptured error. */
export async function provokeWebGpuError(): Promise<void> {
  const { device } = tf.backend() as unknown as { device: DeviceLike };
  device.createBuffer({ size: 4, usage: 0 });
  await device.queue.onSubmittedWorkDone();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

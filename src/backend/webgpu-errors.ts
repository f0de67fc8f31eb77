/**
 * What WebGPU devices report on their own. TF.js does not check for it: a command a device rejected (an invalid
 * bind group, a buffer it could not allocate) is skipped, no call throws, and what was computed after it is
 * wrong. The errors arrive as events, which the event loop delivers while a read is awaited; a caller checks
 * after its reads ({@link checkedOnWebGpu}). A device lost other than by {@link releaseDevice} (a driver reset,
 * a GPU removed) counts as such an error. A device that ran out of memory is told apart, so that the message can
 * say what to make smaller.
 */

/** The parts of `GPUDevice` that report errors no error scope caught, and the device's loss. */
export interface DeviceErrorEvents {
  addEventListener?(type: 'uncapturederror', listener: (event: { error: { message: string } }) => void): void;
  lost?: Promise<{ reason: string; message: string }>;
}

/** One error a device reported: its text (with the adapter) and whether it was `GPUOutOfMemoryError`. */
interface DeviceErrorRecord {
  text: string;
  outOfMemory: boolean;
}

const MAX_KEPT_ERRORS = 10;
/** Errors devices reported since the last {@link takeWebGpuErrors} (validation, out of memory, internal, loss). */
const deviceErrors: DeviceErrorRecord[] = [];
/** Devices destroyed on purpose: their loss is no error. */
const releasedDevices = new WeakSet<object>();

/** WebGPU's out-of-memory error, by its class name, which Dawn's Node bindings and browsers share. */
function isOutOfMemory(error: object): boolean {
  return error.constructor?.name === 'GPUOutOfMemoryError';
}

/**
 * Collects what `device` reports from now on, each error prefixed with `label` (the adapter, as the backend line
 * names it).
 */
export function watchDeviceErrors(device: object & DeviceErrorEvents, label: string): void {
  device.addEventListener?.('uncapturederror', (event) => {
    if (deviceErrors.length < MAX_KEPT_ERRORS) deviceErrors.push({ text: `${label}: ${event.error.message.trim()}`, outOfMemory: isOutOfMemory(event.error) });
  });
  void device.lost?.then((info) => {
    if (!releasedDevices.has(device)) deviceErrors.push({ text: `${label}: the device was lost (${info.reason}: ${info.message.trim()})`, outOfMemory: false });
  });
}

/** Destroys a device (its loss then reports nothing). */
export function releaseDevice(device: { destroy(): void }): void {
  releasedDevices.add(device);
  device.destroy();
}

/** The errors the WebGPU devices of this process reported since the last call, and forgets them. */
export function takeWebGpuErrors(): string[] {
  return deviceErrors.splice(0, deviceErrors.length).map((e) => e.text);
}

/** What to tell the user to change when a device ran out of memory, e.g. which batch size to lower. */
export interface DeviceErrorAdvice {
  outOfMemory?: string;
}

/** The error raised for what a device reported; `outOfMemory` when one of the errors was `GPUOutOfMemoryError`. */
export class WebGpuDeviceError extends Error {
  constructor(
    message: string,
    readonly outOfMemory: boolean,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'WebGpuDeviceError';
  }
}

/** The error to raise for what the devices reported since the last check, if they reported anything. */
function webGpuError(during: string, advice: DeviceErrorAdvice, cause?: unknown): WebGpuDeviceError | undefined {
  const errors = deviceErrors.splice(0, deviceErrors.length);
  if (errors.length === 0) return undefined;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more${errors.length === MAX_KEPT_ERRORS ? ' at least' : ''})` : '';
  const memory = errors.find((e) => e.outOfMemory);
  if (memory !== undefined) {
    const fix = advice.outOfMemory ?? 'use a smaller batch or input size';
    return new WebGpuDeviceError(`the WebGPU device ran out of memory during ${during}: ${fix}. The device said: ${memory.text}${more}`, true, cause);
  }
  return new WebGpuDeviceError(`the WebGPU device reported an error during ${during}, so what it computed since cannot be trusted: ${errors[0].text}${more}`, false, cause);
}

/**
 * Throws when a WebGPU device reported an error since the last check: its results since then cannot be trusted.
 * @param during what was running, for the message (e.g. `training step 12 of epoch 3`)
 * @param advice what the message says to change where the device ran out of memory
 */
export function throwOnWebGpuErrors(during: string, advice: DeviceErrorAdvice = {}): void {
  const error = webGpuError(during, advice);
  if (error !== undefined) throw error;
}

/**
 * Runs `work` (which reads its results) and then {@link throwOnWebGpuErrors}. Where `work` throws after a device
 * reported an error (a read of a lost device fails with a bare `AbortError`), the device's error is raised, with
 * the failure as its cause.
 */
export async function checkedOnWebGpu<T>(during: string, work: () => Promise<T>, advice: DeviceErrorAdvice = {}): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (err) {
    // The device's loss and the failed read arrive as separate events: let both land.
    await new Promise((resolve) => setTimeout(resolve, 0));
    throw webGpuError(during, advice, err) ?? err;
  }
  throwOnWebGpuErrors(during, advice);
  return result;
}

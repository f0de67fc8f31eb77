/** Counting calls of WebGPU methods during a piece of work: dispatches (each costs the host a bind group, uniforms and the encoding), queue writes. */

/** Runs `work` and counts the calls of `className.prototype[method]` (a WebGPU class of `globalThis`) meanwhile. */
export async function callsOf<T>(className: string, method: string, work: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const proto = (globalThis as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> }>)[className].prototype;
  const original = proto[method];
  let calls = 0;
  proto[method] = function (this: unknown, ...a: unknown[]) {
    calls++;
    return original.apply(this, a);
  };
  try {
    return { result: await work(), calls };
  } finally {
    proto[method] = original;
  }
}

/** Runs `work` and counts the `dispatchWorkgroups` calls of every compute pass meanwhile. */
export async function dispatchesOf<T>(work: () => Promise<T>): Promise<{ result: T; dispatches: number }> {
  const { result, calls } = await callsOf('GPUComputePassEncoder', 'dispatchWorkgroups', work);
  return { result, dispatches: calls };
}

/** Counting the compute dispatches a piece of WebGPU work encodes (each costs the host a bind group, uniforms and the encoding). */

/** Runs `work` and counts the `dispatchWorkgroups` calls of every compute pass meanwhile. */
export async function dispatchesOf<T>(work: () => Promise<T>): Promise<{ result: T; dispatches: number }> {
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: unknown[]) => void } } }).GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  let dispatches = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    dispatches++;
    return original.apply(this, a);
  };
  try {
    return { result: await work(), dispatches };
  } finally {
    proto.dispatchWorkgroups = original;
  }
}

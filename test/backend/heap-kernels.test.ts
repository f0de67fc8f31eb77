/**
 * The compiled kernels bind to the WASM backend's memory, and to nothing else.
 */
import * as tf from '@tensorflow/tfjs';
import { heapBatchNorm, heapConv, heapFilterGradient } from '../../src/backend/heap-kernels';
import { initBackend } from '../../src/backend/select';

describe('compiled WASM kernels', () => {
  afterAll(async () => {
    await initBackend({ preferred: 'wasm', quiet: true });
  });

  it('bind to the WASM backend once, and write into its memory', async () => {
    await initBackend({ preferred: 'wasm', quiet: true });
    const backend = tf.backend();
    const conv = heapConv(backend);
    expect(conv).toBeDefined();
    expect(heapConv(backend)).toBe(conv);
    expect(typeof heapFilterGradient(backend)).toBe('function');
    expect(typeof heapBatchNorm(backend)?.bn_forward).toBe('function');
    // flip_transpose of a [1, 2, 1, 2] filter in place in the heap: taps reversed, in/out swapped.
    const w = tf.tensor4d([1, 2, 3, 4], [1, 2, 1, 2]);
    const out = tf.zeros([1, 2, 2, 1]);
    const heap = backend as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
    conv?.flip_transpose(heap.typedArrayFromHeap(w).byteOffset, heap.typedArrayFromHeap(out).byteOffset, 1, 2, 1, 2);
    expect(Array.from(out.dataSync())).toEqual([3, 4, 1, 2]);
    tf.dispose([w, out]);
  });

  it('are not available on the pure-JS backend', async () => {
    await initBackend({ preferred: 'cpu', quiet: true });
    expect(heapConv(tf.backend())).toBeUndefined();
    expect(heapFilterGradient(tf.backend())).toBeUndefined();
    expect(heapBatchNorm(tf.backend())).toBeUndefined();
  });
});

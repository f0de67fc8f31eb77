/**
 * The WASM `Transpose` kernel written over the heap against the cpu backend's, and the
 * permutation simplification it relies on.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../../src/backend/fallback-kernels';
import { simplifyPermutation, wasmTransposeKernel } from '../../src/backend/transpose-kernel';

const CASES: Array<[number[], number[]]> = [
  [[37, 53], [1, 0]],
  [[24, 3], [1, 0]],
  [[2, 5, 7], [2, 0, 1]],
  [[2, 5, 7], [1, 0, 2]],
  [[2, 5, 7], [0, 2, 1]],
  [[4, 3, 5, 6], [0, 3, 1, 2]],
  [[4, 3, 5, 6], [3, 2, 1, 0]],
  [[4, 3, 5, 6], [1, 0, 3, 2]],
  [[3, 1, 4, 1, 5], [4, 2, 0, 1, 3]],
  [[2, 3, 2, 3, 2, 3], [5, 3, 1, 4, 2, 0]],
  [[17, 1], [1, 0]],
  [[6], [0]],
];

describe('simplifyPermutation', () => {
  it('drops size-1 axes and merges axes that stay adjacent', () => {
    expect(simplifyPermutation([2, 3, 4, 5], [0, 1, 3, 2])).toEqual({ shape: [6, 4, 5], perm: [0, 2, 1] });
    expect(simplifyPermutation([2, 1, 4], [2, 1, 0])).toEqual({ shape: [2, 4], perm: [1, 0] });
    expect(simplifyPermutation([2, 3, 4], [0, 1, 2])).toEqual({ shape: [24], perm: [0] });
    expect(simplifyPermutation([5, 6, 7], [2, 0, 1])).toEqual({ shape: [30, 7], perm: [1, 0] });
  });
});

describe('WASM Transpose kernel', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('is the registered kernel', () => {
    expect(tf.getKernel(tf.Transpose, 'wasm')?.kernelFunc).toBe(wasmTransposeKernel);
  });

  it.each(CASES.map(([shape, perm]) => [`[${shape}] by [${perm}]`, shape, perm] as const))('equals the cpu backend for %s', async (_label, shape, perm) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: size }, (_, i) => i * 0.5 - 3);
    const ints = Int32Array.from({ length: size }, (_, i) => i * 7 - 11);
    const bools = Uint8Array.from({ length: size }, (_, i) => Number((i * 5) % 3 === 0));
    await tf.setBackend('cpu');
    const ref = [tf.transpose(tf.tensor(values, shape), perm), tf.transpose(tf.tensor(ints, shape, 'int32'), perm), tf.transpose(tf.tensor(bools, shape, 'bool'), perm)];
    const expected = ref.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
    tf.dispose(ref);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => [tf.transpose(tf.tensor(values, shape), perm), tf.transpose(tf.tensor(ints, shape, 'int32'), perm), tf.transpose(tf.tensor(bools, shape, 'bool'), perm)].map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) })));
    expect(tf.memory().numTensors).toBe(before);
    expect(got.map((g) => g.dtype)).toEqual(['float32', 'int32', 'bool']);
    got.forEach((g, i) => {
      expect(g.shape).toEqual(expected[i].shape);
      expect(g.values).toEqual(expected[i].values);
    });
  });

  it('handles empty tensors', async () => {
    await tf.setBackend('wasm');
    const t = tf.transpose(tf.zeros([0, 3]), [1, 0]);
    expect(t.shape).toEqual([3, 0]);
    t.dispose();
  });
});

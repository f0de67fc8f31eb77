/**
 * Direct kernel calls: the host-side depth-to-space with crop and the convolution with signed
 * (cropping) padding, against the corresponding tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelCalls } from '../../src/backend/kernel-calls';
import { useTestBackend, TEST_BACKEND } from '../helpers/backend';
import { maxAbsDiff, relL2 } from '../helpers/fixtures';

describe('KernelCalls', () => {
  beforeAll(useTestBackend);

  it('interleaves channel groups and crops like depthToSpace + slice', () => {
    const x = tf.randomNormal([2, 3, 4, 2 * 2 * 5], 0, 1, 'float32', 3);
    const expected = tf.slice(tf.depthToSpace(x as tf.Tensor4D, 2), [0, 0, 0, 0], [2, 5, 7, 5]);
    const calls = new KernelCalls(tf.backend(), TEST_BACKEND);
    const out = calls.keep(calls.depthToSpaceCropped(x, 2, [2, 5, 7, 5]));
    calls.disposeTemps();
    const got = tf.engine().makeTensorFromTensorInfo(out);
    expect(got.shape).toEqual([2, 5, 7, 5]);
    expect(maxAbsDiff(got.dataSync(), expected.dataSync())).toBe(0);
    tf.dispose([x, expected, got]);
    expect(() => new KernelCalls(tf.backend(), TEST_BACKEND).depthToSpaceCropped(x, 3, [2, 5, 7, 5])).toThrow(/cannot map/);
  });

  it('crops the input where a padding is negative', () => {
    const x = tf.randomNormal([1, 7, 6, 3], 0, 1, 'float32', 4);
    const w = tf.randomNormal([3, 3, 3, 2], 0, 1, 'float32', 5);
    const expected = tf.conv2d(tf.slice(x, [0, 1, 0, 0], [1, 5, 6, 3]) as tf.Tensor4D, w as tf.Tensor4D, 1, [
      [0, 0],
      [0, 0],
      [2, 0],
      [0, 0],
    ]);
    const calls = new KernelCalls(tf.backend(), TEST_BACKEND);
    const out = calls.keep(calls.conv2dStride1(x, w, { top: -1, bottom: -1, left: 2, right: 0 }, [1, 1]));
    calls.disposeTemps();
    const got = tf.engine().makeTensorFromTensorInfo(out);
    expect(got.shape).toEqual(expected.shape);
    expect(relL2(got.dataSync(), expected.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, w, expected, got]);
  });
});

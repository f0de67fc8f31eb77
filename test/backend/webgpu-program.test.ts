/**
 * `runElementwise`, the one-dispatch program of several outputs the WebGPU kernels use (a software Vulkan driver
 * where there is no GPU): the values of every output, one dispatch a call, grids folded past the device's
 * workgroups per dimension, the same values under `tf.profile` (which times each dispatch, to the nanosecond), nothing left behind
 * (also when a call fails, and by `withTemps` but what it returns), errors that name the program, and uniform
 * buffers written once per set of recurring values (per dispatch where a program's uniforms change each call).
 * One spec of a program serves calls of every shape (`runPerOutput`), and `programVariants` builds each once.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { ElementwiseSpec, PerOutputSpec, programVariants, runElementwise, runPerOutput, withTemps } from '../../src/backend/webgpu-program';
import { callsOf, dispatchesOf } from '../helpers/dispatches';

const KERNEL = 'TestSumAndScaledDifference';
const KERNEL_PER_CALL = 'TestSumAndScaledDifferencePerCall';

/** Two results of a and b: a + b, and (a − b)·k with k a uniform. */
const SPEC: ElementwiseSpec = {
  key: 'test_sum_and_scaled_difference',
  inputs: ['A', 'B'],
  outputs: ['Sum', 'Diff'],
  uniforms: 'k : f32,',
  body: 'Sum[index] = A[index] + B[index]; Diff[index] = (A[index] - B[index]) * uniforms.k;',
};

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      return runElementwise(backend, SPEC, [a, b], a.shape.slice(), [{ type: 'float32', data: [(attrs as { k: number }).k] }]);
    },
  });
  tf.registerKernel({
    kernelName: KERNEL_PER_CALL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const spec = { ...SPEC, key: `${SPEC.key}_per_call`, uniformsPerCall: true };
      return runElementwise(backend, spec, [a, b], a.shape.slice(), [{ type: 'float32', data: [(attrs as { k: number }).k] }]);
    },
  });
}, 120000);
afterAll(() => {
  tf.unregisterKernel(KERNEL, 'webgpu');
  tf.unregisterKernel(KERNEL_PER_CALL, 'webgpu');
  disposeWebGpuBackend();
});

/** The two outputs for inputs of `size` elements, and the values the CPU computes in float32. */
async function run(size: number, k: number, kernel = KERNEL): Promise<{ got: Float32Array[]; want: Float32Array[] }> {
  const a = tf.tensor1d(Float32Array.from({ length: size }, (_, i) => Math.sin(i)));
  const b = tf.tensor1d(Float32Array.from({ length: size }, (_, i) => Math.cos(3 * i)));
  const outs = tf.engine().runKernel(kernel, { a, b }, { k }) as tf.Tensor[];
  try {
    const [av, bv] = (await Promise.all([a.data(), b.data()])) as Float32Array[];
    const got = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    const want = [new Float32Array(size), new Float32Array(size)];
    const kf = Math.fround(k);
    for (let i = 0; i < size; i++) {
      want[0][i] = av[i] + bv[i];
      want[1][i] = Math.fround(av[i] - bv[i]) * kf;
    }
    return { got, want };
  } finally {
    tf.dispose([a, b, ...outs]);
  }
}

it('writes every output in one dispatch', async () => {
  const { result, dispatches } = await dispatchesOf(async () => {
    const a = tf.tensor1d([1, 2, 3, 4, 5]);
    const b = tf.tensor1d([0.5, -1, 2, 8, 5]);
    const outs = tf.engine().runKernel(KERNEL, { a, b }, { k: 3 }) as tf.Tensor[];
    try {
      return await Promise.all(outs.map(async (t) => Array.from(await t.data())));
    } finally {
      tf.dispose([a, b, ...outs]);
    }
  });
  expect(result).toEqual([
    [1.5, 1, 5, 12, 10],
    [1.5, 9, 3, -12, 0],
  ]);
  // The inputs are uploaded, not computed: the one dispatch is the program's.
  expect(dispatches).toBe(1);
});

it('folds a grid larger than the device allows in one dimension', async () => {
  // 65,535 workgroups of 64 threads is WebGPU's default limit per dimension; this needs two rows of them.
  const { got, want } = await run(65535 * 64 + 1000, 0.5);
  expect(got[0].length).toBe(want[0].length);
  const wrong = got.map((g, o) => g.findIndex((x, i) => x !== want[o][i]));
  expect(wrong).toEqual([-1, -1]);
}, 60000);

it('gives the same values when tf.profile times each dispatch', async () => {
  const plain = await run(1000, -2);
  let timed: { got: Float32Array[]; want: Float32Array[] } | undefined;
  const info = await tf.profile(async () => {
    timed = await run(1000, -2);
  });
  expect(info.kernels.map((k) => k.name)).toContain(KERNEL);
  expect(timed?.got).toEqual(plain.want);
  expect(plain.got).toEqual(plain.want);
});

it('times dispatches to the nanosecond under tf.profile (Dawn would round its timestamps to 65,536 ns)', async () => {
  const info = await tf.profile(async () => {
    for (let i = 0; i < 4; i++) await run(20000 * (i + 1), 2);
  });
  const ns = info.kernels.filter((k) => k.name === KERNEL).map((k) => Math.round(Number(k.kernelTimeMs) * 1e6));
  expect(ns).toHaveLength(4);
  // Rounded timestamps make every duration a multiple of 65,536 ns (most of them 0 on a GPU).
  expect(ns.filter((t) => t % 65536 !== 0).length).toBeGreaterThan(0);
});

it('leaves no tensor and no GPU memory behind, and an empty input gives empty outputs', async () => {
  await run(5000, 1);
  const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  for (let i = 0; i < 3; i++) await run(5000, 1);
  const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  expect(after.numTensors).toBe(before.numTensors);
  expect(after.numBytesInGPU).toBe(before.numBytesInGPU);
  const { got } = await run(0, 1);
  expect(got.map((g) => g.length)).toEqual([0, 0]);
});

it('names the program when its inputs are wrong', () => {
  const a = tf.tensor1d([1, 2]);
  const i = tf.tensor1d([1, 2], 'int32');
  const backend = tf.backend();
  try {
    expect(() => runElementwise(backend, SPEC, [a], [2], [])).toThrow('test_sum_and_scaled_difference: 2 inputs (A,B), got 1');
    expect(() => runElementwise(backend, SPEC, [a, i], [2], [])).toThrow('test_sum_and_scaled_difference: input B must be float32, got int32');
  } finally {
    tf.dispose([a, i]);
  }
});

it('frees its outputs when a call fails, and withTemps frees all but what its body returns', async () => {
  const backend = tf.backend();
  const a = tf.tensor1d([1, 2]);
  const b = tf.tensor1d([3, 4]);
  const k = [{ type: 'float32' as const, data: [1] }];
  // Reading an input submits the queue, so that data freed after a dispatch is gone from the count.
  const settledCount = async () => {
    await a.data();
    return backend.numDataIds();
  };
  try {
    const before = await settledCount();
    const gone = tf.tensor1d([5, 6]);
    const freed = { dataId: gone.dataId, shape: gone.shape, dtype: gone.dtype };
    gone.dispose();
    expect(() => runElementwise(backend, SPEC, [a, freed], [2], k)).toThrow();
    expect(await settledCount()).toBe(before);

    const sum = withTemps(backend, (temp) => runElementwise(backend, SPEC, [a, b], [2], k).map(temp)[0]);
    expect(await settledCount()).toBe(before + 1);
    expect(Array.from((await backend.read(sum.dataId)) as Float32Array)).toEqual([4, 6]);
    backend.disposeData(sum.dataId);
    expect(() =>
      withTemps(backend, (temp) => {
        runElementwise(backend, SPEC, [a, b], [2], k).map(temp);
        throw new Error('a later dispatch failed');
      }),
    ).toThrow('a later dispatch failed');
    expect(await settledCount()).toBe(before);
  } finally {
    tf.dispose([a, b]);
  }
});

it('writes a uniform buffer once per set of recurring values, and per dispatch where the program says they change', async () => {
  for (const kernel of [KERNEL, KERNEL_PER_CALL]) {
    // Alternating values: each call must bind the buffer of its own k.
    for (const k of [0.5, 2, 0.5, -3, 2]) await run(100, k, kernel);
    const { calls: writes } = await callsOf('GPUQueue', 'writeBuffer', async () => {
      for (const k of [2, -3, 0.5, 2]) {
        const { got, want } = await run(100, k, kernel);
        expect(got).toEqual(want);
      }
    });
    // The inputs are written at their buffers' creation, not through the queue: these writes are uniforms.
    expect(writes).toBe(kernel === KERNEL ? 0 : 4);
  }
});

it('runs one per-output spec at every shape, a thread per value or per several, and builds each variant once', async () => {
  const builds: number[] = [];
  // Out[i] = A[i] · scale; with several values a thread, thread t writes values t·per … t·per + per − 1.
  const scaled = programVariants((per: number): PerOutputSpec => {
    builds.push(per);
    return {
      key: `test_scaled_${per}`,
      inputs: ['A'],
      uniforms: 'scale : f32,',
      body: `for (var k = 0; k < ${per}; k = k + 1) { let i = index * ${per} + k; setOutputAtIndex(i, A[i] * uniforms.scale); }`,
    };
  });
  const backend = tf.backend();
  for (const [shape, per] of [[[6], 1], [[2, 3], 3], [[4, 2, 3], 2], [[4, 2, 3], 1], [[6], 3]] as const) {
    const values = Float32Array.from({ length: tf.util.sizeFromShape(shape.slice()) }, (_, i) => i - 2.5);
    const a = tf.tensor(values, shape.slice());
    const spec = scaled(per);
    const out = runPerOutput(backend, spec, [a], [{ type: 'float32', data: [4] }], shape.slice(), per === 1 ? undefined : values.length / per);
    try {
      expect(out.shape).toEqual(shape);
      expect(Array.from((await backend.read(out.dataId)) as Float32Array)).toEqual(Array.from(values, (v) => v * 4));
    } finally {
      backend.disposeData(out.dataId);
      a.dispose();
    }
  }
  expect(builds).toEqual([1, 3, 2]);
  expect(scaled(3)).toBe(scaled(3));
});

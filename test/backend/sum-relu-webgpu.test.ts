/**
 * The WebGPU backend's sum + ReLU kernels (a software Vulkan driver where there is no GPU), as the model's
 * `sumRelu` runs them: the TF.js ops' values to the bit, forward and gradient, for one to four inputs, in train
 * and eval mode; one dispatch each; the ops for inputs of different shapes; nothing left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { RELU_GRAD, SUM_RELU } from '../../src/backend/sum-relu-webgpu';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { sumRelu } from '../../src/model/nn';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

const SHAPE: [number, number, number, number] = [2, 5, 6, 8];

/** Seeded inputs around zero, so that the ReLU cuts about half of the sums. */
const inputsOf = (n: number) => Array.from({ length: n }, (_, i) => tf.randomNormal(SHAPE, 0, 1, 'float32', 10 + i) as tf.Tensor4D);

/** Float32 bit patterns, so that the comparisons are exact (and −0 differs from 0). */
async function bits(t: tf.Tensor): Promise<number[]> {
  const v = (await t.data()) as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

/** The value and each input's gradient of Σ w·f(xs), w seeded. */
function valueAndGrads(f: (xs: tf.Tensor4D[]) => tf.Tensor, xs: tf.Tensor4D[]): tf.Tensor[] {
  return tf.tidy(() => {
    const w = tf.randomNormal(SHAPE, 0, 1, 'float32', 99);
    return [f(xs), ...tf.grads((...ins: tf.Tensor[]) => tf.mul(f(ins as tf.Tensor4D[]), w))(xs)];
  });
}

/** The TF.js ops the kernels stand for: the sum in order, the ReLU, and its gradient dy·step(out). */
const byOps = (xs: tf.Tensor[]) => tf.relu(xs.slice(1).reduce((acc, x) => tf.add(acc, x), xs[0]));

it('are registered for webgpu', () => {
  expect(tf.getBackend()).toBe('webgpu');
  expect(tf.getKernel(SUM_RELU, 'webgpu')).toBeDefined();
  expect(tf.getKernel(RELU_GRAD, 'webgpu')).toBeDefined();
});

it.each([1, 2, 3, 4])('give the ops\' values and gradients to the bit, train and eval mode: %i inputs', async (n) => {
  const xs = inputsOf(n);
  try {
    const want = valueAndGrads(byOps, xs);
    for (const training of [true, false]) {
      const got = valueAndGrads((ins) => sumRelu(ins, { training }), xs);
      try {
        expect(await Promise.all(got.map(bits))).toEqual(await Promise.all(want.map(bits)));
      } finally {
        tf.dispose(got);
      }
    }
    // The comparison is of something: the ReLU cuts some of the sums and keeps others.
    const mask = Array.from(await want[1].data());
    expect(mask.filter((g) => g === 0).length).toBeGreaterThan(mask.length / 5);
    expect(mask.filter((g) => g !== 0).length).toBeGreaterThan(mask.length / 5);
    tf.dispose(want);
  } finally {
    tf.dispose(xs);
  }
});

it('run as one kernel each, forward and gradient', async () => {
  const xs = inputsOf(3);
  try {
    const forward = await tf.profile(() => tf.tidy(() => sumRelu(xs, { training: true })));
    expect(forward.kernels.map((k) => k.name).filter((k) => k !== 'unnamed scope')).toEqual([SUM_RELU]);
    const both = await tf.profile(() => tf.tidy(() => tf.grads((...ins: tf.Tensor[]) => sumRelu(ins as tf.Tensor4D[], { training: true }))(xs)));
    const names = both.kernels.map((k) => k.name);
    expect(names.filter((k) => k === RELU_GRAD)).toHaveLength(1);
    expect(names).not.toContain('Add');
    expect(names).not.toContain('Step');
  } finally {
    tf.dispose(xs);
  }
});

it('fall back to the ops for inputs of different shapes', async () => {
  const a = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
  const b = tf.randomNormal([1, 4, 4, 8], 0, 1, 'float32', 2) as tf.Tensor4D;
  try {
    const { kernelNames, result } = await (async () => {
      let out: tf.Tensor | undefined;
      const info = await tf.profile(() => {
        out = tf.tidy(() => sumRelu([a, b], { training: false }));
        return out;
      });
      return { kernelNames: info.kernelNames, result: out as tf.Tensor };
    })();
    expect(kernelNames).not.toContain(SUM_RELU);
    const want = tf.relu(tf.add(a, b));
    expect(await bits(result)).toEqual(await bits(want));
    tf.dispose([result, want]);
  } finally {
    tf.dispose([a, b]);
  }
});

it('leave no tensor and no GPU memory behind, and name a wrong input', async () => {
  const xs = inputsOf(2);
  const step = async () => {
    const gs = tf.tidy(() => tf.grads((...ins: tf.Tensor[]) => sumRelu(ins as tf.Tensor4D[], { training: true }))(xs));
    await Promise.all(gs.map((g) => g.data()));
    tf.dispose(gs);
  };
  try {
    await step();
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    for (let i = 0; i < 3; i++) await step();
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    expect([after.numTensors, after.numBytesInGPU]).toEqual([before.numTensors, before.numBytesInGPU]);
    const small = tf.zeros([2, 2]);
    expect(() => tf.engine().runKernel(SUM_RELU, { x0: xs[0], x1: small }, { n: 2 })).toThrow('HRNetSumRelu: x1 has shape [2,2], x0 has [2,5,6,8]');
    expect(() => tf.engine().runKernel(RELU_GRAD, { dy: xs[0] }, {})).toThrow("HRNetReluGrad: missing input 'out'");
    small.dispose();
  } finally {
    tf.dispose(xs);
  }
});

/**
 * The WebGPU backend's train-mode BatchNorm kernels (a software Vulkan driver where there is no GPU) against
 * the compiled ones of the WASM backend, which stand for the TF.js ops of convBnTrain: the same outputs to the
 * bit, forward and gradient, with and without the ReLU, for one block and for blocks longer and shorter than
 * the 48-row runs; no tensor and no GPU memory left behind; the model uses them.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../../src/backend/batch-norm-kernel';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { BatchNorm2d, BN_EPS, Conv2d, ParamStore, channelSumBlock, convBnTrain, seededInitializer } from '../../src/model/nn';

// One block (m ≤ 64, m prime), blocks of 24 rows, blocks of 64 (longer than a run), twelve channels.
const CASES: [number, number][] = [
  [50, 8],
  [61, 4],
  [768, 32],
  [2 * 64 * 48, 8],
  [2 * 8 * 8, 12],
];

/** The five outputs of a forward and its gradient on seeded inputs (the same values on every backend). */
async function forwardAndGradient(m: number, c: number, relu: boolean): Promise<Float32Array[]> {
  const results = tf.tidy(() => {
    // A mean far from zero, so that the sums cancel as they do below a BatchNorm.
    const y = tf.randomNormal([m, c], 3, 2, 'float32', 1);
    const gamma = tf.randomNormal([c], 1, 0.2, 'float32', 2);
    const beta = tf.randomNormal([c], 0, 0.2, 'float32', 3);
    const dy = tf.randomNormal([m, c], 0, 1, 'float32', 4);
    const block = channelSumBlock(m);
    const [out, xhat, stats] = tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma, beta }, { relu, block, eps: BN_EPS }) as tf.Tensor[];
    const inputs: tf.NamedTensorMap = { dy, xhat, alpha: tf.unstack(stats)[2] };
    if (relu) inputs.out = out;
    const [dConv, grads] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, { relu, block }) as tf.Tensor[];
    return [out, xhat, stats, dConv, grads];
  });
  try {
    return await Promise.all(results.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose(results);
  }
}

/** Indices where `a` and `b` differ as float32 bit patterns (NaNs of one pattern are equal). */
function bitDifferences(a: Float32Array, b: Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const out: number[] = [];
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) out.push(i);
  return out;
}

const onWasm = new Map<string, Float32Array[]>();

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'wasm', quiet: true });
  for (const [m, c] of CASES) for (const relu of [false, true]) onWasm.set(`${m},${c},${relu}`, await forwardAndGradient(m, c, relu));
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

it('are registered for webgpu', () => {
  expect(tf.getBackend()).toBe('webgpu');
  expect(tf.getKernel(BATCH_NORM_TRAIN, 'webgpu')).toBeDefined();
  expect(tf.getKernel(BATCH_NORM_TRAIN_GRAD, 'webgpu')).toBeDefined();
});

it.each(CASES)('give the WASM kernels\' values to the bit: m = %i, c = %i', async (m, c) => {
  for (const relu of [false, true]) {
    const got = await forwardAndGradient(m, c, relu);
    const want = onWasm.get(`${m},${c},${relu}`) as Float32Array[];
    const names = ['out', 'xhat', 'stats', 'dconv', 'grads'];
    expect(got.map((g, i) => ({ output: names[i], relu, length: g.length, differing: bitDifferences(g, want[i]).slice(0, 5) }))).toEqual(
      want.map((w, i) => ({ output: names[i], relu, length: w.length, differing: [] })),
    );
  }
}, 60000);

it('leave no tensor and no GPU memory behind', async () => {
  await forwardAndGradient(768, 32, true);
  const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  for (let i = 0; i < 3; i++) await forwardAndGradient(768, 32, true);
  const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  expect(after.numTensors).toBe(before.numTensors);
  expect(after.numBytesInGPU).toBe(before.numBytesInGPU);
});

it('say which input is wrong', () => {
  const y = tf.zeros([10, 4]);
  const gamma = tf.ones([4]);
  try {
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma, beta: gamma }, { relu: false, block: 3 })).toThrow(/HRNetBatchNormTrain: .*block dividing m \(got \[10,4\], block 3\)/);
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma }, { relu: false, block: 10 })).toThrow("HRNetBatchNormTrain: missing input 'beta'");
  } finally {
    tf.dispose([y, gamma]);
  }
});

it('run the model\'s train-mode conv → BatchNorm → ReLU, in place of the TF.js ops', async () => {
  const store = new ParamStore();
  const conv = new Conv2d(store, 'conv', { inChannels: 3, outChannels: 8, kernelSize: 3, stride: 1, padding: 1 }, seededInitializer(7));
  const bn = new BatchNorm2d(store, 'bn', 8);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  try {
    const { kernelNames } = await tf.profile(() => tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(convBnTrain(conv, bn, input as tf.Tensor4D, true)))(x)));
    expect(kernelNames).toEqual(expect.arrayContaining([BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD]));
    expect(kernelNames).not.toContain('BatchMatMul');
  } finally {
    x.dispose();
    store.dispose();
  }
});

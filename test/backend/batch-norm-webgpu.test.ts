/**
 * The WebGPU backend's train-mode BatchNorm kernels (a software Vulkan driver where there is no GPU) against
 * the compiled ones of the WASM backend, which stand for the TF.js ops of convBnTrain: the same outputs to the
 * bit, forward and gradient, with and without the ReLU, for one block and for blocks longer and shorter than
 * the 48-row runs; the running statistics updated in the forward as the TF.js ops update them; four dispatches
 * forward and three backward; no tensor and no GPU memory left behind; the model uses them.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, BATCH_NORM_TRAIN_RUNNING } from '../../src/backend/batch-norm-kernel';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { BatchNorm2d, BN_EPS, Conv2d, ParamStore, channelSumBlock, convBnTrain, seededInitializer } from '../../src/model/nn';
import { dispatchesOf } from '../helpers/dispatches';

// One block (m ≤ 64, m prime), blocks of 24 rows, blocks of 64 (longer than a run), twelve channels, and 22
// blocks of 13 rows (neither a multiple of the eight terms the shaders load at a time).
const CASES: [number, number][] = [
  [50, 8],
  [61, 4],
  [768, 32],
  [2 * 64 * 48, 8],
  [2 * 8 * 8, 12],
  [2 * 11 * 13, 8],
];

/**
 * The six outputs of a forward and its gradient on seeded inputs (the same values on every backend), the
 * activation [m, c] or, with `shape`, of that shape (channels last, m rows of c).
 */
async function forwardAndGradient(m: number, c: number, relu: boolean, shape: number[] = [m, c], shapes: number[][] = []): Promise<Float32Array[]> {
  const results = tf.tidy(() => {
    // A mean far from zero, so that the sums cancel as they do below a BatchNorm.
    const y = tf.randomNormal(shape, 3, 2, 'float32', 1);
    const gamma = tf.randomNormal([c], 1, 0.2, 'float32', 2);
    const beta = tf.randomNormal([c], 0, 0.2, 'float32', 3);
    const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
    const block = channelSumBlock(m);
    const [out, xhat, stats] = tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma, beta }, { relu, block, eps: BN_EPS }) as tf.Tensor[];
    const inputs: tf.NamedTensorMap = { dy, xhat, stats };
    if (relu) inputs.out = out;
    const [dConv, dGamma, dBeta] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, { relu, block }) as tf.Tensor[];
    return [out, xhat, stats, dConv, dGamma, dBeta];
  });
  shapes.push(...results.map((t) => t.shape));
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
  expect(tf.getKernel(BATCH_NORM_TRAIN_RUNNING, 'webgpu')).toBeDefined();
});

it.each(CASES)('give the WASM kernels\' values to the bit: m = %i, c = %i', async (m, c) => {
  for (const relu of [false, true]) {
    const got = await forwardAndGradient(m, c, relu);
    const want = onWasm.get(`${m},${c},${relu}`) as Float32Array[];
    const names = ['out', 'xhat', 'stats', 'dconv', 'dgamma', 'dbeta'];
    expect(got.map((g, i) => ({ output: names[i], relu, length: g.length, differing: bitDifferences(g, want[i]).slice(0, 5) }))).toEqual(
      want.map((w, i) => ({ output: names[i], relu, length: w.length, differing: [] })),
    );
  }
}, 60000);

it('compute the forward in four dispatches, with or without the running statistics, and the gradient in three', async () => {
  // Each dispatch costs the host a bind group, uniforms and the encoding, about what a small tensor costs the GPU.
  const [m, c] = [2 * 64 * 48, 8];
  const y = tf.randomNormal([m, c], 3, 2, 'float32', 1);
  const gamma = tf.ones([c]);
  const dy = tf.randomNormal([m, c], 0, 1, 'float32', 4);
  const running = tf.zeros([c]);
  const block = channelSumBlock(m);
  expect(m / block).toBeGreaterThan(1);
  const outputs: tf.Tensor[] = [];
  /** The dispatches of one kernel call; its results (read, so that everything is encoded) join `outputs`. */
  const dispatches = async (call: () => tf.Tensor[]) => {
    const { result, dispatches: n } = await dispatchesOf(async () => {
      const results = call();
      await Promise.all(results.map((t) => t.data()));
      return results;
    });
    outputs.push(...result);
    return n;
  };
  try {
    const forward = () => tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma, beta: gamma }, { relu: true, block, eps: BN_EPS }) as tf.Tensor[];
    expect(await dispatches(forward)).toBe(4);
    const [out, xhat, stats] = outputs;
    expect(await dispatches(() => tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, xhat, stats, out }, { relu: true, block }) as tf.Tensor[])).toBe(3);
    expect(await dispatches(() => tf.engine().runKernel(BATCH_NORM_TRAIN_RUNNING, { y, gamma, beta: gamma, mean: running, variance: running }, { relu: true, block, eps: BN_EPS, momentum: 0.1 }) as tf.Tensor[])).toBe(4);
  } finally {
    tf.dispose([y, gamma, dy, running, ...outputs]);
  }
});

it('take a convolution\'s [n, h, w, c] as m rows of c channels: the same bits, and out, x̂ and dconv of its shape', async () => {
  const [n, h, w, c] = [2, 64, 48, 8];
  for (const relu of [false, true]) {
    const shapes: number[][] = [];
    const got = await forwardAndGradient(n * h * w, c, relu, [n, h, w, c], shapes);
    expect(shapes).toEqual([[n, h, w, c], [n, h, w, c], [3, c], [n, h, w, c], [c], [c]]);
    const want = onWasm.get(`${n * h * w},${c},${relu}`) as Float32Array[];
    expect(got.map((g, i) => bitDifferences(g, want[i]).length)).toEqual([0, 0, 0, 0, 0, 0]);
  }
});

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
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma, beta: gamma }, { relu: false, block: 3 })).toThrow(/HRNetBatchNormTrain: .*block dividing its rows \(got \[10,4\], block 3\)/);
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { y: gamma, gamma, beta: gamma }, { relu: false, block: 1 })).toThrow(
      'HRNetBatchNormTrain: needs an input of rank 2 or more, channels last, and a block dividing its rows (got [4], block 1)',
    );
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma }, { relu: false, block: 10 })).toThrow("HRNetBatchNormTrain: missing input 'beta'");
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy: y, xhat: y, stats: gamma }, { relu: false, block: 10 })).toThrow(
      "HRNetBatchNormTrainGrad: 'stats' must be the forward's [3, 4] statistics (got [4])",
    );
    const attrs = { relu: false, block: 10, momentum: 0.1 };
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN_RUNNING, { y, gamma, beta: gamma, mean: gamma }, attrs)).toThrow("HRNetBatchNormTrainRunning: missing input 'variance'");
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN_RUNNING, { y, gamma, beta: gamma, mean: gamma, variance: y }, attrs)).toThrow(
      'HRNetBatchNormTrainRunning: the running variance must have shape [4] (got [10,4])',
    );
  } finally {
    tf.dispose([y, gamma]);
  }
});

/**
 * A forward over `m` rows of seeded values: the outputs, and a BatchNorm2d's running statistics before and after
 * the update, made by the forward's kernel ({@link BATCH_NORM_TRAIN_RUNNING}) or by the ops from its statistics.
 */
async function forwardWithRunningStats(m: number, byKernel: boolean): Promise<{ outputs: Float32Array[]; before: Float32Array[]; after: Float32Array[]; kernels: string[] }> {
  const store = new ParamStore();
  const bn = new BatchNorm2d(store, 'bn', 12);
  const read = async () => [(await bn.runningMean.data()) as Float32Array, (await bn.runningVar.data()) as Float32Array];
  try {
    tf.tidy(() => {
      bn.runningMean.assign(tf.randomNormal([12], 0, 1, 'float32', 8));
      bn.runningVar.assign(tf.randomUniform([12], 0.5, 2, 'float32', 9));
      bn.weight.assign(tf.randomNormal([12], 1, 0.2, 'float32', 2));
    });
    const before = await read();
    const y = tf.randomNormal([m, 12], 3, 2, 'float32', 1);
    const attrs = { relu: true, block: channelSumBlock(m), eps: BN_EPS };
    try {
      const { result, kernelNames } = await tf.profile(() => {
        if (byKernel) return bn.trainKernel(y, bn.weight, bn.bias, attrs);
        const outs = tf.engine().runKernel(BATCH_NORM_TRAIN, { y, gamma: bn.weight, beta: bn.bias }, attrs) as tf.Tensor[];
        tf.tidy(() => bn.updateRunningStats(tf.gather(outs[2], 0), tf.gather(outs[2], 1), m));
        return outs;
      });
      const outs = result as tf.Tensor[];
      const outputs = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
      tf.dispose(outs);
      return { outputs, before, after: await read(), kernels: kernelNames };
    } finally {
      y.dispose();
    }
  } finally {
    store.dispose();
  }
}

it.each([1, 2, 6144])('update the running statistics in the forward, to the bit as the TF.js ops: m = %i', async (m) => {
  const byOps = await forwardWithRunningStats(m, false);
  const byKernel = await forwardWithRunningStats(m, true);
  expect(byKernel.kernels).toEqual([BATCH_NORM_TRAIN_RUNNING]);
  expect(byKernel.outputs.map((k, i) => bitDifferences(k, byOps.outputs[i]))).toEqual([[], [], []]);
  expect(byKernel.after.map((k, i) => bitDifferences(k, byOps.after[i]))).toEqual([[], []]);
  // Every value moved: the comparison is of an update.
  expect(byKernel.after.map((k, i) => bitDifferences(k, byKernel.before[i]).length)).toEqual([12, 12]);
});

it('run the model\'s train-mode conv → BatchNorm → ReLU, in place of the TF.js ops', async () => {
  const store = new ParamStore();
  const conv = new Conv2d(store, 'conv', { inChannels: 3, outChannels: 8, kernelSize: 3, stride: 1, padding: 1 }, seededInitializer(7));
  const bn = new BatchNorm2d(store, 'bn', 8);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  try {
    const { kernelNames } = await tf.profile(() => tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(convBnTrain(conv, bn, input as tf.Tensor4D, true)))(x)));
    expect(kernelNames).toEqual(expect.arrayContaining([BATCH_NORM_TRAIN_RUNNING, BATCH_NORM_TRAIN_GRAD]));
    expect(kernelNames).not.toContain('BatchMatMul');
    // The forward hands the kernels' statistics on whole: no unstacking, no element-wise running-statistics ops.
    const forward = await tf.profile(() => tf.tidy(() => convBnTrain(conv, bn, x, true)));
    // (Reshapes move no data; the customGrad op itself is recorded as 'unnamed scope'.)
    expect(forward.kernels.map((k) => k.name).filter((k) => k !== 'Reshape' && k !== 'unnamed scope')).toEqual(['Conv2D', BATCH_NORM_TRAIN_RUNNING]);
  } finally {
    x.dispose();
    store.dispose();
  }
});

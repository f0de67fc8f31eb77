/**
 * The WebGPU backend's Adam kernels (a software Vulkan driver where there is no GPU): one step from the parity
 * fixture's weights and gradients equals `torch.optim.Adam`'s (`after_adam_step.pth`, at the fixture's 1e-6),
 * both kernels give the TF.js ops' values bit for bit over several steps with weight decay, `auto` picks the
 * multi-tensor one, which updates a group of parameters in one dispatch and cuts larger sets into groups,
 * and nothing is left behind.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ADAM_FOREACH, ADAM_UPDATE, AdamForeachAttrs } from '../../src/backend/adam-kernel';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { readPth, StateDict } from '../../src/io/pth';
import { Adam, AdamUpdatePath, NamedVariable } from '../../src/train/optim';
import { dispatchesOf } from '../helpers/dispatches';
import { maxAbsDiff, PARITY_DIR } from '../helpers/fixtures';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

const f32 = (sd: StateDict, name: string) => sd[name].data as Float32Array;

function variables(values: Record<string, { shape: number[]; data: ArrayLike<number> }>): NamedVariable[] {
  return Object.entries(values).map(([name, v]) => ({ name, variable: tf.variable(tf.tensor(Float32Array.from(v.data), v.shape, 'float32'), true, `adam-kernel-${name}-${Math.random()}`) }));
}

async function valuesOf(params: NamedVariable[]): Promise<Float32Array[]> {
  return Promise.all(params.map(async ({ variable }) => (await variable.data()) as Float32Array));
}

it('is registered for webgpu and chosen by default', async () => {
  expect(tf.getBackend()).toBe('webgpu');
  expect(tf.getKernel(ADAM_UPDATE, 'webgpu')).toBeDefined();
  expect(tf.getKernel(ADAM_FOREACH, 'webgpu')).toBeDefined();
  const [param] = variables({ w: { shape: [3], data: [1, 2, 3] } });
  const opt = new Adam([param]);
  const g = tf.tensor1d([0.5, -1, 2]);
  try {
    const { kernelNames } = await tf.profile(() => opt.step({ w: g }));
    // The first step also creates the two moments (ZerosLike); no element-wise op runs.
    expect(kernelNames.filter((k) => k !== 'ZerosLike')).toEqual([ADAM_FOREACH]);
  } finally {
    opt.dispose();
    param.variable.dispose();
    g.dispose();
  }
});

it.each(['kernel', 'foreach'] as AdamUpdatePath[])('one step from weights.pth + grads.pth equals after_adam_step.pth (%s)', async (updatePath) => {
  const weights = readPth(path.join(PARITY_DIR, 'weights.pth'));
  const grads = readPth(path.join(PARITY_DIR, 'grads.pth'));
  const after = readPth(path.join(PARITY_DIR, 'after_adam_step.pth'));
  const names = Object.keys(grads);
  const params = variables(Object.fromEntries(names.map((n) => [n, { shape: weights[n].shape, data: f32(weights, n) }])));
  const g: tf.NamedTensorMap = Object.fromEntries(names.map((n) => [n, tf.tensor(f32(grads, n), grads[n].shape, 'float32')]));
  const opt = new Adam(params, { lr: 1e-3, updatePath });
  try {
    const before = tf.memory().numTensors;
    const { kernelNames } = await tf.profile(() => opt.step(g));
    expect(kernelNames).toContain(updatePath === 'kernel' ? ADAM_UPDATE : ADAM_FOREACH);
    expect(tf.memory().numTensors).toBe(before + 2 * names.length);
    const got = await valuesOf(params);
    const far = names.filter((n, i) => !(maxAbsDiff(got[i], f32(after, n)) < 1e-6));
    expect(far).toEqual([]);
  } finally {
    opt.dispose();
    params.forEach((p) => p.variable.dispose());
    tf.dispose(Object.values(g));
  }
}, 120000);

it('equals the TF.js ops bit for bit over steps with weight decay, and leaves no tensor behind', async () => {
  const run = async (updatePath: AdamUpdatePath) => {
    const params = variables({
      'a.weight': { shape: [2, 3, 5], data: Array.from({ length: 30 }, (_, i) => Math.cos(i) * (i + 1)) },
      'a.bias': { shape: [5], data: [0.1, -0.2, 0.3, 0, 7] },
      'b.weight': { shape: [129], data: Array.from({ length: 129 }, (_, i) => Math.sin(3 * i) / (i + 1)) },
    });
    const opt = new Adam(params, { lr: 0.01, weightDecay: 0.05, updatePath });
    try {
      const counts: number[] = [];
      const bytes: number[] = [];
      for (let step = 1; step <= 3; step++) {
        const g = tf.tidy(() => Object.fromEntries(params.map(({ name, variable }) => [name, tf.mul(tf.sin(tf.mul(variable, 1.7 * step)), step)])));
        opt.step(g);
        tf.dispose(Object.values(g));
        counts.push(tf.memory().numTensors);
        // Reading a value submits the queue, so that buffers freed after their last use are gone from the count.
        await params[0].variable.data();
        bytes.push((tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }).numBytesInGPU);
      }
      expect(counts[2]).toBe(counts[1]);
      expect(bytes[2]).toBe(bytes[1]);
      const state = await opt.getState();
      return { params: await valuesOf(params), m: state.params.map((p) => p.expAvg.data), v: state.params.map((p) => p.expAvgSq.data) };
    } finally {
      opt.dispose();
      params.forEach((p) => p.variable.dispose());
    }
  };
  const ops = await run('tensor-ops');
  const kernel = await run('kernel');
  const foreach = await run('foreach');
  const auto = await run('auto');
  for (const got of [kernel, foreach, auto]) {
    got.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(ops.params[i])));
    got.m.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(ops.m[i])));
    got.v.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(ops.v[i])));
  }
}, 120000);

it('updates a group of parameters in one dispatch, cuts larger sets into groups, and gives the per-parameter values', async () => {
  const shapes = [[2, 3, 5], [5], [129], [7, 7], [1]];
  const tensors = shapes.map((shape, j) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (k + 1) + j) * (k === 3 ? 0.01 : 1) + (k === 3 ? 0.02 : 0));
    return [0, 1, 2, 3].map((k) => tf.tensor(values(k), shape, 'float32'));
  });
  const c = { beta1: Math.fround(0.9), oneMinusBeta1: Math.fround(0.1), beta2: Math.fround(0.999), oneMinusBeta2: Math.fround(0.001), eps: Math.fround(1e-8), weightDecay: Math.fround(0.05), stepSize: Math.fround(0.01 / 0.1), biasCorrection2Sqrt: Math.fround(Math.sqrt(0.001)) };
  const inputs: tf.NamedTensorMap = {};
  tensors.forEach(([p, g, m, v], i) => Object.assign(inputs, { [`p${i}`]: p, [`g${i}`]: g, [`m${i}`]: m, [`v${i}`]: v }));
  const bits = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => Array.from(new Uint32Array(((await t.data()) as Float32Array).buffer))));
  const perParameter = tensors.flatMap(([p, g, m, v]) => tf.engine().runKernel(ADAM_UPDATE, { p, g, m, v }, c as unknown as tf.NamedAttrMap) as tf.Tensor[]);
  try {
    const want = await bits(perParameter);
    // All in one group: one dispatch; groups of at most 40 values: [30, 5], [129] alone, [49] alone, [1].
    for (const [maxGroupValues, dispatches] of [[undefined, 1], [40, 4]] as const) {
      const attrs: AdamForeachAttrs = { ...c, n: shapes.length, ...(maxGroupValues === undefined ? {} : { maxGroupValues }) };
      const before = tf.memory().numTensors;
      const { result, dispatches: counted } = await dispatchesOf(async () => {
        const outs = tf.engine().runKernel(ADAM_FOREACH, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        return { outs, values: await bits(outs) };
      });
      try {
        expect(counted).toBe(dispatches);
        expect(result.outs.map((t) => t.shape)).toEqual(shapes.flatMap((shape) => [shape, shape, shape]));
        expect(result.values).toEqual(want);
        expect(tf.memory().numTensors).toBe(before + 3 * shapes.length);
      } finally {
        tf.dispose(result.outs);
      }
    }
    const { p0, g0, m0 } = inputs;
    expect(() => tf.engine().runKernel(ADAM_FOREACH, { p0, g0, m0 }, { ...c, n: 1 } as unknown as tf.NamedAttrMap)).toThrow("HRNetAdamForeach: missing input 'v0'");
    expect(() => tf.engine().runKernel(ADAM_FOREACH, { p0, g0: inputs.g1, m0, v0: inputs.v0 }, { ...c, n: 1 } as unknown as tf.NamedAttrMap)).toThrow('HRNetAdamForeach: g0 has shape [5], p0 has [2,3,5]');
  } finally {
    tf.dispose(perParameter);
    tf.dispose(tensors.flat());
  }
});

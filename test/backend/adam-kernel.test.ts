/**
 * The WebGPU backend's Adam kernel (a software Vulkan driver where there is no GPU): one step from the parity
 * fixture's weights and gradients equals `torch.optim.Adam`'s (`after_adam_step.pth`, at the fixture's 1e-6),
 * the kernel gives the TF.js ops' values bit for bit over several steps with weight decay, `auto` picks it,
 * and nothing is left behind.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE } from '../../src/backend/adam-kernel';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { readPth, StateDict } from '../../src/io/pth';
import { Adam, AdamUpdatePath, NamedVariable } from '../../src/train/optim';
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
  const [param] = variables({ w: { shape: [3], data: [1, 2, 3] } });
  const opt = new Adam([param]);
  const g = tf.tensor1d([0.5, -1, 2]);
  try {
    const { kernelNames } = await tf.profile(() => opt.step({ w: g }));
    // The first step also creates the two moments (ZerosLike); no element-wise op runs.
    expect(kernelNames.filter((k) => k !== 'ZerosLike')).toEqual([ADAM_UPDATE]);
  } finally {
    opt.dispose();
    param.variable.dispose();
    g.dispose();
  }
});

it('one step from weights.pth + grads.pth equals after_adam_step.pth', async () => {
  const weights = readPth(path.join(PARITY_DIR, 'weights.pth'));
  const grads = readPth(path.join(PARITY_DIR, 'grads.pth'));
  const after = readPth(path.join(PARITY_DIR, 'after_adam_step.pth'));
  const names = Object.keys(grads);
  const params = variables(Object.fromEntries(names.map((n) => [n, { shape: weights[n].shape, data: f32(weights, n) }])));
  const g: tf.NamedTensorMap = Object.fromEntries(names.map((n) => [n, tf.tensor(f32(grads, n), grads[n].shape, 'float32')]));
  const opt = new Adam(params, { lr: 1e-3, updatePath: 'kernel' });
  try {
    const before = tf.memory().numTensors;
    const { kernelNames } = await tf.profile(() => opt.step(g));
    expect(kernelNames).toContain(ADAM_UPDATE);
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
      for (let step = 1; step <= 3; step++) {
        const g = tf.tidy(() => Object.fromEntries(params.map(({ name, variable }) => [name, tf.mul(tf.sin(tf.mul(variable, 1.7 * step)), step)])));
        opt.step(g);
        tf.dispose(Object.values(g));
        counts.push(tf.memory().numTensors);
      }
      expect(counts[2]).toBe(counts[1]);
      const state = await opt.getState();
      return { params: await valuesOf(params), m: state.params.map((p) => p.expAvg.data), v: state.params.map((p) => p.expAvgSq.data) };
    } finally {
      opt.dispose();
      params.forEach((p) => p.variable.dispose());
    }
  };
  const ops = await run('tensor-ops');
  const kernel = await run('kernel');
  const auto = await run('auto');
  for (const got of [kernel, auto]) {
    got.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(ops.params[i])));
    got.m.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(ops.m[i])));
    got.v.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(ops.v[i])));
  }
}, 120000);

/**
 * The WebGPU backend's weighted sum of chunk gradients (a software Vulkan driver where there is no GPU): the
 * TF.js ops' values bit for bit, first weighted then accumulated, one dispatch a group of parameters with larger
 * sets cut into groups, `addWeightedGradients` through it, shape errors that name the input, nothing left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { ACCUMULATE_FOREACH, AccumulateForeachAttrs } from '../../src/backend/accumulate-kernel';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { addWeightedGradients } from '../../src/train/replicas';
import { dispatchesOf } from '../helpers/dispatches';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

/** Shapes of HRNet's kinds of parameters: a convolution, a BatchNorm vector, a 1×1 convolution, a scalar-sized one. */
const SHAPES = [[3, 3, 32, 32], [32], [1, 1, 64, 17], [1], [3, 3, 3, 64]];

function gradients(seed: number): tf.Tensor[] {
  return SHAPES.map((shape, i) => tf.randomNormal(shape, 0, 1, 'float32', seed * 100 + i));
}

function run(grads: tf.Tensor[], sums: tf.Tensor[] | null, weight: number, maxGroupValues?: number): tf.Tensor[] {
  const inputs: tf.NamedTensorMap = {};
  grads.forEach((g, i) => {
    inputs[`g${i}`] = g;
    if (sums) inputs[`s${i}`] = sums[i];
  });
  const attrs: AccumulateForeachAttrs = { n: grads.length, weight, accumulate: sums !== null, maxGroupValues };
  return tf.engine().runKernel(ACCUMULATE_FOREACH, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

async function values(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return (await Promise.all(ts.map((t) => t.data()))) as Float32Array[];
}

it('gives the ops\' weighted gradients and sums bit for bit, in one dispatch a group', async () => {
  const [g0, g1] = [gradients(1), gradients(2)];
  // Weights that are not powers of two, so that each product rounds.
  const [w0, w1] = [3 / 7, 4 / 7];
  const kept: tf.Tensor[] = [];
  try {
    const first = await dispatchesOf(async () => run(g0, null, w0));
    kept.push(...first.result);
    expect(first.dispatches).toBe(1);
    const second = await dispatchesOf(async () => run(g1, first.result, w1));
    kept.push(...second.result);
    expect(second.dispatches).toBe(1);
    const want = tf.tidy(() => g0.map((g, i) => tf.add(tf.mul(g, w0), tf.mul(g1[i], w1))));
    kept.push(...want);
    const [got, expected] = [await values(second.result), await values(want)];
    got.forEach((v, i) => {
      expect(second.result[i].shape).toEqual(SHAPES[i]);
      expect(v.findIndex((x, j) => x !== expected[i][j])).toBe(-1);
    });
    // Groups of at most 2,000 values: the first convolution alone (larger), the vector with the 1×1 and the
    // scalar-sized one, the last convolution alone.
    const grouped = await dispatchesOf(async () => run(g1, first.result, w1, 2000));
    kept.push(...grouped.result);
    expect(grouped.dispatches).toBe(3);
    const again = await values(grouped.result);
    again.forEach((v, i) => expect(v.findIndex((x, j) => x !== expected[i][j])).toBe(-1));
  } finally {
    tf.dispose([...g0, ...g1, ...kept]);
  }
});

it('serves addWeightedGradients: the sums of the ops, one dispatch per group, nothing left behind', async () => {
  const names = SHAPES.map((_, i) => `p${i}`);
  const chunks = [gradients(3), gradients(4), gradients(5)].map((gs) => Object.fromEntries(names.map((n, i) => [n, gs[i]])) as tf.NamedTensorMap);
  const weights = [2 / 5, 2 / 5, 1 / 5];
  const summed: tf.NamedTensorMap = {};
  const before = tf.memory().numTensors;
  try {
    for (const [r, grads] of chunks.entries()) {
      const { dispatches } = await dispatchesOf(async () => addWeightedGradients(summed, grads, weights[r]));
      expect(dispatches).toBe(1);
    }
    // The sums replaced are disposed: what stays is one sum a parameter.
    expect(tf.memory().numTensors - before).toBe(names.length);
    const want = tf.tidy(() => names.map((n) => chunks.reduce<tf.Tensor | null>((acc, grads, r) => (acc === null ? tf.mul(grads[n], weights[r]) : tf.add(acc, tf.mul(grads[n], weights[r]))), null) as tf.Tensor));
    try {
      const [got, expected] = [await values(names.map((n) => summed[n])), await values(want)];
      got.forEach((v, i) => expect(v.findIndex((x, j) => x !== expected[i][j])).toBe(-1));
    } finally {
      tf.dispose(want);
    }
  } finally {
    tf.dispose([...Object.values(summed), ...chunks.flatMap((c) => Object.values(c))]);
  }
});

it('names the input whose shape differs', () => {
  const g = tf.zeros([2, 3]);
  const s = tf.zeros([3, 2]);
  try {
    expect(() => run([g], [s], 0.5)).toThrow(`${ACCUMULATE_FOREACH}: s0 has shape [3,2], g0 has [2,3]`);
  } finally {
    tf.dispose([g, s]);
  }
});

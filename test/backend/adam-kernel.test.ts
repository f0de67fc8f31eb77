/**
 * The WebGPU backend's Adam kernels (a software Vulkan driver where there is no GPU): one step from the parity
 * fixture's weights and gradients equals `torch.optim.Adam`'s (`after_adam_step.pth`, at the fixture's 1e-6),
 * every kernel gives the TF.js ops' values bit for bit over several steps with weight decay, `auto` picks the
 * multi-tensor one with flat moments, the multi-tensor ones update a group of parameters in one dispatch and
 * cut larger sets into groups, the flat moments move to per-parameter ones and back where the parameters of a
 * step change (and from a restored state), and nothing is left behind.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ADAM_FLAT, ADAM_FOREACH, ADAM_UPDATE, AdamFlatAttrs, adamFlatGroups, AdamForeachAttrs } from '../../src/backend/adam-kernel';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { readPth, StateDict } from '../../src/io/pth';
import { FlatAdamMoments } from '../../src/train/adam-flat-moments';
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
  expect(tf.getKernel(ADAM_FLAT, 'webgpu')).toBeDefined();
  const [param] = variables({ w: { shape: [3], data: [1, 2, 3] } });
  const opt = new Adam([param]);
  const g = tf.tensor1d([0.5, -1, 2]);
  try {
    const { kernelNames } = await tf.profile(() => opt.step({ w: g }));
    // The flat moments start as zeros, written at their creation: the update is the only kernel.
    expect(kernelNames).toEqual([ADAM_FLAT]);
  } finally {
    opt.dispose();
    param.variable.dispose();
    g.dispose();
  }
});

it.each(['kernel', 'foreach', 'flat'] as AdamUpdatePath[])('one step from weights.pth + grads.pth equals after_adam_step.pth (%s)', async (updatePath) => {
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
    expect(kernelNames).toContain({ kernel: ADAM_UPDATE, foreach: ADAM_FOREACH, flat: ADAM_FLAT }[updatePath as string]);
    // Two moments a parameter, or two flat ones for all.
    expect(tf.memory().numTensors).toBe(before + (updatePath === 'flat' ? 2 : 2 * names.length));
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
  const flat = await run('flat');
  const auto = await run('auto');
  for (const got of [kernel, foreach, flat, auto]) {
    got.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(ops.params[i])));
    got.m.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(ops.m[i])));
    got.v.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(ops.v[i])));
  }
}, 120000);

/** Parameter shapes of the multi-tensor tests: groups of at most 40 values cut them into [30, 5], [129], [49], [1]. */
const GROUP_SHAPES = [[2, 3, 5], [5], [129], [7, 7], [1]];

/** The coefficients of one Adam step with weight decay, rounded to float32. */
const GROUP_COEFFICIENTS = { beta1: Math.fround(0.9), oneMinusBeta1: Math.fround(0.1), beta2: Math.fround(0.999), oneMinusBeta2: Math.fround(0.001), eps: Math.fround(1e-8), weightDecay: Math.fround(0.05), stepSize: Math.fround(0.01 / 0.1), biasCorrection2Sqrt: Math.fround(Math.sqrt(0.001)) };

/** p, g, m and v (v positive) of each of {@link GROUP_SHAPES}; the caller disposes them. */
function groupTensors(): tf.Tensor[][] {
  return GROUP_SHAPES.map((shape, j) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (k + 1) + j) * (k === 3 ? 0.01 : 1) + (k === 3 ? 0.02 : 0));
    return [0, 1, 2, 3].map((k) => tf.tensor(values(k), shape, 'float32'));
  });
}

/** The float32 values of `ts` as their bits. */
const bitsOf = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => Array.from(new Uint32Array(((await t.data()) as Float32Array).buffer))));

it('updates a group of parameters in one dispatch, cuts larger sets into groups, and gives the per-parameter values', async () => {
  const shapes = GROUP_SHAPES;
  const tensors = groupTensors();
  const c = GROUP_COEFFICIENTS;
  const inputs: tf.NamedTensorMap = {};
  tensors.forEach(([p, g, m, v], i) => Object.assign(inputs, { [`p${i}`]: p, [`g${i}`]: g, [`m${i}`]: m, [`v${i}`]: v }));
  const perParameter = tensors.flatMap(([p, g, m, v]) => tf.engine().runKernel(ADAM_UPDATE, { p, g, m, v }, c as unknown as tf.NamedAttrMap) as tf.Tensor[]);
  try {
    const want = await bitsOf(perParameter);
    // All in one group: one dispatch; groups of at most 40 values: [30, 5], [129] alone, [49] alone, [1].
    for (const [maxGroupValues, dispatches] of [[undefined, 1], [40, 4]] as const) {
      const attrs: AdamForeachAttrs = { ...c, n: shapes.length, ...(maxGroupValues === undefined ? {} : { maxGroupValues }) };
      const before = tf.memory().numTensors;
      const { result, dispatches: counted } = await dispatchesOf(async () => {
        const outs = tf.engine().runKernel(ADAM_FOREACH, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        return { outs, values: await bitsOf(outs) };
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

it('updates parameters with flat moments in one dispatch, with the per-parameter values, and cuts sets into groups', async () => {
  const shapes = GROUP_SHAPES;
  const tensors = groupTensors();
  const c = GROUP_COEFFICIENTS;
  const inputs: tf.NamedTensorMap = {};
  tensors.forEach(([p, g], i) => Object.assign(inputs, { [`p${i}`]: p, [`g${i}`]: g }));
  const flatten = (ts: tf.Tensor[]) => tf.tidy(() => tf.concat(ts.map((t) => tf.reshape(t, [-1]))));
  const [m, v] = [2, 3].map((k) => flatten(tensors.map((t) => t[k])));
  const perParameter = tensors.map(([p, g, mk, vk]) => tf.engine().runKernel(ADAM_UPDATE, { p, g, m: mk, v: vk }, c as unknown as tf.NamedAttrMap) as tf.Tensor[]);
  const flatM = flatten(perParameter.map(([, mNew]) => mNew));
  const flatV = flatten(perParameter.map(([, , vNew]) => vNew));
  try {
    const want = await bitsOf([...perParameter.map(([p]) => p), flatM, flatV]);
    const attrs: AdamFlatAttrs = { ...c, n: shapes.length };
    const before = tf.memory().numTensors;
    const { result, dispatches } = await dispatchesOf(async () => {
      const outs = tf.engine().runKernel(ADAM_FLAT, { ...inputs, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { outs, values: await bitsOf(outs) };
    });
    try {
      expect(dispatches).toBe(1);
      expect(result.outs.map((t) => t.shape)).toEqual([...shapes, [m.size], [m.size]]);
      expect(result.values).toEqual(want);
      expect(tf.memory().numTensors).toBe(before + shapes.length + 2);
    } finally {
      tf.dispose(result.outs);
    }
    // Groups of at most 40 values: [30, 5], [129] alone, [49] alone, [1].
    expect(adamFlatGroups(shapes.map((s) => s.reduce((a, b) => a * b, 1)), 40)).toEqual([[0, 1], [2], [3], [4]]);
    const { p0, g0 } = inputs;
    const m30 = tf.zeros([30]);
    try {
      expect(() => tf.engine().runKernel(ADAM_FLAT, { p0, g0, m: m30 }, { ...c, n: 1 } as unknown as tf.NamedAttrMap)).toThrow("HRNetAdamFlat: missing input 'v'");
    } finally {
      m30.dispose();
    }
    expect(() => tf.engine().runKernel(ADAM_FLAT, { p0, g0, m, v }, { ...c, n: 1 } as unknown as tf.NamedAttrMap)).toThrow(`HRNetAdamFlat: m must have shape [30] (the parameters' values), got [${m.size}]`);
    expect(() => tf.engine().runKernel(ADAM_FLAT, { p0, g0: inputs.g1, m, v }, { ...c, n: 1 } as unknown as tf.NamedAttrMap)).toThrow('HRNetAdamFlat: g0 has shape [5], p0 has [2,3,5]');
  } finally {
    tf.dispose([m, v, flatM, flatV, ...perParameter.flat(), ...tensors.flat()]);
  }
});

it('keeps flat moments in groups: an update, a read and a split give the per-parameter moments', async () => {
  const shapes = [[2, 3, 5], [5], [129], [7, 7], [1]];
  const params = variables(Object.fromEntries(shapes.map((shape, j) => [`w${j}`, { shape, data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i + j)) }])));
  const moments = shapes.map((shape, j) => ({ expAvg: tf.fill(shape, 0.01 * (j + 1)), expAvgSq: tf.fill(shape, 0.001 * (j + 1)) }));
  const grads = params.map(({ variable }) => tf.sin(tf.mul(variable, 3)));
  const c = { beta1: Math.fround(0.9), oneMinusBeta1: Math.fround(0.1), beta2: Math.fround(0.999), oneMinusBeta2: Math.fround(0.001), eps: Math.fround(1e-8), weightDecay: null, stepSize: Math.fround(0.01 / 0.19), biasCorrection2Sqrt: Math.fround(Math.sqrt(1 - 0.999 ** 2)) };
  const inputs: tf.NamedTensorMap = {};
  params.forEach(({ variable }, i) => Object.assign(inputs, { [`p${i}`]: variable, [`g${i}`]: grads[i], [`m${i}`]: moments[i].expAvg, [`v${i}`]: moments[i].expAvgSq }));
  const foreach = tf.engine().runKernel(ADAM_FOREACH, inputs, { ...c, n: shapes.length } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const before = tf.memory().numTensors;
  const flat = FlatAdamMoments.create(
    params.map(({ name, variable }) => ({ name, shape: variable.shape })),
    1,
    moments,
    40,
  );
  try {
    // Four groups, two flat tensors each.
    expect(tf.memory().numTensors).toBe(before + 8);
    const { dispatches } = await dispatchesOf(async () => {
      flat.update(
        params.map((p) => p.variable),
        grads,
        c,
      );
      await params[0].variable.data();
    });
    expect(dispatches).toBe(4);
    expect(tf.memory().numTensors).toBe(before + 8);
    const want = await bitsOf(foreach);
    expect(await bitsOf(params.map((p) => p.variable))).toEqual(want.filter((_, k) => k % 3 === 0));
    const read = await flat.read();
    expect(read.map((r) => Array.from(new Uint32Array(r.expAvg.buffer)))).toEqual(want.filter((_, k) => k % 3 === 1));
    expect(read.map((r) => Array.from(new Uint32Array(r.expAvgSq.buffer)))).toEqual(want.filter((_, k) => k % 3 === 2));
    const split = flat.split();
    try {
      expect(split.map((s) => s.expAvg.shape)).toEqual(shapes);
      expect(await bitsOf(split.flatMap((s) => [s.expAvg, s.expAvgSq]))).toEqual(want.filter((_, k) => k % 3 !== 0));
    } finally {
      tf.dispose(split.flatMap((s) => [s.expAvg, s.expAvgSq]));
    }
  } finally {
    flat.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...foreach, ...grads, ...moments.flatMap((m) => [m.expAvg, m.expAvgSq])]);
    params.forEach((p) => p.variable.dispose());
  }
});

it('moves flat moments to per-parameter ones and back where the parameters of a step change, as the foreach path steps', async () => {
  const init = () =>
    variables({
      'a.weight': { shape: [2, 3, 5], data: Array.from({ length: 30 }, (_, i) => Math.cos(i) * (i + 1)) },
      'a.bias': { shape: [5], data: [0.1, -0.2, 0.3, 0, 7] },
      'b.weight': { shape: [129], data: Array.from({ length: 129 }, (_, i) => Math.sin(3 * i) / (i + 1)) },
    });
  /** Steps with the gradients of `names` (all where absent), then the parameters and the state as bits. */
  const run = async (updatePath: AdamUpdatePath, steps: (string[] | null)[], restoreAfter?: number) => {
    const params = init();
    let opt = new Adam(params, { lr: 0.01, weightDecay: 0.05, updatePath });
    const before = tf.memory().numTensors;
    const kernels: string[] = [];
    try {
      for (const [i, names] of steps.entries()) {
        const g = tf.tidy(() => Object.fromEntries(params.filter((p) => names === null || names.includes(p.name)).map(({ name, variable }) => [name, tf.mul(tf.sin(tf.mul(variable, 1.7 * (i + 1))), i + 1)])));
        const { kernelNames } = await tf.profile(() => opt.step(g));
        kernels.push(...kernelNames.filter((k) => [ADAM_FLAT, ADAM_FOREACH].includes(k)));
        tf.dispose(Object.values(g));
        if (restoreAfter === i) {
          const state = await opt.getState();
          opt.dispose();
          opt = new Adam(params, { updatePath });
          opt.setState(state);
        }
      }
      const state = await opt.getState();
      return {
        kernels,
        params: await bitsOf(params.map((p) => p.variable)),
        state: state.params.map((p) => ({ name: p.name, step: p.step, m: Array.from(new Uint32Array(p.expAvg.data.buffer)), v: Array.from(new Uint32Array(p.expAvgSq.data.buffer)) })),
      };
    } finally {
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before);
      params.forEach((p) => p.variable.dispose());
    }
  };
  // All, all, a step without a.bias (flat moments of the two others, made from per-parameter ones), all (step
  // counts differ: per parameter); then a restored state (per parameter → flat).
  const scenarios: [(string[] | null)[], number | undefined, string[]][] = [
    [[null, null, ['a.weight', 'b.weight'], null], undefined, [ADAM_FLAT, ADAM_FLAT, ADAM_FLAT, ADAM_FOREACH]],
    [[null, null, null], 1, [ADAM_FLAT, ADAM_FLAT, ADAM_FLAT]],
  ];
  for (const [steps, restoreAfter, kernels] of scenarios) {
    const want = await run('foreach', steps, restoreAfter);
    const got = await run('flat', steps, restoreAfter);
    expect(got.kernels).toEqual(kernels);
    expect({ ...got, kernels: [] }).toEqual({ ...want, kernels: [] });
  }
  expect((await run('flat', [null, null, ['a.weight', 'b.weight'], null])).state.map((p) => p.step)).toEqual([4, 3, 4]);
}, 120000);

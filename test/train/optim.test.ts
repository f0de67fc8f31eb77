import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readPth, StateDict } from '../../src/io/pth';
import {
  Adam,
  AdamState,
  AdamUpdatePath,
  createOptimizer,
  NamedVariable,
  OptimizerConfig,
  SGD,
  SgdState,
} from '../../src/train/optim';
import { maxAbsDiff, PARITY_DIR } from '../helpers/fixtures';

/** Float32 view of a checkpoint tensor (the parity fixtures are all float32). */
function f32(sd: StateDict, name: string): Float32Array {
  const t = sd[name];
  if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`fixture tensor ${name} missing or not float32`);
  return t.data;
}

function makeParams(values: Record<string, { shape: number[]; data: ArrayLike<number> }>): NamedVariable[] {
  return Object.entries(values).map(([name, v]) => ({
    name,
    variable: tf.variable(tf.tensor(Float32Array.from(v.data), v.shape, 'float32'), true),
  }));
}

function disposeParams(params: NamedVariable[]): void {
  for (const p of params) p.variable.dispose();
}

function gradMap(values: Record<string, { shape: number[]; data: ArrayLike<number> }>): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [name, v] of Object.entries(values)) out[name] = tf.tensor(Float32Array.from(v.data), v.shape, 'float32');
  return out;
}

function paramValues(params: NamedVariable[]): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const { name, variable } of params) out[name] = Float32Array.from(variable.dataSync() as Float32Array);
  return out;
}

describe('Adam against torch.optim.Adam (parity fixture w8_coco_128x96)', () => {
  const weights = readPth(path.join(PARITY_DIR, 'weights.pth'));
  const grads = readPth(path.join(PARITY_DIR, 'grads.pth'));
  const after = readPth(path.join(PARITY_DIR, 'after_adam_step.pth'));
  // the optimizer's business: parameters only (grads.pth has no BN buffers)
  const names = Object.keys(grads);

  const paths: AdamUpdatePath[] = ['tensor-ops', 'js-loop', 'auto'];
  const results = new Map<AdamUpdatePath, Record<string, Float32Array>>();

  it.each(paths)('one step from weights.pth + grads.pth equals after_adam_step.pth (%s)', async (updatePath) => {
    expect(names.length).toBeGreaterThan(200);
    const params = makeParams(Object.fromEntries(names.map((n) => [n, { shape: weights[n].shape, data: f32(weights, n) }])));
    const g = gradMap(Object.fromEntries(names.map((n) => [n, { shape: grads[n].shape, data: f32(grads, n) }])));
    const opt = new Adam(params, { lr: 1e-3, updatePath });
    try {
      const before = tf.memory().numTensors;
      opt.step(g);
      // two moment buffers per parameter, nothing else
      expect(tf.memory().numTensors).toBe(before + 2 * names.length);
      const diffs = params.map(({ name, variable }) => ({ name, diff: maxAbsDiff(variable.dataSync(), f32(after, name)) }));
      expect(diffs.filter((d) => !(d.diff < 1e-6))).toEqual([]);
      expect(Math.max(...diffs.map((d) => d.diff))).toBeLessThan(1e-6);
      results.set(updatePath, paramValues(params));
      const state = await opt.getState();
      expect(state.params.map((p) => [p.name, p.step])).toEqual(names.map((n) => [n, 1]));
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      opt.dispose();
      disposeParams(params);
      tf.dispose(Object.values(g));
    }
  });

  it('all update paths agree bit for bit', async () => {
    const ops = results.get('tensor-ops');
    const loop = results.get('js-loop');
    expect(ops).toBeDefined();
    expect(loop).toBeDefined();
    for (const n of names) expect(loop?.[n]).toEqual(ops?.[n]);
  });
});

/** A small deterministic problem: 3 parameters, gradients varying per step. */
function toyProblem(): { params: NamedVariable[]; gradsAt: (step: number) => tf.NamedTensorMap } {
  const params = makeParams({
    'a.weight': { shape: [2, 3], data: [0.5, -1.25, 2, 0.75, -0.3, 1.1] },
    'a.bias': { shape: [3], data: [0.1, -0.2, 0.3] },
    'b.weight': { shape: [4], data: [1, 2, -3, 4] },
  });
  const gradsAt = (step: number): tf.NamedTensorMap =>
    tf.tidy(() => {
      const out: tf.NamedTensorMap = {};
      for (const { name, variable } of params) {
        const n = variable.size;
        const vals = Array.from({ length: n }, (_, i) => Math.sin(1.7 * (i + 1) * step + name.length) * (1 + i));
        out[name] = tf.keep(tf.tensor(vals, variable.shape, 'float32'));
      }
      return out;
    });
  return { params, gradsAt };
}

describe('Adam state', () => {
  it.each(['tensor-ops', 'js-loop'] as AdamUpdatePath[])(
    'a restored optimizer continues bit-identically (%s, with weight decay)',
    async (updatePath) => {
      const a = toyProblem();
      const opt = new Adam(a.params, { lr: 0.01, weightDecay: 0.05, updatePath });
      for (let s = 1; s <= 2; s++) {
        const g = a.gradsAt(s);
        opt.step(g);
        tf.dispose(Object.values(g));
      }
      const state = await opt.getState();
      // a copy: later steps must not change it
      const snapshot = structuredClone(state);

      const b = toyProblem();
      for (const [i, p] of b.params.entries()) p.variable.assign(a.params[i].variable);
      const restored = new Adam(b.params, { updatePath });
      const beforeRestore = tf.memory().numTensors;
      restored.setState(state);
      expect(tf.memory().numTensors).toBe(beforeRestore + 2 * b.params.length);
      restored.setState(state); // replaces, and frees, the previous buffers
      expect(tf.memory().numTensors).toBe(beforeRestore + 2 * b.params.length);
      expect(restored.lr).toBe(0.01);

      const g3 = a.gradsAt(3);
      try {
        const before = tf.memory().numTensors;
        opt.step(g3);
        restored.step(g3);
        expect(tf.memory().numTensors).toBe(before);
        expect(paramValues(b.params)).toEqual(paramValues(a.params));
        expect(await restored.getState()).toEqual(await opt.getState());
        expect(state).toEqual(snapshot);
        expect((await opt.getState()).params.every((p) => p.step === 3)).toBe(true);
      } finally {
        tf.dispose(Object.values(g3));
        opt.dispose();
        restored.dispose();
        disposeParams(a.params);
        disposeParams(b.params);
      }
    },
  );

  it('skips parameters without a gradient (no step, no state), like PyTorch', async () => {
    const { params, gradsAt } = toyProblem();
    const opt = new Adam(params);
    const g = gradsAt(1);
    const bBefore = Float32Array.from(params[2].variable.dataSync() as Float32Array);
    try {
      opt.step({ 'a.weight': g['a.weight'], 'a.bias': g['a.bias'] });
      expect(params[2].variable.dataSync()).toEqual(bBefore);
      expect((await opt.getState()).params.map((p) => p.name)).toEqual(['a.weight', 'a.bias']);
    } finally {
      tf.dispose(Object.values(g));
      opt.dispose();
      disposeParams(params);
    }
  });

  it('rejects unknown gradients, wrong shapes and foreign state with clear messages', async () => {
    const { params } = toyProblem();
    const opt = new Adam(params);
    const wrong = tf.zeros([5]);
    try {
      expect(() => opt.step({ 'c.weight': wrong })).toThrow(/gradient "c.weight" matches no parameter/);
      expect(() => opt.step({ 'b.weight': wrong })).toThrow(/gradient "b.weight" has shape \[5\], parameter has \[4\]/);
      const sgdState: SgdState = {
        type: 'sgd', lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, params: [],
      };
      expect(() => opt.setState(sgdState)).toThrow(/expected "adam"/);
      const bad: AdamState = {
        ...await opt.getState(),
        params: [{ name: 'b.weight', step: 1, expAvg: { shape: [5], data: new Float32Array(5) }, expAvgSq: { shape: [4], data: new Float32Array(4) } }],
      };
      const before = tf.memory().numTensors;
      expect(() => opt.setState(bad)).toThrow(/expAvg of "b.weight" has shape \[5\]/);
      expect(tf.memory().numTensors).toBe(before);
      expect(() => new Adam([...params, params[0]])).toThrow(/"a.weight" appears twice/);
    } finally {
      wrong.dispose();
      opt.dispose();
      disposeParams(params);
    }
  });
});

describe('SGD (torch.optim.SGD), hand-derived with values exact in float32', () => {
  const grads: number[][] = [
    [1, 2],
    [2, -4],
    [0, 1],
  ];

  function run(opt: SGD, param: tf.Variable, steps: number[][]): number[][] {
    const out: number[][] = [];
    for (const g of steps) {
      const t = tf.tensor1d(g);
      opt.step({ p: t });
      t.dispose();
      out.push(Array.from(param.dataSync()));
    }
    return out;
  }

  it('momentum 0.5, lr 0.5: buf = g on the first step, then buf = 0.5·buf + g; p −= 0.5·buf', async () => {
    const [p] = makeParams({ p: { shape: [2], data: [1, -2] } });
    const opt = new SGD([{ name: 'p', variable: p.variable }], { lr: 0.5, momentum: 0.5 });
    try {
      // step 1: buf = [1, 2]; p = [1 − 0.5, −2 − 1] = [0.5, −3]
      // step 2: buf = [0.5 + 2, 1 − 4] = [2.5, −3]; p = [0.5 − 1.25, −3 + 1.5] = [−0.75, −1.5]
      // step 3: buf = [1.25 + 0, −1.5 + 1] = [1.25, −0.5]; p = [−0.75 − 0.625, −1.5 + 0.25] = [−1.375, −1.25]
      expect(run(opt, p.variable, grads)).toEqual([
        [0.5, -3],
        [-0.75, -1.5],
        [-1.375, -1.25],
      ]);
    } finally {
      opt.dispose();
      p.variable.dispose();
    }
  });

  it('nesterov, momentum 0.5, weight decay 0.25, lr 0.5', async () => {
    const [p] = makeParams({ p: { shape: [2], data: [1, -2] } });
    const opt = new SGD([{ name: 'p', variable: p.variable }], { lr: 0.5, momentum: 0.5, weightDecay: 0.25, nesterov: true });
    try {
      // step 1: d = g + 0.25p = [1.25, 1.5]; buf = d; d' = d + 0.5buf = [1.875, 2.25]
      //         p = p − 0.5d' = [0.0625, −3.125]
      // step 2: d = [2, −4] + 0.25p = [2.015625, −4.78125]; buf = 0.5buf + d = [2.640625, −4.03125]
      //         d' = d + 0.5buf = [3.3359375, −6.796875]; p = [−1.60546875, 0.2734375]
      // step 3: d = [0, 1] + 0.25p = [−0.4013671875, 1.068359375]; buf = [0.9189453125, −0.947265625]
      //         d' = [0.05810546875, 0.5947265625]; p = [−1.634521484375, −0.02392578125]
      expect(run(opt, p.variable, grads)).toEqual([
        [0.0625, -3.125],
        [-1.60546875, 0.2734375],
        [-1.634521484375, -0.02392578125],
      ]);
    } finally {
      opt.dispose();
      p.variable.dispose();
    }
  });

  it('no momentum, weight decay 0.5, lr 0.25: p −= 0.25·(g + 0.5p), no buffer kept', async () => {
    const [p] = makeParams({ p: { shape: [2], data: [1, -2] } });
    const opt = new SGD([{ name: 'p', variable: p.variable }], { lr: 0.25, weightDecay: 0.5 });
    try {
      // step 1: d = [1.5, 1]; p = [0.625, −2.25]
      // step 2: d = [2.3125, −5.125]; p = [0.046875, −0.96875]
      // step 3: d = [0.0234375, 0.515625]; p = [0.041015625, −1.09765625]
      expect(run(opt, p.variable, grads)).toEqual([
        [0.625, -2.25],
        [0.046875, -0.96875],
        [0.041015625, -1.09765625],
      ]);
      expect((await opt.getState()).params).toEqual([{ name: 'p', step: 3, momentumBuffer: null }]);
    } finally {
      opt.dispose();
      p.variable.dispose();
    }
  });

  it('a restored optimizer continues bit-identically; memory is released', async () => {
    const a = toyProblem();
    const opt = new SGD(a.params, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    const g1 = a.gradsAt(1);
    const g2 = a.gradsAt(2);
    const g3 = a.gradsAt(3);
    const b = toyProblem();
    const restored = new SGD(b.params, { lr: 1 });
    try {
      const before = tf.memory().numTensors;
      opt.step(g1);
      expect(tf.memory().numTensors).toBe(before + a.params.length);
      opt.step(g2);
      expect(tf.memory().numTensors).toBe(before + a.params.length);
      for (const [i, p] of b.params.entries()) p.variable.assign(a.params[i].variable);
      const beforeRestore = tf.memory().numTensors;
      restored.setState(await opt.getState());
      expect(tf.memory().numTensors).toBe(beforeRestore + b.params.length);
      opt.step(g3);
      restored.step(g3);
      expect(paramValues(b.params)).toEqual(paramValues(a.params));
      expect(await restored.getState()).toEqual(await opt.getState());
    } finally {
      tf.dispose([...Object.values(g1), ...Object.values(g2), ...Object.values(g3)]);
      opt.dispose();
      restored.dispose();
      disposeParams(a.params);
      disposeParams(b.params);
    }
  });

  it('rejects nesterov without momentum', async () => {
    expect(() => new SGD([], { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0/);
  });
});

describe('createOptimizer (official get_optimizer)', () => {
  const base: OptimizerConfig = { OPTIMIZER: 'adam', LR: 0.001, MOMENTUM: 0.9, WD: 0.0001, NESTEROV: false };

  it('builds Adam with the learning rate only (WD is not applied)', async () => {
    const opt = createOptimizer(base, []);
    expect(opt).toBeInstanceOf(Adam);
    const s = await opt.getState() as AdamState;
    expect(s).toEqual({ type: 'adam', lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, params: [] });
  });

  it('builds SGD with lr, momentum, weight decay and nesterov', async () => {
    const opt = createOptimizer({ ...base, OPTIMIZER: 'sgd', NESTEROV: true }, []);
    expect(opt).toBeInstanceOf(SGD);
    expect(await opt.getState()).toEqual({
      type: 'sgd', lr: 0.001, momentum: 0.9, dampening: 0, weightDecay: 0.0001, nesterov: true, params: [],
    });
  });

  it('rejects an unknown optimizer name', async () => {
    const cfg = { ...base, OPTIMIZER: 'rmsprop' } as unknown as OptimizerConfig;
    expect(() => createOptimizer(cfg, [])).toThrow(/TRAIN.OPTIMIZER must be "adam" or "sgd"; got "rmsprop"/);
  });

  it('the learning rate is mutable (set by the schedule)', async () => {
    const { params, gradsAt } = toyProblem();
    const opt = createOptimizer({ ...base, OPTIMIZER: 'sgd', MOMENTUM: 0, WD: 0 }, params);
    const g = gradsAt(1);
    const p0 = Array.from(params[1].variable.dataSync());
    const g0 = Array.from(g['a.bias'].dataSync());
    try {
      opt.lr = 0.5;
      opt.step(g);
      const p1 = Array.from(params[1].variable.dataSync());
      p1.forEach((v, i) => expect(v).toBe(Math.fround(p0[i] - Math.fround(g0[i] * 0.5))));
    } finally {
      tf.dispose(Object.values(g));
      opt.dispose();
      disposeParams(params);
    }
  });
});

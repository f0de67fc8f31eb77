/**
 * Optimizers with the update rules of `torch.optim.Adam` and `torch.optim.SGD` (PyTorch 1.13,
 * single-tensor path), on a named, ordered list of `tf.Variable`s.
 *
 * They do not use `tf.train.*`: the update order must be PyTorch's, the state must be
 * serialisable into checkpoints, and the learning rate is set from outside (the LR schedule).
 *
 * Gradients are given per step as a map from parameter name to gradient tensor of the parameter's
 * shape. As in PyTorch, a parameter without a gradient in a step is left untouched and its step
 * count does not advance. The gradient tensors stay owned by the caller.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_FLAT, ADAM_FOREACH, ADAM_UPDATE, type AdamForeachAttrs, type AdamUpdateAttrs } from '../backend/adam-kernel';
import { FlatAdamMoments } from './adam-flat-moments';
import type { OptimizerName } from '../config/schema';

/** A trainable parameter and its name (the official state-dict key, e.g. `layer1.0.conv1.weight`). */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

/** A float32 buffer of the optimizer state, serialisable as plain data. */
export interface StateBuffer {
  /** shape of the parameter it belongs to */
  shape: number[];
  /** row-major values, `prod(shape)` long */
  data: Float32Array;
}

/** Adam state of one parameter (PyTorch: `state[p] = {step, exp_avg, exp_avg_sq}`). */
export interface AdamParamState {
  name: string;
  /** number of updates applied to this parameter */
  step: number;
  /** first moment estimate, parameter-shaped */
  expAvg: StateBuffer;
  /** second moment estimate, parameter-shaped */
  expAvgSq: StateBuffer;
}

/** Serialisable state of an `Adam` optimizer: hyperparameters and per-parameter moments. */
export interface AdamState {
  type: 'adam';
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** only parameters that have been updated at least once */
  params: AdamParamState[];
}

/** SGD state of one parameter (PyTorch: `state[p] = {momentum_buffer}`). */
export interface SgdParamState {
  name: string;
  /** number of updates applied to this parameter */
  step: number;
  /** momentum buffer, parameter-shaped; `null` when momentum is 0 (PyTorch stores `None`) */
  momentumBuffer: StateBuffer | null;
}

/** Serialisable state of an `SGD` optimizer. */
export interface SgdState {
  type: 'sgd';
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** only parameters that have been updated at least once */
  params: SgdParamState[];
}

/** Serialisable optimizer state, for checkpoints. */
export type OptimizerState = AdamState | SgdState;

/** Common interface of the optimizers. */
export interface Optimizer {
  /** learning rate of the next step; set by the LR schedule */
  lr: number;
  /**
   * Applies one update to every parameter that has a gradient in `grads`.
   * @param grads parameter name → gradient, each of its parameter's shape; not disposed
   */
  step(grads: tf.NamedTensorMap): void;
  /** A deep copy of the state (hyperparameters, step counts, buffers) as plain data, read asynchronously. */
  getState(): Promise<OptimizerState>;
  /** Replaces hyperparameters and per-parameter state with `state` (from `getState`). */
  setState(state: OptimizerState): void;
  /** Frees the state tensors (not the parameters). */
  dispose(): void;
}

/** Options of `Adam`, as `torch.optim.Adam` (amsgrad is not supported). */
export interface AdamOptions {
  /** learning rate (default 1e-3) */
  lr?: number;
  /** coefficients of the running averages of the gradient and its square (default [0.9, 0.999]) */
  betas?: [number, number];
  /** added to the denominator (default 1e-8) */
  eps?: number;
  /** L2 penalty added to the gradient, `grad + weightDecay · param` (default 0) */
  weightDecay?: number;
  /**
   * How the update is computed (default `'auto'`); all paths give bit-identical float32 results (the kernel's
   * identity is tested on SwiftShader; a GPU's shader compiler is free to fuse a multiply and an add).
   * `'tensor-ops'`: a dozen element-wise TF.js ops per parameter (fast on wasm/native backends);
   * `'js-loop'`: one JavaScript pass per parameter over the raw buffers, float32-rounded after every
   * operation (on the pure-JS `cpu` backend about 10× faster: an HRNet-W32 step took 0.6 s instead of
   * 6.2 s; on wasm it is slower, 0.8 s against 0.2 s);
   * `'kernel'`: the backend's fused update kernel (`ADAM_UPDATE` in backend/adam-kernel.ts, registered for
   * WebGPU), one dispatch per parameter where the tensor ops make thirteen;
   * `'foreach'`: the backend's multi-tensor kernel (`ADAM_FOREACH`, registered for WebGPU), one call for all
   * parameters with the same step count: buffer copies and one dispatch per group instead of a dispatch each;
   * `'flat'`: the backend's multi-tensor kernel with flat moments (`ADAM_FLAT`, registered for WebGPU): as
   * `'foreach'`, but the moments stay in flat tensors from step to step (see train/adam-flat-moments.ts), so a
   * step copies three values a parameter value instead of seven; where the parameters of a step differ from
   * the last one's, or their step counts differ, that step takes the `'foreach'` path;
   * `'auto'`: `'js-loop'` on the `cpu` backend, `'flat'`, `'foreach'` or else `'kernel'` where the backend has
   * it, else `'tensor-ops'`.
   */
  updatePath?: AdamUpdatePath;
}

/** Implementation choice of the Adam update, see `AdamOptions.updatePath`. */
export type AdamUpdatePath = 'auto' | 'tensor-ops' | 'js-loop' | 'kernel' | 'foreach' | 'flat';

/** Options of `SGD`, as `torch.optim.SGD`. */
export interface SgdOptions {
  /** learning rate (required in PyTorch) */
  lr: number;
  /** momentum factor (default 0) */
  momentum?: number;
  /** dampening of the momentum, in [0, 1) (default 0) */
  dampening?: number;
  /** L2 penalty added to the gradient, `grad + weightDecay · param` (default 0) */
  weightDecay?: number;
  /** Nesterov momentum (default false); needs momentum > 0 and dampening 0 */
  nesterov?: boolean;
}

/** The training-config fields the official `get_optimizer` reads (`cfg.TRAIN.*`). */
export interface OptimizerConfig {
  OPTIMIZER: OptimizerName;
  LR: number;
  MOMENTUM: number;
  WD: number;
  NESTEROV: boolean;
}

function checkNumber(owner: string, field: string, value: number, min: number, maxExclusive?: number): void {
  const bad = !Number.isFinite(value) || value < min || (maxExclusive !== undefined && value >= maxExclusive);
  if (bad) {
    const range = maxExclusive === undefined ? `>= ${min}` : `in [${min}, ${maxExclusive})`;
    throw new Error(`${owner}: ${field} must be a finite number ${range}; got ${value}`);
  }
}

function checkParams(owner: string, params: NamedVariable[]): Map<string, tf.Variable> {
  const byName = new Map<string, tf.Variable>();
  for (const { name, variable } of params) {
    if (byName.has(name)) throw new Error(`${owner}: parameter name "${name}" appears twice`);
    if (variable.dtype !== 'float32') {
      throw new Error(`${owner}: parameter "${name}" must be float32; got ${variable.dtype}`);
    }
    byName.set(name, variable);
  }
  return byName;
}

/** Checks the gradient map against the parameters; returns the (param, grad) pairs in parameter order. */
function pairGradients(
  owner: string,
  params: NamedVariable[],
  byName: Map<string, tf.Variable>,
  grads: tf.NamedTensorMap,
): { index: number; grad: tf.Tensor }[] {
  for (const name of Object.keys(grads)) {
    if (!byName.has(name)) throw new Error(`${owner}.step: gradient "${name}" matches no parameter`);
  }
  const pairs: { index: number; grad: tf.Tensor }[] = [];
  params.forEach(({ name, variable }, index) => {
    const grad = grads[name];
    if (grad == null) return;
    if (grad.dtype !== 'float32') throw new Error(`${owner}.step: gradient "${name}" must be float32; got ${grad.dtype}`);
    if (!tf.util.arraysEqual(grad.shape, variable.shape)) {
      throw new Error(
        `${owner}.step: gradient "${name}" has shape [${grad.shape.join(', ')}], ` +
          `parameter has [${variable.shape.join(', ')}]`,
      );
    }
    pairs.push({ index, grad });
  });
  return pairs;
}

/** Copies a state tensor out as plain data (an asynchronous read). */
async function toBuffer(t: tf.Tensor): Promise<StateBuffer> {
  return { shape: t.shape.slice(), data: Float32Array.from((await t.data()) as Float32Array) };
}

/** Creates a state variable from plain data, checking it fits parameter `name`. */
function fromBuffer(owner: string, name: string, field: string, buf: StateBuffer, shape: number[]): tf.Variable {
  if (!tf.util.arraysEqual(buf.shape, shape) || buf.data.length !== tf.util.sizeFromShape(shape)) {
    throw new Error(
      `${owner}.setState: ${field} of "${name}" has shape [${buf.shape.join(', ')}] ` +
        `(${buf.data.length} values), parameter has [${shape.join(', ')}]`,
    );
  }
  return tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(buf.data), shape, 'float32'), false));
}

/** Per-parameter Adam slots. */
interface AdamSlots {
  step: number;
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

/** Applies one Adam update to one parameter and its slots. */
type AdamUpdate = (variable: tf.Variable, grad: tf.Tensor, slots: AdamSlots, c: AdamUpdateAttrs) => void;

/**
 * Adam update of one parameter with TF.js element-wise ops (see `Adam`). Returns the update function
 * bound to a cache of scalar tensors; call it inside a `tf.tidy`, which frees the cached scalars.
 */
function adamUpdateTensorOps(): AdamUpdate {
  const scalars = new Map<number, tf.Scalar>();
  const scalar = (x: number): tf.Scalar => {
    let t = scalars.get(x);
    if (t === undefined) {
      t = tf.scalar(x, 'float32');
      scalars.set(x, t);
    }
    return t;
  };
  return (variable, grad, slots, c) => {
    // scalars are made here, in the caller's scope, so they outlive the per-parameter tidy
    const wd = c.weightDecay === null ? null : scalar(c.weightDecay);
    const [b1, c1, b2, c2] = [scalar(c.beta1), scalar(c.oneMinusBeta1), scalar(c.beta2), scalar(c.oneMinusBeta2)];
    const [eps, stepSize, bc2] = [scalar(c.eps), scalar(c.stepSize), scalar(c.biasCorrection2Sqrt)];
    tf.tidy(() => {
      const g = wd === null ? grad : tf.add(grad, tf.mul(variable, wd));
      const m = tf.add(tf.mul(slots.expAvg, b1), tf.mul(g, c1));
      const v = tf.add(tf.mul(slots.expAvgSq, b2), tf.mul(tf.mul(g, c2), g));
      const denom = tf.add(tf.div(tf.sqrt(v), bc2), eps);
      variable.assign(tf.sub(variable, tf.div(tf.mul(m, stepSize), denom)));
      slots.expAvg.assign(m);
      slots.expAvgSq.assign(v);
    });
  };
}

/**
 * Adam update of one parameter by the backend's {@link ADAM_UPDATE} kernel (the WebGPU backend's: three
 * dispatches where the tensor ops make thirteen), with the same float32 operations in the same order.
 */
const adamUpdateKernel: AdamUpdate = (variable, grad, slots, c) => {
  const [p, m, v] = tf.engine().runKernel(ADAM_UPDATE, { p: variable, g: grad, m: slots.expAvg, v: slots.expAvgSq }, c as unknown as tf.NamedAttrMap) as tf.Tensor[];
  variable.assign(p);
  slots.expAvg.assign(m);
  slots.expAvgSq.assign(v);
  tf.dispose([p, m, v]);
};

/** One parameter's update of an Adam step. */
interface AdamItem {
  variable: tf.Variable;
  grad: tf.Tensor;
  slots: AdamSlots;
  c: AdamUpdateAttrs;
}

/**
 * Adam updates of many parameters by the backend's {@link ADAM_FOREACH} kernel: one call for the parameters
 * with the same coefficients (all of them, unless their step counts differ), with the same float32 operations.
 */
function adamUpdateForeach(items: AdamItem[]): void {
  const byCoefficients = new Map<string, AdamItem[]>();
  for (const item of items) {
    const key = `${item.c.stepSize} ${item.c.biasCorrection2Sqrt}`;
    const same = byCoefficients.get(key);
    if (same === undefined) byCoefficients.set(key, [item]);
    else same.push(item);
  }
  for (const group of byCoefficients.values()) {
    const inputs: tf.NamedTensorMap = {};
    group.forEach(({ variable, grad, slots }, i) => {
      inputs[`p${i}`] = variable;
      inputs[`g${i}`] = grad;
      inputs[`m${i}`] = slots.expAvg;
      inputs[`v${i}`] = slots.expAvgSq;
    });
    const attrs: AdamForeachAttrs = { ...group[0].c, n: group.length };
    const outs = tf.engine().runKernel(ADAM_FOREACH, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    try {
      group.forEach(({ variable, slots }, i) => {
        variable.assign(outs[3 * i]);
        slots.expAvg.assign(outs[3 * i + 1]);
        slots.expAvgSq.assign(outs[3 * i + 2]);
      });
    } finally {
      tf.dispose(outs);
    }
  }
}

/**
 * Adam update of one parameter as a single JavaScript pass over the buffers, rounding to float32
 * after every operation so the result equals the tensor-ops update bit for bit.
 */
const adamUpdateJsLoop: AdamUpdate = (variable, grad, slots, c) => {
  const f = Math.fround;
  const { beta1: b1, oneMinusBeta1: c1, beta2: b2, oneMinusBeta2: c2, eps, weightDecay: wd } = c;
  const { stepSize, biasCorrection2Sqrt: bc2 } = c;
  const p = variable.dataSync();
  const g = grad.dataSync();
  const m = slots.expAvg.dataSync();
  const v = slots.expAvgSq.dataSync();
  const n = p.length;
  const newP = new Float32Array(n);
  const newM = new Float32Array(n);
  const newV = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const gi = wd === null ? g[i] : f(g[i] + f(p[i] * wd));
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * c2) * gi));
    const denom = f(f(f(Math.sqrt(vi)) / bc2) + eps);
    newP[i] = p[i] - f(f(mi * stepSize) / denom);
    newM[i] = mi;
    newV[i] = vi;
  }
  tf.tidy(() => {
    variable.assign(tf.tensor(newP, variable.shape, 'float32'));
    slots.expAvg.assign(tf.tensor(newM, variable.shape, 'float32'));
    slots.expAvgSq.assign(tf.tensor(newV, variable.shape, 'float32'));
  });
};

/**
 * Adam with the update of `torch.optim.Adam` (PyTorch 1.13, `amsgrad=False`, `maximize=False`), per
 * parameter with gradient g:
 * ```
 * t += 1
 * g = g + weightDecay · p                      (only when weightDecay ≠ 0)
 * m = β1 · m + (1 − β1) · g
 * v = β2 · v + ((1 − β2) · g) · g
 * denom = sqrt(v) / sqrt(1 − β2^t) + eps
 * p = p − ((lr / (1 − β1^t)) · m) / denom
 * ```
 * Bias corrections and the step size are computed in float64 and applied as float32 scalars, as
 * PyTorch does; moments start at zero.
 */
export class Adam implements Optimizer {
  lr: number;
  private betas: [number, number];
  private eps: number;
  private weightDecay: number;
  private readonly updatePath: AdamUpdatePath;
  private readonly params: NamedVariable[];
  private readonly byName: Map<string, tf.Variable>;
  /** Moments of each parameter, where they are not in {@link flat}. */
  private slots = new Map<string, AdamSlots>();
  /** Moments of the parameters of the last steps of the `'flat'` path, in flat tensors. */
  private flat: FlatAdamMoments | null = null;

  /**
   * @param params parameters in a fixed order (the state-dict order); names must be unique
   * @param options hyperparameters; defaults as `torch.optim.Adam`
   */
  constructor(params: NamedVariable[], options: AdamOptions = {}) {
    this.params = params.slice();
    this.byName = checkParams('Adam', this.params);
    this.lr = options.lr ?? 1e-3;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.updatePath = options.updatePath ?? 'auto';
    this.validate();
  }

  private validate(): void {
    checkNumber('Adam', 'lr', this.lr, 0);
    checkNumber('Adam', 'betas[0]', this.betas[0], 0, 1);
    checkNumber('Adam', 'betas[1]', this.betas[1], 0, 1);
    checkNumber('Adam', 'eps', this.eps, 0);
    checkNumber('Adam', 'weightDecay', this.weightDecay, 0);
  }

  step(grads: tf.NamedTensorMap): void {
    checkNumber('Adam', 'lr', this.lr, 0);
    const [beta1, beta2] = this.betas;
    const pairs = pairGradients('Adam', this.params, this.byName, grads);
    const auto = this.updatePath === 'auto';
    const useJsLoop = this.updatePath === 'js-loop' || (auto && tf.getBackend() === 'cpu');
    const hasFlat = tf.getKernel(ADAM_FLAT, tf.getBackend()) !== undefined;
    if (this.updatePath === 'flat' && !hasFlat) throw new Error(`Adam: updatePath 'flat' needs the ${ADAM_FLAT} kernel, which backend '${tf.getBackend()}' does not have (WebGPU has it; 'auto' picks what the backend has)`);
    const useFlat = this.updatePath === 'flat' || (auto && hasFlat);
    const useForeach = useFlat || this.updatePath === 'foreach' || (auto && tf.getKernel(ADAM_FOREACH, tf.getBackend()) !== undefined);
    const useKernel = this.updatePath === 'kernel' || (auto && tf.getKernel(ADAM_UPDATE, tf.getBackend()) !== undefined);
    const f = Math.fround;
    const base = {
      beta1: f(beta1),
      oneMinusBeta1: f(1 - beta1),
      beta2: f(beta2),
      oneMinusBeta2: f(1 - beta2),
      eps: f(this.eps),
      weightDecay: this.weightDecay !== 0 ? f(this.weightDecay) : null,
    };
    const coefficients = (step: number): AdamUpdateAttrs => ({ ...base, stepSize: f(this.lr / (1 - beta1 ** step)), biasCorrection2Sqrt: f(Math.sqrt(1 - beta2 ** step)) });
    if (useFlat) {
      const flat = this.flatMomentsFor(pairs.map(({ index }) => this.params[index]));
      if (flat !== null) {
        flat.step += 1;
        flat.update(
          pairs.map(({ index }) => this.params[index].variable),
          pairs.map(({ grad }) => grad),
          coefficients(flat.step),
        );
        return;
      }
    }
    tf.tidy(() => {
      const items: AdamItem[] = [];
      for (const { index, grad } of pairs) {
        const { name, variable } = this.params[index];
        let slots = this.slots.get(name);
        if (slots === undefined) {
          slots = {
            step: 0,
            expAvg: tf.variable(tf.zerosLike(variable), false),
            expAvgSq: tf.variable(tf.zerosLike(variable), false),
          };
          this.slots.set(name, slots);
        }
        slots.step += 1;
        items.push({ variable, grad, slots, c: coefficients(slots.step) });
      }
      if (useForeach) {
        adamUpdateForeach(items);
        return;
      }
      const update = useJsLoop ? adamUpdateJsLoop : useKernel ? adamUpdateKernel : adamUpdateTensorOps();
      for (const { variable, grad, slots, c } of items) update(variable, grad, slots, c);
    });
  }

  /**
   * The flat moments of `params` (the parameters of a step, in order), made from their moments so far where
   * needed, or null where they cannot be flat: some of them have moments and others not, or their step counts
   * differ. Flat moments of other parameters go back to per-parameter ones.
   */
  private flatMomentsFor(params: NamedVariable[]): FlatAdamMoments | null {
    const names = params.map((p) => p.name);
    if (this.flat !== null && this.flat.covers(names)) return this.flat;
    this.unflatten();
    const slots = names.map((name) => this.slots.get(name));
    const fresh = slots.every((s) => s === undefined);
    const known = slots.filter((s): s is AdamSlots => s !== undefined);
    if (!fresh && (known.length !== slots.length || known.some((s) => s.step !== known[0].step))) return null;
    const shapes = params.map((p) => ({ name: p.name, shape: p.variable.shape }));
    this.flat = fresh ? FlatAdamMoments.create(shapes, 0) : FlatAdamMoments.create(shapes, known[0].step, known);
    for (const name of names) {
      const s = this.slots.get(name);
      if (s !== undefined) tf.dispose([s.expAvg, s.expAvgSq]);
      this.slots.delete(name);
    }
    return this.flat;
  }

  /** Moves flat moments, if any, to per-parameter ones. */
  private unflatten(): void {
    const flat = this.flat;
    if (flat === null) return;
    const moments = flat.split();
    flat.names.forEach((name, i) => this.slots.set(name, { step: flat.step, ...moments[i] }));
    flat.dispose();
    this.flat = null;
  }

  async getState(): Promise<AdamState> {
    const flat = this.flat;
    const flatStep = flat?.step ?? 0;
    const flatValues = flat === null ? new Map<string, { expAvg: Float32Array; expAvgSq: Float32Array }>() : new Map((await flat.read()).map((v, i) => [flat.names[i], v]));
    const params: AdamParamState[] = [];
    for (const { name, variable } of this.params) {
      const f = flatValues.get(name);
      if (f !== undefined) {
        params.push({ name, step: flatStep, expAvg: { shape: variable.shape.slice(), data: f.expAvg }, expAvgSq: { shape: variable.shape.slice(), data: f.expAvgSq } });
        continue;
      }
      const s = this.slots.get(name);
      if (s === undefined) continue;
      params.push({ name, step: s.step, expAvg: await toBuffer(s.expAvg), expAvgSq: await toBuffer(s.expAvgSq) });
    }
    return {
      type: 'adam',
      lr: this.lr,
      betas: [this.betas[0], this.betas[1]],
      eps: this.eps,
      weightDecay: this.weightDecay,
      params,
    };
  }

  setState(state: OptimizerState): void {
    if (state.type !== 'adam') throw new Error(`Adam.setState: state is of a "${state.type}" optimizer, expected "adam"`);
    const slots = new Map<string, AdamSlots>();
    try {
      for (const p of state.params) {
        const variable = this.byName.get(p.name);
        if (variable === undefined) throw new Error(`Adam.setState: state for "${p.name}" matches no parameter`);
        if (slots.has(p.name)) throw new Error(`Adam.setState: state for "${p.name}" appears twice`);
        if (!Number.isInteger(p.step) || p.step < 1) {
          throw new Error(`Adam.setState: step of "${p.name}" must be an integer >= 1; got ${p.step}`);
        }
        slots.set(p.name, {
          step: p.step,
          expAvg: fromBuffer('Adam', p.name, 'expAvg', p.expAvg, variable.shape),
          expAvgSq: fromBuffer('Adam', p.name, 'expAvgSq', p.expAvgSq, variable.shape),
        });
      }
    } catch (e) {
      disposeSlots(slots);
      throw e;
    }
    const previous = { lr: this.lr, betas: this.betas, eps: this.eps, weightDecay: this.weightDecay };
    this.lr = state.lr;
    this.betas = [state.betas[0], state.betas[1]];
    this.eps = state.eps;
    this.weightDecay = state.weightDecay;
    try {
      this.validate();
    } catch (e) {
      Object.assign(this, previous);
      disposeSlots(slots);
      throw e;
    }
    disposeSlots(this.slots);
    this.slots = slots;
    this.flat?.dispose();
    this.flat = null;
  }

  dispose(): void {
    disposeSlots(this.slots);
    this.slots.clear();
    this.flat?.dispose();
    this.flat = null;
  }
}

function disposeSlots(slots: Map<string, AdamSlots | SgdSlots>): void {
  for (const s of slots.values()) {
    if ('expAvg' in s) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    } else if (s.momentumBuffer !== null) {
      s.momentumBuffer.dispose();
    }
  }
}

/** Per-parameter SGD slots. */
interface SgdSlots {
  step: number;
  momentumBuffer: tf.Variable | null;
}

/**
 * SGD with the update of `torch.optim.SGD` (PyTorch 1.13, `maximize=False`), per parameter with
 * gradient g:
 * ```
 * d = g + weightDecay · p                      (only when weightDecay ≠ 0)
 * if momentum ≠ 0:
 *   buf = d                                    (first step)
 *   buf = momentum · buf + (1 − dampening) · d (later steps)
 *   d = nesterov ? d + momentum · buf : buf
 * p = p − lr · d
 * ```
 */
export class SGD implements Optimizer {
  lr: number;
  private momentum: number;
  private dampening: number;
  private weightDecay: number;
  private nesterov: boolean;
  private readonly params: NamedVariable[];
  private readonly byName: Map<string, tf.Variable>;
  private slots = new Map<string, SgdSlots>();

  /**
   * @param params parameters in a fixed order (the state-dict order); names must be unique
   * @param options hyperparameters; defaults as `torch.optim.SGD`
   */
  constructor(params: NamedVariable[], options: SgdOptions) {
    this.params = params.slice();
    this.byName = checkParams('SGD', this.params);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.validate();
  }

  private validate(): void {
    checkNumber('SGD', 'lr', this.lr, 0);
    checkNumber('SGD', 'momentum', this.momentum, 0);
    checkNumber('SGD', 'dampening', this.dampening, 0, 1);
    checkNumber('SGD', 'weightDecay', this.weightDecay, 0);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error(
        `SGD: nesterov needs momentum > 0 and dampening 0; got momentum ${this.momentum}, dampening ${this.dampening}`,
      );
    }
  }

  step(grads: tf.NamedTensorMap): void {
    checkNumber('SGD', 'lr', this.lr, 0);
    const pairs = pairGradients('SGD', this.params, this.byName, grads);
    tf.tidy(() => {
      const lr = tf.scalar(this.lr);
      const wd = this.weightDecay !== 0 ? tf.scalar(this.weightDecay) : null;
      const momentum = tf.scalar(this.momentum);
      const oneMinusDampening = tf.scalar(1 - this.dampening);
      for (const { index, grad } of pairs) {
        const { name, variable } = this.params[index];
        let slots = this.slots.get(name);
        if (slots === undefined) {
          slots = { step: 0, momentumBuffer: null };
          this.slots.set(name, slots);
        }
        slots.step += 1;
        const s = slots;
        tf.tidy(() => {
          let d = wd === null ? grad : tf.add(grad, tf.mul(variable, wd));
          if (this.momentum !== 0) {
            let buf: tf.Tensor;
            if (s.momentumBuffer === null) {
              buf = d;
              s.momentumBuffer = tf.variable(d, false);
            } else {
              buf = tf.add(tf.mul(s.momentumBuffer, momentum), tf.mul(d, oneMinusDampening));
              s.momentumBuffer.assign(buf);
            }
            d = this.nesterov ? tf.add(d, tf.mul(buf, momentum)) : buf;
          }
          variable.assign(tf.sub(variable, tf.mul(d, lr)));
        });
      }
    });
  }

  async getState(): Promise<SgdState> {
    const params: SgdParamState[] = [];
    for (const { name } of this.params) {
      const s = this.slots.get(name);
      if (s === undefined) continue;
      params.push({ name, step: s.step, momentumBuffer: s.momentumBuffer === null ? null : await toBuffer(s.momentumBuffer) });
    }
    return {
      type: 'sgd',
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      params,
    };
  }

  setState(state: OptimizerState): void {
    if (state.type !== 'sgd') throw new Error(`SGD.setState: state is of a "${state.type}" optimizer, expected "sgd"`);
    const slots = new Map<string, SgdSlots>();
    try {
      for (const p of state.params) {
        const variable = this.byName.get(p.name);
        if (variable === undefined) throw new Error(`SGD.setState: state for "${p.name}" matches no parameter`);
        if (slots.has(p.name)) throw new Error(`SGD.setState: state for "${p.name}" appears twice`);
        if (!Number.isInteger(p.step) || p.step < 1) {
          throw new Error(`SGD.setState: step of "${p.name}" must be an integer >= 1; got ${p.step}`);
        }
        slots.set(p.name, {
          step: p.step,
          momentumBuffer:
            p.momentumBuffer === null
              ? null
              : fromBuffer('SGD', p.name, 'momentumBuffer', p.momentumBuffer, variable.shape),
        });
      }
    } catch (e) {
      disposeSlots(slots);
      throw e;
    }
    const previous = {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
    };
    this.lr = state.lr;
    this.momentum = state.momentum;
    this.dampening = state.dampening;
    this.weightDecay = state.weightDecay;
    this.nesterov = state.nesterov;
    try {
      this.validate();
    } catch (e) {
      Object.assign(this, previous);
      disposeSlots(slots);
      throw e;
    }
    disposeSlots(this.slots);
    this.slots = slots;
  }

  dispose(): void {
    disposeSlots(this.slots);
    this.slots.clear();
  }
}

/**
 * Builds the optimizer of a training config as the official `get_optimizer` does:
 * `sgd` → `SGD(lr=LR, momentum=MOMENTUM, weight_decay=WD, nesterov=NESTEROV)`;
 * `adam` → `Adam(lr=LR)` only — the config's `WD` and `MOMENTUM` are not used for Adam.
 * @param cfg the `TRAIN` section fields
 * @param params parameters in state-dict order
 */
export function createOptimizer(cfg: OptimizerConfig, params: NamedVariable[]): Optimizer {
  switch (cfg.OPTIMIZER) {
    case 'adam':
      return new Adam(params, { lr: cfg.LR });
    case 'sgd':
      return new SGD(params, { lr: cfg.LR, momentum: cfg.MOMENTUM, weightDecay: cfg.WD, nesterov: cfg.NESTEROV });
    default:
      throw new Error(`TRAIN.OPTIMIZER must be "adam" or "sgd"; got ${JSON.stringify(cfg.OPTIMIZER as unknown)}`);
  }
}

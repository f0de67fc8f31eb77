/**
 * Adam's moments kept flat from step to step, for the backend's {@link ADAM_FLAT} kernel: the first and second
 * moments of a group of parameters are two tensors holding the parameters' values one after another. Moments of
 * each parameter's shape (what the other update paths keep) cost a step on WebGPU two copies in and two out per
 * parameter, and two new tensors; flat, the kernel copies only the parameters and gradients in and the new
 * parameters out. `Adam` (optim.ts) keeps a parameter's moments either here or per parameter, never both, and
 * moves them between the two where the parameters of a step change.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_FLAT, adamFlatGroups, type AdamFlatAttrs, type AdamUpdateAttrs } from '../backend/adam-kernel';

/** The moments of one parameter, of its shape. */
export interface ParameterMoments {
  expAvg: tf.Tensor;
  expAvgSq: tf.Tensor;
}

/** The moments of one parameter as plain data, read from the flat tensors. */
export interface ParameterMomentValues {
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

/** One kernel call's parameters (positions in the layout) and their flat moments. */
interface FlatGroup {
  members: number[];
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

/** The moments of an ordered list of parameters (the layout), flat in groups, and their common step count. */
export class FlatAdamMoments {
  private constructor(
    /** the parameters' names, in the order of the flat values */
    readonly names: string[],
    private readonly shapes: number[][],
    private readonly groups: FlatGroup[],
    /** updates applied so far, the same for every parameter */
    public step: number,
  ) {}

  /**
   * The moments of `params`, in order: zeros, or `moments` (one per parameter, of its shape; they stay the
   * caller's) laid out flat, in groups of at most `maxGroupValues` values (see {@link adamFlatGroups}).
   */
  static create(params: { name: string; shape: number[] }[], step: number, moments?: ParameterMoments[], maxGroupValues?: number): FlatAdamMoments {
    if (moments !== undefined && moments.length !== params.length) throw new Error(`FlatAdamMoments: ${moments.length} moments for ${params.length} parameters`);
    const sizes = params.map((p) => tf.util.sizeFromShape(p.shape));
    const groups: FlatGroup[] = [];
    try {
      for (const members of adamFlatGroups(sizes, maxGroupValues)) {
        const total = members.reduce((sum, k) => sum + sizes[k], 0);
        const flat = (key: keyof ParameterMoments) =>
          tf.tidy(() => tf.variable(moments === undefined ? tf.zeros([total]) : tf.concat(members.map((k) => tf.reshape(moments[k][key], [-1]))), false));
        const expAvg = flat('expAvg');
        try {
          groups.push({ members, expAvg, expAvgSq: flat('expAvgSq') });
        } catch (err) {
          expAvg.dispose();
          throw err;
        }
      }
    } catch (err) {
      for (const g of groups) tf.dispose([g.expAvg, g.expAvgSq]);
      throw err;
    }
    return new FlatAdamMoments(
      params.map((p) => p.name),
      params.map((p) => p.shape.slice()),
      groups,
      step,
    );
  }

  /** Whether these are the moments of the parameters `names`, in that order. */
  covers(names: string[]): boolean {
    return names.length === this.names.length && names.every((name, i) => name === this.names[i]);
  }

  /**
   * One update of the parameters with coefficients `c`: `variables[i]`, of the layout's i-th parameter, with
   * gradient `grads[i]` (the caller's). The step count is the caller's to advance.
   */
  update(variables: tf.Variable[], grads: tf.Tensor[], c: AdamUpdateAttrs): void {
    if (variables.length !== this.names.length || grads.length !== this.names.length) {
      throw new Error(`FlatAdamMoments.update: ${variables.length} parameters and ${grads.length} gradients for moments of ${this.names.length}`);
    }
    for (const group of this.groups) {
      const n = group.members.length;
      const inputs: tf.NamedTensorMap = { m: group.expAvg, v: group.expAvgSq };
      group.members.forEach((k, i) => {
        inputs[`p${i}`] = variables[k];
        inputs[`g${i}`] = grads[k];
      });
      const attrs: AdamFlatAttrs = { ...c, n };
      const outs = tf.engine().runKernel(ADAM_FLAT, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      try {
        group.members.forEach((k, i) => variables[k].assign(outs[i]));
        group.expAvg.assign(outs[n]);
        group.expAvgSq.assign(outs[n + 1]);
      } finally {
        tf.dispose(outs);
      }
    }
  }

  /** Each parameter's moments as plain data, in the layout's order (two asynchronous reads a group). */
  async read(): Promise<ParameterMomentValues[]> {
    const values: ParameterMomentValues[] = new Array<ParameterMomentValues>(this.names.length);
    for (const group of this.groups) {
      const [m, v] = (await Promise.all([group.expAvg.data(), group.expAvgSq.data()])) as Float32Array[];
      let offset = 0;
      for (const k of group.members) {
        const size = tf.util.sizeFromShape(this.shapes[k]);
        values[k] = { expAvg: m.slice(offset, offset + size), expAvgSq: v.slice(offset, offset + size) };
        offset += size;
      }
    }
    return values;
  }

  /** Each parameter's moments as variables of its shape, in the layout's order; they are the caller's. */
  split(): { expAvg: tf.Variable; expAvgSq: tf.Variable }[] {
    const moments = new Array<{ expAvg: tf.Variable; expAvgSq: tf.Variable }>(this.names.length);
    try {
      for (const group of this.groups) {
        const sizes = group.members.map((k) => tf.util.sizeFromShape(this.shapes[k]));
        const parts = (flat: tf.Variable) => tf.tidy(() => tf.split(flat, sizes).map((part, i) => tf.variable(tf.reshape(part, this.shapes[group.members[i]]), false)));
        const expAvg = parts(group.expAvg);
        let expAvgSq: tf.Variable[];
        try {
          expAvgSq = parts(group.expAvgSq);
        } catch (err) {
          tf.dispose(expAvg);
          throw err;
        }
        group.members.forEach((k, i) => (moments[k] = { expAvg: expAvg[i], expAvgSq: expAvgSq[i] }));
      }
    } catch (err) {
      for (const m of moments) if (m !== undefined) tf.dispose([m.expAvg, m.expAvgSq]);
      throw err;
    }
    return moments;
  }

  /** Frees the flat tensors. */
  dispose(): void {
    for (const g of this.groups) tf.dispose([g.expAvg, g.expAvgSq]);
  }
}

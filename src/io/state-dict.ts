/**
 * Official state dicts ↔ a {@link PoseHRNet}'s variables. The names are the same on both sides;
 * only the layout of conv kernels differs (PyTorch `[out, in, kh, kw]` ↔ TF.js `[kh, kw, in, out]`),
 * so loading is a lookup plus a transpose.
 */
import * as tf from '@tensorflow/tfjs';
import type { PoseHRNet } from '../model/pose-hrnet';
import type { PthTensor, StateDict } from './pth';

/** Options of {@link loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * Strict (default): every model key must be present with the right shape and no other key may
   * be in the dict, else an error lists them all. Non-strict: load what fits, report the rest.
   */
  strict?: boolean;
  /** Only keys starting with one of these prefixes are loaded (`['*']` or absent: all). */
  prefixes?: string[];
  /** Name of the source, for messages. */
  source?: string;
}

/** A key whose tensor has another shape than the model's (both in PyTorch layout). */
export interface ShapeMismatch {
  key: string;
  expected: number[];
  found: number[];
}

/** What {@link loadStateDict} did. */
export interface LoadStateDictReport {
  /** Keys copied into the model. */
  loaded: string[];
  /** Model keys the dict does not have (left as they were). */
  missing: string[];
  /** Dict keys the model does not have (ignored). */
  unexpected: string[];
  /** Keys present on both sides with different shapes (left as they were). */
  mismatched: ShapeMismatch[];
  /** Model keys excluded by `prefixes` (left as they were). */
  excluded: string[];
}

/** Error of a strict load; `report` says everything that did not fit. */
export class StateDictError extends Error {
  constructor(
    message: string,
    readonly report: LoadStateDictReport,
  ) {
    super(message);
    this.name = 'StateDictError';
  }
}

/** PyTorch layout of a TF.js variable shape: 4-D conv kernels `[kh, kw, in, out]` → `[out, in, kh, kw]`. */
export function torchShapeOf(shape: readonly number[]): number[] {
  return shape.length === 4 ? [shape[3], shape[2], shape[0], shape[1]] : [...shape];
}

/** A float32 tensor in TF.js layout from a PyTorch-layout record (OIHW kernels → HWIO). */
export function tensorFromTorch(t: PthTensor): tf.Tensor {
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>, Number);
  return tf.tidy(() => {
    const x = tf.tensor(data, t.shape, 'float32');
    return t.shape.length === 4 ? tf.transpose(x, [2, 3, 1, 0]) : x;
  });
}

function scalarOf(t: PthTensor): number {
  const v = t.data[0];
  return typeof v === 'bigint' ? Number(v) : v;
}

function selected(key: string, prefixes: string[] | undefined): boolean {
  if (!prefixes || prefixes.length === 0 || prefixes.includes('*')) return true;
  return prefixes.some((p) => key === p || key.startsWith(p + '.'));
}

/**
 * Copies an official state dict into the model. Names map one to one; conv kernels are transposed.
 * BatchNorm `num_batches_tracked` counters are loaded too.
 */
export function loadStateDict(model: PoseHRNet, dict: StateDict, opts: LoadStateDictOptions = {}): LoadStateDictReport {
  const strict = opts.strict ?? true;
  const store = model.params;
  const report: LoadStateDictReport = { loaded: [], missing: [], unexpected: [], mismatched: [], excluded: [] };
  const modelKeys = store.keys();
  const modelKeySet = new Set(modelKeys);
  report.unexpected = Object.keys(dict).filter((k) => !modelKeySet.has(k));

  const toLoad: { key: string; t: PthTensor }[] = [];
  for (const key of modelKeys) {
    if (!selected(key, opts.prefixes)) {
      report.excluded.push(key);
      continue;
    }
    const t = dict[key];
    if (!t) {
      report.missing.push(key);
      continue;
    }
    const expected = store.hasCounter(key) ? [] : torchShapeOf(store.get(key).shape);
    const same = expected.length === t.shape.length && expected.every((d, i) => d === t.shape[i]);
    if (!same) {
      report.mismatched.push({ key, expected, found: [...t.shape] });
      continue;
    }
    toLoad.push({ key, t });
  }

  if (strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
    throw new StateDictError(describeProblems(report, opts.source ?? 'state dict'), report);
  }
  for (const { key, t } of toLoad) {
    if (store.hasCounter(key)) {
      store.setCounter(key, scalarOf(t));
    } else {
      const value = tensorFromTorch(t);
      store.get(key).assign(value);
      value.dispose();
    }
    report.loaded.push(key);
  }
  return report;
}

function list(keys: string[], max = 12): string {
  const shown = keys.slice(0, max).join(', ');
  return keys.length > max ? `${shown}, … (${keys.length} in all)` : shown;
}

/** A readable account of what did not fit (empty when everything did). */
export function describeProblems(report: LoadStateDictReport, source: string): string {
  const lines: string[] = [];
  if (report.missing.length) lines.push(`missing keys: ${list(report.missing)}`);
  if (report.unexpected.length) lines.push(`unexpected keys: ${list(report.unexpected)}`);
  if (report.mismatched.length) {
    const items = report.mismatched.map((m) => `${m.key} (model [${m.expected.join(', ')}], file [${m.found.join(', ')}])`);
    lines.push(`shape mismatches: ${list(items)}`);
  }
  if (!lines.length) return '';
  return (
    `${source} does not match the model:\n  ${lines.join('\n  ')}\n` +
    'Check that the config (MODEL.EXTRA, MODEL.NUM_JOINTS) is the one the weights were trained with, ' +
    'or load non-strictly to fine-tune.'
  );
}

/**
 * The model's state as an official-layout state dict (conv kernels OIHW), in state-dict order. Reads
 * are asynchronous (every backend, WebGPU included, can serve them) and issued together.
 */
export async function modelStateDict(model: PoseHRNet): Promise<StateDict> {
  const store = model.params;
  const keys = store.keys();
  const torchLayout: (tf.Tensor | undefined)[] = keys.map((key) => {
    if (store.hasCounter(key)) return undefined;
    const v = store.get(key);
    return tf.tidy(() => (v.rank === 4 ? tf.transpose(v, [3, 2, 0, 1]) : v.clone()));
  });
  try {
    const values = await Promise.all(torchLayout.map((t) => t?.data()));
    const out: StateDict = {};
    keys.forEach((key, i) => {
      if (store.hasCounter(key)) {
        out[key] = { shape: [], dtype: 'int64', data: BigInt64Array.of(BigInt(store.counter(key))) };
        return;
      }
      out[key] = { shape: torchShapeOf(store.get(key).shape), dtype: 'float32', data: new Float32Array(values[i] as Float32Array) };
    });
    return out;
  } finally {
    tf.dispose(torchLayout.filter((t): t is tf.Tensor => t !== undefined));
  }
}

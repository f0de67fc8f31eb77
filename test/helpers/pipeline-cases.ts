/**
 * Reading the `pipeline/*.json` fixtures (`{function, source, notes, cases: [{inputs, expected}]}`) and comparing
 * results at the fixture README's tolerances.
 */
import { FixtureArray, readFixtureJson } from './fixtures';

/** One pipeline fixture file. */
export interface PipelineFixture<I, E> {
  function: string;
  source: string;
  notes: string[];
  cases: { inputs: I; expected: E }[];
}

/** Reads `pipeline/<name>.json`. */
export function readPipelineFixture<I, E>(name: string): PipelineFixture<I, E> {
  return readFixtureJson<PipelineFixture<I, E>>(`pipeline/${name}.json`);
}

/** The fixture array's data as float32 values (parse, then round to float32, as the README prescribes). */
export function f32Data(a: FixtureArray): Float32Array {
  return Float32Array.from(a.data);
}

/** Float32 results: every element within abs `abs` or relative `rel` of the expected one. */
export const FLOAT32_TOLERANCE = { abs: 1e-6, rel: 1e-6 };

/**
 * Indices (with values) where `actual` differs from `expected` by more than `abs` absolute AND more than `rel`
 * relative (NaN counts as a mismatch); an empty list means the arrays agree. Lengths must match.
 */
export function closeMismatches(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { abs: number; rel: number },
): { index: number; actual: number; expected: number }[] {
  if (actual.length !== expected.length) throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
  const bad: { index: number; actual: number; expected: number }[] = [];
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol.abs) && !(d <= tol.rel * Math.abs(expected[i]))) bad.push({ index: i, actual: actual[i], expected: expected[i] });
  }
  return bad;
}

/** The fixture array's values in its own dtype: float32 data rounded to float32, everything else as stored. */
export function typedData(a: FixtureArray): ArrayLike<number> {
  return a.dtype === 'float32' ? Float32Array.from(a.data) : a.data;
}

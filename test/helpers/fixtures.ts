/**
 * Locations of the read-only reference material that sits beside the repository
 * (`../shared`): fixtures of the official implementation and small real datasets.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Root of the shared folder; `HRNET_SHARED` overrides the default `<repo>/../shared`. */
export const SHARED_DIR = process.env.HRNET_SHARED ?? path.resolve(__dirname, '..', '..', '..', 'shared');
export const FIXTURES_DIR = path.join(SHARED_DIR, 'fixtures');
export const DATA_DIR = path.join(SHARED_DIR, 'data');
export const PARITY_DIR = path.join(FIXTURES_DIR, 'parity', 'w8_coco_128x96');
export const PIPELINE_DIR = path.join(FIXTURES_DIR, 'pipeline');

/** Reads a JSON fixture relative to `FIXTURES_DIR`. */
export function readFixtureJson<T = unknown>(relPath: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, relPath), 'utf8')) as T;
}

/** Reads a raw little-endian float32 file (no header) as a Float32Array. */
export function readF32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** A pipeline-fixture ndarray: `{dtype, shape, data}` with `data` flat, row-major. */
export interface FixtureArray {
  dtype: string;
  shape: number[];
  data: number[];
}

/** Relative L2 error ‖a − b‖ / ‖b‖. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return Math.sqrt(num) / Math.sqrt(den === 0 ? 1 : den);
}

/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

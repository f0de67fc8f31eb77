/**
 * The project's checkpoint file (`*.ckpt`): one uncompressed zip holding
 * - `manifest.json` — format, version, and every model tensor (official state-dict key, dtype, shape,
 *   byte offset) in state-dict order;
 * - `weights.bin` — the model tensors in the official PyTorch layout (conv kernels OIHW), float32
 *   little-endian (int64 for `num_batches_tracked`);
 * - `config.yaml` — the full config the model was built from;
 * - `training.json` + `training.bin` — optional training state (epoch, optimizer state, schedule,
 *   RNG state, best metric); typed arrays inside it are stored in `training.bin`.
 *
 * Files are written to a temporary name in the same directory, flushed, then renamed, so a crash
 * never leaves a half-written checkpoint behind.
 */
import * as fs from 'fs';
import * as path from 'path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { processIsRunning } from '../backend/worker-process';
import { configToYaml, parseConfig } from '../config/load';
import type { Config } from '../config/schema';
import type { PoseHRNet } from '../model/pose-hrnet';
import { createPoseHRNet } from '../model/pose-hrnet';
import type { PthDtype, PthTensor, StateDict } from './pth';
import { loadStateDict, modelStateDict } from './state-dict';

export const CHECKPOINT_FORMAT = 'hrnet-tfjs-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** File names looked for, in this order, when a directory is given as a checkpoint. */
export const CHECKPOINT_NAMES = ['model_best.ckpt', 'final_state.ckpt', 'checkpoint.ckpt', 'model.ckpt'];

/** JSON-compatible value that may also hold Float32Arrays (stored in the binary part). */
export type StateValue =
  | number
  | string
  | boolean
  | null
  | Float32Array
  | StateValue[]
  | { [key: string]: StateValue };

interface ManifestTensor {
  key: string;
  dtype: 'float32' | 'int64';
  shape: number[];
  offset: number;
  length: number;
}

interface Manifest {
  format: string;
  version: number;
  created: string;
  tensors: ManifestTensor[];
}

/** Everything a checkpoint holds. */
export interface CheckpointContents {
  stateDict: StateDict;
  config: Config;
  /** Training state, when the checkpoint was written by the trainer. */
  training?: StateValue;
}

/** An error reading a checkpoint; names the file and the fault. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Writes `bytes` to `file` atomically (temporary file in the same directory, fsync, rename). */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Temporary files that interrupted writes left in `dir`: `NAME.tmp-PID-TIME` ({@link writeFileAtomic}) and
 * `.NAME.PID.RANDOM.tmp` (`savePng`) whose process `PID` is not running (a running one may still rename it).
 * @returns their paths
 */
export function staleTempFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const stale: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = /\.tmp-(\d+)-\d+$/.exec(name) ?? /^\..+\.(\d+)\.[0-9a-z]+\.tmp$/.exec(name);
    if (m === null || processIsRunning(Number(m[1]))) continue;
    const file = path.join(dir, name);
    if (fs.statSync(file).isFile()) stale.push(file);
  }
  return stale;
}

/** Removes the {@link staleTempFiles} of `dir`; returns the paths removed. */
export function removeStaleTempFiles(dir: string): string[] {
  const stale = staleTempFiles(dir);
  for (const f of stale) fs.rmSync(f, { force: true });
  return stale;
}

function packStateDict(dict: StateDict): { manifest: ManifestTensor[]; blob: Uint8Array } {
  const manifest: ManifestTensor[] = [];
  let size = 0;
  for (const [key, t] of Object.entries(dict)) {
    const dtype = t.dtype === 'int64' ? 'int64' : 'float32';
    const length = t.data.length * (dtype === 'int64' ? 8 : 4);
    manifest.push({ key, dtype, shape: [...t.shape], offset: size, length });
    size += length;
  }
  const blob = new Uint8Array(size);
  manifest.forEach((m) => {
    const t = dict[m.key];
    const data =
      m.dtype === 'int64'
        ? t.data instanceof BigInt64Array
          ? t.data
          : BigInt64Array.from(t.data as ArrayLike<number>, (v) => BigInt(v))
        : t.data instanceof Float32Array
          ? t.data
          : Float32Array.from(t.data as ArrayLike<number>, Number);
    blob.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), m.offset);
  });
  return { manifest, blob };
}

function packState(value: StateValue): { json: string; blob: Uint8Array } {
  const chunks: Float32Array[] = [];
  let size = 0;
  const walk = (v: StateValue): unknown => {
    if (v instanceof Float32Array) {
      const ref = { $f32: [size, v.length] };
      chunks.push(v);
      size += v.byteLength;
      return ref;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const json = JSON.stringify(walk(value));
  const blob = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    blob.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), off);
    off += c.byteLength;
  }
  return { json, blob };
}

function unpackState(parsed: unknown, blob: Uint8Array): StateValue {
  const walk = (v: unknown): StateValue => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const rec = v as Record<string, unknown>;
      const ref = rec.$f32;
      if (Array.isArray(ref) && Object.keys(rec).length === 1) {
        const [offset, length] = ref as [number, number];
        return new Float32Array(blob.slice(offset, offset + length * 4).buffer);
      }
      const out: { [key: string]: StateValue } = {};
      for (const [k, x] of Object.entries(rec)) out[k] = walk(x);
      return out;
    }
    return v as StateValue;
  };
  return walk(parsed);
}

/** Serialises checkpoint contents to the bytes of a `.ckpt` file. */
export function encodeCheckpoint(contents: CheckpointContents): Uint8Array {
  const { manifest, blob } = packStateDict(contents.stateDict);
  const header: Manifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    created: new Date().toISOString(),
    tensors: manifest,
  };
  const files: Record<string, Uint8Array> = {
    'manifest.json': strToU8(JSON.stringify(header, null, 1)),
    'weights.bin': blob,
    'config.yaml': strToU8(configToYaml(contents.config)),
  };
  if (contents.training !== undefined) {
    const packed = packState(contents.training);
    files['training.json'] = strToU8(packed.json);
    files['training.bin'] = packed.blob;
  }
  return zipSync(files, { level: 0 });
}

/** Writes a checkpoint file atomically. */
export function saveCheckpoint(file: string, contents: CheckpointContents): void {
  writeFileAtomic(file, encodeCheckpoint(contents));
}

/** Writes the model (and optionally training state) as a checkpoint file (the weights are read asynchronously). */
export async function saveModelCheckpoint(file: string, model: PoseHRNet, config: Config, training?: StateValue): Promise<void> {
  saveCheckpoint(file, { stateDict: await modelStateDict(model), config, training });
}

/** Resolves a checkpoint argument: a file, or a directory holding one of {@link CHECKPOINT_NAMES}. */
export function resolveCheckpointPath(p: string): string {
  if (!fs.existsSync(p)) throw new CheckpointError(`checkpoint not found: ${p}`);
  if (!fs.statSync(p).isDirectory()) return p;
  for (const name of CHECKPOINT_NAMES) {
    const f = path.join(p, name);
    if (fs.existsSync(f)) return f;
  }
  throw new CheckpointError(`${p} is a directory without a checkpoint (looked for ${CHECKPOINT_NAMES.join(', ')})`);
}

/** Reads a checkpoint file (or directory, see {@link resolveCheckpointPath}). */
export function readCheckpoint(p: string): CheckpointContents {
  const file = resolveCheckpointPath(p);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(new Uint8Array(fs.readFileSync(file)));
  } catch (e) {
    throw new CheckpointError(`${file}: not a readable checkpoint (${(e as Error).message})`);
  }
  const need = (name: string): Uint8Array => {
    const f = files[name];
    if (!f) throw new CheckpointError(`${file}: damaged checkpoint, ${name} is missing`);
    return f;
  };
  const parsePart = (name: string, bytes: Uint8Array): unknown => {
    try {
      return JSON.parse(strFromU8(bytes));
    } catch (e) {
      throw new CheckpointError(`${file}: damaged checkpoint, ${name} is not valid JSON (${(e as Error).message})`);
    }
  };
  const header = parsePart('manifest.json', need('manifest.json')) as Manifest;
  if (header.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${file}: not a ${CHECKPOINT_FORMAT} file (format "${header.format}")`);
  }
  if (header.version > CHECKPOINT_VERSION) {
    throw new CheckpointError(`${file}: checkpoint version ${header.version} is newer than this version reads (${CHECKPOINT_VERSION})`);
  }
  const blob = need('weights.bin');
  const stateDict: StateDict = {};
  for (const m of header.tensors) {
    if (m.offset + m.length > blob.length) throw new CheckpointError(`${file}: damaged checkpoint, ${m.key} is truncated`);
    const bytes = blob.slice(m.offset, m.offset + m.length);
    const data = m.dtype === 'int64' ? new BigInt64Array(bytes.buffer) : new Float32Array(bytes.buffer);
    stateDict[m.key] = { shape: m.shape, dtype: m.dtype as PthDtype, data } as PthTensor;
  }
  const config = parseConfig(strFromU8(need('config.yaml')), `${file}:config.yaml`);
  const trainingJson = files['training.json'];
  const training = trainingJson ? unpackState(parsePart('training.json', trainingJson), files['training.bin'] ?? new Uint8Array()) : undefined;
  return { stateDict, config, training };
}

/** Builds the model stored in a checkpoint and loads its weights. */
export function loadModelFromCheckpoint(p: string): { model: PoseHRNet; config: Config; training?: StateValue } {
  const { stateDict, config, training } = readCheckpoint(p);
  const model = createPoseHRNet(config, { initWeights: false });
  try {
    loadStateDict(model, stateDict, { strict: true, source: resolveCheckpointPath(p) });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, config, training };
}

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync, zipSync } from 'fflate';
import { PickleDict, PickleError, PickleSecurityError } from '../../src/io/pickle';
import {
  NumpyArray,
  PthError,
  PthTensorData,
  StateDict,
  asPthTensor,
  extractStateDict,
  isPthTensor,
  readPth,
  readPthBuffer,
  readPthObject,
} from '../../src/io/pth';
import { PARITY_DIR, readF32, readFixtureJson } from '../helpers/fixtures';
import { Float, PickleWriter, Tuple, contiguousStride, writeTensor } from '../../src/io/pickle-writer';

interface KeyEntry {
  key: string;
  shape: number[];
  dtype: 'float32' | 'int64';
  kind: 'parameter' | 'buffer';
}

const KEYS = readFixtureJson<KeyEntry[]>('parity/w8_coco_128x96/keys.json');
const WEIGHTS = path.join(PARITY_DIR, 'weights.pth');
const LEGACY = path.join(PARITY_DIR, 'weights_legacy.pth');
const GRADS = path.join(PARITY_DIR, 'grads.pth');
const AFTER_STEP = path.join(PARITY_DIR, 'after_adam_step.pth');

/** Runs `fn` and returns the error it throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, none was thrown');
}

/** The bytes behind a typed array. */
function bytesOf(a: PthTensorData | Float32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Same typed-array class and identical bytes. */
function expectBitIdentical(actual: PthTensorData, expected: PthTensorData | Float32Array): void {
  expect(actual.constructor).toBe(expected.constructor);
  expect(actual.length).toBe(expected.length);
  expect(bytesOf(actual).equals(bytesOf(expected))).toBe(true);
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A torch-style zip: every entry stored uncompressed under `<prefix>/`. */
function zipArchive(prefix: string, entries: Record<string, Uint8Array>): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [name, data] of Object.entries(entries)) files[`${prefix}/${name}`] = data;
  return zipSync(files, { level: 0 });
}

/** The storages `data/<key>` of weights.pth, keyed by storage key. */
function weightsStorages(): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [name, data] of Object.entries(unzipSync(fs.readFileSync(WEIGHTS)))) {
    const m = /^weights\/data\/(\d+)$/.exec(name);
    if (m) out[`data/${m[1]}`] = data;
  }
  return out;
}

/**
 * Writes the state dict of keys.json as torch.save pickles it (OrderedDict + `_metadata` BUILD),
 * with tensor `i` on storage `i` of weights.pth and every key prefixed by `prefix`.
 */
function writeStateDict(w: PickleWriter, prefix: string): void {
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  KEYS.forEach((k, i) => {
    w.str(prefix + k.key);
    writeTensor(w, {
      storageType: k.dtype === 'int64' ? 'LongStorage' : 'FloatStorage',
      key: String(i),
      numel: numelOf(k.shape),
      offset: 0,
      shape: k.shape,
      stride: contiguousStride(k.shape),
    });
  });
  w.setitems();
  w.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce().setitem().build();
}

const tmpDirs: string[] = [];
/** A fresh temporary folder, removed after the tests. */
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pth-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

let weights: StateDict;
beforeAll(() => {
  weights = readPth(WEIGHTS);
});

describe('readPth on the official fixtures', () => {
  test('weights.pth (zip): keys, order, shapes and dtypes equal keys.json', () => {
    expect(Object.keys(weights)).toEqual(KEYS.map((k) => k.key));
    for (const k of KEYS) {
      const t = weights[k.key];
      expect({ key: k.key, shape: t.shape, dtype: t.dtype }).toEqual({ key: k.key, shape: k.shape, dtype: k.dtype });
      expect(t.data.length).toBe(numelOf(k.shape));
      expect(t.data).toBeInstanceOf(k.dtype === 'int64' ? BigInt64Array : Float32Array);
    }
  });

  test('weights.pth: float32 data are bit-exact (conv1.weight against the zip entry bytes)', () => {
    const entry = unzipSync(fs.readFileSync(WEIGHTS))['weights/data/0'];
    expect(bytesOf(weights['conv1.weight'].data).equals(Buffer.from(entry))).toBe(true);
  });

  test('weights_legacy.pth (legacy format) gives bit-identical data for every key', () => {
    const legacy = readPth(LEGACY);
    expect(Object.keys(legacy)).toEqual(KEYS.map((k) => k.key));
    for (const k of KEYS) {
      expect(legacy[k.key].shape).toEqual(k.shape);
      expect(legacy[k.key].dtype).toBe(k.dtype);
      expectBitIdentical(legacy[k.key].data, weights[k.key].data);
    }
  });

  test('num_batches_tracked: int64 scalars, shape [], values in [0, 1000) and +1 after the train step', () => {
    const after = readPth(AFTER_STEP);
    const nbt = KEYS.filter((k) => k.key.endsWith('num_batches_tracked'));
    expect(nbt.length).toBeGreaterThan(0);
    const values = new Set<bigint>();
    for (const k of nbt) {
      const t = weights[k.key];
      expect(t.shape).toEqual([]);
      expect(t.dtype).toBe('int64');
      const v = (t.data as BigInt64Array)[0];
      expect(v >= 0n && v < 1000n).toBe(true);
      values.add(v);
      expect((after[k.key].data as BigInt64Array)[0]).toBe(v + 1n);
    }
    expect(values.size).toBeGreaterThan(1); // random per layer, so really read and not a constant
  });

  test('grads.pth: one gradient per parameter, bit-identical to the grad_*.f32 fixtures', () => {
    const grads = readPth(GRADS);
    const params = KEYS.filter((k) => k.kind === 'parameter');
    expect(Object.keys(grads)).toEqual(params.map((k) => k.key));
    for (const k of params) expect(grads[k.key].shape).toEqual(k.shape);
    const files = fs.readdirSync(PARITY_DIR).filter((f) => f.startsWith('grad_') && f.endsWith('.f32'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const key = f.slice('grad_'.length, -'.f32'.length);
      expectBitIdentical(grads[key].data, readF32(path.join(PARITY_DIR, f)));
    }
  });

  test('after_adam_step.pth: all keys; BN running stats bit-identical to the bn_*.f32 fixtures', () => {
    const after = readPth(AFTER_STEP);
    expect(Object.keys(after)).toEqual(KEYS.map((k) => k.key));
    const files = fs.readdirSync(PARITY_DIR).filter((f) => /^bn_.*_running_(mean|var)\.f32$/.test(f));
    expect(files).toHaveLength(8);
    for (const f of files) {
      const m = /^bn_(.*)_(running_(mean|var))\.f32$/.exec(f) as RegExpExecArray;
      expectBitIdentical(after[`${m[1]}.${m[2]}`].data, readF32(path.join(PARITY_DIR, f)));
    }
    // the Adam step moved the weights
    expect(bytesOf(after['conv1.weight'].data).equals(bytesOf(weights['conv1.weight'].data))).toBe(false);
  });

  test('readPthObject returns the OrderedDict with its _metadata and materialised tensors', () => {
    const obj = readPthObject(WEIGHTS);
    expect(obj).toBeInstanceOf(PickleDict);
    const dict = obj as PickleDict;
    expect(dict.ordered).toBe(true);
    expect(dict.size).toBe(KEYS.length);
    expect(dict.attributes.get('_metadata')).toBeInstanceOf(PickleDict);
    const t = dict.get('final_layer.bias');
    expect(isPthTensor(t)).toBe(true);
    expectBitIdentical(asPthTensor(t).data, weights['final_layer.bias'].data);
  });
});

describe('training checkpoints (weights.pth storages re-packed with a hand-written data.pkl)', () => {
  const storages = weightsStorages();

  /** `{'epoch', 'model', 'state_dict': module.-prefixed, 'perf', 'optimizer': {...}, 'best_state_dict'}`. */
  function checkpointPickle(): Uint8Array {
    const w = new PickleWriter().proto().emptyDict().mark();
    w.str('epoch').int(140);
    w.str('model').str('pose_hrnet');
    w.str('state_dict');
    writeStateDict(w, 'module.');
    w.str('perf').float(0.7346);
    w.str('optimizer').emptyDict().mark();
    w.str('state').emptyDict().mark();
    // param 0: strided views sharing storage 0 (conv1.weight, 1728 floats)
    w.int(0).emptyDict().mark().str('step').int(3);
    w.str('exp_avg');
    writeTensor(w, { storageType: 'FloatStorage', key: '0', numel: 1728, offset: 0, shape: [27, 64], stride: [1, 27] });
    w.str('exp_avg_sq');
    writeTensor(w, { storageType: 'FloatStorage', key: '0', numel: 1728, offset: 10, shape: [5], stride: [2] });
    w.setitems();
    // param 1: a scalar at an offset of storage 1 (bn1.weight)
    w.int(1).emptyDict().mark().str('step').int(3).str('exp_avg');
    writeTensor(w, { storageType: 'FloatStorage', key: '1', numel: 64, offset: 7, shape: [], stride: [] });
    w.setitems();
    w.setitems();
    w.str('param_groups').value([
      { lr: new Float(0.001), betas: new Tuple([0.9, 0.999]), eps: 1e-8, weight_decay: 0, amsgrad: false, params: [0, 1, 2] },
    ]);
    w.setitems();
    w.str('best_state_dict');
    writeStateDict(w, '');
    return w.setitems().stop().toBytes();
  }

  test('readPth takes state_dict, strips module. and gives the same data as weights.pth', () => {
    const buf = zipArchive('checkpoint', { 'data.pkl': checkpointPickle(), ...storages, version: Buffer.from('3\n') });
    const sd = readPthBuffer(buf, 'checkpoint.pth');
    expect(Object.keys(sd)).toEqual(KEYS.map((k) => k.key));
    for (const k of KEYS) {
      expect(sd[k.key].shape).toEqual(k.shape);
      expect(sd[k.key].dtype).toBe(k.dtype);
      expectBitIdentical(sd[k.key].data, weights[k.key].data);
    }
  });

  test('readPthObject exposes epoch, perf, optimizer and materialises strided, offset and scalar views', () => {
    const file = path.join(tmpDir(), 'checkpoint.pth');
    fs.writeFileSync(file, zipArchive('archive', { 'data.pkl': checkpointPickle(), ...storages }));
    const top = readPthObject(file) as PickleDict;
    expect(top.get('epoch')).toBe(140);
    expect(top.get('model')).toBe('pose_hrnet');
    expect(top.get('perf')).toBe(0.7346);
    const optimizer = top.get('optimizer') as PickleDict;
    const group = (optimizer.get('param_groups') as PickleDict[])[0];
    expect(group.get('lr')).toBe(0.001);
    expect(group.get('params')).toEqual([0, 1, 2]);
    expect(group.get('amsgrad')).toBe(false);
    const state = optimizer.get('state') as PickleDict;
    const s0 = state.get(0) as PickleDict;
    expect(s0.get('step')).toBe(3);

    const conv1 = weights['conv1.weight'].data as Float32Array; // [64, 27] in C order
    const transposed = asPthTensor(s0.get('exp_avg'));
    expect(transposed.shape).toEqual([27, 64]);
    const expectedT = new Float32Array(27 * 64);
    for (let i = 0; i < 27; i++) for (let j = 0; j < 64; j++) expectedT[i * 64 + j] = conv1[j * 27 + i];
    expectBitIdentical(transposed.data, expectedT);

    const strided = asPthTensor(s0.get('exp_avg_sq'));
    expectBitIdentical(strided.data, Float32Array.from([10, 12, 14, 16, 18], (i) => conv1[i]));

    const scalar = asPthTensor((state.get(1) as PickleDict).get('exp_avg'));
    expect(scalar.shape).toEqual([]);
    expectBitIdentical(scalar.data, (weights['bn1.weight'].data as Float32Array).slice(7, 8));

    // a view does not alias the tensor that owns the whole storage
    expect(transposed.data.buffer).not.toBe(weights['conv1.weight'].data.buffer);
    const sd = extractStateDict(top, file);
    expect(sd['conv1.weight'].data.buffer).not.toBe(transposed.data.buffer);
    expect(sd['conv1.weight'].data.buffer).not.toBe(strided.data.buffer);
  });

  test('fallback order: best_state_dict is used when state_dict is absent; module. kept when not on every key', () => {
    const w = new PickleWriter().proto().emptyDict().mark().str('epoch').int(1).str('model').str('pose_hrnet');
    w.str('best_state_dict');
    w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    KEYS.slice(0, 2).forEach((k, i) => {
      w.str(i === 0 ? `module.${k.key}` : k.key);
      writeTensor(w, { storageType: 'FloatStorage', key: String(i), numel: numelOf(k.shape), offset: 0, shape: k.shape, stride: contiguousStride(k.shape) });
    });
    w.setitems().setitems().stop();
    const sd = readPthBuffer(zipArchive('x', { 'data.pkl': w.toBytes(), ...storages }), 'best.pth');
    expect(Object.keys(sd)).toEqual([`module.${KEYS[0].key}`, KEYS[1].key]);
    expectBitIdentical(sd[KEYS[1].key].data, weights[KEYS[1].key].data);
  });

  test('numpy scalars (official checkpoints store perf as numpy.float64) are read as numbers', () => {
    /** `numpy.core.multiarray.scalar(numpy.dtype(code), _codecs.encode(latin1 bytes))` as protocol 2 writes it. */
    const numpyScalar = (w: PickleWriter, module: string, code: string, le: Uint8Array): void => {
      w.global(module, 'scalar').global('numpy', 'dtype').str(code).bool(false).bool(true).tupleN(3).reduce();
      w.value(new Tuple([3, '<', null, null, null, -1, -1, 0])).build();
      w.global('_codecs', 'encode').str(String.fromCharCode(...le)).str('latin1').tupleN(2).reduce();
      w.tupleN(2).reduce();
    };
    const perf = 0.7346;
    const w = new PickleWriter().proto().emptyDict().mark();
    w.str('perf');
    numpyScalar(w, 'numpy.core.multiarray', 'f8', new Uint8Array(Float64Array.from([perf]).buffer));
    w.str('step');
    numpyScalar(w, 'numpy._core.multiarray', 'i8', new Uint8Array(BigInt64Array.from([-42n]).buffer));
    w.str('state_dict').emptyDict().str('bn1.weight');
    writeTensor(w, { storageType: 'FloatStorage', key: '1', numel: 64, offset: 0, shape: [64], stride: [1] });
    w.setitem().setitems().stop();
    const file = path.join(tmpDir(), 'np.pth');
    fs.writeFileSync(file, zipArchive('np', { 'data.pkl': w.toBytes(), 'data/1': storages['data/1'] }));
    const top = readPthObject(file) as PickleDict;
    expect(top.get('perf')).toBe(perf);
    expect(top.get('step')).toBe(-42);
    expectBitIdentical(readPth(file)['bn1.weight'].data, weights['bn1.weight'].data);
  });

  test('numpy arrays beside the weights (mmpose meta: OKS sigmas, joint weights) are read as NumpyArray', () => {
    /** `numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')` + BUILD `(1, shape, dtype, False, data)`. */
    const numpyArray = (w: PickleWriter, code: string, shape: number[], data: Uint8Array | null, items: string[] = []): void => {
      w.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).tupleN(1);
      w.global('_codecs', 'encode').str('b').str('latin1').tupleN(2).reduce().tupleN(3).reduce();
      w.mark().int(1).value(new Tuple(shape));
      w.global('numpy', 'dtype').str(code).bool(false).bool(true).tupleN(3).reduce();
      w.value(new Tuple([3, code === 'O' ? '|' : '<', null, null, null, -1, -1, 63])).build();
      w.bool(false);
      if (data === null) w.value(items);
      else w.global('_codecs', 'encode').str(String.fromCharCode(...data)).str('latin1').tupleN(2).reduce();
      w.tuple().build();
    };
    const sigmas = Float32Array.of(0.026, 0.025, 0.035);
    const w = new PickleWriter().proto().emptyDict().mark();
    w.str('meta').emptyDict().mark().str('dataset_meta').emptyDict().mark();
    w.str('sigmas');
    numpyArray(w, 'f4', [3], new Uint8Array(sigmas.buffer));
    w.str('flip_pairs');
    numpyArray(w, 'i8', [1, 2], new Uint8Array(BigInt64Array.of(1n, 2n).buffer));
    w.str('names');
    numpyArray(w, 'O', [2], null, ['nose', 'left_eye']);
    w.setitems().setitems();
    w.str('state_dict').emptyDict().str('backbone.bn1.weight');
    writeTensor(w, { storageType: 'FloatStorage', key: '1', numel: 64, offset: 0, shape: [64], stride: [1] });
    w.setitem().setitems().stop();
    const file = path.join(tmpDir(), 'ndarray.pth');
    fs.writeFileSync(file, zipArchive('nd', { 'data.pkl': w.toBytes(), 'data/1': storages['data/1'] }));
    const meta = (readPthObject(file) as PickleDict).get('meta') as PickleDict;
    const datasetMeta = meta.get('dataset_meta') as PickleDict;
    const s = datasetMeta.get('sigmas') as NumpyArray;
    expect(s).toBeInstanceOf(NumpyArray);
    expect({ shape: s.shape, dtype: s.dtype, values: s.values }).toEqual({ shape: [3], dtype: 'f4', values: Array.from(sigmas) });
    expect((datasetMeta.get('flip_pairs') as NumpyArray).values).toEqual([1, 2]);
    expect((datasetMeta.get('names') as NumpyArray).values).toEqual(['nose', 'left_eye']);
    expectBitIdentical(readPth(file)['backbone.bn1.weight'].data, weights['bn1.weight'].data);

    // Data that does not fit the shape is refused.
    const bad = new PickleWriter().proto();
    numpyArray(bad, 'f4', [4], new Uint8Array(sigmas.buffer));
    bad.stop();
    const badFile = path.join(tmpDir(), 'bad-ndarray.pth');
    fs.writeFileSync(badFile, zipArchive('bad', { 'data.pkl': bad.toBytes() }));
    expect(() => readPthObject(badFile)).toThrow(/numpy array: 12 bytes for 4 elements of 'f4'/);
  });

  test('a big-endian archive (byteorder = big) is byte-swapped', () => {
    const swapped: Record<string, Uint8Array> = {};
    KEYS.forEach((k, i) => {
      const src = storages[`data/${i}`];
      const size = k.dtype === 'int64' ? 8 : 4;
      const out = new Uint8Array(src.length);
      for (let p = 0; p < src.length; p += size) for (let j = 0; j < size; j++) out[p + j] = src[p + size - 1 - j];
      swapped[`data/${i}`] = out;
    });
    const pkl = unzipSync(fs.readFileSync(WEIGHTS))['weights/data.pkl'];
    const sd = readPthBuffer(zipArchive('be', { 'data.pkl': pkl, byteorder: Buffer.from('big'), ...swapped }), 'be.pth');
    for (const k of KEYS) expectBitIdentical(sd[k.key].data, weights[k.key].data);
  });
});

describe('element types', () => {
  /** float16 bits of a value that float16 represents exactly. */
  function toHalfBits(v: number): number {
    if (Number.isNaN(v)) return 0x7e00;
    const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
    const a = Math.abs(v);
    if (a === Infinity) return sign | 0x7c00;
    if (a < 2 ** -14) {
      const m = a / 2 ** -24;
      if (!Number.isInteger(m)) throw new Error(`${v} is not a float16`);
      return sign | m;
    }
    const e = Math.floor(Math.log2(a));
    const m = (a / 2 ** e - 1) * 1024;
    if (!Number.isInteger(m) || e > 15) throw new Error(`${v} is not a float16`);
    return sign | ((e + 15) << 10) | m;
  }

  /** bfloat16 bits of a float32 whose low 16 bits are zero. */
  function toBf16Bits(v: number): number {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, v, true);
    const bits = view.getUint32(0, true);
    if ((bits & 0xffff) !== 0) throw new Error(`${v} is not a bfloat16`);
    return bits >>> 16;
  }

  function bytesFrom(a: Uint16Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array): Uint8Array {
    return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  }

  test('float16, bfloat16 and float64 become Float32Array with the original dtype; integers keep their width', () => {
    const halfValues = [0, -0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24, 1 + 2 ** -10, 0.333251953125, Infinity, -Infinity];
    const bfValues = [1.5, -0.15625, 2 ** -130, 2 ** 100, -Infinity, 0];
    const doubles = Float64Array.from({ length: 9 }, (_, i) => Math.sin(i + 1) * 10 ** ((i % 7) - 3));
    const ints = Int32Array.from([-(2 ** 31), -1, 0, 7, 2 ** 31 - 1]);
    const shorts = Int16Array.from([-32768, -3, 0, 32767]);
    const chars = Int8Array.from([-128, -1, 0, 127]);
    const bytes = Uint8Array.from([0, 1, 128, 255]);
    const bools = Uint8Array.from([1, 0, 1, 1]);
    const half = Uint16Array.from(halfValues.map(toHalfBits).concat([0x7e00]));

    const w = new PickleWriter().proto().emptyDict().mark();
    const add = (name: string, storageType: string, key: string, numel: number, shape: number[], stride = contiguousStride(shape), offset = 0): void => {
      w.str(name);
      writeTensor(w, { storageType, key, numel, offset, shape, stride });
    };
    add('half', 'HalfStorage', 'h', half.length, [half.length]);
    add('half_t', 'HalfStorage', 'h', half.length, [2, 3], [1, 2], 1);
    add('bf16', 'BFloat16Storage', 'bf', bfValues.length, [bfValues.length]);
    add('f64', 'DoubleStorage', 'd', doubles.length, [3, 3]);
    add('i32', 'IntStorage', 'i', ints.length, [ints.length]);
    add('i16', 'ShortStorage', 's', shorts.length, [shorts.length]);
    add('i8', 'CharStorage', 'c', chars.length, [chars.length]);
    add('u8', 'ByteStorage', 'u', bytes.length, [2, 2]);
    add('bool', 'BoolStorage', 'b', bools.length, [bools.length]);
    w.setitems().stop();
    const sd = readPthBuffer(
      zipArchive('types', {
        'data.pkl': w.toBytes(),
        'data/h': bytesFrom(half),
        'data/bf': bytesFrom(Uint16Array.from(bfValues.map(toBf16Bits))),
        'data/d': bytesFrom(doubles),
        'data/i': bytesFrom(ints),
        'data/s': bytesFrom(shorts),
        'data/c': bytesFrom(chars),
        'data/u': bytesFrom(bytes),
        'data/b': bytesFrom(bools),
      }),
      'types.pth',
    );
    expect(sd.half.dtype).toBe('float16');
    expect(sd.half.data).toBeInstanceOf(Float32Array);
    expect(Array.from(sd.half.data as Float32Array).slice(0, halfValues.length)).toEqual(halfValues);
    expect(Number.isNaN((sd.half.data as Float32Array)[halfValues.length])).toBe(true);
    // [2, 3] with stride [1, 2] at offset 1: element (i, j) = half[1 + i + 2j]
    const expectedT: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expectedT.push(halfValues[1 + i + 2 * j]);
    expect(Array.from(sd.half_t.data as Float32Array)).toEqual(expectedT);
    expect(sd.bf16.dtype).toBe('bfloat16');
    expect(Array.from(sd.bf16.data as Float32Array)).toEqual(bfValues);
    expect(sd.f64.dtype).toBe('float64');
    expect(sd.f64.shape).toEqual([3, 3]);
    expectBitIdentical(sd.f64.data, Float32Array.from(doubles));
    expect(sd.i32).toEqual({ shape: [5], dtype: 'int32', data: ints });
    expectBitIdentical(sd.i32.data, ints);
    expectBitIdentical(sd.i16.data, shorts);
    expectBitIdentical(sd.i8.data, chars);
    expectBitIdentical(sd.u8.data, bytes);
    expect(sd.u8.shape).toEqual([2, 2]);
    expect(sd.bool.dtype).toBe('bool');
    expectBitIdentical(sd.bool.data, bools);
  });
});

describe('other tensor rebuilders', () => {
  test('_rebuild_parameter unwraps to the tensor; _rebuild_tensor_v3 views an untyped storage with a dtype', () => {
    const values = Float32Array.from([1.5, -2.25, 3e-8, 4e20, 0, -0.125]);
    const w = new PickleWriter().proto().emptyDict().mark();
    w.str('param').global('torch._utils', '_rebuild_parameter');
    writeTensor(w, { storageType: 'FloatStorage', key: 'f', numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] });
    w.bool(true).global('collections', 'OrderedDict').emptyTuple().reduce().tupleN(3).reduce();
    w.str('v3').global('torch._utils', '_rebuild_tensor_v3').mark();
    w.mark().str('storage').global('torch', 'UntypedStorage').str('u').str('cpu').int(24).tuple().binpersid();
    w.int(2).value(new Tuple([2, 2])).value(new Tuple([1, 2])).bool(false);
    w.global('collections', 'OrderedDict').emptyTuple().reduce().global('torch', 'float32').tuple().reduce();
    w.setitems().stop();
    const raw = new Uint8Array(values.buffer);
    const sd = readPthBuffer(zipArchive('r', { 'data.pkl': w.toBytes(), 'data/f': raw, 'data/u': raw }), 'rebuild.pth');
    expect(sd.param.shape).toEqual([2, 3]);
    expectBitIdentical(sd.param.data, values);
    // [2, 2] with stride [1, 2] at element offset 2: (i, j) = values[2 + i + 2j]
    expect(sd.v3.dtype).toBe('float32');
    expectBitIdentical(sd.v3.data, Float32Array.from([values[2], values[4], values[3], values[5]]));
  });
});

describe('a hand-built legacy file', () => {
  /** Legacy torch.save: magic, protocol, sys_info, object, storage keys, then (count, bytes) per storage. */
  function legacyFile(littleEndian: boolean, doubles: Float64Array, longValue: bigint, floats: Float32Array): Uint8Array {
    const w = new PickleWriter();
    w.proto().int(0x1950a86a20f9469cfc6cn).stop();
    w.proto().int(1001).stop();
    w.proto().value({ protocol_version: 1001, little_endian: littleEndian, type_sizes: { short: 2, int: 4, long: 4 } }).stop();
    w.proto().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    w.str('w');
    writeTensor(w, { storageType: 'DoubleStorage', key: '94001', numel: doubles.length, offset: 0, shape: [2, 3], stride: [3, 1] });
    w.str('n');
    writeTensor(w, { storageType: 'LongStorage', key: '94002', numel: 1, offset: 0, shape: [], stride: [] });
    w.str('v');
    writeTensor(w, { storageType: 'FloatStorage', key: '94003', numel: floats.length, offset: 1, shape: [3], stride: [1], view: ['94004', 2, 4] });
    w.setitems().stop();
    w.proto().value(['94001', '94002', '94003']).stop();
    const out: number[] = [...w.toBytes()];
    const put = (size: number, count: number, data: Uint8Array): void => {
      const header = new DataView(new ArrayBuffer(8));
      header.setBigInt64(0, BigInt(count), littleEndian);
      out.push(...new Uint8Array(header.buffer));
      for (let p = 0; p < data.length; p += size) {
        for (let j = 0; j < size; j++) out.push(data[littleEndian ? p + j : p + size - 1 - j]);
      }
    };
    put(8, doubles.length, new Uint8Array(doubles.buffer));
    put(8, 1, new Uint8Array(BigInt64Array.from([longValue]).buffer));
    put(4, floats.length, new Uint8Array(floats.buffer));
    return Uint8Array.from(out);
  }

  test.each([true, false])('little_endian=%s: doubles, an int64 scalar and a storage view', (littleEndian) => {
    const doubles = Float64Array.from([0.1, -2.5, 1e-30, 3.14159, 2 ** 60, -7]);
    const floats = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7], (x) => x * 1.25 - 3);
    const sd = readPthBuffer(legacyFile(littleEndian, doubles, 123456789012345n, floats), 'legacy.pth');
    expect(Object.keys(sd)).toEqual(['w', 'n', 'v']);
    expect(sd.w.dtype).toBe('float64');
    expect(sd.w.shape).toEqual([2, 3]);
    expectBitIdentical(sd.w.data, Float32Array.from(doubles));
    expect(sd.n).toEqual({ shape: [], dtype: 'int64', data: BigInt64Array.from([123456789012345n]) });
    // view = root[2 .. 6); tensor = view[1 .. 4)
    expectBitIdentical(sd.v.data, floats.slice(3, 6));
  });

  test('truncation anywhere is reported with the file name', () => {
    const full = legacyFile(true, Float64Array.from([1, 2, 3, 4, 5, 6]), 5n, new Float32Array(8));
    for (const cut of [10, 30, 200, full.length - 60, full.length - 1]) {
      const err = thrown(() => readPthBuffer(full.subarray(0, cut), 'cut.pth'));
      expect(err.message).toMatch(/^cut\.pth/);
      expect(err.message).toMatch(/truncat|exceeds/);
    }
  });
});

describe('bad files are refused with the file name and the fault', () => {
  const storages = weightsStorages();

  test('missing file, directory, empty file, not a checkpoint', () => {
    const dir = tmpDir();
    const missing = path.join(dir, 'nope.pth');
    const e1 = thrown(() => readPth(missing));
    expect(e1).toBeInstanceOf(PthError);
    expect(e1.message).toContain(missing);
    expect(e1.message).toMatch(/cannot read/);
    expect(thrown(() => readPth(dir)).message).toBe(`${dir}: not a file`);
    const empty = path.join(dir, 'empty.pth');
    fs.writeFileSync(empty, '');
    expect(thrown(() => readPth(empty)).message).toMatch(/empty\.pth: not a PyTorch checkpoint.*the file is empty/);
    const text = path.join(dir, 'notes.pth');
    fs.writeFileSync(text, 'hello, this is not a checkpoint');
    expect(thrown(() => readPth(text)).message).toMatch(/notes\.pth: not a PyTorch checkpoint.*first bytes: 68 65 6c/);
  });

  test('truncated or corrupt zip', () => {
    const buf = fs.readFileSync(WEIGHTS);
    const err = thrown(() => readPthBuffer(buf.subarray(0, buf.length >> 1), 'half.pth'));
    expect(err).toBeInstanceOf(PthError);
    expect(err.message).toMatch(/^half\.pth: corrupt or truncated zip archive/);
  });

  test('truncated legacy file', () => {
    const buf = fs.readFileSync(LEGACY);
    for (const cut of [100, 40000, buf.length - 100]) {
      const err = thrown(() => readPthBuffer(buf.subarray(0, cut), 'legacy-cut.pth'));
      expect(err.message).toMatch(/^legacy-cut\.pth/);
      expect(err.message).toMatch(/truncat|exceeds/);
    }
  });

  test('zip without data.pkl; missing and short storages', () => {
    expect(thrown(() => readPthBuffer(zipArchive('a', { 'other.txt': Buffer.from('x') }), 'nopkl.pth')).message).toMatch(
      /^nopkl\.pth: expected exactly one <folder>\/data\.pkl in the zip archive, found none \(entries: a\/other\.txt\)/,
    );
    const pkl = unzipSync(fs.readFileSync(WEIGHTS))['weights/data.pkl'];
    const withoutZero = { ...storages };
    delete withoutZero['data/0'];
    expect(thrown(() => readPthBuffer(zipArchive('m', { 'data.pkl': pkl, ...withoutZero }), 'missing.pth')).message).toMatch(
      /^missing\.pth: storage 0: zip entry m\/data\/0 is missing/,
    );
    const short = { ...storages, 'data/0': storages['data/0'].subarray(0, 100) };
    expect(thrown(() => readPthBuffer(zipArchive('s', { 'data.pkl': pkl, ...short }), 'short.pth')).message).toMatch(
      /storage 0: zip entry s\/data\/0 has 100 bytes, expected 6912/,
    );
  });

  test('no state dict: the error lists the top-level keys', () => {
    const w = new PickleWriter().proto().value({ epoch: 3, model: 'pose_hrnet', perf: new Float(0.5) }).stop();
    const err = thrown(() => readPthBuffer(zipArchive('c', { 'data.pkl': w.toBytes() }), 'ckpt.pth'));
    expect(err).toBeInstanceOf(PthError);
    expect(err.message).toBe(
      'ckpt.pth: no state dict found: the top level is a dict with keys [epoch, model, perf] and none of state_dict, model, model_state_dict, best_state_dict holds a dict of tensors',
    );
    const list = new PickleWriter().proto().value([1, 2]).stop();
    expect(thrown(() => readPthBuffer(zipArchive('c', { 'data.pkl': list.toBytes() }), 'list.pth')).message).toBe(
      'list.pth: no state dict found: the top level is a list',
    );
  });

  test('hostile pickle inside a zip checkpoint', () => {
    const w = new PickleWriter().proto().global('os', 'system').str('touch /tmp/pwned', true).tupleN(1).reduce().stop();
    const err = thrown(() => readPthBuffer(zipArchive('evil', { 'data.pkl': w.toBytes() }), 'evil.pth'));
    expect(err).toBeInstanceOf(PickleSecurityError);
    expect(err.message).toMatch(/^evil\.pth:evil\/data\.pkl: GLOBAL at byte 2: global 'os\.system' is not allowed/);
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
  });

  test('unsupported tensors and objects: quantized, sparse, pickled modules, complex storages, out-of-range views', () => {
    const call = (module: string, name: string): Uint8Array =>
      new PickleWriter().proto().global(module, name).emptyTuple().reduce().stop().toBytes();
    expect(thrown(() => readPthBuffer(zipArchive('q', { 'data.pkl': call('torch._utils', '_rebuild_qtensor') }), 'q.pth')).message).toMatch(
      /^q\.pth: _rebuild_qtensor: quantized tensors are not supported \(REDUCE at byte \d+ of q\.pth:q\/data\.pkl\)/,
    );
    expect(thrown(() => readPthBuffer(zipArchive('s', { 'data.pkl': call('torch._utils', '_rebuild_sparse_tensor') }), 's.pth')).message).toMatch(
      /sparse tensors are not supported/,
    );
    const moduleW = new PickleWriter().proto().mark().str('module').none().str('model.py').str('class X: pass').tuple().binpersid().stop();
    expect(thrown(() => readPthBuffer(zipArchive('m', { 'data.pkl': moduleW.toBytes() }), 'm.pth')).message).toMatch(
      /pickled nn\.Module; save and load model\.state_dict\(\) instead/,
    );
    const complexW = new PickleWriter().proto();
    writeTensor(complexW, { storageType: 'ComplexFloatStorage', key: '0', numel: 2, offset: 0, shape: [2], stride: [1] });
    expect(thrown(() => readPthBuffer(zipArchive('c', { 'data.pkl': complexW.stop().toBytes(), 'data/0': new Uint8Array(16) }), 'c.pth')).message).toMatch(
      /storage type ComplexFloatStorage is not supported/,
    );
    const oob = new PickleWriter().proto();
    writeTensor(oob, { storageType: 'FloatStorage', key: '0', numel: 4, offset: 1, shape: [2, 2], stride: [2, 1] });
    const e = thrown(() => readPthBuffer(zipArchive('o', { 'data.pkl': oob.stop().toBytes(), 'data/0': new Uint8Array(16) }), 'o.pth'));
    expect(e).toBeInstanceOf(PthError);
    expect(e.message).toMatch(/^o\.pth: tensor of size \[2,2\] stride \[2,1\] offset 1 reaches element 4 of storage 0, which has 4/);
  });

  test('a forbidden global in a legacy file is refused too', () => {
    const w = new PickleWriter();
    w.proto().int(0x1950a86a20f9469cfc6cn).stop().proto().int(1001).stop();
    w.proto().value({ protocol_version: 1001, little_endian: true }).stop();
    w.proto().global('builtins', 'eval').str('1+1', true).tupleN(1).reduce().stop();
    const err = thrown(() => readPthBuffer(w.toBytes(), 'old.pth'));
    expect(err).toBeInstanceOf(PickleError);
    expect(err.message).toMatch(/^old\.pth: GLOBAL at byte \d+: global 'builtins\.eval' is not allowed/);
  });
});

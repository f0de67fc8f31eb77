/**
 * A safe, synchronous reader of PyTorch `.pth` checkpoints (`torch.save` output).
 *
 * Both container formats are read:
 * - zip (PyTorch >= 1.6): `<any folder>/data.pkl` holds the pickled object; each storage is the
 *   raw entry `<folder>/data/<key>`; an optional `<folder>/byteorder` says `little` or `big`.
 * - legacy (PyTorch < 1.6, e.g. the official 2019 HRNet models): pickled magic number, protocol
 *   version and sys info, then the pickled object, the pickled list of storage keys and, for each
 *   key in that order, an int64 element count followed by the raw storage bytes.
 *
 * The pickle is read by the restricted unpickler of `./pickle`, which executes no code: only the
 * globals listed in this file are resolved (tensor/parameter rebuilders, storage types, dtypes,
 * `collections.OrderedDict`, numpy scalars and the `_codecs.encode` used for protocol-2 bytes).
 *
 * Tensor data (every tensor gets its own C-order buffer; shared storages are copied per tensor):
 * | storage dtype                  | `PthTensor.data`                                     |
 * | ------------------------------ | ---------------------------------------------------- |
 * | float32                        | `Float32Array`, bit-exact                            |
 * | float64, float16, bfloat16     | `Float32Array` (converted; `dtype` keeps the original) |
 * | int64                          | `BigInt64Array`                                      |
 * | int32 / int16 / int8           | `Int32Array` / `Int16Array` / `Int8Array`            |
 * | uint8, bool                    | `Uint8Array` (bool as 0/1)                           |
 */
import * as fs from 'fs';
import { unzipSync } from 'fflate';
import {
  PickleAllowList,
  PickleDict,
  PickleFactory,
  PickleGlobal,
  PickleObject,
  PickleSite,
  PickleTuple,
  PickleValue,
  Unpickler,
  codecsEncodeFactory,
  describePickleValue,
  orderedDictFactory,
} from './pickle';

/** Element type of a tensor as stored in the checkpoint. */
export type PthDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** Tensor data in C (row-major) order; see the table in this file's header for the mapping. */
export type PthTensorData = Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A tensor read from a checkpoint. */
export interface PthTensor {
  /** Size of each dimension (`[]` for a scalar). */
  shape: number[];
  /** Element type in the file (float64/float16/bfloat16 data are converted to float32). */
  dtype: PthDtype;
  /** `prod(shape)` elements in C order. */
  data: PthTensorData;
}

/** Parameter name → tensor, in the checkpoint's state-dict order. */
export type StateDict = Record<string, PthTensor>;

/**
 * Keys searched, in this order, for a dict of tensors when the top-level object is not one itself
 * (training checkpoints: `{'epoch', 'model': name, 'state_dict', 'best_state_dict', 'optimizer', ...}`).
 */
export const STATE_DICT_KEYS: readonly string[] = ['state_dict', 'model', 'model_state_dict', 'best_state_dict'];

/** A checkpoint that cannot be read; the message names the file and the fault. */
export class PthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PthError';
  }
}

/** Layout of a storage element type. */
interface StorageKind {
  /** Element type in the file; `untyped` storages are bytes. */
  dtype: PthDtype;
  /** Bytes per element. */
  itemSize: number;
}

const KINDS: Readonly<Record<PthDtype, StorageKind>> = {
  float32: { dtype: 'float32', itemSize: 4 },
  float64: { dtype: 'float64', itemSize: 8 },
  float16: { dtype: 'float16', itemSize: 2 },
  bfloat16: { dtype: 'bfloat16', itemSize: 2 },
  int64: { dtype: 'int64', itemSize: 8 },
  int32: { dtype: 'int32', itemSize: 4 },
  int16: { dtype: 'int16', itemSize: 2 },
  int8: { dtype: 'int8', itemSize: 1 },
  uint8: { dtype: 'uint8', itemSize: 1 },
  bool: { dtype: 'bool', itemSize: 1 },
};

/** `torch.<Name>Storage` → element type (untyped storages are bytes). */
const STORAGE_TYPES: ReadonlyMap<string, PthDtype> = new Map<string, PthDtype>([
  ['FloatStorage', 'float32'],
  ['DoubleStorage', 'float64'],
  ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'],
  ['LongStorage', 'int64'],
  ['IntStorage', 'int32'],
  ['ShortStorage', 'int16'],
  ['CharStorage', 'int8'],
  ['ByteStorage', 'uint8'],
  ['BoolStorage', 'bool'],
  ['UntypedStorage', 'uint8'],
]);

/** Storage types that exist in PyTorch but have no counterpart here. */
const UNSUPPORTED_STORAGE_TYPES = [
  'ComplexFloatStorage',
  'ComplexDoubleStorage',
  'QUInt8Storage',
  'QInt8Storage',
  'QInt32Storage',
  'QUInt4x2Storage',
  'QUInt2x4Storage',
];

/** `torch.<dtype>` → element type. */
const TORCH_DTYPES: ReadonlyMap<string, PthDtype> = new Map<string, PthDtype>([
  ['float32', 'float32'],
  ['float', 'float32'],
  ['float64', 'float64'],
  ['double', 'float64'],
  ['float16', 'float16'],
  ['half', 'float16'],
  ['bfloat16', 'bfloat16'],
  ['int64', 'int64'],
  ['long', 'int64'],
  ['int32', 'int32'],
  ['int', 'int32'],
  ['int16', 'int16'],
  ['short', 'int16'],
  ['int8', 'int8'],
  ['uint8', 'uint8'],
  ['bool', 'bool'],
]);

/** PyTorch dtypes that can appear (e.g. in `_rebuild_tensor_v3`) but are not supported. */
const UNSUPPORTED_TORCH_DTYPES = [
  'uint16',
  'uint32',
  'uint64',
  'complex64',
  'complex128',
  'float8_e4m3fn',
  'float8_e5m2',
  'float8_e4m3fnuz',
  'float8_e5m2fnuz',
  'qint8',
  'quint8',
  'qint32',
];

/** Tensor rebuilders that PyTorch uses for layouts this reader does not handle. */
const UNSUPPORTED_REBUILDERS: Readonly<Record<string, string>> = {
  _rebuild_qtensor: 'quantized tensors are not supported',
  _rebuild_sparse_tensor: 'sparse tensors are not supported',
  _rebuild_sparse_csr_tensor: 'sparse tensors are not supported',
  _rebuild_nested_tensor: 'nested tensors are not supported',
  _rebuild_meta_tensor_no_storage: 'meta tensors hold no data',
  _rebuild_wrapper_subclass: 'tensor subclasses are not supported',
  _rebuild_device_tensor_from_numpy: 'device tensors saved through numpy are not supported',
  _rebuild_xla_tensor: 'XLA tensors are not supported',
  _rebuild_mlc_tensor: 'MLC tensors are not supported',
};

/** A storage of the checkpoint: its element type, size and (once bound) its bytes. */
class TorchStorage extends PickleObject {
  readonly pickleType = 'torch.Storage';
  /** Raw bytes as in the file (bound when the container's storages are located). */
  private raw: Uint8Array | null = null;
  /** Raw bytes are big-endian. */
  private bigEndian = false;
  /** `raw` is a buffer nobody else references (a fresh copy) and may be handed to one tensor. */
  private owned = false;
  private aligned: Uint8Array | null = null;
  private claimed = false;

  constructor(
    /** Storage key in the file. */
    readonly key: string,
    /** Element layout. */
    readonly kind: StorageKind,
    /** Number of elements. */
    readonly numel: number,
    /** For a legacy storage view: the root storage and the element offset into it. */
    readonly root: { storage: TorchStorage; offset: number } | null = null,
  ) {
    super();
  }

  /** Binds the bytes (at least `numel · itemSize`; extra bytes are ignored). */
  bind(raw: Uint8Array, bigEndian: boolean, owned: boolean): void {
    this.raw = raw.subarray(0, this.numel * this.kind.itemSize);
    this.bigEndian = bigEndian;
    this.owned = owned;
  }

  get bound(): boolean {
    return this.root !== null ? this.root.storage.bound : this.raw !== null;
  }

  /**
   * The storage bytes, native-endian, with a byte offset that is a multiple of the item size
   * (copied when the file's bytes are misaligned or byte-swapped).
   */
  bytes(): Uint8Array {
    if (this.root !== null) {
      if (this.aligned !== null) return this.aligned;
      const root = this.root.storage;
      const start = this.root.offset * this.kind.itemSize;
      let sub = root.bytes().subarray(start, start + this.numel * this.kind.itemSize);
      const size = this.kind.itemSize;
      // a byte storage viewed with a wider dtype (_rebuild_tensor_v3) is swapped with that dtype's width
      if (root.bigEndian && size > 1 && root.kind.itemSize === 1) sub = swapBytes(sub, size);
      else if (sub.byteOffset % size !== 0) sub = sub.slice();
      this.aligned = sub;
      return sub;
    }
    if (this.aligned !== null) return this.aligned;
    if (this.raw === null) throw new Error(`storage ${this.key} has no data bound`);
    const size = this.kind.itemSize;
    let out = this.raw;
    if (this.bigEndian && size > 1) {
      out = swapBytes(this.raw, size);
      this.owned = true;
    } else if (out.byteOffset % size !== 0) {
      out = out.slice();
      this.owned = true;
    }
    this.aligned = out;
    return out;
  }

  /** True once, for the first tensor that may take the whole (owned) buffer without copying. */
  claimWhole(): boolean {
    if (this.root !== null || !this.owned || this.claimed) return false;
    this.claimed = true;
    return true;
  }
}

/** A tensor of the checkpoint; `data` is filled once its storage's bytes are bound. */
class TorchTensor extends PickleObject implements PthTensor {
  readonly pickleType = 'torch.Tensor';
  private materialised: PthTensorData | null = null;

  constructor(
    /** Size of each dimension. */
    readonly shape: number[],
    /** Element type. */
    readonly dtype: PthDtype,
    private readonly storage: TorchStorage,
    private readonly storageOffset: number,
    private readonly stride: number[],
  ) {
    super();
  }

  /** The tensor's `prod(shape)` elements in C order. */
  get data(): PthTensorData {
    if (this.materialised === null) throw new Error(`tensor of storage ${this.storage.key} is not materialised yet`);
    return this.materialised;
  }

  /** Copies the elements out of the (bound) storage in C order. */
  materialise(): void {
    if (this.materialised !== null) return;
    this.materialised = materialise(this.storage, this.storageOffset, this.shape, this.stride, this.dtype);
  }
}

/** True when `v` is a tensor read from a checkpoint. */
export function isPthTensor(v: PickleValue | PthTensor | undefined): v is PickleObject & PthTensor {
  return v instanceof TorchTensor;
}

/**
 * `v` as a tensor, for values of {@link readPthObject}; throws a {@link PthError} naming `what` otherwise.
 * @param what description of the value for the error message, e.g. `optimizer.state[0].exp_avg`
 */
export function asPthTensor(v: PickleValue | undefined, what = 'value'): PthTensor {
  if (!isPthTensor(v)) throw new PthError(`${what} is a ${v === undefined ? 'missing value' : describePickleValue(v)}, expected a tensor`);
  return v;
}

/** A `numpy.dtype` (only what numpy scalars need: the type code and the byte order). */
class NumpyDtype extends PickleObject {
  readonly pickleType = 'numpy.dtype';
  byteOrder = '<';

  constructor(readonly code: string) {
    super();
  }

  override setState(state: PickleValue): void {
    if (state instanceof PickleTuple && typeof state.items[1] === 'string') this.byteOrder = state.items[1];
  }
}

/** Element readers of the numpy type codes this reader accepts: bytes per element, reader of element i. */
const NUMPY_ELEMENTS: Readonly<Record<string, [number, (view: DataView, at: number, le: boolean) => number | bigint]>> = {
  f8: [8, (v, at, le) => v.getFloat64(at, le)],
  f4: [4, (v, at, le) => v.getFloat32(at, le)],
  i8: [8, (v, at, le) => v.getBigInt64(at, le)],
  u8: [8, (v, at, le) => v.getBigUint64(at, le)],
  i4: [4, (v, at, le) => v.getInt32(at, le)],
  u4: [4, (v, at, le) => v.getUint32(at, le)],
  i2: [2, (v, at, le) => v.getInt16(at, le)],
  u2: [2, (v, at, le) => v.getUint16(at, le)],
  i1: [1, (v, at) => v.getInt8(at)],
  u1: [1, (v, at) => v.getUint8(at)],
  b1: [1, (v, at) => v.getUint8(at)],
};

/** A safe integer as a number, a larger one as a bigint. */
function narrowInt(v: number | bigint): number | bigint {
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * A numpy array pickled beside the weights (e.g. the OKS sigmas in an mmpose checkpoint's
 * `meta.dataset_meta`): `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')` then a `BUILD`
 * with `(version, shape, dtype, is_fortran, raw bytes | list)`. Numeric arrays only; values in C order.
 */
export class NumpyArray extends PickleObject {
  readonly pickleType = 'numpy.ndarray';
  /** Size of each dimension. */
  shape: number[] = [0];
  /** numpy type code, e.g. `f4`, `i8` (`O` for an array of Python objects). */
  dtype = 'b';
  /** `prod(shape)` values in C order (numbers; bigints beyond 2^53; booleans for `b1`). */
  values: PickleValue[] = [];

  constructor(private readonly source: string) {
    super();
  }

  override setState(state: PickleValue, site: PickleSite): void {
    const fail = (what: string): never => {
      throw pthError({ source: this.source }, site, `numpy array: ${what}`);
    };
    if (!(state instanceof PickleTuple) || state.length !== 5) fail('expected the state (version, shape, dtype, is_fortran, data)');
    const [, shape, dtype, fortran, raw] = (state as PickleTuple).items;
    if (!(shape instanceof PickleTuple) || !shape.items.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) fail('shape must be a tuple of sizes');
    if (!(dtype instanceof NumpyDtype)) fail(`dtype must be a numpy.dtype, got ${describePickleValue(dtype)}`);
    const dims = (shape as PickleTuple).items as number[];
    const numel = dims.reduce((a, b) => a * b, 1);
    const { code, byteOrder } = dtype as NumpyDtype;
    if (fortran === true && dims.filter((d) => d > 1).length > 1) fail('Fortran-order arrays are not supported');
    let values: PickleValue[] = [];
    if (Array.isArray(raw)) {
      values = raw; // an object array: its elements are pickled values
    } else if (raw instanceof Uint8Array) {
      const element = Object.hasOwn(NUMPY_ELEMENTS, code) ? NUMPY_ELEMENTS[code] : undefined;
      if (element === undefined) fail(`dtype '${code}' is not supported`);
      const [size, read] = element as [number, (view: DataView, at: number, le: boolean) => number | bigint];
      if (raw.byteLength !== numel * size) fail(`${raw.byteLength} bytes for ${numel} elements of '${code}'`);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const le = byteOrder !== '>';
      values = Array.from({ length: numel }, (_, i) => {
        const v = read(view, i * size, le);
        return code === 'b1' ? v !== 0 : narrowInt(v);
      });
    } else {
      fail(`data must be bytes or a list, got ${describePickleValue(raw)}`);
    }
    if ((values as PickleValue[]).length !== numel) fail(`${(values as PickleValue[]).length} values for shape [${dims.join(', ')}]`);
    this.shape = dims;
    this.dtype = code;
    this.values = values as PickleValue[];
  }
}

/** `numpy.core.multiarray._reconstruct(numpy.ndarray, shape, typecode)`: an empty array that a `BUILD` fills. */
function numpyReconstruct(ctx: LoadContext): PickleFactory {
  return (args, site) => {
    const cls = args[0];
    if (!(cls instanceof PickleGlobal) || cls.name !== 'ndarray') {
      throw pthError(ctx, site, `numpy _reconstruct of ${describePickleValue(cls)}: only numpy.ndarray is supported`);
    }
    return new NumpyArray(ctx.source);
  };
}

/** State shared by the global factories while one file is unpickled. */
interface LoadContext {
  /** File name for error messages. */
  source: string;
  /** Every tensor built, to materialise once the storages are bound. */
  tensors: TorchTensor[];
}

function pthError(ctx: { source: string }, site: PickleSite | null, what: string): PthError {
  const where = site === null ? '' : ` (${site.opcode} at byte ${site.offset} of ${site.sourceName})`;
  return new PthError(`${ctx.source}: ${what}${where}`);
}

/** A non-negative integer argument. */
function asIndex(ctx: LoadContext, site: PickleSite, v: PickleValue, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw pthError(ctx, site, `${what} must be a non-negative integer, got ${describePickleValue(v)}`);
  }
  return v;
}

/** A tuple (or list) of non-negative integers. */
function asIndexTuple(ctx: LoadContext, site: PickleSite, v: PickleValue, what: string): number[] {
  const items = v instanceof PickleTuple ? v.items : Array.isArray(v) ? v : null;
  if (items === null) throw pthError(ctx, site, `${what} must be a tuple of integers, got ${describePickleValue(v)}`);
  return items.map((x, i) => asIndex(ctx, site, x, `${what}[${i}]`));
}

/**
 * Builds a tensor over a storage after checking that the strided view stays inside it.
 * @param sizeArg the tensor's shape `[d0, d1, ...]` (a tuple of ints)
 * @param strideArg element strides, one per dimension
 * @param dtype the element type for `_rebuild_tensor_v3` (a byte storage viewed as `dtype`), else null
 */
function rebuildTensor(
  ctx: LoadContext,
  site: PickleSite,
  storageArg: PickleValue,
  offsetArg: PickleValue,
  sizeArg: PickleValue,
  strideArg: PickleValue,
  dtype: PthDtype | null,
): TorchTensor {
  if (!(storageArg instanceof TorchStorage)) {
    throw pthError(ctx, site, `a tensor's storage must be a persistent storage reference, got ${describePickleValue(storageArg)}`);
  }
  let storage = storageArg;
  const offset = asIndex(ctx, site, offsetArg, 'storage_offset');
  const shape = asIndexTuple(ctx, site, sizeArg, 'size');
  const stride = asIndexTuple(ctx, site, strideArg, 'stride');
  if (shape.length !== stride.length) {
    throw pthError(ctx, site, `size has ${shape.length} dimensions but stride has ${stride.length}`);
  }
  if (dtype !== null && dtype !== storage.kind.dtype) {
    // _rebuild_tensor_v3: an untyped (byte) storage viewed with the given dtype.
    if (storage.kind.itemSize !== 1) {
      throw pthError(ctx, site, `tensor dtype ${dtype} does not match its ${storage.kind.dtype} storage ${storage.key}`);
    }
    const kind = KINDS[dtype];
    if (storage.numel % kind.itemSize !== 0) {
      throw pthError(ctx, site, `storage ${storage.key} has ${storage.numel} bytes, not a multiple of ${dtype}'s ${kind.itemSize}`);
    }
    storage = new TorchStorage(storage.key, kind, storage.numel / kind.itemSize, { storage, offset: 0 });
  }
  let numel = 1;
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    numel *= shape[d];
    last += (shape[d] - 1) * stride[d];
  }
  if (numel > 0 && last >= storage.numel) {
    throw pthError(
      ctx,
      site,
      `tensor of size [${shape}] stride [${stride}] offset ${offset} reaches element ${last} of storage ${storage.key}, which has ${storage.numel}`,
    );
  }
  const tensor = new TorchTensor(shape, storage.kind.dtype, storage, offset, stride);
  ctx.tensors.push(tensor);
  return tensor;
}

function expectArgs(ctx: LoadContext, site: PickleSite, name: string, args: readonly PickleValue[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw pthError(ctx, site, `${name} expects ${want} arguments, got ${args.length}`);
  }
}

/** A global that may be referenced but whose use means an unsupported feature. */
function refuse(ctx: LoadContext, name: string, why: string): PickleFactory {
  return (_args, site) => {
    throw pthError(ctx, site, `${name}: ${why}`);
  };
}

/** `numpy.core.multiarray.scalar(dtype, bytes)` → number (bigint for int64 beyond 2^53). */
function numpyScalar(ctx: LoadContext): PickleFactory {
  return (args, site) => {
    const [dtype, raw] = args;
    if (!(dtype instanceof NumpyDtype) || !(raw instanceof Uint8Array)) {
      throw pthError(ctx, site, 'numpy scalar expects (dtype, bytes)');
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const le = dtype.byteOrder !== '>';
    const read: Record<string, [number, () => number | bigint]> = {
      f8: [8, () => view.getFloat64(0, le)],
      f4: [4, () => view.getFloat32(0, le)],
      i8: [8, () => view.getBigInt64(0, le)],
      u8: [8, () => view.getBigUint64(0, le)],
      i4: [4, () => view.getInt32(0, le)],
      u4: [4, () => view.getUint32(0, le)],
      i2: [2, () => view.getInt16(0, le)],
      u2: [2, () => view.getUint16(0, le)],
      i1: [1, () => view.getInt8(0)],
      u1: [1, () => view.getUint8(0)],
      b1: [1, () => view.getUint8(0)],
    };
    const reader = Object.hasOwn(read, dtype.code) ? read[dtype.code] : undefined;
    if (reader === undefined || raw.byteLength !== reader[0]) {
      throw pthError(ctx, site, `numpy scalar of dtype '${dtype.code}' with ${raw.byteLength} bytes is not supported`);
    }
    const v = reader[1]();
    if (dtype.code === 'b1') return v !== 0;
    if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    return v;
  };
}

/** `numpy.dtype(code, align, copy)` for scalar type codes such as `f8`, `i8`. */
function numpyDtype(ctx: LoadContext): PickleFactory {
  return (args, site) => {
    const code = args[0];
    if (typeof code !== 'string') throw pthError(ctx, site, 'numpy.dtype expects a type code string');
    return new NumpyDtype(code);
  };
}

/** The allow-list of globals a checkpoint may use, bound to one load. */
function checkpointGlobals(ctx: LoadContext): PickleAllowList {
  const g = new Map<string, PickleFactory | null>();
  g.set('collections.OrderedDict', orderedDictFactory);
  g.set('_codecs.encode', codecsEncodeFactory);
  // torch.<Name>Storage (referenced inside persistent ids, never called)
  for (const name of STORAGE_TYPES.keys()) {
    g.set(`torch.${name}`, null);
    g.set(`torch.cuda.${name}`, null);
  }
  g.set('torch.storage.UntypedStorage', null);
  for (const name of UNSUPPORTED_STORAGE_TYPES) g.set(`torch.${name}`, null);
  for (const name of TORCH_DTYPES.keys()) g.set(`torch.${name}`, null);
  for (const name of UNSUPPORTED_TORCH_DTYPES) g.set(`torch.${name}`, null);

  g.set('torch._utils._rebuild_tensor', (args, site) => {
    expectArgs(ctx, site, '_rebuild_tensor', args, 4, 4);
    return rebuildTensor(ctx, site, args[0], args[1], args[2], args[3], null);
  });
  g.set('torch._utils._rebuild_tensor_v2', (args, site) => {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    expectArgs(ctx, site, '_rebuild_tensor_v2', args, 6, 7);
    return rebuildTensor(ctx, site, args[0], args[1], args[2], args[3], null);
  });
  g.set('torch._utils._rebuild_tensor_v3', (args, site) => {
    // (untyped storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
    expectArgs(ctx, site, '_rebuild_tensor_v3', args, 7, 8);
    const dtypeArg = args[6];
    const dtypeName = dtypeArg instanceof PickleGlobal && dtypeArg.module === 'torch' ? dtypeArg.name : null;
    const dtype = dtypeName === null ? undefined : TORCH_DTYPES.get(dtypeName);
    if (dtype === undefined) {
      throw pthError(ctx, site, `tensors of dtype ${dtypeName ?? describePickleValue(dtypeArg)} are not supported`);
    }
    return rebuildTensor(ctx, site, args[0], args[1], args[2], args[3], dtype);
  });
  const parameter: PickleFactory = (args, site) => {
    // (data, requires_grad, backward_hooks[, state]): a Parameter is read as its tensor
    expectArgs(ctx, site, '_rebuild_parameter', args, 3, 4);
    if (!isPthTensor(args[0])) throw pthError(ctx, site, `a Parameter must wrap a tensor, got ${describePickleValue(args[0])}`);
    return args[0];
  };
  g.set('torch._utils._rebuild_parameter', parameter);
  g.set('torch._utils._rebuild_parameter_with_state', parameter);
  g.set('torch.Tensor', null);
  g.set('torch.nn.parameter.Parameter', null);
  g.set('torch._tensor._rebuild_from_type_v2', (args, site) => {
    // (func, new_type, args, state): only plain tensors / parameters without extra state
    expectArgs(ctx, site, '_rebuild_from_type_v2', args, 4, 4);
    const [func, newType, funcArgs, state] = args;
    const typeName = newType instanceof PickleGlobal ? newType.qualifiedName : describePickleValue(newType);
    if (typeName !== 'torch.Tensor' && typeName !== 'torch.nn.parameter.Parameter') {
      throw pthError(ctx, site, `tensor subclass ${typeName} is not supported`);
    }
    if (!(state === null || (state instanceof PickleDict && state.size === 0))) {
      throw pthError(ctx, site, 'tensors with extra Python state are not supported');
    }
    if (!(func instanceof PickleGlobal) || func.factory === null || !(funcArgs instanceof PickleTuple)) {
      throw pthError(ctx, site, '_rebuild_from_type_v2 expects (rebuild function, type, argument tuple, state)');
    }
    return func.factory(funcArgs.items, site);
  });
  for (const [name, why] of Object.entries(UNSUPPORTED_REBUILDERS)) g.set(`torch._utils.${name}`, refuse(ctx, name, why));

  for (const mod of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
    g.set(`${mod}.scalar`, numpyScalar(ctx));
    g.set(`${mod}._reconstruct`, numpyReconstruct(ctx));
  }
  g.set('numpy.dtype', numpyDtype(ctx));
  g.set('numpy.ndarray', null);
  return g;
}

/**
 * Parses a storage persistent id `('storage', storage_type, key, location, numel[, view_metadata])`.
 * @returns the element layout, key and element count, and the legacy view metadata (or null)
 */
function parseStoragePid(
  ctx: LoadContext,
  site: PickleSite,
  pid: PickleValue,
): { kind: StorageKind; key: string; numel: number; view: PickleValue } {
  const tag = pid instanceof PickleTuple ? pid.items[0] : undefined;
  if (tag === 'module') {
    throw pthError(ctx, site, 'the file holds a pickled nn.Module; save and load model.state_dict() instead');
  }
  if (!(pid instanceof PickleTuple) || tag !== 'storage' || pid.length < 5 || pid.length > 6) {
    throw pthError(ctx, site, `persistent id must be ('storage', type, key, location, numel[, view]), got ${describePickleValue(pid)}`);
  }
  const [, type, key, , numelArg, view] = pid.items;
  const typeName = type instanceof PickleGlobal ? type.name : describePickleValue(type);
  const dtype = STORAGE_TYPES.get(typeName);
  if (!(type instanceof PickleGlobal) || dtype === undefined) {
    throw pthError(ctx, site, `storage type ${typeName} is not supported`);
  }
  if (typeof key !== 'string') throw pthError(ctx, site, `storage key must be a string, got ${describePickleValue(key)}`);
  const numel = asIndex(ctx, site, numelArg, `numel of storage ${key}`);
  return { kind: KINDS[dtype], key, numel, view: view ?? null };
}

/** Reads one pickle of `bytes` starting at `start`, with the checkpoint allow-list. */
function unpickleAt(
  ctx: LoadContext,
  bytes: Uint8Array,
  start: number,
  sourceName: string,
  persistentLoad?: (pid: PickleValue, site: PickleSite) => PickleValue,
): { value: PickleValue; end: number } {
  // Errors of the stream itself are PickleError / PickleSecurityError; their message starts with sourceName.
  const unpickler = new Unpickler(bytes, { globals: checkpointGlobals(ctx), persistentLoad, sourceName }, start);
  const value = unpickler.load();
  return { value, end: unpickler.position };
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const ZIP_EMPTY_MAGIC = [0x50, 0x4b, 0x05, 0x06];
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

function startsWith(buf: Uint8Array, magic: readonly number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

/** Reads the pickled object of a zip-format checkpoint and binds its storages. */
function loadZip(ctx: LoadContext, buf: Uint8Array): PickleValue {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(buf);
  } catch (err) {
    throw pthError(ctx, null, `corrupt or truncated zip archive (${(err as Error).message})`);
  }
  const names = Object.keys(files);
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    const found = pickles.length === 0 ? 'none' : pickles.join(', ');
    throw pthError(
      ctx,
      null,
      `expected exactly one <folder>/data.pkl in the zip archive, found ${found} (entries: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''})`,
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  let bigEndian = false;
  const order = files[`${prefix}byteorder`];
  if (order !== undefined) {
    const text = new TextDecoder().decode(order).trim();
    if (text !== 'little' && text !== 'big') throw pthError(ctx, null, `${prefix}byteorder is '${text}', expected 'little' or 'big'`);
    bigEndian = text === 'big';
  }
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PickleValue, site: PickleSite): PickleValue => {
    const { kind, key, numel } = parseStoragePid(ctx, site, pid);
    const known = storages.get(key);
    if (known !== undefined) return known;
    const entryName = `${prefix}data/${key}`;
    const entry = Object.hasOwn(files, entryName) ? files[entryName] : undefined;
    if (entry === undefined) throw pthError(ctx, site, `storage ${key}: zip entry ${entryName} is missing`);
    if (entry.length < numel * kind.itemSize) {
      throw pthError(ctx, site, `storage ${key}: zip entry ${entryName} has ${entry.length} bytes, expected ${numel * kind.itemSize} (${numel} × ${kind.dtype})`);
    }
    const storage = new TorchStorage(key, kind, numel);
    // unzipSync copies each entry into its own buffer, so the storage may hand it to a tensor.
    storage.bind(entry, bigEndian, entry.byteOffset === 0 && entry.buffer.byteLength === entry.byteLength);
    storages.set(key, storage);
    return storage;
  };
  return unpickleAt(ctx, files[pickles[0]], 0, `${ctx.source}:${pickles[0]}`, persistentLoad).value;
}

/** Reads the pickled object of a legacy-format checkpoint and binds its storages. */
function loadLegacy(ctx: LoadContext, buf: Uint8Array): PickleValue {
  const magic = unpickleAt(ctx, buf, 0, ctx.source);
  if (magic.value !== LEGACY_MAGIC) {
    throw pthError(ctx, null, `not a PyTorch checkpoint: the first pickle is ${describePickleValue(magic.value)}, not the torch.save magic number`);
  }
  const protocol = unpickleAt(ctx, buf, magic.end, ctx.source);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) {
    throw pthError(ctx, null, `unsupported legacy protocol version ${String(protocol.value)} (expected ${LEGACY_PROTOCOL_VERSION})`);
  }
  const sysInfo = unpickleAt(ctx, buf, protocol.end, ctx.source);
  const littleEndian = sysInfo.value instanceof PickleDict ? sysInfo.value.get('little_endian') : undefined;
  if (typeof littleEndian !== 'boolean') throw pthError(ctx, null, 'legacy sys_info lacks a boolean little_endian');
  const bigEndian = !littleEndian;

  const roots = new Map<string, TorchStorage>();
  const views = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PickleValue, site: PickleSite): PickleValue => {
    const { kind, key, numel, view } = parseStoragePid(ctx, site, pid);
    let root = roots.get(key);
    if (root === undefined) {
      root = new TorchStorage(key, kind, numel);
      roots.set(key, root);
    }
    if (view === null) return root;
    // (view_key, offset, view_size): a storage view of the root storage (PyTorch < 0.4 files)
    if (!(view instanceof PickleTuple) || view.length !== 3 || typeof view.items[0] !== 'string') {
      throw pthError(ctx, site, `storage ${key}: view metadata must be (view_key, offset, size)`);
    }
    const viewKey = view.items[0];
    const offset = asIndex(ctx, site, view.items[1], 'view offset');
    const size = asIndex(ctx, site, view.items[2], 'view size');
    let storageView = views.get(viewKey);
    if (storageView === undefined) {
      if (offset + size > root.numel) throw pthError(ctx, site, `storage view ${viewKey} exceeds its root storage ${key}`);
      storageView = new TorchStorage(viewKey, kind, size, { storage: root, offset });
      views.set(viewKey, storageView);
    }
    return storageView;
  };
  const main = unpickleAt(ctx, buf, sysInfo.end, ctx.source, persistentLoad);
  const keyList = unpickleAt(ctx, buf, main.end, ctx.source);
  if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string')) {
    throw pthError(ctx, null, `the storage key list is a ${describePickleValue(keyList.value)}, expected a list of strings`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = keyList.end;
  for (const key of keyList.value as string[]) {
    const storage = roots.get(key);
    if (storage === undefined) throw pthError(ctx, null, `storage key ${key} is listed but no tensor refers to it`);
    if (pos + 8 > buf.length) throw pthError(ctx, null, `truncated: the size of storage ${key} is missing at byte ${pos}`);
    const count = view.getBigInt64(pos, !bigEndian);
    if (count !== BigInt(storage.numel)) {
      throw pthError(ctx, null, `storage ${key} at byte ${pos} declares ${count} elements, the pickle says ${storage.numel}`);
    }
    pos += 8;
    const nbytes = storage.numel * storage.kind.itemSize;
    if (pos + nbytes > buf.length) {
      throw pthError(ctx, null, `truncated: storage ${key} needs ${nbytes} bytes at byte ${pos}, only ${buf.length - pos} remain`);
    }
    storage.bind(buf.subarray(pos, pos + nbytes), bigEndian, false);
    pos += nbytes;
  }
  for (const storage of roots.values()) {
    if (!storage.bound) throw pthError(ctx, null, `storage ${storage.key} is used by a tensor but has no data in the file`);
  }
  return main.value;
}

/** Reads the top-level object of a checkpoint held in memory, with every tensor materialised. */
export function readPthObjectBuffer(bytes: Uint8Array, sourceName = '<buffer>'): PickleValue {
  const ctx: LoadContext = { source: sourceName, tensors: [] };
  // A plain Uint8Array view: Buffer#slice would not copy.
  const buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let value: PickleValue;
  if (startsWith(buf, ZIP_MAGIC) || startsWith(buf, ZIP_EMPTY_MAGIC)) {
    value = loadZip(ctx, buf);
  } else if (buf.length >= 2 && buf[0] === 0x80 && buf[1] <= 5) {
    value = loadLegacy(ctx, buf);
  } else if (buf.length >= 262 && String.fromCharCode(...buf.subarray(257, 262)) === 'ustar') {
    throw pthError(ctx, null, 'tar-format checkpoints (PyTorch < 0.1.10) are not supported');
  } else {
    const head = Array.from(buf.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw pthError(ctx, null, `not a PyTorch checkpoint: neither a zip archive nor a legacy pickle (first bytes: ${head || 'none, the file is empty'})`);
  }
  for (const tensor of ctx.tensors) tensor.materialise();
  return value;
}

/**
 * Reads the top-level object of a `.pth` file (e.g. a training checkpoint with `epoch`,
 * `optimizer`, ...), with every tensor materialised ({@link isPthTensor} recognises them).
 */
export function readPthObject(path: string): PickleValue {
  return readPthObjectBuffer(readFileBytes(path), path);
}

/**
 * Reads the state dict of a checkpoint held in memory; see {@link readPth}.
 * @param sourceName name used in error messages
 */
export function readPthBuffer(buf: Uint8Array, sourceName = '<buffer>'): StateDict {
  return extractStateDict(readPthObjectBuffer(buf, sourceName), sourceName);
}

/**
 * Reads the state dict of a `.pth` file (zip or legacy format), synchronously.
 *
 * The state dict is the top-level object when it is a dict of tensors, else the first of
 * {@link STATE_DICT_KEYS} (`state_dict`, `model`, `model_state_dict`, `best_state_dict`) that holds
 * a dict of tensors. A `module.` prefix (from `DataParallel`) is removed when every key has it.
 * @returns parameter name → tensor, in the file's order
 */
export function readPth(path: string): StateDict {
  return readPthBuffer(readFileBytes(path), path);
}

/**
 * Finds the state dict in an object returned by {@link readPthObject} (rules of {@link readPth});
 * the tensors are returned as plain `{shape, dtype, data}` objects sharing the data arrays.
 * @param sourceName name used in error messages
 */
export function extractStateDict(obj: PickleValue, sourceName = '<checkpoint>'): StateDict {
  let found: PickleDict | null = isTensorDict(obj) ? (obj as PickleDict) : null;
  if (found === null && obj instanceof PickleDict) {
    for (const key of STATE_DICT_KEYS) {
      const candidate = obj.get(key);
      if (candidate !== undefined && isTensorDict(candidate)) {
        found = candidate as PickleDict;
        break;
      }
    }
  }
  if (found === null) {
    const what =
      obj instanceof PickleDict
        ? `the top level is a dict with keys [${[...obj.keys()].map((k) => (typeof k === 'string' ? k : describePickleValue(k))).join(', ')}]` +
          ` and none of ${STATE_DICT_KEYS.join(', ')} holds a dict of tensors`
        : `the top level is a ${describePickleValue(obj)}`;
    throw new PthError(`${sourceName}: no state dict found: ${what}`);
  }
  const keys = [...found.keys()] as string[];
  const strip = keys.every((k) => k.startsWith('module.'));
  const out: StateDict = {};
  for (const key of keys) {
    const name = strip ? key.slice('module.'.length) : key;
    const { shape, dtype, data } = asPthTensor(found.get(key), `${sourceName}: ${key}`);
    const tensor: PthTensor = { shape, dtype, data };
    // defineProperty: a key such as `__proto__` stays an ordinary entry
    Object.defineProperty(out, name, { value: tensor, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A non-empty dict whose keys are strings and whose values are all tensors. */
function isTensorDict(v: PickleValue): boolean {
  if (!(v instanceof PickleDict) || v.size === 0) return false;
  for (const [k, t] of v) if (typeof k !== 'string' || !isPthTensor(t)) return false;
  return true;
}

function readFileBytes(path: string): Uint8Array {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch (err) {
    throw new PthError(`${path}: cannot read the checkpoint (${(err as Error).message})`);
  }
  if (!stat.isFile()) throw new PthError(`${path}: not a file`);
  return fs.readFileSync(path);
}

/** A copy of `src` with every `size`-byte element byte-reversed (big- ↔ little-endian). */
function swapBytes(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = src[i + size - 1 - j];
  }
  return out;
}

type NativeArray = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A typed view of `bytes` (aligned) in the storage's native element type. */
function nativeView(dtype: PthDtype, bytes: Uint8Array): NativeArray {
  const { buffer, byteOffset } = bytes;
  const n = bytes.byteLength / KINDS[dtype].itemSize;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n);
    case 'float64':
      return new Float64Array(buffer, byteOffset, n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'int32':
      return new Int32Array(buffer, byteOffset, n);
    case 'int16':
      return new Int16Array(buffer, byteOffset, n);
    case 'int8':
      return new Int8Array(buffer, byteOffset, n);
    default:
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/** An empty array of the same type as `like`, with `n` elements. */
function allocLike(like: NativeArray, n: number): NativeArray {
  const Ctor = like.constructor as new (length: number) => NativeArray;
  return new Ctor(n);
}

/** True when `stride` is the C-order stride of `shape` (size-1 dimensions are ignored). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/**
 * Gathers a strided view into a new C-order array.
 * @param src the whole storage `[numel]`
 * @param shape the view's shape `[d0, ...]`
 * @param stride element strides of `shape`
 * @returns `[prod(shape)]` elements in C order
 */
function gather(src: NativeArray, offset: number, shape: readonly number[], stride: readonly number[], numel: number): NativeArray {
  const out = allocLike(src, numel);
  const s = src as unknown as { [i: number]: number | bigint };
  const o = out as unknown as { [i: number]: number | bigint };
  const nd = shape.length;
  const index = new Array<number>(nd).fill(0);
  let at = offset;
  for (let i = 0; i < numel; i++) {
    o[i] = s[at];
    // advance the multi-index (last dimension fastest)
    for (let d = nd - 1; d >= 0; d--) {
      index[d]++;
      at += stride[d];
      if (index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

let halfTable: Float32Array | null = null;

/** float16 bit pattern → float32 value, for all 65536 patterns. */
function halfToFloatTable(): Float32Array {
  if (halfTable !== null) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = table;
  return table;
}

/**
 * The C-order data of a tensor over `storage`, converted as in the table of this file's header.
 * @param shape the tensor's shape `[d0, ...]`
 * @param stride element strides of `shape`
 * @returns `[prod(shape)]` elements
 */
function materialise(storage: TorchStorage, offset: number, shape: readonly number[], stride: readonly number[], dtype: PthDtype): PthTensorData {
  const numel = shape.reduce((a, b) => a * b, 1);
  const whole = nativeView(dtype, storage.bytes());
  let values: NativeArray;
  let fresh: boolean;
  if (isContiguous(shape, stride)) {
    values = whole.subarray(offset, offset + numel);
    fresh = offset === 0 && numel === whole.length && storage.claimWhole();
  } else {
    values = gather(whole, offset, shape, stride, numel);
    fresh = true;
  }
  switch (dtype) {
    case 'float64':
      return new Float32Array(values as Float64Array);
    case 'float16': {
      const table = halfToFloatTable();
      const bits = values as Uint16Array;
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = table[bits[i]];
      return out;
    }
    case 'bfloat16': {
      const bits = values as Uint16Array;
      const out = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = bits[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'bool': {
      const bytes = values as Uint8Array;
      const out = new Uint8Array(numel);
      for (let i = 0; i < numel; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      return out;
    }
    default:
      return (fresh ? values : values.slice()) as PthTensorData;
  }
}

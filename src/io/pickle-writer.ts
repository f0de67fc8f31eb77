/**
 * A small Python pickle writer: each method appends one opcode with its argument, `value` appends a
 * whole simple value. The `.pth` writer (`./pth-writer`) builds state dicts with it, and the tests
 * build well-formed and hostile streams with it (`raw` appends any bytes).
 *
 * Every method but `raw` writes an opcode that the restricted reader of `./pickle` accepts.
 */

/** A Python tuple for {@link PickleWriter.value}. */
export class Tuple {
  constructor(readonly items: WritableValue[]) {}
}

/** A Python float for {@link PickleWriter.value} (a plain integral `number` is written as an int). */
export class Float {
  constructor(readonly value: number) {}
}

/** Values {@link PickleWriter.value} can write. Objects are written as dicts in key order. */
export type WritableValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Float
  | Tuple
  | WritableValue[]
  | { [key: string]: WritableValue };

/** Appends pickle opcodes to a growing byte stream. */
export class PickleWriter {
  private readonly bytes: number[] = [];

  /** The stream written so far. */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  /** Appends raw bytes (e.g. an opcode that this writer has no method for). */
  raw(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }

  private u32(n: number): this {
    return this.raw(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  private u64(n: bigint): this {
    for (let i = 0n; i < 8n; i++) this.bytes.push(Number((n >> (8n * i)) & 0xffn));
    return this;
  }

  proto(version = 2): this {
    return this.raw(0x80, version);
  }

  stop(): this {
    return this.raw(0x2e);
  }

  mark(): this {
    return this.raw(0x28);
  }

  none(): this {
    return this.raw(0x4e);
  }

  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }

  /** BININT1 / BININT2 / BININT / LONG1, whichever fits. */
  int(v: number | bigint): this {
    const n = BigInt(v);
    if (n >= 0n && n < 256n) return this.raw(0x4b, Number(n));
    if (n >= 0n && n < 65536n) return this.raw(0x4d, Number(n & 0xffn), Number(n >> 8n));
    if (n >= -(2n ** 31n) && n < 2n ** 31n) return this.raw(0x4a).u32(Number(BigInt.asUintN(32, n)));
    const out: number[] = [];
    let rest = n;
    // little-endian two's complement, shortest form
    for (;;) {
      const byte = Number(rest & 0xffn);
      out.push(byte);
      rest >>= 8n;
      if ((rest === 0n && (byte & 0x80) === 0) || (rest === -1n && (byte & 0x80) !== 0)) break;
    }
    return this.raw(0x8a, out.length, ...out);
  }

  /** BINFLOAT (big-endian double). */
  float(v: number): this {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, v, false);
    return this.raw(0x47, ...new Uint8Array(view.buffer));
  }

  /** BINUNICODE (or SHORT_BINUNICODE when `short`). */
  str(s: string, short = false): this {
    const b = new TextEncoder().encode(s);
    if (short) return this.raw(0x8c, b.length, ...b);
    return this.raw(0x58).u32(b.length).raw(...b);
  }

  /** BINUNICODE8 with a declared length (which may lie) followed by `body`. */
  str8(declaredLength: bigint, body: Uint8Array = new Uint8Array(0)): this {
    return this.raw(0x8d).u64(declaredLength).raw(...body);
  }

  /** SHORT_BINBYTES / BINBYTES. */
  bytesValue(b: Uint8Array): this {
    if (b.length < 256) return this.raw(0x43, b.length, ...b);
    return this.raw(0x42).u32(b.length).raw(...b);
  }

  /** GLOBAL 'module\nname\n'. */
  global(module: string, name: string): this {
    return this.raw(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }

  /** STACK_GLOBAL (module and name must be on the stack). */
  stackGlobal(): this {
    return this.raw(0x93);
  }

  emptyTuple(): this {
    return this.raw(0x29);
  }

  emptyList(): this {
    return this.raw(0x5d);
  }

  emptyDict(): this {
    return this.raw(0x7d);
  }

  /** TUPLE1/2/3 for `n` ≤ 3 items on the stack, else TUPLE (needs a MARK). */
  tupleN(n: 1 | 2 | 3): this {
    return this.raw(0x84 + n);
  }

  tuple(): this {
    return this.raw(0x74);
  }

  list(): this {
    return this.raw(0x6c);
  }

  dict(): this {
    return this.raw(0x64);
  }

  append(): this {
    return this.raw(0x61);
  }

  appends(): this {
    return this.raw(0x65);
  }

  setitem(): this {
    return this.raw(0x73);
  }

  setitems(): this {
    return this.raw(0x75);
  }

  binput(i: number): this {
    return i < 256 ? this.raw(0x71, i) : this.raw(0x72).u32(i);
  }

  binget(i: number): this {
    return i < 256 ? this.raw(0x68, i) : this.raw(0x6a).u32(i);
  }

  memoize(): this {
    return this.raw(0x94);
  }

  reduce(): this {
    return this.raw(0x52);
  }

  build(): this {
    return this.raw(0x62);
  }

  binpersid(): this {
    return this.raw(0x51);
  }

  /** Appends a simple value: ints, floats (`Float`), strings, lists, tuples (`Tuple`), dicts (plain objects). */
  value(v: WritableValue): this {
    if (v === null) return this.none();
    if (typeof v === 'boolean') return this.bool(v);
    if (typeof v === 'bigint') return this.int(v);
    if (typeof v === 'number') return Number.isInteger(v) ? this.int(v) : this.float(v);
    if (typeof v === 'string') return this.str(v);
    if (v instanceof Float) return this.float(v.value);
    if (v instanceof Tuple) {
      this.mark();
      for (const item of v.items) this.value(item);
      return this.tuple();
    }
    if (Array.isArray(v)) {
      this.emptyList();
      if (v.length === 0) return this;
      this.mark();
      for (const item of v) this.value(item);
      return this.appends();
    }
    this.emptyDict();
    const entries = Object.entries(v);
    if (entries.length === 0) return this;
    this.mark();
    for (const [k, item] of entries) this.str(k).value(item);
    return this.setitems();
  }
}

/** A tensor reference as `torch.save` pickles it, for {@link writeTensor}. */
export interface TensorSpec {
  /** Storage class name in `torch`, e.g. `FloatStorage`. */
  storageType: string;
  /** Storage key (the zip entry `data/<key>` or a legacy storage key). */
  key: string;
  /** Elements in the storage. */
  numel: number;
  /** Element offset of the tensor in its storage. */
  offset: number;
  shape: number[];
  stride: number[];
  /** Legacy storage view `(view_key, offset, size)`, written as the 6th persistent-id item. */
  view?: [string, number, number];
}

/** Appends `torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
export function writeTensor(w: PickleWriter, t: TensorSpec): PickleWriter {
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel);
  if (t.view !== undefined) w.value(new Tuple(t.view));
  w.tuple().binpersid();
  w.int(t.offset).value(new Tuple(t.shape)).value(new Tuple(t.stride)).bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  return w.tuple().reduce();
}

/** C-order strides of `shape`. */
export function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  return stride;
}

/**
 * A restricted Python unpickler for PyTorch checkpoints.
 *
 * It reads the binary pickle protocols 2–5 as `torch.save` writes them and builds plain
 * TypeScript values. It never executes anything: a `GLOBAL`/`STACK_GLOBAL` resolves only through
 * the caller's allow-list (a map from `module.name` to a TypeScript factory), `BUILD` is honoured
 * only on dicts (attribute state such as an `OrderedDict`'s `_metadata`) and on objects that
 * declare a `setState` method, and persistent ids go to a caller callback. Every other opcode,
 * global or construct is refused with a {@link PickleError} / {@link PickleSecurityError} that
 * names the opcode or global and its byte offset.
 *
 * Value mapping (Python → TypeScript):
 * - `None` → `null`; `bool` → `boolean`; `float` → `number`;
 * - `int` → `number` when it is a safe integer (|v| ≤ 2^53 − 1), else `bigint`
 *   (an `int` and a `float` of equal value are therefore indistinguishable);
 * - `str` → `string`; `bytes`/`bytearray` → `Uint8Array`;
 * - `list` → `PickleValue[]`; `tuple` → {@link PickleTuple}; `dict`/`OrderedDict` → {@link PickleDict};
 * - objects produced by allow-listed factories → subclasses of {@link PickleObject}.
 */

/** A key of a {@link PickleDict}; strings, numbers, bigints, booleans and null compare by value. */
export type PickleKey = PickleValue;

/** Any value an unpickled stream can hold. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | PickleObject;

/** A Python tuple (kept distinct from a list). */
export class PickleTuple {
  constructor(
    /** The tuple's elements in order. */
    readonly items: readonly PickleValue[],
  ) {}

  get length(): number {
    return this.items.length;
  }
}

/** A Python `dict` or `collections.OrderedDict`; iteration follows insertion order. */
export class PickleDict extends Map<PickleKey, PickleValue> {
  /** `true` for a `collections.OrderedDict`. */
  ordered = false;
  /**
   * Instance attributes restored by `BUILD` (e.g. `_metadata` of a state dict's `OrderedDict`).
   * They are kept apart from the dict's items.
   */
  readonly attributes = new Map<string, PickleValue>();
}

/**
 * Base of every object that an allow-listed factory (or a persistent-id callback) returns.
 * Subclasses may implement `setState` to accept a pickle `BUILD`; without it `BUILD` is refused.
 */
export abstract class PickleObject {
  /** Python-style name of what this object stands for, used in error messages. */
  abstract readonly pickleType: string;

  /** Receives the state of a `BUILD`; absent means `BUILD` on this object is refused. */
  setState?(state: PickleValue, site: PickleSite): void;
}

/** A global (`module.name`) resolved through the allow-list; `REDUCE`/`NEWOBJ` call its factory. */
export class PickleGlobal extends PickleObject {
  readonly pickleType: string;

  constructor(
    /** Python module, e.g. `torch._utils`. */
    readonly module: string,
    /** Attribute name inside the module, e.g. `_rebuild_tensor_v2`. */
    readonly name: string,
    /** The factory called with the argument tuple; `null` means the global may only be referenced. */
    readonly factory: PickleFactory | null,
  ) {
    super();
    this.pickleType = `${module}.${name}`;
  }

  /** `module.name`. */
  get qualifiedName(): string {
    return this.pickleType;
  }
}

/** Where in the stream something happens, for error messages. */
export interface PickleSite {
  /** Byte offset of the opcode in the stream. */
  offset: number;
  /** Opcode name, e.g. `REDUCE`. */
  opcode: string;
  /** Name of the source (usually a file path) for error messages. */
  sourceName: string;
}

/**
 * Builds the value of `module.name(*args)`.
 * @param args the positional arguments (the pickled argument tuple's items)
 * @param site where the call happens, to name it in errors
 */
export type PickleFactory = (args: readonly PickleValue[], site: PickleSite) => PickleValue;

/**
 * The allow-list of globals: `module.name` → factory, or `null` for a global that may be referenced
 * as a value (e.g. a storage type passed inside a persistent id) but not called.
 */
export type PickleAllowList = ReadonlyMap<string, PickleFactory | null>;

/** Options of {@link Unpickler} and {@link unpickle}. */
export interface UnpickleOptions {
  /** Globals that may be resolved; anything else is a {@link PickleSecurityError}. Default: none. */
  globals?: PickleAllowList;
  /** Resolves a `BINPERSID` id; without it persistent ids are refused. */
  persistentLoad?: (pid: PickleValue, site: PickleSite) => PickleValue;
  /** Name of the source for error messages (e.g. `weights.pth:weights/data.pkl`). Default `<pickle>`. */
  sourceName?: string;
}

/** A malformed, truncated or unsupported pickle stream. */
export class PickleError extends Error {
  constructor(
    message: string,
    /** Byte offset of the faulty opcode (or of the truncation). */
    readonly offset: number,
    /** Name of the faulty opcode, when known. */
    readonly opcode?: string,
  ) {
    super(message);
    this.name = 'PickleError';
  }
}

/** A stream that asks for something that is not allowed (a global off the allow-list, a forbidden `BUILD`). */
export class PickleSecurityError extends PickleError {
  constructor(message: string, offset: number, opcode?: string) {
    super(message, offset, opcode);
    this.name = 'PickleSecurityError';
  }
}

/** Opcodes understood by this reader (value = byte). */
const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  BINFLOAT: 0x47, // G
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINSTRING: 0x54, // T
  SHORT_BINSTRING: 0x55, // U
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  DICT: 0x64, // d
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  LIST: 0x6c, // l
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  EMPTY_TUPLE: 0x29, // )
  BINBYTES: 0x42, // B
  SHORT_BINBYTES: 0x43, // C
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
} as const;

/** Names of all pickle opcodes (including refused ones), for error messages. */
const OPCODE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  ...Object.entries(OP).map(([name, code]): [number, string] => [code, name]),
  // Known but refused: text-protocol opcodes and constructs a checkpoint never needs.
  [0x49, 'INT'],
  [0x4c, 'LONG'],
  [0x46, 'FLOAT'],
  [0x53, 'STRING'],
  [0x56, 'UNICODE'],
  [0x50, 'PERSID'],
  [0x70, 'PUT'],
  [0x67, 'GET'],
  [0x69, 'INST'],
  [0x6f, 'OBJ'],
  [0x82, 'EXT1'],
  [0x83, 'EXT2'],
  [0x84, 'EXT4'],
  [0x8f, 'EMPTY_SET'],
  [0x90, 'ADDITEMS'],
  [0x91, 'FROZENSET'],
  [0x92, 'NEWOBJ_EX'],
  [0x97, 'NEXT_BUFFER'],
  [0x98, 'READONLY_BUFFER'],
]);

const HIGHEST_PROTOCOL = 5;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function opcodeName(code: number): string {
  return OPCODE_NAMES.get(code) ?? `0x${code.toString(16).padStart(2, '0')}`;
}

/** Short description of a value's type for error messages. */
export function describePickleValue(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PickleTuple) return 'tuple';
  if (v instanceof PickleDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PickleObject) return v.pickleType;
  if (v instanceof Uint8Array) return 'bytes';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    default:
      return 'str';
  }
}

/** The stacks and memo of one {@link Unpickler.load}, and the opcode being run. */
class LoadState {
  stack: PickleValue[] = [];
  readonly metastack: PickleValue[][] = [];
  readonly memo = new Map<number, PickleValue>();
  /** Where the current opcode is. */
  site: PickleSite = { offset: 0, opcode: '', sourceName: '' };
  /** Set by STOP: the pickle's value. */
  done = false;
  result: PickleValue = null;

  /** Throws a {@link PickleError} naming the current opcode and its offset. */
  fail(what: string): never {
    const { offset, opcode, sourceName } = this.site;
    throw new PickleError(`${sourceName}: ${opcode} at byte ${offset}: ${what}`, offset, opcode);
  }

  push(v: PickleValue): void {
    this.stack.push(v);
  }

  pop(): PickleValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop() as PickleValue;
  }

  /** The top `n` values, deepest first. */
  popN(n: number): PickleValue[] {
    const items = new Array<PickleValue>(n);
    for (let i = n - 1; i >= 0; i--) items[i] = this.pop();
    return items;
  }

  top(): PickleValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  mark(): void {
    this.metastack.push(this.stack);
    this.stack = [];
  }

  /** The values pushed since the last MARK; the stack before it becomes current again. */
  popMark(): PickleValue[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (prev === undefined) this.fail('no MARK on the stack');
    this.stack = prev as PickleValue[];
    return items;
  }

  /** POP: the top value, or the values since the last MARK when the stack is empty. */
  discard(): void {
    if (this.stack.length > 0) this.stack.pop();
    else this.popMark();
  }

  memoized(index: number): PickleValue {
    if (!this.memo.has(index)) this.fail(`memo key ${index} is not defined`);
    return this.memo.get(index) as PickleValue;
  }

  stop(): void {
    if (this.metastack.length !== 0) this.fail('unbalanced MARK at end of pickle');
    if (this.stack.length !== 1) this.fail(`expected exactly one value on the stack, found ${this.stack.length}`);
    this.result = this.stack[0];
    this.done = true;
  }
}

/** APPEND / APPENDS: values onto the list on top of the stack. */
function opAppend(s: LoadState, items: PickleValue[]): void {
  const list = s.top();
  if (!Array.isArray(list)) s.fail(`cannot append to ${describePickleValue(list)}`);
  for (const v of items) (list as PickleValue[]).push(v);
}

/**
 * Reads one pickle (up to its `STOP`) from a byte stream. Several pickles written back to back
 * (as in a legacy `torch.save` file) are read by calling {@link Unpickler.load} repeatedly.
 */
export class Unpickler {
  private pos: number;
  private readonly view: DataView;
  private readonly globals: PickleAllowList;
  private readonly persistentLoad?: (pid: PickleValue, site: PickleSite) => PickleValue;
  private readonly sourceName: string;

  /**
   * @param data the bytes holding the pickle(s)
   * @param options allow-list, persistent-id callback and source name
   * @param start byte offset of the first opcode
   */
  private readonly data: Uint8Array;

  constructor(
    data: Uint8Array,
    options: UnpickleOptions = {},
    start = 0,
  ) {
    // A plain Uint8Array view: Buffer#slice would not copy.
    this.data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.pos = start;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.globals = options.globals ?? new Map<string, PickleFactory | null>();
    this.persistentLoad = options.persistentLoad;
    this.sourceName = options.sourceName ?? '<pickle>';
  }

  /** Byte offset of the next opcode (after a `load`, the byte after its `STOP`). */
  get position(): number {
    return this.pos;
  }

  /** Reads one pickle and returns its value; throws {@link PickleError} on any fault. */
  load(): PickleValue {
    const state = new LoadState();
    const data = this.data;
    const src = this.sourceName;
    for (;;) {
      const at = this.pos;
      if (at >= data.length) {
        throw new PickleError(`${src}: pickle truncated at byte ${at}: no STOP opcode`, at);
      }
      const code = data[at];
      this.pos = at + 1;
      const name = opcodeName(code);
      state.site = { offset: at, opcode: name, sourceName: src };
      const handler = Unpickler.handlers.get(code);
      if (handler === undefined) {
        if (OPCODE_NAMES.has(code)) {
          throw new PickleError(`${src}: opcode ${name} at byte ${at} is not supported (not used by torch.save checkpoints)`, at, name);
        }
        throw new PickleError(
          `${src}: unknown opcode 0x${code.toString(16).padStart(2, '0')} at byte ${at}: not a pickle, or a corrupt one`,
          at,
          name,
        );
      }
      handler(this, state);
      if (state.done) return state.result;
    }
  }

  /** The handler of each accepted opcode. */
  private static readonly handlers: ReadonlyMap<number, (u: Unpickler, s: LoadState) => void> = new Map<
    number,
    (u: Unpickler, s: LoadState) => void
  >([
    // framing and stack control
    [OP.PROTO, (u, s) => u.opProto(s)],
    [OP.FRAME, (u, s) => void u.readLength8(s.site)], // frame size: a hint for buffered readers, the bytes follow inline
    [OP.STOP, (_u, s) => s.stop()],
    [OP.MARK, (_u, s) => s.mark()],
    [OP.POP, (_u, s) => s.discard()],
    [OP.POP_MARK, (_u, s) => void s.popMark()],
    [OP.DUP, (_u, s) => s.push(s.top())],
    // constants and numbers
    [OP.NONE, (_u, s) => s.push(null)],
    [OP.NEWTRUE, (_u, s) => s.push(true)],
    [OP.NEWFALSE, (_u, s) => s.push(false)],
    [OP.BININT, (u, s) => s.push(u.readInt32(s.site))],
    [OP.BININT1, (u, s) => s.push(u.readU8(s.site))],
    [OP.BININT2, (u, s) => s.push(u.readUint16(s.site))],
    [OP.LONG1, (u, s) => s.push(u.readLong(u.readU8(s.site), s.site))],
    [OP.LONG4, (u, s) => s.push(u.readLong(u.readSignedLength4(s), s.site))],
    [OP.BINFLOAT, (u, s) => s.push(u.readFloat64(s.site))],
    // strings and bytes
    [OP.SHORT_BINUNICODE, (u, s) => s.push(u.readText(u.readU8(s.site), s.site))],
    [OP.BINUNICODE, (u, s) => s.push(u.readText(u.readLength4(s.site), s.site))],
    [OP.BINUNICODE8, (u, s) => s.push(u.readText(u.readLength8(s.site), s.site))],
    [OP.SHORT_BINSTRING, (u, s) => s.push(u.readText(u.readU8(s.site), s.site))],
    [OP.BINSTRING, (u, s) => s.push(u.readText(u.readSignedLength4(s), s.site))],
    [OP.SHORT_BINBYTES, (u, s) => s.push(u.readBytes(u.readU8(s.site), s.site).slice())],
    [OP.BINBYTES, (u, s) => s.push(u.readBytes(u.readLength4(s.site), s.site).slice())],
    [OP.BINBYTES8, (u, s) => s.push(u.readBytes(u.readLength8(s.site), s.site).slice())],
    [OP.BYTEARRAY8, (u, s) => s.push(u.readBytes(u.readLength8(s.site), s.site).slice())],
    // containers
    [OP.EMPTY_LIST, (_u, s) => s.push([])],
    [OP.EMPTY_TUPLE, (_u, s) => s.push(new PickleTuple([]))],
    [OP.EMPTY_DICT, (_u, s) => s.push(new PickleDict())],
    [OP.LIST, (_u, s) => s.push(s.popMark())], // popMark first: it switches to the outer stack
    [OP.TUPLE, (_u, s) => s.push(new PickleTuple(s.popMark()))],
    [OP.TUPLE1, (_u, s) => s.push(new PickleTuple(s.popN(1)))],
    [OP.TUPLE2, (_u, s) => s.push(new PickleTuple(s.popN(2)))],
    [OP.TUPLE3, (_u, s) => s.push(new PickleTuple(s.popN(3)))],
    [OP.DICT, (u, s) => u.opDict(s)],
    [OP.APPEND, (_u, s) => opAppend(s, [s.pop()])],
    [OP.APPENDS, (_u, s) => opAppend(s, s.popMark())],
    [OP.SETITEM, (u, s) => u.opSetItems(s, s.popN(2), 'set an item on')],
    [OP.SETITEMS, (u, s) => u.opSetItems(s, s.popMark(), 'set items on')],
    // memo
    [OP.BINPUT, (u, s) => s.memo.set(u.readU8(s.site), s.top())],
    [OP.LONG_BINPUT, (u, s) => s.memo.set(u.readLength4(s.site), s.top())],
    [OP.MEMOIZE, (_u, s) => s.memo.set(s.memo.size, s.top())],
    [OP.BINGET, (u, s) => s.push(s.memoized(u.readU8(s.site)))],
    [OP.LONG_BINGET, (u, s) => s.push(s.memoized(u.readLength4(s.site)))],
    // globals, calls, object state and persistent ids
    [OP.GLOBAL, (u, s) => u.opGlobal(s)],
    [OP.STACK_GLOBAL, (u, s) => u.opStackGlobal(s)],
    [OP.REDUCE, (u, s) => u.opCall(s)],
    [OP.NEWOBJ, (u, s) => u.opCall(s)],
    [OP.BUILD, (u, s) => u.opBuild(s)],
    [OP.BINPERSID, (u, s) => u.opPersistentId(s)],
  ]);

  private opProto(s: LoadState): void {
    const proto = this.readU8(s.site);
    if (proto > HIGHEST_PROTOCOL) s.fail(`unsupported pickle protocol ${proto} (highest known ${HIGHEST_PROTOCOL})`);
  }

  private opDict(s: LoadState): void {
    const items = s.popMark();
    const dict = new PickleDict();
    this.setItems(dict, items, s.site);
    s.push(dict);
  }

  /** SETITEM / SETITEMS: key/value pairs into the dict on top of the stack. */
  private opSetItems(s: LoadState, items: PickleValue[], what: string): void {
    const dict = s.top();
    if (!(dict instanceof PickleDict)) s.fail(`cannot ${what} ${describePickleValue(dict)}`);
    this.setItems(dict as PickleDict, items, s.site);
  }

  private opGlobal(s: LoadState): void {
    const module = this.readLine(s.site);
    const attr = this.readLine(s.site);
    s.push(this.resolveGlobal(module, attr, s.site));
  }

  private opStackGlobal(s: LoadState): void {
    const [module, attr] = s.popN(2);
    if (typeof module !== 'string' || typeof attr !== 'string') {
      s.fail(`expected two strings (module, name), got ${describePickleValue(module)} and ${describePickleValue(attr)}`);
    }
    s.push(this.resolveGlobal(module as string, attr as string, s.site));
  }

  /** REDUCE / NEWOBJ: an allow-listed global called with an argument tuple. */
  private opCall(s: LoadState): void {
    const [callable, args] = s.popN(2);
    s.push(this.call(callable, args, s.site));
  }

  private opBuild(s: LoadState): void {
    const state = s.pop();
    this.build(s.top(), state, s.site);
  }

  private opPersistentId(s: LoadState): void {
    const pid = s.pop();
    const { offset, opcode, sourceName } = s.site;
    if (this.persistentLoad === undefined) {
      throw new PickleSecurityError(`${sourceName}: BINPERSID at byte ${offset}: persistent ids are not accepted by this reader`, offset, opcode);
    }
    s.push(this.persistentLoad(pid, s.site));
  }

  /** A signed 32-bit length (BINSTRING, LONG4); negative is an error. */
  private readSignedLength4(s: LoadState): number {
    const n = this.readInt32(s.site);
    if (n < 0) s.fail(`negative length ${n}`);
    return n;
  }

  private readInt32(site: PickleSite): number {
    this.need(4, site);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private readUint16(site: PickleSite): number {
    this.need(2, site);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  /** A big-endian IEEE double (BINFLOAT). */
  private readFloat64(site: PickleSite): number {
    this.need(8, site);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }

  /** `n` bytes decoded as UTF-8. */
  private readText(n: number, site: PickleSite): string {
    return this.decodeUtf8(this.readBytes(n, site), site);
  }

  private resolveGlobal(module: string, attr: string, site: PickleSite): PickleGlobal {
    const qualified = `${module}.${attr}`;
    if (!this.globals.has(qualified)) {
      throw new PickleSecurityError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: global '${qualified}' is not allowed ` +
          `(allowed: ${[...this.globals.keys()].join(', ') || 'none'})`,
        site.offset,
        site.opcode,
      );
    }
    return new PickleGlobal(module, attr, this.globals.get(qualified) ?? null);
  }

  private call(callable: PickleValue, args: PickleValue, site: PickleSite): PickleValue {
    if (!(callable instanceof PickleGlobal)) {
      throw new PickleSecurityError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: cannot call a ${describePickleValue(callable)} ` +
          `(only allow-listed globals are callable)`,
        site.offset,
        site.opcode,
      );
    }
    if (callable.factory === null) {
      throw new PickleSecurityError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: global '${callable.qualifiedName}' may be referenced but not called`,
        site.offset,
        site.opcode,
      );
    }
    if (!(args instanceof PickleTuple)) {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: arguments of '${callable.qualifiedName}' ` +
          `must be a tuple, got ${describePickleValue(args)}`,
        site.offset,
        site.opcode,
      );
    }
    return callable.factory(args.items, site);
  }

  private build(obj: PickleValue, state: PickleValue, site: PickleSite): void {
    if (obj instanceof PickleDict) {
      // Default __setstate__ of a dict subclass instance: state is a dict of attributes, or a
      // tuple (attribute dict | None, slot dict | None). Attributes never touch the items.
      const parts = state instanceof PickleTuple && state.length === 2 ? state.items : [state];
      for (const part of parts) {
        if (part === null) continue;
        if (!(part instanceof PickleDict)) {
          throw new PickleError(
            `${site.sourceName}: BUILD at byte ${site.offset}: state of a dict must be a dict of attributes, ` +
              `got ${describePickleValue(part)}`,
            site.offset,
            site.opcode,
          );
        }
        for (const [k, v] of part) {
          if (typeof k !== 'string') {
            throw new PickleError(
              `${site.sourceName}: BUILD at byte ${site.offset}: attribute names must be strings, got ${describePickleValue(k)}`,
              site.offset,
              site.opcode,
            );
          }
          obj.attributes.set(k, v);
        }
      }
      return;
    }
    if (obj instanceof PickleObject && obj.setState !== undefined) {
      obj.setState(state, site);
      return;
    }
    throw new PickleSecurityError(
      `${site.sourceName}: BUILD at byte ${site.offset}: setting the state of a ${describePickleValue(obj)} is not allowed`,
      site.offset,
      site.opcode,
    );
  }

  private setItems(dict: PickleDict, items: readonly PickleValue[], site: PickleSite): void {
    if (items.length % 2 !== 0) {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: odd number of items (${items.length}) for key/value pairs`,
        site.offset,
        site.opcode,
      );
    }
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (Array.isArray(key) || key instanceof PickleDict) {
        throw new PickleError(
          `${site.sourceName}: ${site.opcode} at byte ${site.offset}: unhashable dict key of type ${describePickleValue(key)}`,
          site.offset,
          site.opcode,
        );
      }
      dict.set(key, items[i + 1]);
    }
  }

  /** Throws unless `n` more bytes are available. */
  private need(n: number, site: PickleSite): void {
    const remaining = this.data.length - this.pos;
    if (n > remaining) {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: truncated stream: needs ${n} bytes, ${remaining} remain`,
        site.offset,
        site.opcode,
      );
    }
  }

  private readU8(site: PickleSite): number {
    this.need(1, site);
    return this.data[this.pos++];
  }

  /** An unsigned 32-bit length or index. */
  private readLength4(site: PickleSite): number {
    this.need(4, site);
    const n = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }

  /** An unsigned 64-bit length; lengths beyond the stream are reported by `readBytes`. */
  private readLength8(site: PickleSite): number {
    this.need(8, site);
    const n = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    const remaining = this.data.length - this.pos;
    if (n > BigInt(remaining)) {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: declared length ${n} exceeds the ${remaining} bytes that remain`,
        site.offset,
        site.opcode,
      );
    }
    return Number(n);
  }

  /** `n` bytes as a view into the stream (checked against the remaining length first). */
  private readBytes(n: number, site: PickleSite): Uint8Array {
    const remaining = this.data.length - this.pos;
    if (n > remaining) {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: declared length ${n} exceeds the ${remaining} bytes that remain`,
        site.offset,
        site.opcode,
      );
    }
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A newline-terminated ASCII line (the text arguments of `GLOBAL`). */
  private readLine(site: PickleSite): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1024) {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: truncated stream: no newline-terminated name`,
        site.offset,
        site.opcode,
      );
    }
    const line = this.decodeUtf8(this.data.subarray(this.pos, end), site);
    this.pos = end + 1;
    return line;
  }

  /** A little-endian two's-complement integer of `n` bytes (`LONG1`/`LONG4`). */
  private readLong(n: number, site: PickleSite): number | bigint {
    const bytes = this.readBytes(n, site);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
    if (bytes[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private decodeUtf8(bytes: Uint8Array, site: PickleSite): string {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: string is not valid UTF-8`,
        site.offset,
        site.opcode,
      );
    }
  }
}

/**
 * Unpickles the first pickle in `data` (bytes after its `STOP` are ignored).
 * @param data the pickle bytes
 * @param options allow-list, persistent-id callback and source name
 */
export function unpickle(data: Uint8Array, options: UnpickleOptions = {}): PickleValue {
  return new Unpickler(data, options).load();
}

/** Factory of `collections.OrderedDict()` / `OrderedDict(items)` (items: a list of 2-tuples). */
export const orderedDictFactory: PickleFactory = (args, site) => {
  const dict = new PickleDict();
  dict.ordered = true;
  if (args.length === 0) return dict;
  const items = args[0];
  if (args.length === 1 && Array.isArray(items)) {
    for (const pair of items) {
      if (!(pair instanceof PickleTuple) || pair.length !== 2) {
        throw new PickleError(
          `${site.sourceName}: ${site.opcode} at byte ${site.offset}: OrderedDict items must be (key, value) tuples`,
          site.offset,
          site.opcode,
        );
      }
      dict.set(pair.items[0], pair.items[1]);
    }
    return dict;
  }
  throw new PickleError(
    `${site.sourceName}: ${site.opcode} at byte ${site.offset}: unsupported OrderedDict arguments (${args.map(describePickleValue).join(', ')})`,
    site.offset,
    site.opcode,
  );
};

/**
 * Factory of `_codecs.encode(text, 'latin1')`, which protocol-2 pickles use for `bytes`.
 * Only the latin-1 encoding is accepted.
 */
export const codecsEncodeFactory: PickleFactory = (args, site) => {
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1' && encoding !== 'iso-8859-1')) {
    throw new PickleError(
      `${site.sourceName}: ${site.opcode} at byte ${site.offset}: _codecs.encode is accepted only as encode(str, 'latin1')`,
      site.offset,
      site.opcode,
    );
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) {
      throw new PickleError(
        `${site.sourceName}: ${site.opcode} at byte ${site.offset}: character U+${c.toString(16)} is not latin-1`,
        site.offset,
        site.opcode,
      );
    }
    out[i] = c;
  }
  return out;
};

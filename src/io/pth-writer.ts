/**
 * Writes a state dict as `torch.save(state_dict, f)` writes it (the zip format of PyTorch ≥ 1.6), so
 * that `torch.load` and the official `load_state_dict(…, strict=True)` take it:
 *
 * - `archive/data.pkl` — a protocol-2 pickle of a `collections.OrderedDict` whose values are
 *   `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`, each storage a
 *   persistent id `('storage', torch.FloatStorage | torch.LongStorage, key, 'cpu', numel)`, followed by
 *   the `_metadata` attribute (an empty `OrderedDict`) restored by `BUILD`;
 * - `archive/byteorder` — `little`;
 * - `archive/data/<key>` — each tensor's storage, raw little-endian, keys `0, 1, …` in state-dict
 *   order, every entry stored (not compressed) with its data aligned to 64 bytes as torch aligns it
 *   (padding in a `FB` extra field);
 * - `archive/version` and `archive/.data/version` — the archive format version, `3`.
 *
 * Only opcodes that the restricted reader of `./pickle` accepts are written, so {@link readPth}
 * reads the file back bit-exact.
 */
import { zipSync, type Zippable } from 'fflate';
import { writeFileAtomic } from './checkpoint';
import { PickleWriter, WritableValue, contiguousStride } from './pickle-writer';
import type { PthDtype, PthTensor, StateDict } from './pth';

/** Alignment of storage data inside the archive (torch's `kFieldAlignment`). */
const STORAGE_ALIGNMENT = 64;
/** Zip extra-field id torch pads with ('F', 'B'). */
const PADDING_FIELD_ID = 0x4246;
/** Size of a zip local file header before its name. */
const LOCAL_HEADER_BYTES = 30;
/** Items per `SETITEMS`, as Python's pickler batches them. */
const PICKLE_BATCH = 1000;
/** Version of the archive layout torch writes (`archive/version`). */
const ARCHIVE_VERSION = '3\n';
/** A fixed modification time, so that the same weights give the same bytes. */
const ARCHIVE_MTIME = new Date(Date.UTC(2000, 0, 1));

/** `torch.<Name>Storage` of each element type this writer supports. */
const STORAGE_OF: Partial<Record<PthDtype, string>> = {
  float32: 'FloatStorage',
  int64: 'LongStorage',
};

/** Options of {@link pthBytes}. */
export interface PthWriteOptions {
  /** Folder inside the zip (torch uses `archive`, or the file stem in newer versions). Default `archive`. */
  archiveName?: string;
  /**
   * Write a checkpoint dict `{...beside, [stateDictKey]: state dict}` instead of the bare state dict,
   * as training code saves one (mmpose: `{'meta': …, 'state_dict': …}`).
   */
  stateDictKey?: string;
  /** Plain values written before the state dict when `stateDictKey` is set (`meta`, `epoch`, …). */
  beside?: { [key: string]: WritableValue };
}

/** Raw little-endian bytes of a tensor's data. */
function storageBytes(key: string, t: PthTensor): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new Error(`pth writer: ${key} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  if (t.dtype === 'float32' && t.data instanceof Float32Array) return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (t.dtype === 'int64' && t.data instanceof BigInt64Array) return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  throw new Error(
    `pth writer: ${key} is ${t.dtype} held in a ${t.data.constructor.name}; only float32 (Float32Array) and int64 (BigInt64Array) tensors are written`,
  );
}

/**
 * The data pickle: `OrderedDict` of `_rebuild_tensor_v2` tensors on storages `0 … n−1`.
 * @returns the pickle bytes
 */
function statePickle(entries: [string, PthTensor][], opts: PthWriteOptions): Uint8Array {
  const w = new PickleWriter().proto(2);
  if (opts.stateDictKey !== undefined) {
    w.emptyDict().mark();
    for (const [key, value] of Object.entries(opts.beside ?? {})) w.str(key).value(value);
    w.str(opts.stateDictKey);
  } else if (opts.beside !== undefined) {
    throw new Error('pth writer: values beside the state dict need a stateDictKey to put the state dict under');
  }
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  for (let start = 0; start < entries.length; start += PICKLE_BATCH) {
    w.mark();
    entries.slice(start, start + PICKLE_BATCH).forEach(([key, t], i) => {
      const storage = STORAGE_OF[t.dtype] as string;
      const numel = t.shape.reduce((a, b) => a * b, 1);
      w.str(key);
      w.global('torch._utils', '_rebuild_tensor_v2').mark();
      w.mark().str('storage').global('torch', storage).str(String(start + i)).str('cpu').int(numel).tuple().binpersid();
      w.int(0);
      tupleOf(w, t.shape);
      tupleOf(w, contiguousStride(t.shape));
      w.bool(false);
      w.global('collections', 'OrderedDict').emptyTuple().reduce();
      w.tuple().reduce();
    });
    w.setitems();
  }
  // state_dict._metadata: load_state_dict reads module versions from it; an empty one is valid.
  w.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce().setitem().build();
  if (opts.stateDictKey !== undefined) w.setitems();
  return w.stop().toBytes();
}

/** A tuple of ints as Python's pickler writes it (EMPTY_TUPLE, TUPLE1–3, or MARK … TUPLE). */
function tupleOf(w: PickleWriter, items: readonly number[]): void {
  if (items.length === 0) {
    w.emptyTuple();
    return;
  }
  if (items.length <= 3) {
    for (const v of items) w.int(v);
    w.tupleN(items.length as 1 | 2 | 3);
    return;
  }
  w.mark();
  for (const v of items) w.int(v);
  w.tuple();
}

/** The `FB` extra field that puts the data of an entry at a multiple of {@link STORAGE_ALIGNMENT}. */
function alignmentPadding(headerOffset: number, name: string): Uint8Array {
  const nameBytes = Buffer.byteLength(name, 'utf8');
  const unpadded = headerOffset + LOCAL_HEADER_BYTES + nameBytes + 4; // + the extra field's id and length
  return new Uint8Array((STORAGE_ALIGNMENT - (unpadded % STORAGE_ALIGNMENT)) % STORAGE_ALIGNMENT);
}

/**
 * The bytes of a `torch.save` zip archive of `dict`.
 * @param dict name → float32 or int64 tensor (PyTorch layout), in state-dict order
 */
export function pthBytes(dict: StateDict, opts: PthWriteOptions = {}): Uint8Array {
  const folder = opts.archiveName ?? 'archive';
  const entries = Object.entries(dict);
  for (const [key, t] of entries) {
    if (STORAGE_OF[t.dtype] === undefined) throw new Error(`pth writer: ${key} is ${t.dtype}; only float32 and int64 tensors are written`);
  }
  const records: [string, Uint8Array][] = [
    [`${folder}/data.pkl`, statePickle(entries, opts)],
    [`${folder}/byteorder`, new TextEncoder().encode('little')],
    ...entries.map(([key, t], i): [string, Uint8Array] => [`${folder}/data/${i}`, storageBytes(key, t)]),
    [`${folder}/version`, new TextEncoder().encode(ARCHIVE_VERSION)],
    [`${folder}/.data/version`, new TextEncoder().encode(ARCHIVE_VERSION)],
  ];
  const files: Zippable = {};
  let offset = 0;
  for (const [name, data] of records) {
    const padding = alignmentPadding(offset, name);
    files[name] = [data, { level: 0, mtime: ARCHIVE_MTIME, extra: { [PADDING_FIELD_ID]: padding } }];
    offset += LOCAL_HEADER_BYTES + Buffer.byteLength(name, 'utf8') + 4 + padding.length + data.length;
  }
  return zipSync(files);
}

/**
 * Writes `dict` to `file` as `torch.save` does (atomically: temporary file, then rename).
 * @param dict name → float32 or int64 tensor (PyTorch layout), in state-dict order
 */
export function writePth(file: string, dict: StateDict, opts: PthWriteOptions = {}): void {
  writeFileAtomic(file, pthBytes(dict, opts));
}

import * as fs from 'fs';
import * as path from 'path';
import { unzipSync } from 'fflate';
import {
  PickleDict,
  PickleError,
  PickleFactory,
  PickleGlobal,
  PickleObject,
  PickleSecurityError,
  PickleTuple,
  PickleValue,
  Unpickler,
  codecsEncodeFactory,
  orderedDictFactory,
  unpickle,
} from '../../src/io/pickle';
import { PARITY_DIR } from '../helpers/fixtures';
import { Float, PickleWriter, Tuple } from '../../src/io/pickle-writer';

/** Runs `fn` and returns the error it throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, none was thrown');
}

const orderedDictOnly = new Map<string, PickleFactory | null>([['collections.OrderedDict', orderedDictFactory]]);

describe('unpickle: values', () => {
  test('scalars keep their Python meaning', () => {
    const cases: [PickleWriter, PickleValue][] = [
      [new PickleWriter().proto().none(), null],
      [new PickleWriter().proto().bool(true), true],
      [new PickleWriter().proto().bool(false), false],
      [new PickleWriter().proto().int(7), 7],
      [new PickleWriter().proto().int(1000), 1000],
      [new PickleWriter().proto().int(-5), -5],
      [new PickleWriter().proto().int(2 ** 31 - 1), 2 ** 31 - 1],
      [new PickleWriter().proto().int(2 ** 40), 2 ** 40],
      [new PickleWriter().proto().int(-(2 ** 40)), -(2 ** 40)],
      [new PickleWriter().proto().int(2n ** 70n), 2n ** 70n],
      [new PickleWriter().proto().int(-(2n ** 63n)), -(2n ** 63n)],
      [new PickleWriter().proto().float(0.1), 0.1],
      [new PickleWriter().proto().float(-1e300), -1e300],
      [new PickleWriter().proto().str('conv1.weight'), 'conv1.weight'],
      [new PickleWriter().proto().str('ünïcødé ✓', true), 'ünïcødé ✓'],
      [new PickleWriter().proto().str(''), ''],
    ];
    for (const [w, expected] of cases) expect(unpickle(w.stop().toBytes())).toEqual(expected);
  });

  test('bytes, lists, tuples and dicts', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    expect(unpickle(new PickleWriter().proto(3).bytesValue(payload).stop().toBytes())).toEqual(payload);

    const w = new PickleWriter()
      .proto()
      .value({ epoch: 3, lr: new Float(1e-3), betas: new Tuple([0.9, 0.999]), params: [0, 1, 2], name: 'pose_hrnet', empty: [] });
    const v = unpickle(w.stop().toBytes());
    expect(v).toBeInstanceOf(PickleDict);
    const d = v as PickleDict;
    expect([...d.keys()]).toEqual(['epoch', 'lr', 'betas', 'params', 'name', 'empty']);
    expect(d.get('epoch')).toBe(3);
    expect(d.get('lr')).toBe(1e-3);
    expect(d.get('betas')).toBeInstanceOf(PickleTuple);
    expect((d.get('betas') as PickleTuple).items).toEqual([0.9, 0.999]);
    expect(d.get('params')).toEqual([0, 1, 2]);
    expect(d.get('name')).toBe('pose_hrnet');
    expect(d.get('empty')).toEqual([]);
    expect(d.ordered).toBe(false);
  });

  test('TUPLE1-3, LIST, DICT, APPEND, SETITEM and int keys', () => {
    const w = new PickleWriter().proto();
    w.mark().int(1).tupleN(1).int(1).int(2).tupleN(2).int(1).int(2).int(3).tupleN(3).list();
    w.emptyList().str('a').append();
    w.mark().int(0).str('zero').int(1).str('one').dict();
    w.int(2).str('two').setitem();
    w.tupleN(3).stop();
    const v = unpickle(w.toBytes()) as PickleTuple;
    const [tuples, list, dict] = v.items as [PickleValue[], PickleValue[], PickleDict];
    expect(tuples.map((t) => (t as PickleTuple).items)).toEqual([[1], [1, 2], [1, 2, 3]]);
    expect(list).toEqual(['a']);
    expect([...dict.entries()]).toEqual([
      [0, 'zero'],
      [1, 'one'],
      [2, 'two'],
    ]);
  });

  test('memo: BINPUT/BINGET, LONG_BINPUT/LONG_BINGET and MEMOIZE share one object', () => {
    const w = new PickleWriter().proto(4);
    w.mark().emptyList().binput(1).binget(1).emptyDict().binput(300).binget(300).str('x', true).memoize().binget(2).tuple().stop();
    const v = unpickle(w.toBytes()) as PickleTuple;
    expect(v.items[0]).toBe(v.items[1]);
    expect(v.items[2]).toBe(v.items[3]);
    expect(v.items[4]).toBe('x');
    expect(v.items[5]).toBe('x');
  });

  test('FRAME (protocol 4) is skipped', () => {
    const body = new PickleWriter().int(42).stop().toBytes();
    const frame = [0x95, body.length, 0, 0, 0, 0, 0, 0, 0];
    expect(unpickle(new PickleWriter().proto(4).raw(...frame, ...body).toBytes())).toBe(42);
  });

  test('several pickles back to back are read one by one', () => {
    const w = new PickleWriter().proto().int(1001).stop().proto().value(['a', 'b']).stop();
    const bytes = w.toBytes();
    const u = new Unpickler(bytes);
    expect(u.load()).toBe(1001);
    const first = u.position;
    expect(u.load()).toEqual(['a', 'b']);
    expect(first).toBeGreaterThan(0);
    expect(u.position).toBe(bytes.length);
  });
});

describe('unpickle: globals, BUILD and persistent ids', () => {
  test('OrderedDict via REDUCE keeps order; BUILD attaches _metadata as an attribute', () => {
    const w = new PickleWriter().proto();
    w.global('collections', 'OrderedDict').binput(0).emptyTuple().reduce();
    w.mark().str('b').int(2).str('a').int(1).setitems();
    w.emptyDict().str('_metadata').binget(0).emptyTuple().reduce().mark().str('').value({ version: 1 }).setitems().setitem();
    w.build().stop();
    const v = unpickle(w.toBytes(), { globals: orderedDictOnly }) as PickleDict;
    expect(v.ordered).toBe(true);
    expect([...v.keys()]).toEqual(['b', 'a']);
    expect(v.has('_metadata')).toBe(false);
    const meta = v.attributes.get('_metadata') as PickleDict;
    expect(meta.ordered).toBe(true);
    expect((meta.get('') as PickleDict).get('version')).toBe(1);
  });

  test('BUILD with a (dict, slots) tuple state on a dict', () => {
    const w = new PickleWriter().proto().global('collections', 'OrderedDict').emptyTuple().reduce();
    w.value({ _metadata: 'm' }).none().tupleN(2).build().stop();
    const v = unpickle(w.toBytes(), { globals: orderedDictOnly }) as PickleDict;
    expect(v.attributes.get('_metadata')).toBe('m');
    expect(v.size).toBe(0);
  });

  test('OrderedDict(items) from a list of pairs', () => {
    const w = new PickleWriter().proto().global('collections', 'OrderedDict');
    w.mark().value([new Tuple(['x', 1]), new Tuple(['y', 2])]).tuple().reduce().stop();
    const v = unpickle(w.toBytes(), { globals: orderedDictOnly }) as PickleDict;
    expect([...v.entries()]).toEqual([
      ['x', 1],
      ['y', 2],
    ]);
  });

  test('allow-listed factories receive the argument tuple; setState receives BUILD state', () => {
    class Point extends PickleObject {
      readonly pickleType = 'geo.Point';
      state: PickleValue = null;
      constructor(readonly args: readonly PickleValue[]) {
        super();
      }
      override setState(state: PickleValue): void {
        this.state = state;
      }
    }
    const globals = new Map<string, PickleFactory | null>([['geo.Point', (args) => new Point(args)]]);
    const w = new PickleWriter().proto(4).str('geo', true).str('Point', true).stackGlobal();
    w.int(3).int(4).tupleN(2).reduce().value({ label: 'p' }).build().stop();
    const v = unpickle(w.toBytes(), { globals });
    expect(v).toBeInstanceOf(Point);
    expect((v as Point).args).toEqual([3, 4]);
    expect(((v as Point).state as PickleDict).get('label')).toBe('p');
  });

  test('a reference-only global is a value that cannot be called', () => {
    const globals = new Map<string, PickleFactory | null>([['torch.FloatStorage', null]]);
    const v = unpickle(new PickleWriter().proto().global('torch', 'FloatStorage').stop().toBytes(), { globals });
    expect(v).toBeInstanceOf(PickleGlobal);
    expect((v as PickleGlobal).qualifiedName).toBe('torch.FloatStorage');
    const err = thrown(() =>
      unpickle(new PickleWriter().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().toBytes(), { globals }),
    );
    expect(err).toBeInstanceOf(PickleSecurityError);
    expect(err.message).toMatch(/torch\.FloatStorage.*may be referenced but not called/);
  });

  test('persistent ids go through the callback', () => {
    const seen: PickleValue[] = [];
    const w = new PickleWriter().proto().mark().str('storage').str('0').tuple().binpersid().stop();
    const v = unpickle(w.toBytes(), {
      persistentLoad: (pid) => {
        seen.push(pid);
        return 'resolved';
      },
    });
    expect(v).toBe('resolved');
    expect((seen[0] as PickleTuple).items).toEqual(['storage', '0']);
  });

  test('_codecs.encode(str, latin1) rebuilds protocol-2 bytes', () => {
    const globals = new Map<string, PickleFactory | null>([['_codecs.encode', codecsEncodeFactory]]);
    const w = new PickleWriter().proto().global('_codecs', 'encode').str('\u0000\u00ff\u0041', true).str('latin1', true).tupleN(2).reduce().stop();
    expect(unpickle(w.toBytes(), { globals })).toEqual(Uint8Array.from([0, 255, 0x41]));
  });

  test('the state dict pickle of weights.pth: 518 keys in keys.json order, storages via persistent ids', () => {
    const zip = unzipSync(fs.readFileSync(path.join(PARITY_DIR, 'weights.pth')));
    const keys = JSON.parse(fs.readFileSync(path.join(PARITY_DIR, 'keys.json'), 'utf8')) as { key: string; shape: number[] }[];
    const calls: PickleValue[][] = [];
    const pids: PickleTuple[] = [];
    const globals = new Map<string, PickleFactory | null>([
      ['collections.OrderedDict', orderedDictFactory],
      ['torch.FloatStorage', null],
      ['torch.LongStorage', null],
      [
        'torch._utils._rebuild_tensor_v2',
        (args) => {
          calls.push([...args]);
          return calls.length - 1;
        },
      ],
    ]);
    const v = unpickle(zip['weights/data.pkl'], {
      globals,
      persistentLoad: (pid) => {
        pids.push(pid as PickleTuple);
        return pids.length - 1;
      },
    }) as PickleDict;
    expect(v.ordered).toBe(true);
    expect([...v.keys()]).toEqual(keys.map((k) => k.key));
    expect(v.attributes.get('_metadata')).toBeInstanceOf(PickleDict);
    expect(calls).toHaveLength(keys.length);
    calls.forEach((args, i) => expect((args[2] as PickleTuple).items).toEqual(keys[i].shape));
    expect(pids[0].items[0]).toBe('storage');
    expect((pids[0].items[1] as PickleGlobal).qualifiedName).toBe('torch.FloatStorage');
  });
});

describe('unpickle: hostile and broken input is refused', () => {
  const forbidden: [string, string][] = [
    ['os', 'system'],
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['subprocess', 'Popen'],
    ['posix', 'system'],
    ['nt', 'system'],
    ['__builtin__', 'getattr'],
    ['builtins', '__import__'],
    ['torch', 'load'],
  ];

  test.each(forbidden)('GLOBAL %s.%s + REDUCE is refused at the GLOBAL', (module, name) => {
    let called = false;
    const globals = new Map<string, PickleFactory | null>([
      ['collections.OrderedDict', () => {
        called = true;
        return null;
      }],
    ]);
    const w = new PickleWriter().proto().global(module, name).str('echo pwned', true).tupleN(1).reduce().stop();
    const err = thrown(() => unpickle(w.toBytes(), { globals, sourceName: 'evil.pkl' })) as PickleSecurityError;
    expect(err).toBeInstanceOf(PickleSecurityError);
    expect(err.message).toContain(`global '${module}.${name}' is not allowed`);
    expect(err.message).toContain('evil.pkl');
    expect(err.message).toContain('GLOBAL at byte 2');
    expect(err.offset).toBe(2);
    expect(err.opcode).toBe('GLOBAL');
    expect(called).toBe(false);
  });

  test('STACK_GLOBAL of a forbidden name is refused', () => {
    const w = new PickleWriter().proto(4).str('os', true).memoize().str('system', true).memoize().stackGlobal();
    w.str('id', true).tupleN(1).reduce().stop();
    const err = thrown(() => unpickle(w.toBytes(), { globals: orderedDictOnly })) as PickleSecurityError;
    expect(err).toBeInstanceOf(PickleSecurityError);
    expect(err.opcode).toBe('STACK_GLOBAL');
    expect(err.message).toMatch(/STACK_GLOBAL at byte 16: global 'os\.system' is not allowed/);
  });

  test('STACK_GLOBAL with non-string operands is refused', () => {
    const w = new PickleWriter().proto(4).int(1).int(2).stackGlobal().stop();
    expect(thrown(() => unpickle(w.toBytes()))).toBeInstanceOf(PickleError);
  });

  test('unknown and unsupported opcodes name the opcode and the offset', () => {
    const unknown = thrown(() => unpickle(new PickleWriter().proto().raw(0xff).stop().toBytes())) as PickleError;
    expect(unknown).toBeInstanceOf(PickleError);
    expect(unknown.message).toMatch(/unknown opcode 0xff at byte 2/);
    // INST ('i') would call a class by name in the text protocol
    const inst = thrown(() => unpickle(new PickleWriter().proto().raw(0x69, ...Buffer.from('os\nsystem\n')).stop().toBytes())) as PickleError;
    expect(inst.message).toMatch(/opcode INST at byte 2 is not supported/);
    const ext = thrown(() => unpickle(new PickleWriter().proto().raw(0x82, 1).stop().toBytes()));
    expect(ext.message).toMatch(/EXT1/);
  });

  test('BUILD on an object without setState and REDUCE of a non-global are refused', () => {
    const onList = new PickleWriter().proto().emptyList().value({ __class__: 'x' }).build().stop();
    const e1 = thrown(() => unpickle(onList.toBytes())) as PickleSecurityError;
    expect(e1).toBeInstanceOf(PickleSecurityError);
    const buildAt = onList.toBytes().length - 2; // BUILD, then STOP
    expect(e1.message).toContain(`BUILD at byte ${buildAt}: setting the state of a list is not allowed`);
    expect(e1.offset).toBe(buildAt);
    const callString = new PickleWriter().proto().str('os.system', true).emptyTuple().reduce().stop();
    const e2 = thrown(() => unpickle(callString.toBytes())) as PickleSecurityError;
    expect(e2).toBeInstanceOf(PickleSecurityError);
    expect(e2.message).toMatch(/REDUCE at byte \d+: cannot call a str/);
  });

  test('BUILD on a dict rejects a non-dict state', () => {
    const w = new PickleWriter().proto().global('collections', 'OrderedDict').emptyTuple().reduce().str('x').build().stop();
    expect(thrown(() => unpickle(w.toBytes(), { globals: orderedDictOnly })).message).toMatch(/state of a dict must be a dict/);
  });

  test('persistent ids without a callback are refused', () => {
    const err = thrown(() => unpickle(new PickleWriter().proto().str('0').binpersid().stop().toBytes()));
    expect(err).toBeInstanceOf(PickleSecurityError);
    expect(err.message).toMatch(/BINPERSID at byte \d+/);
  });

  test('truncated streams', () => {
    const full = new PickleWriter().proto().value({ key: 'a fairly long string value', n: 123456 }).stop().toBytes();
    for (const cut of [1, 3, 8, 12, full.length - 1]) {
      const err = thrown(() => unpickle(full.subarray(0, cut)));
      expect(err).toBeInstanceOf(PickleError);
      expect(err.message).toMatch(/truncat|no STOP|exceeds/);
    }
    expect(thrown(() => unpickle(new Uint8Array(0))).message).toMatch(/truncated at byte 0/);
  });

  test('huge declared lengths are refused before allocating', () => {
    const huge8 = new PickleWriter().proto(4).str8(2n ** 62n, Uint8Array.from([0x61])).stop();
    const e1 = thrown(() => unpickle(huge8.toBytes())) as PickleError;
    expect(e1.message).toMatch(/BINUNICODE8 at byte 2: declared length 4611686018427387904 exceeds the 2 bytes that remain/);
    const huge4 = new PickleWriter().proto().raw(0x58, 0xff, 0xff, 0xff, 0xff, 0x61).stop();
    expect(thrown(() => unpickle(huge4.toBytes())).message).toMatch(/BINUNICODE at byte 2: declared length 4294967295 exceeds/);
    const hugeBytes = new PickleWriter().proto(4).raw(0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff).stop();
    expect(thrown(() => unpickle(hugeBytes.toBytes())).message).toMatch(/BINBYTES8 at byte 2: declared length \d+ exceeds/);
    const hugeLong = new PickleWriter().proto().raw(0x8b, 0xff, 0xff, 0xff, 0x7f).stop();
    expect(thrown(() => unpickle(hugeLong.toBytes())).message).toMatch(/LONG4 at byte 2: declared length 2147483647 exceeds/);
  });

  test('stack and memo misuse', () => {
    expect(thrown(() => unpickle(new PickleWriter().proto().append().stop().toBytes())).message).toMatch(/APPEND at byte 2: stack underflow/);
    expect(thrown(() => unpickle(new PickleWriter().proto().binget(9).stop().toBytes())).message).toMatch(/memo key 9 is not defined/);
    expect(thrown(() => unpickle(new PickleWriter().proto().tuple().stop().toBytes())).message).toMatch(/no MARK/);
    expect(thrown(() => unpickle(new PickleWriter().proto().int(1).int(2).stop().toBytes())).message).toMatch(/exactly one value/);
    expect(thrown(() => unpickle(new PickleWriter().proto().emptyDict().mark().str('k').setitems().stop().toBytes())).message).toMatch(/odd number/);
    expect(thrown(() => unpickle(new PickleWriter().proto().emptyDict().emptyList().int(1).setitem().stop().toBytes())).message).toMatch(
      /unhashable dict key of type list/,
    );
    expect(thrown(() => unpickle(new PickleWriter().proto(9).none().stop().toBytes())).message).toMatch(/unsupported pickle protocol 9/);
  });

  test('invalid UTF-8 in a string', () => {
    const w = new PickleWriter().proto().raw(0x8c, 2, 0xc3, 0x28).stop();
    expect(thrown(() => unpickle(w.toBytes())).message).toMatch(/SHORT_BINUNICODE at byte 2: string is not valid UTF-8/);
  });
});

/**
 * The `.pth` writer: a state dict written as `torch.save` writes it reads back through `readPth`
 * bit-exact, with the official keys, shapes and order; the archive has torch's records, stored
 * storages aligned to 64 bytes; the pickle uses only opcodes the restricted reader accepts; and
 * `hrnet export --format pth` writes the checkpoint's state dict.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync } from 'fflate';
import yargs from 'yargs';
import { exportCommand } from '../../src/cli/export';
import { loadConfig } from '../../src/config/load';
import { saveModelCheckpoint } from '../../src/io/checkpoint';
import { HrnetExportMeta, PTH_FILE, exportModel } from '../../src/io/export';
import { PickleDict, unpickle } from '../../src/io/pickle';
import { PthTensorData, StateDict, readPth, readPthBuffer, readPthObject } from '../../src/io/pth';
import { pthBytes, writePth } from '../../src/io/pth-writer';
import { loadStateDict, modelStateDict } from '../../src/io/state-dict';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';
import { PARITY_DIR, readFixtureJson } from '../helpers/fixtures';

interface KeyEntry {
  key: string;
  shape: number[];
  dtype: 'float32' | 'int64';
}
const KEYS = readFixtureJson<KeyEntry[]>('parity/w8_coco_128x96/keys.json');

function bytesOf(a: PthTensorData): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Same keys in the same order, same shapes and dtypes, identical bytes. */
function expectSameStateDict(actual: StateDict, expected: StateDict): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [key, t] of Object.entries(expected)) {
    const a = actual[key];
    expect({ key, shape: a.shape, dtype: a.dtype }).toEqual({ key, shape: t.shape, dtype: t.dtype });
    expect(bytesOf(a.data).equals(bytesOf(t.data))).toBe(true);
  }
}

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-pth-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Local header offsets and data offsets of the entries of a stored (uncompressed) zip. */
function zipDataOffsets(zip: Uint8Array): Map<string, number> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const out = new Map<string, number>();
  let at = 0;
  while (view.getUint32(at, true) === 0x04034b50) {
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extraLength = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(zip.subarray(at + 30, at + 30 + nameLength));
    const data = at + 30 + nameLength + extraLength;
    out.set(name, data);
    at = data + size;
  }
  return out;
}

describe('pth writer', () => {
  it('writes the official weights.pth state dict so that readPth gives it back bit-exact', () => {
    const official = readPth(path.join(PARITY_DIR, 'weights.pth'));
    const file = path.join(dir, 'weights.pth');
    writePth(file, official);
    const back = readPth(file);
    expectSameStateDict(back, official);
    expect(Object.keys(back)).toEqual(KEYS.map((k) => k.key));
    expect(back['bn1.num_batches_tracked'].data).toBeInstanceOf(BigInt64Array);
    expect(back['bn1.num_batches_tracked'].shape).toEqual([]);

    // The same weights give the same bytes.
    expect(Buffer.from(pthBytes(official)).equals(fs.readFileSync(file))).toBe(true);

    // torch's records, storages 0 … n−1 in state-dict order, each 64-byte aligned.
    const bytes = fs.readFileSync(file);
    const entries = unzipSync(bytes);
    const names = Object.keys(entries);
    expect(names.slice(0, 2)).toEqual(['archive/data.pkl', 'archive/byteorder']);
    expect(names.slice(-2)).toEqual(['archive/version', 'archive/.data/version']);
    expect(names.slice(2, -2)).toEqual(KEYS.map((_, i) => `archive/data/${i}`));
    expect(new TextDecoder().decode(entries['archive/byteorder'])).toBe('little');
    expect(new TextDecoder().decode(entries['archive/version'])).toBe('3\n');
    for (const [name, offset] of zipDataOffsets(bytes)) if (name.startsWith('archive/data/')) expect(offset % 64).toBe(0);

    // An OrderedDict with its _metadata attribute, as torch.save writes a state dict.
    const obj = readPthObject(file);
    expect(obj).toBeInstanceOf(PickleDict);
    expect((obj as PickleDict).ordered).toBe(true);
    expect((obj as PickleDict).attributes.get('_metadata')).toBeInstanceOf(PickleDict);
  });

  it('writes a model: the export of its state reloads into another model with identical weights', async () => {
    const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
    const model = createPoseHRNet(config);
    loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')), { strict: true });
    const state = await modelStateDict(model);
    const back = readPthBuffer(pthBytes(state), 'model.pth');
    expectSameStateDict(back, state);
    expectSameStateDict(back, readPth(path.join(PARITY_DIR, 'weights.pth')));
    const copy = createPoseHRNet(config, { initWeights: false });
    loadStateDict(copy, back, { strict: true });
    expectSameStateDict(await modelStateDict(copy), state);
    model.dispose();
    copy.dispose();
  });

  it('writes only what the restricted reader accepts, and refuses tensors it cannot write', () => {
    const dict: StateDict = {
      'a.weight': { shape: [2, 3], dtype: 'float32', data: Float32Array.of(1, 2, 3, 4, 5, 6) },
      'a.num_batches_tracked': { shape: [], dtype: 'int64', data: BigInt64Array.of(7n) },
    };
    const pkl = unzipSync(pthBytes(dict, { archiveName: 'm' }))['m/data.pkl'];
    // The reader's default allow-list is empty: the first global it meets is refused by name.
    expect(() => unpickle(pkl)).toThrow(/global 'collections\.OrderedDict' is not allowed/);
    expectSameStateDict(readPthBuffer(pthBytes(dict, { archiveName: 'm' })), dict);
    const half: StateDict = { h: { shape: [1], dtype: 'float16', data: Float32Array.of(1) } };
    expect(() => pthBytes(half)).toThrow(/h is float16; only float32 and int64 tensors are written/);
    const wrong: StateDict = { w: { shape: [3], dtype: 'float32', data: Float32Array.of(1, 2) } };
    expect(() => pthBytes(wrong)).toThrow(/w has 2 values for shape \[3\]/);
  });

  it('warns when the network has a layer1 the official code cannot build; refuses an input size and unknown formats', async () => {
    const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'), ['MODEL.EXTRA.STAGE1.NUM_BLOCKS=[2]']);
    const model = createPoseHRNet(config, { initWeights: false });
    const result = await exportModel(model, path.join(dir, 'layer1'), config, { format: 'pth' });
    expect(result.warnings.join('\n')).toMatch(/MODEL\.EXTRA\.STAGE1 \(layer1: 2 BOTTLENECK blocks of 64 planes\) is not the official layer1/);
    model.dispose();
    const officialConfig = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
    const officialModel = createPoseHRNet(officialConfig, { initWeights: false });
    const official = await exportModel(officialModel, path.join(dir, 'layer1-official'), officialConfig, { format: 'pth' });
    expect(official.warnings).toEqual([]);
    // A state dict has no input size; an unknown format is named.
    await expect(exportModel(officialModel, path.join(dir, 'sized'), officialConfig, { format: 'pth', inputSize: [64, 64] })).rejects.toThrow(
      /a \.pth holds weights only and has no input size/,
    );
    await expect(
      exportModel(officialModel, path.join(dir, 'other'), officialConfig, { format: 'tflite' as unknown as 'pth' }),
    ).rejects.toThrow(/format must be one of tfjs, onnx, pth, got "tflite"/);
    officialModel.dispose();
  });

  it('hrnet export --format pth writes model.pth with the checkpoint weights and the meta of its config', async () => {
    const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'), ['TEST.DECODE=dark']);
    const model = createPoseHRNet(config);
    loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')), { strict: true });
    const ckpt = path.join(dir, 'ckpt', 'model.ckpt');
    await saveModelCheckpoint(ckpt, model, config);
    model.dispose();
    const out = path.join(dir, 'cli');
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      await yargs(['export', '--checkpoint', ckpt, '--out', out, '--format', 'pth', '--backend', TEST_BACKEND])
        .command(exportCommand)
        .strict()
        .parseAsync();
    } finally {
      spy.mockRestore();
    }
    expect(lines.join('\n')).toMatch(/decoding dark, flip test on, shift heatmap/);
    expect(fs.readdirSync(out).sort()).toEqual(['hrnet-meta.json', PTH_FILE]);
    expectSameStateDict(readPth(path.join(out, PTH_FILE)), readPth(path.join(PARITY_DIR, 'weights.pth')));
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'hrnet-meta.json'), 'utf8')) as HrnetExportMeta;
    expect(meta).toMatchObject({ modelFile: PTH_FILE, layout: 'NCHW', decode: { method: 'dark', flipTest: true, shiftHeatmap: true } });

    // The demo page runs the TF.js model: refused with another format, before anything is written.
    await expect(
      yargs(['export', '--checkpoint', ckpt, '--out', path.join(dir, 'demo'), '--format', 'pth', '--demo', '--backend', TEST_BACKEND])
        .command(exportCommand)
        .strict()
        .fail(false)
        .parseAsync(),
    ).rejects.toThrow(/--demo runs the TF\.js model in a page: use it with --format tfjs \(the default\), not pth/);
    expect(fs.existsSync(path.join(dir, 'demo'))).toBe(false);
  });
});

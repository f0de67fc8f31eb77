/**
 * `hrnet import` of official and mmpose checkpoints: mmpose 1.x (`backbone.` + `head.final_layer.`)
 * and 0.x (`backbone.` + `keypoint_head.final_layer.`) files, each with `meta` beside `state_dict`,
 * are built from the official parity weights with the project's pickle writer; the imported
 * checkpoint holds exactly those weights.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import yargs from 'yargs';
import { importCommand } from '../../src/cli/import';
import { readCheckpoint } from '../../src/io/checkpoint';
import { PthTensorData, StateDict, readPth } from '../../src/io/pth';
import { writePth } from '../../src/io/pth-writer';
import { toOfficialStateDict } from '../../src/io/state-dict';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';
import { PARITY_DIR } from '../helpers/fixtures';

const OFFICIAL = path.join(PARITY_DIR, 'weights.pth');

function bytesOf(a: PthTensorData): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** `dict` with mmpose's key names: `backbone.` on the network, `<head>.final_layer.` on the output conv. */
function mmposeKeys(dict: StateDict, head: 'head' | 'keypoint_head'): StateDict {
  const out: StateDict = {};
  for (const [key, t] of Object.entries(dict)) out[key.startsWith('final_layer.') ? `${head}.${key}` : `backbone.${key}`] = t;
  return out;
}

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-import-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function runImport(weights: string, out: string): Promise<string[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await yargs(['import', '--config', path.join(PARITY_DIR, 'config.yaml'), '--weights', weights, '--out', out, '--backend', TEST_BACKEND])
      .command(importCommand)
      .strict()
      .fail(false)
      .parseAsync();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('toOfficialStateDict', () => {
  it('keeps official dicts, renames mmpose 1.x and 0.x keys, and leaves other keys for the strict load to report', () => {
    const official = readPth(OFFICIAL);
    expect(toOfficialStateDict(official)).toEqual({ dict: official, layout: 'official' });
    for (const [head, layout] of [['head', 'mmpose-1.x'], ['keypoint_head', 'mmpose-0.x']] as const) {
      const renamed = toOfficialStateDict(mmposeKeys(official, head));
      expect(renamed.layout).toBe(layout);
      expect(Object.keys(renamed.dict)).toEqual(Object.keys(official));
      expect(renamed.dict['final_layer.bias']).toBe(official['final_layer.bias']);
    }
    const extra = toOfficialStateDict({ ...mmposeKeys(official, 'head'), 'head.deconv_layers.0.weight': official['conv1.weight'] });
    expect(extra.dict['head.deconv_layers.0.weight']).toBe(official['conv1.weight']);
  });
});

describe('hrnet import', () => {
  const cases = [
    ['mmpose 1.x', 'head', 'mmpose-1.x', { mmpose_version: '1.3.2', dataset_meta: { dataset_name: 'coco', num_keypoints: 17 }, epoch: 210 }],
    ['mmpose 0.x', 'keypoint_head', 'mmpose-0.x', { mmpose_version: '0.29.0', mmcv_version: '1.7.1', epoch: 210, iter: 982170 }],
  ] as const;
  it.each(cases)('%s: state_dict with meta beside it → a checkpoint with the official weights', async (_label, head, layout, meta) => {
    const official = readPth(OFFICIAL);
    const weights = path.join(dir, `${head}.pth`);
    writePth(weights, mmposeKeys(official, head), { stateDictKey: 'state_dict', beside: { meta } });
    const out = path.join(dir, head);
    const lines = await runImport(weights, out);
    expect(lines[0]).toBe(`loaded ${Object.keys(official).length} tensors from ${weights} (${layout} key names)`);
    const { stateDict } = readCheckpoint(path.join(out, 'model.ckpt'));
    expect(Object.keys(stateDict)).toEqual(Object.keys(official));
    for (const [key, t] of Object.entries(official)) expect(bytesOf(stateDict[key].data).equals(bytesOf(t.data))).toBe(true);
  });

  it('a head the network lacks is refused by the strict load, naming its keys', async () => {
    const official = readPth(OFFICIAL);
    const weights = path.join(dir, 'deconv.pth');
    writePth(weights, { ...mmposeKeys(official, 'head'), 'head.deconv_layers.0.weight': official['conv1.weight'] }, { stateDictKey: 'state_dict', beside: { meta: {} } });
    await expect(runImport(weights, path.join(dir, 'deconv'))).rejects.toThrow(/unexpected keys: head\.deconv_layers\.0\.weight/);
  });
});

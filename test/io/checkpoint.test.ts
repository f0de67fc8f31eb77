import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { main } from '../../src/cli/main';
import { loadConfig } from '../../src/config/load';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { CheckpointError, loadModelFromCheckpoint, readCheckpoint, saveCheckpoint } from '../../src/io/checkpoint';
import { readPth } from '../../src/io/pth';
import { loadStateDict, modelStateDict } from '../../src/io/state-dict';
import { PARITY_DIR, maxAbsDiff } from '../helpers/fixtures';
import { useTestBackend } from '../helpers/backend';

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-ckpt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('checkpoints', () => {
  it('round-trips weights, config and training state exactly', async () => {
    const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
    const model = createPoseHRNet(config);
    loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')));
    const file = path.join(dir, 'a.ckpt');
    const training = { epoch: 3, best: { metric: 0.5, epoch: 2 }, buf: new Float32Array([1.5, -2, 3e-8]), steps: [1, 2] };
    saveCheckpoint(file, { stateDict: await modelStateDict(model), config, training });
    const back = readCheckpoint(file);
    const orig = await modelStateDict(model);
    expect(Object.keys(back.stateDict)).toEqual(Object.keys(orig));
    for (const k of Object.keys(orig)) {
      if (orig[k].dtype === 'int64') expect(back.stateDict[k].data[0]).toBe(orig[k].data[0]);
      else expect(maxAbsDiff(back.stateDict[k].data as Float32Array, orig[k].data as Float32Array)).toBe(0);
    }
    expect(back.config).toEqual(config);
    expect(back.training).toEqual(training);
    // No temporary file is left behind.
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    model.dispose();
  });

  it('refuses a damaged file with a message naming it', async () => {
    const file = path.join(dir, 'bad.ckpt');
    fs.writeFileSync(file, 'not a zip');
    expect(() => readCheckpoint(file)).toThrow(CheckpointError);
    expect(() => readCheckpoint(file)).toThrow(/bad\.ckpt/);
    expect(() => readCheckpoint(path.join(dir, 'missing.ckpt'))).toThrow(/checkpoint not found/);
  });

  it('hrnet import converts an official .pth and the result predicts like the original', async () => {
    const out = path.join(dir, 'imported');
    const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await main(['import', '--config', path.join(PARITY_DIR, 'config.yaml'), '--weights', path.join(PARITY_DIR, 'weights_legacy.pth'), '--out', out]);
    } finally {
      spy.mockRestore();
    }
    const { model } = loadModelFromCheckpoint(out);
    const ref = createPoseHRNet(loadConfig(path.join(PARITY_DIR, 'config.yaml')));
    loadStateDict(ref, readPth(path.join(PARITY_DIR, 'weights.pth')));
    const x = tf.randomNormal([1, 128, 96, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const a = model.predict(x);
    const b = ref.predict(x);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    tf.dispose([x, a, b]);
    model.dispose();
    ref.dispose();
  });
});

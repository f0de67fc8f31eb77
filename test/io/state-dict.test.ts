import * as path from 'path';
import { loadConfig } from '../../src/config/load';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { readPth } from '../../src/io/pth';
import { StateDictError, loadStateDict, modelStateDict } from '../../src/io/state-dict';
import { PARITY_DIR, maxAbsDiff } from '../helpers/fixtures';
import { useTestBackend } from '../helpers/backend';

beforeAll(async () => {
  await useTestBackend();
});

const weights = () => readPth(path.join(PARITY_DIR, 'weights.pth'));

describe('loadStateDict', () => {
  it('strict: reports mis-shaped, missing and unexpected keys by name', async () => {
    const model = createPoseHRNet(loadConfig(path.join(PARITY_DIR, 'config.yaml'), ['MODEL.NUM_JOINTS=21']));
    const dict = weights();
    delete dict['bn1.running_var'];
    dict['extra.weight'] = { shape: [1], dtype: 'float32', data: new Float32Array(1) };
    try {
      let caught: unknown;
      try {
        loadStateDict(model, dict, { source: 'w.pth' });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(StateDictError);
      {
        const err = caught as StateDictError;
        expect(err.message).toMatch(/w\.pth does not match the model/);
        expect(err.message).toMatch(/final_layer\.weight \(model \[21, 8, 1, 1\], file \[17, 8, 1, 1\]\)/);
        expect(err.report.missing).toEqual(['bn1.running_var']);
        expect(err.report.unexpected).toEqual(['extra.weight']);
        expect(err.report.mismatched.map((m) => m.key)).toEqual(['final_layer.weight', 'final_layer.bias']);
      }
    } finally {
      model.dispose();
    }
  });

  it('non-strict: loads everything that fits (fine-tuning with another joint count)', async () => {
    const model = createPoseHRNet(loadConfig(path.join(PARITY_DIR, 'config.yaml'), ['MODEL.NUM_JOINTS=21']));
    try {
      const dict = weights();
      const report = loadStateDict(model, dict, { strict: false });
      expect(report.mismatched.map((m) => m.key)).toEqual(['final_layer.weight', 'final_layer.bias']);
      expect(report.loaded.length).toBe(Object.keys(dict).length - 2);
      const back = await modelStateDict(model);
      expect(maxAbsDiff(back['stage4.0.fuse_layers.0.3.0.weight'].data as Float32Array, dict['stage4.0.fuse_layers.0.3.0.weight'].data as Float32Array)).toBe(0);
    } finally {
      model.dispose();
    }
  });

  it('loads only the listed top-level layers (MODEL.EXTRA.PRETRAINED_LAYERS)', async () => {
    const model = createPoseHRNet(loadConfig(path.join(PARITY_DIR, 'config.yaml')));
    try {
      const report = loadStateDict(model, weights(), { strict: false, prefixes: ['conv1', 'layer1'] });
      expect(report.loaded.every((k) => k.startsWith('conv1.') || k.startsWith('layer1.'))).toBe(true);
      expect(report.loaded).toContain('layer1.3.bn3.running_var');
      expect(report.excluded).toContain('final_layer.bias');
    } finally {
      model.dispose();
    }
  });
});

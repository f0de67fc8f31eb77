import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../../src/config/load';
import { createDataset } from '../../src/data/create-dataset';
import { JointsDataset, sampleOptionsFromConfig } from '../../src/data/joints-dataset';
import { renderSyntheticDataset } from '../../src/data/synthetic';
import { evaluateCoco, predictDataset, predictOptionsFromConfig, type SkippedPrediction } from '../../src/eval/evaluate';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { useTestBackend } from '../helpers/backend';

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-evaluate-'));
  await renderSyntheticDataset({ outDir: path.join(dir, 'data'), train: 1, val: 3, seed: 9, imageSize: [96, 128], maxPersons: 2 });
}, 120000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('predictDataset', () => {
  it('reports and skips a sample whose image is corrupt, and evaluation goes on without it', async () => {
    const config = loadConfig('configs/synthetic/w16_128x96.yaml', [
      `DATASET.ROOT=${path.join(dir, 'data')}`,
      'TEST.BATCH_SIZE_PER_GPU=2',
      'MODEL.IMAGE_SIZE=[64,64]',
      'MODEL.HEATMAP_SIZE=[16,16]',
      'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[4,8]',
      'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[4,8,16]',
      'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[4,8,16,32]',
    ]);
    const dataset = createDataset(config, 'test', { onWarning: () => undefined });
    const bad = dataset.records[1].imagePath;
    fs.writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46])); // a JPEG cut after its first bytes
    const data = new JointsDataset(dataset, sampleOptionsFromConfig(config, false));
    const model = createPoseHRNet(config, { seed: 1 });
    try {
      const seen: SkippedPrediction[] = [];
      const preds = await predictDataset(model, data, { ...predictOptionsFromConfig(config), onSkip: (s) => seen.push(s) });
      const onBadImage = dataset.records.map((r, i) => i).filter((i) => dataset.records[i].imagePath === bad);
      expect(preds.skipped.map((s) => s.index)).toEqual(onBadImage);
      expect(seen).toEqual(preds.skipped);
      expect(preds.skipped[0].reason).toContain(bad);
      expect(preds.persons).toHaveLength(dataset.records.length - onBadImage.length);
      const { eval: result } = evaluateCoco(dataset, preds, config);
      expect(Number.isFinite(result.stats.AP)).toBe(true);
    } finally {
      model.dispose();
    }
  });
});

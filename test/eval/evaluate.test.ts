import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../../src/config/load';
import { createDataset } from '../../src/data/create-dataset';
import { JointsDataset, sampleOptionsFromConfig } from '../../src/data/joints-dataset';
import { renderSyntheticDataset } from '../../src/data/synthetic';
import { evaluateCoco, inferHeatmaps, predictDataset, predictOptionsFromConfig, type SkippedPrediction } from '../../src/eval/evaluate';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { useTestBackend } from '../helpers/backend';

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-evaluate-'));
  await renderSyntheticDataset({ outDir: path.join(dir, 'data'), train: 1, val: 3, seed: 9, imageSize: [96, 128], maxPersons: 2 });
}, 120000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const smallConfig = () =>
  loadConfig('configs/synthetic/w16_128x96.yaml', [
    `DATASET.ROOT=${path.join(dir, 'data')}`,
    'TEST.BATCH_SIZE_PER_GPU=2',
    'MODEL.IMAGE_SIZE=[64,64]',
    'MODEL.HEATMAP_SIZE=[16,16]',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[4,8]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[4,8,16]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[4,8,16,32]',
  ]);

describe('predictDataset', () => {
  it('reads the next batch while a batch\'s heatmaps are computed, with the same keypoints', async () => {
    const config = smallConfig();
    const dataset = createDataset(config, 'test', { onWarning: () => undefined });
    const data = new JointsDataset(dataset, sampleOptionsFromConfig(config, false));
    const model = createPoseHRNet(config, { seed: 1 });
    const options = predictOptionsFromConfig(config);
    expect(data.length).toBeGreaterThan(options.batchSize);
    let read = 0;
    const get = data.get.bind(data);
    const spy = jest.spyOn(data, 'get').mockImplementation((i) => {
      read++;
      return get(i);
    });
    try {
      // The first batch's heatmaps wait until a sample of the second batch has been read.
      let first = true;
      const preds = await predictDataset(model, data, options, async (images, n, flip) => {
        if (first) {
          first = false;
          const deadline = Date.now() + 60000;
          while (read <= options.batchSize) {
            if (Date.now() > deadline) throw new Error('the second batch was not read while the first was computed');
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
        return inferHeatmaps(model, images, n, flip);
      });
      spy.mockRestore();
      const plain = await predictDataset(model, data, options);
      expect(preds.keypoints).toEqual(plain.keypoints);
      expect(preds.persons).toHaveLength(data.length);
    } finally {
      spy.mockRestore();
      model.dispose();
    }
  });

  it('reports and skips a sample whose image is corrupt, and evaluation goes on without it', async () => {
    const config = smallConfig();
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

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../../src/config/load';
import { renderSyntheticDataset } from '../../src/data/synthetic';
import { readCheckpoint } from '../../src/io/checkpoint';
import * as trainSteps from '../../src/train/train-step';
import { formatRate, train } from '../../src/train/trainer';
import { useTestBackend } from '../helpers/backend';

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-train-'));
  await renderSyntheticDataset({ outDir: path.join(dir, 'data'), train: 12, val: 4, seed: 3, imageSize: [192, 160] });
}, 120000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = (extra: string[] = []) =>
  loadConfig('configs/synthetic/w16_128x96.yaml', [
    `DATASET.ROOT=${path.join(dir, 'data')}`,
    'TRAIN.BATCH_SIZE_PER_GPU=8',
    'TEST.BATCH_SIZE_PER_GPU=8',
    'TRAIN.END_EPOCH=2',
    'WORKERS=0',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,16]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[8,16,32]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64]',
    ...extra,
  ]);

describe('train', () => {
  it('writes checkpoints, metrics and curves, and a resumed run ends with the same weights as an uninterrupted one', async () => {
    const quiet = { log: () => undefined, progress: false };
    const scalars: [string, number, number][] = [];
    const writer = { scalar: (name: string, value: number, step: number) => void scalars.push([name, value, step]), flush: () => undefined };
    const straight = await train({ config: config(), outDir: path.join(dir, 'straight'), scalars: writer, ...quiet });
    straight.model.dispose();
    // The epoch scalars (TensorBoard's, where tfjs-node is the backend) are those of the metrics log.
    expect(scalars).toEqual(
      straight.history.flatMap((h) => [
        ['train_loss', h.trainLoss, h.epoch],
        ['train_acc', h.trainAcc, h.epoch],
        ['valid_AP', h.valMetric, h.epoch],
        ['learning_rate', h.lr, h.epoch],
      ]),
    );
    const out = path.join(dir, 'resumed');
    const first = await train({ config: config(), outDir: out, maxEpochs: 1, ...quiet });
    first.model.dispose();
    for (const f of ['checkpoint.ckpt', 'model_best.ckpt', 'final_state.ckpt', 'metrics.jsonl', 'curves.png', 'config.yaml', 'val_pred.png', 'val_hm_pred.png']) {
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    }
    const second = await train({ config: config(), outDir: out, resume: true, ...quiet });
    second.model.dispose();
    expect(second.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(second.history.map((h) => h.trainLoss)).toEqual(straight.history.map((h) => h.trainLoss));
    const a = readCheckpoint(path.join(dir, 'straight', 'final_state.ckpt')).stateDict;
    const b = readCheckpoint(path.join(out, 'final_state.ckpt')).stateDict;
    for (const k of Object.keys(a)) expect(Buffer.from(b[k].data.buffer).equals(Buffer.from(a[k].data.buffer))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  }, 300000);
});

describe('train on one device', () => {
  it('records a step before it waits for the reads of the step before (a GPU computes one while the host records the next)', async () => {
    const start = trainSteps.startTrainStep;
    let release: (() => void) | undefined;
    const spy = jest.spyOn(trainSteps, 'startTrainStep').mockImplementation((...args) => {
      const reads = start(...args);
      if (spy.mock.calls.length > 1) {
        release?.();
        return reads;
      }
      // The first step's reads settle only once the second step has been recorded.
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the reads of step 1 were awaited before step 2 was recorded')), 60000);
        release = () => {
          clearTimeout(timer);
          reads.then(resolve, reject);
        };
      });
    });
    try {
      const cfg = config(['GPUS=[0]', 'TRAIN.BATCH_SIZE_PER_GPU=4', 'TRAIN.END_EPOCH=1']);
      const run = await train({ config: cfg, outDir: path.join(dir, 'one-device'), log: () => undefined, progress: false });
      run.model.dispose();
      expect(spy.mock.calls.length).toBeGreaterThan(1);
      expect(run.history).toHaveLength(1);
      expect(Number.isFinite(run.history[0].trainLoss)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  }, 300000);
});

describe('train on a custom COCO-format dataset with a config only', () => {
  it.each([
    ['onehand10k', 'test_onehand10k.json', 21],
    ['crowdpose', 'test_crowdpose.json', 14],
  ])('%s trains one epoch and is evaluated with COCO AP', async (name, file, joints) => {
    const { DATA_DIR } = await import('../helpers/fixtures');
    const cfg = loadConfig('configs/custom/template.yaml', [
      `DATASET.ROOT=${path.join(DATA_DIR, name)}`,
      `DATASET.TRAIN_SET=${file}`,
      `DATASET.TEST_SET=${file}`,
      'DATASET.KEYPOINT_NAMES=[]',
      'DATASET.SKELETON=[]',
      `MODEL.NUM_JOINTS=${joints}`,
      'TEST.USE_GT_BBOX=true',
      'TRAIN.END_EPOCH=1',
      'TRAIN.BATCH_SIZE_PER_GPU=4',
      'WORKERS=0',
    ]);
    const result = await train({ config: cfg, outDir: path.join(dir, name), log: () => undefined, progress: false });
    result.model.dispose();
    expect(result.metricName).toBe('AP');
    expect(result.history).toHaveLength(1);
    expect(result.history[0].valMetric).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(result.history[0].trainLoss)).toBe(true);
  }, 120000);
});

it('logs images a second with one decimal from 10 up, two significant digits below (a software GPU is not 0.0)', () => {
  expect(formatRate(38.26)).toBe('38.3');
  expect(formatRate(2.44)).toBe('2.4');
  expect(formatRate(0.02005)).toBe('0.020');
});

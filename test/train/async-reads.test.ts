/**
 * The training, evaluation, prediction and checkpoint paths read tensors only asynchronously:
 * `dataSync`, `arraySync` and `bufferSync` throw on the WebGPU backend in Node (they need an
 * `OffscreenCanvas`). Here they are made to throw on the suite's backend, and a short training run
 * (validation, checkpoints, a resumed epoch), `hrnet eval` and `hrnet predict` on its checkpoint must
 * still complete.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { runEval } from '../../src/cli/eval';
import { runPredict } from '../../src/cli/predict';
import { loadConfig } from '../../src/config/load';
import { renderSyntheticDataset } from '../../src/data/synthetic';
import { train } from '../../src/train/trainer';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';

const SYNC_READS = ['dataSync', 'arraySync', 'bufferSync'] as const;
type SyncRead = (typeof SYNC_READS)[number];
const originals = new Map<SyncRead, unknown>();
const caught: string[] = [];

/** Makes every synchronous read throw (and records where it came from). */
function forbidSyncReads(): void {
  const proto = tf.Tensor.prototype as unknown as Record<SyncRead, unknown>;
  for (const name of SYNC_READS) {
    originals.set(name, proto[name]);
    proto[name] = function forbidden(): never {
      const where = new Error(`synchronous ${name}()`).stack ?? name;
      caught.push(where);
      throw new Error(`synchronous ${name}() on a path that must read asynchronously`);
    };
  }
}

function restoreSyncReads(): void {
  const proto = tf.Tensor.prototype as unknown as Record<SyncRead, unknown>;
  for (const [name, fn] of originals) proto[name] = fn;
}

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-async-reads-'));
  await renderSyntheticDataset({ outDir: path.join(dir, 'data'), train: 8, val: 4, seed: 5, imageSize: [192, 160] });
  forbidSyncReads();
}, 120000);
afterAll(() => {
  restoreSyncReads();
  fs.rmSync(dir, { recursive: true, force: true });
});

it(`trains, validates, checkpoints, resumes, evaluates and predicts without a synchronous read (${TEST_BACKEND})`, async () => {
  const config = loadConfig('configs/synthetic/w16_128x96.yaml', [
    `DATASET.ROOT=${path.join(dir, 'data')}`,
    'TRAIN.BATCH_SIZE_PER_GPU=4',
    'TEST.BATCH_SIZE_PER_GPU=4',
    'TRAIN.END_EPOCH=2',
    'GPUS=[0]',
    'WORKERS=0',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,16]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[8,16,32]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64]',
  ]);
  const out = path.join(dir, 'run');
  const quiet = { log: () => undefined, progress: false };
  const first = await train({ config, outDir: out, maxEpochs: 1, ...quiet });
  first.model.dispose();
  const second = await train({ config, outDir: out, resume: true, ...quiet });
  second.model.dispose();
  expect(second.history.map((h) => h.epoch)).toEqual([0, 1]);

  const checkpoint = path.join(out, 'final_state.ckpt');
  const evaluated = await runEval({ backend: TEST_BACKEND, checkpoint, set: [], json: true, threads: 1, out: path.join(dir, 'eval') });
  expect(evaluated.samples).toBeGreaterThan(0);
  expect(Number.isFinite(evaluated.stats?.AP)).toBe(true);
  const valDir = path.join(dir, 'data', 'images', 'val');
  const image = path.join(valDir, fs.readdirSync(valDir)[0]);
  const predicted = await runPredict({ backend: TEST_BACKEND, checkpoint, image, out: path.join(dir, 'pred') });
  expect(fs.existsSync(predicted.jsonFile)).toBe(true);
  expect(caught).toEqual([]);
}, 300000);

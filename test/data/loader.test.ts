import * as fs from 'fs';
import * as path from 'path';
import { loadCocoDataset } from '../../src/data/coco';
import type { KeypointDataset } from '../../src/data/dataset';
import { JointsDataset, sampleOptionsFromConfig } from '../../src/data/joints-dataset';
import { createLoader, epochOrder, SampleWorkerPool, type Batch, type LoaderOptions } from '../../src/data/loader';
import { DATA_DIR } from '../helpers/fixtures';
import { makeTempDir, removeTempDir, sampleDataConfig, warningCollector } from '../helpers/data';

const K = 17;
const IMAGE = 256 * 192 * 3;
const TARGET = 64 * 48 * K;

async function collect(ds: JointsDataset, opts: LoaderOptions): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of createLoader(ds, opts)) out.push(b);
  return out;
}

describe('createLoader', () => {
  const quiet = warningCollector();
  let coco: KeypointDataset;
  let train: JointsDataset;
  beforeAll(() => {
    const cfg = sampleDataConfig('coco', 'coco', 'test_coco.json', K, {
      'DATASET.PROB_HALF_BODY': 0.3,
      'DATASET.SCALE_FACTOR': 0.35,
      'DATASET.ROT_FACTOR': 45,
    });
    coco = loadCocoDataset(cfg, 'train', { onWarning: quiet.onWarning });
    train = new JointsDataset(coco, sampleOptionsFromConfig(cfg, true, 5));
  });

  it('makes NHWC batches and sees every sample once per epoch', async () => {
    const batches = await collect(train, { batchSize: 5, shuffle: true, seed: 1, epoch: 0, workers: 0, onWarning: quiet.onWarning });
    expect(batches.map((b) => b.size)).toEqual([5, 5, 2]);
    for (const b of batches) {
      expect(b.images).toHaveLength(b.size * IMAGE);
      expect(b.target).toHaveLength(b.size * TARGET);
      expect(b.targetWeight).toHaveLength(b.size * K);
      expect(b.metas).toHaveLength(b.size);
    }
    const seen = batches.flatMap((b) => b.metas.map((m) => m.index));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(seen).toEqual(Array.from(epochOrder(12, true, 1, 0)));
    // a batch's sample equals JointsDataset.get of the same index and epoch
    const one = await train.get(batches[1].metas[2].index, 0);
    expect(batches[1].images.subarray(2 * IMAGE, 3 * IMAGE)).toEqual(one.image);
    expect(batches[1].target.subarray(2 * TARGET, 3 * TARGET)).toEqual(one.target);
    const dropped = await collect(train, { batchSize: 5, shuffle: false, seed: 1, epoch: 0, workers: 0, dropLast: true });
    expect(dropped.map((b) => b.size)).toEqual([5, 5]);
    expect(dropped.flatMap((b) => b.metas.map((m) => m.index))).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('shuffles deterministically per (seed, epoch)', () => {
    expect(epochOrder(50, true, 3, 1)).toEqual(epochOrder(50, true, 3, 1));
    expect(epochOrder(50, true, 3, 1)).not.toEqual(epochOrder(50, true, 3, 2));
    expect(epochOrder(50, true, 3, 1)).not.toEqual(epochOrder(50, true, 4, 1));
    expect(Array.from(epochOrder(50, true, 3, 1)).sort((a, b) => a - b)).toEqual(Array.from(epochOrder(50, false, 3, 1)));
  });

  it('gives the same batches from worker threads as in-process', async () => {
    const opts = { batchSize: 4, shuffle: true, seed: 9, epoch: 2, onWarning: quiet.onWarning };
    const local = await collect(train, { ...opts, workers: 0 });
    const loader = createLoader(train, { ...opts, workers: 2, prefetch: 2 });
    const threaded: Batch[] = [];
    for await (const b of loader) threaded.push(b);
    expect(loader.workers).toBe(2);
    expect(threaded).toHaveLength(local.length);
    threaded.forEach((b, i) => {
      expect(b.size).toBe(local[i].size);
      expect(b.images).toEqual(local[i].images);
      expect(b.target).toEqual(local[i].target);
      expect(b.targetWeight).toEqual(local[i].targetWeight);
      expect(b.metas).toEqual(local[i].metas);
    });
  });

  it('reuses a worker pool across epochs and stops cleanly on break', async () => {
    const pool = await SampleWorkerPool.create(train.spec, 1);
    try {
      for (const epoch of [0, 1]) {
        const local = await collect(train, { batchSize: 6, shuffle: true, seed: 2, epoch, workers: 0 });
        const pooled = await collect(train, { batchSize: 6, shuffle: true, seed: 2, epoch, pool });
        expect(pooled.map((b) => b.metas.map((m) => m.index))).toEqual(local.map((b) => b.metas.map((m) => m.index)));
        expect(pooled[1].target).toEqual(local[1].target);
      }
    } finally {
      await pool.close();
    }
    let count = 0;
    for await (const b of createLoader(train, { batchSize: 2, shuffle: false, seed: 0, epoch: 0, workers: 1 })) {
      expect(b.size).toBe(2);
      if (++count === 2) break;
    }
    expect(count).toBe(2);
  });

  it('skips samples whose image is corrupt or missing, and reports the count at the end of the epoch', async () => {
    const dir = makeTempDir('loader-bad');
    try {
      const corrupt = path.join(dir, 'corrupt.jpg');
      fs.writeFileSync(corrupt, fs.readFileSync(path.join(DATA_DIR, 'coco', '000000000785.jpg')).subarray(0, 500));
      const records = coco.records.map((r, i) =>
        i === 3 ? { ...r, imagePath: corrupt } : i === 7 ? { ...r, imagePath: path.join(dir, 'missing.jpg') } : r,
      );
      const ds = new JointsDataset({ ...coco, records }, train.spec.options);
      for (const workers of [0, 2]) {
        const collector = warningCollector();
        const loader = createLoader(ds, { batchSize: 4, shuffle: false, seed: 0, epoch: 0, workers, onWarning: collector.onWarning });
        const batches: Batch[] = [];
        for await (const b of loader) batches.push(b);
        expect(batches.map((b) => b.size)).toEqual([3, 3, 4]);
        expect(batches[0].images).toHaveLength(3 * IMAGE);
        expect(batches.flatMap((b) => b.metas.map((m) => m.index))).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10, 11]);
        expect(loader.skipped.map((s) => s.index)).toEqual([3, 7]);
        expect(collector.messages.filter((m) => /skipping sample/.test(m))).toHaveLength(2);
        expect(collector.messages[collector.messages.length - 1]).toMatch(/epoch 0: 2 sample\(s\) skipped .*corrupt\.jpg.*missing\.jpg/);
      }
    } finally {
      removeTempDir(dir);
    }
  });

  it('rejects bad options', () => {
    expect(() => createLoader(train, { batchSize: 0, shuffle: false, seed: 0, epoch: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => createLoader(train, { batchSize: 2, shuffle: false, seed: 0, epoch: 0, workers: -1 })).toThrow(/workers must be/);
  });
});

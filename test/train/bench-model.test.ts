import * as path from 'path';
import { loadConfig } from '../../src/config/load';
import { benchmarkModel } from '../../src/train/bench-model';
import { PARITY_DIR } from '../helpers/fixtures';
import { useTestBackend } from '../helpers/backend';

beforeAll(async () => {
  await useTestBackend();
});

describe('benchmarkModel', () => {
  it('measures training and inference speed, leaks no tensor, and profiles the step', async () => {
    const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
    const r = await benchmarkModel(config, { batch: 2, warmup: 1, steps: 1, profile: true });
    expect(r.trainImagesPerSecond).toBeGreaterThan(0);
    expect(r.trainStepSeconds).toBeCloseTo(2 / r.trainImagesPerSecond, 10);
    expect(r.inferImagesPerSecondBatch1).toBeGreaterThan(0);
    expect(r.inferImagesPerSecondBatchN).toBeGreaterThan(0);
    expect(r.tensorsLeakedPerStep).toBe(0);
    // Only a GPU backend reports its memory, and the host's share of a step (here the kernels run as they are recorded).
    expect(r.gpuMemory).toBeUndefined();
    expect(r.trainRecordSeconds).toBeUndefined();
    expect(r.trainOverlappedStepSeconds).toBeUndefined();
    const kernels = (r.profile ?? []).map((k) => k.kernel);
    expect(kernels).toEqual(expect.arrayContaining(['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput']));
  });
});

import * as path from 'path';
import { benchmarkDataPipeline } from '../../src/data/bench-data';
import { DATA_DIR } from '../helpers/fixtures';

describe('benchmarkDataPipeline', () => {
  it('measures training samples per second through the loader', async () => {
    const r = await benchmarkDataPipeline({
      annotationFile: path.join(DATA_DIR, 'coco', 'test_coco.json'),
      seconds: 1,
      workers: 1,
      batchSize: 8,
    });
    console.log(`data pipeline (1 worker, cached decode, load ${r.loadAverage.toFixed(2)}): ${r.samplesPerSecond.toFixed(0)} samples/s`);
    expect(r.samples).toBeGreaterThan(0);
    expect(r.samples % 1).toBe(0);
    expect(r.seconds).toBeGreaterThanOrEqual(1);
    expect(r.samplesPerSecond).toBeCloseTo(r.samples / r.seconds, 6);
    expect(r).toMatchObject({ workers: 1, batchSize: 8, imageCache: true });
  });
});

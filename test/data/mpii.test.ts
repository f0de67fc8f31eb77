import * as fs from 'fs';
import * as path from 'path';
import { loadMpiiDataset, mpiiAnnotationFile, mpiiCenterScale } from '../../src/data/mpii';
import { MPII_META } from '../../src/data/keypoint-meta';
import { DATA_DIR } from '../helpers/fixtures';
import { makeTempDir, removeTempDir, sampleDataConfig, warningCollector } from '../helpers/data';

interface RawMpii {
  image: string;
  center: [number, number];
  scale: number;
  joints: [number, number][];
  joints_vis: number[];
}

const MPII_JSON = path.join(DATA_DIR, 'mpii', 'test_mpii.json');

describe('MPII (official HRNet JSON)', () => {
  const quiet = warningCollector();
  const config = sampleDataConfig('mpii', 'mpii', 'test_mpii.json', 16);
  const dataset = loadMpiiDataset(config, 'train', { onWarning: quiet.onWarning });
  const raw = JSON.parse(fs.readFileSync(MPII_JSON, 'utf8')) as RawMpii[];

  it('applies the official center/scale adjustment and 1-based → 0-based shift', () => {
    expect(dataset.records).toHaveLength(raw.length);
    raw.forEach((a, i) => {
      const rec = dataset.records[i];
      // by hand: c[1] += 15 s; s *= 1.25; then c -= 1
      expect(rec.center[0]).toBeCloseTo(a.center[0] - 1, 12);
      expect(rec.center[1]).toBeCloseTo(a.center[1] + 15 * a.scale - 1, 12);
      expect(rec.scale).toEqual([a.scale * 1.25, a.scale * 1.25]);
      for (let k = 0; k < 16; k++) {
        expect(rec.joints3d[k * 3]).toBe(a.joints[k][0] - 1);
        expect(rec.joints3d[k * 3 + 1]).toBe(a.joints[k][1] - 1);
        expect(rec.joints3d[k * 3 + 2]).toBe(0);
        expect(rec.joints3dVis[k * 3]).toBe(a.joints_vis[k]);
        expect(rec.joints3dVis[k * 3 + 1]).toBe(a.joints_vis[k]);
        expect(rec.joints3dVis[k * 3 + 2]).toBe(0);
      }
      expect(rec.imagePath).toBe(path.join(DATA_DIR, 'mpii', a.image));
      expect(fs.existsSync(rec.imagePath)).toBe(true);
    });
  });

  it('keeps unannotated joints invisible (ankles of two persons)', () => {
    const partial = dataset.records.filter((r) => r.joints3dVis[0] === 0);
    expect(partial).toHaveLength(2);
    for (const r of partial) expect([r.joints3dVis[0], r.joints3dVis[15]]).toEqual([0, 0]);
  });

  it('exposes meta, images and ids', () => {
    expect(dataset.numJoints).toBe(16);
    expect(dataset.meta.flipPairs).toEqual(MPII_META.flipPairs);
    expect(dataset.images.map((im) => im.fileName)).toEqual(raw.map((a) => a.image));
    expect(dataset.records.map((r) => r.imageId)).toEqual(dataset.imageIds);
  });

  it('leaves a center of −1 unadjusted except for the 0-based shift', () => {
    expect(mpiiCenterScale([-1, -1], 2)).toEqual({ center: [-2, -2], scale: [2, 2] });
  });

  it('uses ROOT/annot/<set>.json for a set name', () => {
    const cfg = sampleDataConfig('mpii', 'mpii', 'valid', 16, { 'DATASET.ROOT': '/data/mpii' });
    expect(mpiiAnnotationFile(cfg, 'test', '/data/mpii').file).toBe(path.join('/data/mpii', 'annot', 'valid.json'));
  });

  it('rejects a wrong NUM_JOINTS, a wrong joint count and a non-list file', () => {
    expect(() => loadMpiiDataset(sampleDataConfig('mpii', 'mpii', 'test_mpii.json', 17), 'train')).toThrow(
      /MODEL\.NUM_JOINTS = 17 in the config, but the annotation file .*test_mpii\.json has 16 keypoints/,
    );
    const dir = makeTempDir('bad-mpii');
    try {
      const bad = raw.map((a) => ({ ...a }));
      bad[2].joints = bad[2].joints.slice(0, 15);
      fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad));
      const cfg = sampleDataConfig('mpii', 'mpii', 'bad.json', 16, { 'DATASET.ROOT': dir });
      expect(() => loadMpiiDataset(cfg, 'train', { onWarning: quiet.onWarning })).toThrow(
        new RegExp(`bad\\.json: entry 2 \\(${bad[2].image}\\) has the wrong number of keypoints: expected 16, found 15`),
      );
      fs.writeFileSync(path.join(dir, 'bad.json'), '{}');
      expect(() => loadMpiiDataset(cfg, 'train', { onWarning: quiet.onWarning })).toThrow(/bad\.json: expected the official MPII layout/);
      fs.writeFileSync(path.join(dir, 'bad.json'), '[]');
      expect(() => loadMpiiDataset(cfg, 'train', { onWarning: quiet.onWarning })).toThrow(/bad\.json: empty dataset/);
    } finally {
      removeTempDir(dir);
    }
  });
});

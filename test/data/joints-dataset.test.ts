import * as fs from 'fs';
import * as path from 'path';
import { loadCocoDataset } from '../../src/data/coco';
import type { KeypointDataset } from '../../src/data/dataset';
import { decodeImage, normalizeImage, warpAffine, type RgbImage } from '../../src/data/image';
import { ImageCache, JointsDataset, sampleOptionsFromConfig, type Sample } from '../../src/data/joints-dataset';
import { generateTarget } from '../../src/codec/targets';
import { affineTransformJointsInPlace, getAffineTransform } from '../../src/codec/affine';
import { fliplrJoints } from '../../src/data/transforms';
import { DATA_DIR } from '../helpers/fixtures';
import { makeTempDir, removeTempDir, sampleDataConfig, warningCollector } from '../helpers/data';

const W = 192;
const H = 256;
const HW = 48;
const HH = 64;
const K = 17;

function mirror(img: RgbImage): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const s = (y * img.width + (img.width - 1 - x)) * 3;
      const d = (y * img.width + x) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { data: out, width: img.width, height: img.height };
}

/** Heatmap cell of the maximum of channel k of an `[h, w, K]` target. */
function peakOf(target: Float32Array, k: number): [number, number] {
  let best = -1;
  let at: [number, number] = [-1, -1];
  for (let y = 0; y < HH; y++) {
    for (let x = 0; x < HW; x++) {
      const v = target[(y * HW + x) * K + k];
      if (v > best) {
        best = v;
        at = [x, y];
      }
    }
  }
  return at;
}

describe('JointsDataset', () => {
  const quiet = warningCollector();
  let coco: KeypointDataset;
  beforeAll(() => {
    coco = loadCocoDataset(sampleDataConfig('coco', 'coco', 'test_coco.json', K), 'train', { onWarning: quiet.onWarning });
  });

  const trainDataset = (overrides: Record<string, unknown>, seed = 7): JointsDataset => {
    const cfg = sampleDataConfig('coco', 'coco', 'test_coco.json', K, overrides);
    return new JointsDataset(coco, sampleOptionsFromConfig(cfg, true, seed));
  };

  it('in test mode is getAffineTransform + warpAffine + normalizeImage + generateTarget on the record', async () => {
    const cfg = sampleDataConfig('coco', 'coco', 'test_coco.json', K, { 'LOSS.USE_DIFFERENT_JOINTS_WEIGHT': true });
    const ds = new JointsDataset(coco, sampleOptionsFromConfig(cfg, false, 3));
    for (const i of [0, 5]) {
      const sample = await ds.get(i, 4);
      const rec = coco.records[i];
      const img = await decodeImage(rec.imagePath);
      const trans = getAffineTransform(rec.center, rec.scale, 0, [W, H]);
      const expectedImage = new Float32Array(W * H * 3);
      normalizeImage(warpAffine(img, trans, W, H), expectedImage);
      const joints = Float64Array.from(rec.joints3d);
      affineTransformJointsInPlace(joints, trans, rec.joints3dVis);
      const expected = generateTarget(joints, rec.joints3dVis, {
        imageSize: [W, H],
        heatmapSize: [HW, HH],
        sigma: 2,
        layout: 'HWK',
        jointsWeight: coco.meta.jointsWeight,
        useDifferentJointsWeight: true,
      });
      expect(sample.image).toEqual(expectedImage);
      expect(sample.target).toEqual(expected.target);
      expect(sample.targetWeight).toEqual(expected.targetWeight);
      expect(Array.from(sample.meta.joints)).toEqual(Array.from(joints));
      expect(sample.meta).toMatchObject({ index: i, imageId: rec.imageId, rotation: 0, flipped: false, score: 1, center: rec.center, scale: rec.scale });
      // COCO joint weights reach the target weights of visible joints
      expect(sample.targetWeight[9]).toBe(rec.joints3dVis[27] > 0 ? Math.fround(1.5) : 0);
    }
  });

  it('feeds BGR when COLOR_RGB is false, as the official OpenCV pipeline', async () => {
    const rgb = await new JointsDataset(coco, sampleOptionsFromConfig(sampleDataConfig('coco', 'coco', 'test_coco.json', K), false)).get(2);
    const bgrCfg = sampleDataConfig('coco', 'coco', 'test_coco.json', K, { 'DATASET.COLOR_RGB': false });
    const bgr = await new JointsDataset(coco, sampleOptionsFromConfig(bgrCfg, false)).get(2);
    const rec = coco.records[2];
    const crop = warpAffine(await decodeImage(rec.imagePath), getAffineTransform(rec.center, rec.scale, 0, [W, H]), W, H);
    for (let p = 0; p < crop.length; p += 3) [crop[p], crop[p + 2]] = [crop[p + 2], crop[p]];
    const expected = new Float32Array(W * H * 3);
    normalizeImage(crop, expected);
    expect(bgr.image).toEqual(expected);
    expect(bgr.target).toEqual(rgb.target);
  });

  it('puts the target peak of every visible training joint at its transformed position', async () => {
    const ds = trainDataset({ 'DATASET.PROB_HALF_BODY': 0.5, 'DATASET.SCALE_FACTOR': 0.35, 'DATASET.ROT_FACTOR': 45 });
    let checked = 0;
    const seen = { flipped: 0, rotated: 0 };
    for (let epoch = 0; epoch < 3; epoch++) {
      for (let i = 0; i < ds.length; i++) {
        const s = await ds.get(i, epoch);
        if (s.meta.flipped) seen.flipped++;
        if (s.meta.rotation !== 0) seen.rotated++;
        for (let k = 0; k < K; k++) {
          if (s.targetWeight[k] === 0) continue;
          const mx = Math.trunc(s.meta.joints[k * 3] / 4 + 0.5) + 0; // + 0: −0 → 0
          const my = Math.trunc(s.meta.joints[k * 3 + 1] / 4 + 0.5) + 0;
          if (mx < 0 || my < 0 || mx >= HW || my >= HH) continue; // Gaussian partly outside: peak not drawn
          expect(peakOf(s.target, k)).toEqual([mx, my]);
          expect(s.target[(my * HW + mx) * K + k]).toBe(1);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(seen.flipped).toBeGreaterThan(0);
    expect(seen.rotated).toBeGreaterThan(0);
  });

  it('flips pixels and joints consistently', async () => {
    const ds = trainDataset({ 'DATASET.PROB_HALF_BODY': 0, 'DATASET.SCALE_FACTOR': 0, 'DATASET.ROT_FACTOR': 0 });
    const i = 0;
    const samples: Sample[] = [];
    for (let epoch = 0; epoch < 16; epoch++) samples.push(await ds.get(i, epoch));
    const flipped = samples.find((s) => s.meta.flipped) as Sample;
    const plain = samples.find((s) => !s.meta.flipped) as Sample;
    expect(flipped).toBeDefined();
    expect(plain).toBeDefined();
    const rec = coco.records[i];
    const img = await decodeImage(rec.imagePath);
    // joints: the partner of each joint lands at x' = W − x (the mirror about the crop centre)
    const partner = Array.from({ length: K }, (_, k) => k);
    for (const [a, b] of coco.meta.flipPairs) [partner[a], partner[b]] = [b, a];
    for (let k = 0; k < K; k++) {
      if (rec.joints3dVis[k * 3] === 0) continue;
      const p = partner[k];
      expect(flipped.meta.joints[p * 3]).toBeCloseTo(W - plain.meta.joints[k * 3], 6);
      expect(flipped.meta.joints[p * 3 + 1]).toBeCloseTo(plain.meta.joints[k * 3 + 1], 6);
      expect(flipped.targetWeight[p]).toBe(plain.targetWeight[k]);
    }
    // pixels: the crop equals warpAffine of the mirrored photo around the mirrored centre (PNG crop tolerance)
    const c: [number, number] = [img.width - rec.center[0] - 1, rec.center[1]];
    const expectedCrop = warpAffine(mirror(img), getAffineTransform(c, rec.scale, 0, [W, H]), W, H);
    const expected = new Float32Array(W * H * 3);
    normalizeImage(expectedCrop, expected);
    const levelsPerUnit = 255 * 0.229; // one 8-bit level ≈ 1 / (255·std) in normalised units
    let sum = 0;
    let max = 0;
    for (let p = 0; p < expected.length; p++) {
      const d = Math.abs(flipped.image[p] - expected[p]) * levelsPerUnit;
      sum += d;
      max = Math.max(max, d);
    }
    expect(sum / expected.length).toBeLessThanOrEqual(1.0);
    expect(max).toBeLessThanOrEqual(8);
    // and the joints equal fliplrJoints + the crop affine
    const f = fliplrJoints(rec.joints3d, rec.joints3dVis, img.width, coco.meta.flipPairs);
    affineTransformJointsInPlace(f.joints, getAffineTransform(c, rec.scale, 0, [W, H]), f.jointsVis);
    expect(Array.from(flipped.meta.joints)).toEqual(Array.from(f.joints));
  });

  it('is deterministic for (seed, epoch, index) and varies across epochs and seeds', async () => {
    const overrides = { 'DATASET.PROB_HALF_BODY': 0.3, 'DATASET.SCALE_FACTOR': 0.35, 'DATASET.ROT_FACTOR': 45 };
    const a = await trainDataset(overrides, 11).get(3, 2);
    const b = await trainDataset(overrides, 11).get(3, 2);
    expect(b.image).toEqual(a.image);
    expect(b.target).toEqual(a.target);
    expect(b.meta).toEqual(a.meta);
    const metas = await Promise.all([0, 1, 3, 4].map((e) => trainDataset(overrides, 11).get(3, e)));
    const other = await trainDataset(overrides, 12).get(3, 2);
    for (const m of [...metas, other]) expect(m.meta.scale).not.toEqual(a.meta.scale);
  });

  it('throws an error naming a missing or corrupt image', async () => {
    const dir = makeTempDir('bad-image');
    try {
      const corrupt = path.join(dir, 'corrupt.jpg');
      fs.writeFileSync(corrupt, fs.readFileSync(path.join(DATA_DIR, 'coco', '000000000785.jpg')).subarray(0, 300));
      const records = [
        { ...coco.records[0], imagePath: corrupt },
        { ...coco.records[0], imagePath: path.join(dir, 'missing.jpg') },
      ];
      const ds = new JointsDataset({ ...coco, records }, sampleOptionsFromConfig(sampleDataConfig('coco', 'coco', 'test_coco.json', K), false));
      await expect(ds.get(0)).rejects.toThrow(/corrupt\.jpg/);
      await expect(ds.get(1)).rejects.toThrow(/missing\.jpg/);
      await expect(ds.get(2)).rejects.toThrow(/index 2 is out of range \[0, 2\)/);
    } finally {
      removeTempDir(dir);
    }
  });
});

describe('ImageCache', () => {
  it('keeps the decoded images within its byte budget, least recently used out first', async () => {
    const a = path.join(DATA_DIR, 'coco', '000000000785.jpg');
    const b = path.join(DATA_DIR, 'coco', '000000040083.jpg');
    const bytesA = 640 * 425 * 3;
    const bytesB = 500 * 333 * 3;
    const cache = new ImageCache(bytesA + bytesB - 1);
    const first = await cache.get(a);
    expect(await cache.get(a)).toBe(first); // hit: same object
    expect(cache.size).toBe(bytesA);
    await cache.get(b);
    await new Promise((r) => setImmediate(r));
    expect(cache.size).toBe(bytesB); // a evicted
    expect(await cache.get(a)).not.toBe(first);
    const none = new ImageCache(0);
    await none.get(a);
    expect(none.size).toBe(0);
  });
});

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { COCO_META } from '../../src/data/keypoint-meta';
import {
  type SyntheticCocoFile,
  type SyntheticSummary,
  addPixelNoise,
  personCategory,
  renderSyntheticDataset,
  syntheticImageFileName,
  syntheticScene,
} from '../../src/data/synthetic';
import { cocoAnnotationsToRecords } from '../../src/data/transforms';

const K = COCO_META.keypointNames.length;

function readCoco(file: string): SyntheticCocoFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SyntheticCocoFile;
}

/** Every file under `dir`, relative paths, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('renderSyntheticDataset', () => {
  let root: string;
  const dirA = () => path.join(root, 'a');
  const dirB = () => path.join(root, 'b');
  const dirC = () => path.join(root, 'c');
  let summary: SyntheticSummary;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-synth-'));
    summary = await renderSyntheticDataset({ outDir: dirA(), train: 4, val: 2, seed: 'unit', concurrency: 2 });
    await renderSyntheticDataset({ outDir: dirB(), train: 4, val: 2, seed: 'unit', concurrency: 1 });
    await renderSyntheticDataset({ outDir: dirC(), train: 4, val: 2, seed: 'other', concurrency: 1 });
  });

  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('writes the COCO layout: annotation files and one JPEG per image, named after the image id', async () => {
    expect(listFiles(dirA())).toEqual([
      'annotations/person_keypoints_train.json',
      'annotations/person_keypoints_val.json',
      ...[1, 2, 3, 4].map((id) => `images/train/${syntheticImageFileName(id)}`),
      ...[1, 2].map((id) => `images/val/${syntheticImageFileName(id)}`),
    ]);
    expect(syntheticImageFileName(12)).toBe('000000000012.jpg');
    for (const split of ['train', 'val']) {
      const coco = readCoco(path.join(dirA(), 'annotations', `person_keypoints_${split}.json`));
      for (const image of coco.images) {
        const meta = await sharp(path.join(dirA(), 'images', split, image.file_name)).metadata();
        expect(meta.format).toBe('jpeg');
        expect([meta.width, meta.height]).toEqual([image.width, image.height]);
        expect(image.width).toBeGreaterThanOrEqual(320);
        expect(image.width).toBeLessThanOrEqual(480);
        expect(image.height).toBeGreaterThanOrEqual(240);
        expect(image.height).toBeLessThanOrEqual(360);
      }
    }
    expect(summary.splits.map((s) => [s.name, s.images])).toEqual([
      ['train', 4],
      ['val', 2],
    ]);
  });

  it('writes valid COCO person-keypoint files', () => {
    for (const [split, count] of [['train', 4], ['val', 2]] as const) {
      const coco = readCoco(path.join(dirA(), 'annotations', `person_keypoints_${split}.json`));
      expect(coco.categories).toEqual([personCategory()]);
      expect(coco.categories[0].keypoints).toEqual(COCO_META.keypointNames);
      expect(coco.categories[0].skeleton).toEqual([
        [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
        [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
      ]);
      expect(coco.images.map((im) => im.id)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      const images = new Map(coco.images.map((im) => [im.id, im]));
      const split1 = summary.splits.find((s) => s.name === split);
      expect(split1?.annotations).toBe(coco.annotations.length);
      const vis = [0, 0, 0];
      coco.annotations.forEach((ann, i) => {
        expect(ann.id).toBe(i + 1);
        expect(ann.category_id).toBe(1);
        expect(ann.iscrowd).toBe(0);
        const image = images.get(ann.image_id);
        expect(image).toBeDefined();
        const { width: W, height: H } = image!;
        expect(ann.keypoints).toHaveLength(3 * K);
        const [bx, by, bw, bh] = ann.bbox;
        expect(bw).toBeGreaterThan(0);
        expect(bh).toBeGreaterThan(0);
        expect(bx).toBeGreaterThanOrEqual(0);
        expect(by).toBeGreaterThanOrEqual(0);
        expect(bx + bw).toBeLessThanOrEqual(W + 1e-9);
        expect(by + bh).toBeLessThanOrEqual(H + 1e-9);
        expect(ann.area).toBeGreaterThan(0);
        expect(ann.area).toBeLessThanOrEqual(bw * bh);
        let labelled = 0;
        for (let k = 0; k < K; k++) {
          const [x, y, v] = ann.keypoints.slice(3 * k, 3 * k + 3);
          expect([0, 1, 2]).toContain(v);
          vis[v]++;
          if (v === 0) {
            expect([x, y]).toEqual([0, 0]);
            continue;
          }
          labelled++;
          // Inside the image (pixel-index coordinates) and inside the person's box.
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(W - 1);
          expect(y).toBeGreaterThanOrEqual(0);
          expect(y).toBeLessThanOrEqual(H - 1);
          expect(x).toBeGreaterThanOrEqual(bx);
          expect(x).toBeLessThanOrEqual(bx + bw);
          expect(y).toBeGreaterThanOrEqual(by);
          expect(y).toBeLessThanOrEqual(by + bh);
        }
        expect(ann.num_keypoints).toBe(labelled);
      });
      expect(split1?.keypointVisibility).toEqual(vis);
    }
  });

  it('is read by the COCO ground-truth path: one record per annotation with a labelled keypoint', () => {
    const coco = readCoco(path.join(dirA(), 'annotations', 'person_keypoints_train.json'));
    let records = 0;
    for (const image of coco.images) {
      const anns = coco.annotations.filter((a) => a.image_id === image.id);
      const recs = cocoAnnotationsToRecords(image, anns, { numJoints: K, aspectRatio: 192 / 256, categoryIds: [1] });
      expect(recs).toHaveLength(anns.filter((a) => a.num_keypoints > 0).length);
      records += recs.length;
    }
    expect(records).toBeGreaterThan(0);
  });

  it('puts several people in an image and marks occluded joints in the tiny dataset', () => {
    const coco = readCoco(path.join(dirA(), 'annotations', 'person_keypoints_train.json'));
    const perImage = coco.images.map((im) => coco.annotations.filter((a) => a.image_id === im.id).length);
    expect(Math.max(...perImage)).toBeGreaterThan(1);
    expect(Math.min(...perImage)).toBeGreaterThanOrEqual(1);
    const occluded = coco.annotations.flatMap((a) => a.keypoints.filter((_, i) => i % 3 === 2)).filter((v) => v === 1);
    expect(occluded.length).toBeGreaterThan(0);
  });

  it('gives byte-identical files for the same seed (whatever the concurrency) and different ones for another seed', () => {
    const files = listFiles(dirA());
    expect(listFiles(dirB())).toEqual(files);
    for (const f of files) expect(fs.readFileSync(path.join(dirB(), f)).equals(fs.readFileSync(path.join(dirA(), f)))).toBe(true);
    const jsonA = fs.readFileSync(path.join(dirA(), 'annotations', 'person_keypoints_train.json'), 'utf8');
    const jsonC = fs.readFileSync(path.join(dirC(), 'annotations', 'person_keypoints_train.json'), 'utf8');
    expect(jsonC).not.toBe(jsonA);
    const jpegA = fs.readFileSync(path.join(dirA(), 'images', 'train', syntheticImageFileName(1)));
    const jpegC = fs.readFileSync(path.join(dirC(), 'images', 'train', syntheticImageFileName(1)));
    expect(jpegC.equals(jpegA)).toBe(false);
  });

  it('rejects bad options with the option name', async () => {
    await expect(renderSyntheticDataset({ outDir: path.join(root, 'x'), train: -1, val: 0, seed: 1 })).rejects.toThrow('"train"');
    await expect(renderSyntheticDataset({ outDir: path.join(root, 'x'), train: 1, val: 1.5, seed: 1 })).rejects.toThrow('"val"');
    await expect(renderSyntheticDataset({ outDir: path.join(root, 'x'), train: 1, val: 0, seed: 1, imageSize: [10, 400] })).rejects.toThrow(
      '"imageSize"',
    );
    await expect(renderSyntheticDataset({ outDir: path.join(root, 'x'), train: 1, val: 0, seed: 1, jpegQuality: 0 })).rejects.toThrow('"jpegQuality"');
    await expect(renderSyntheticDataset({ outDir: path.join(root, 'x'), train: 1, val: 0, seed: 1, maxPersons: 5 })).rejects.toThrow('"maxPersons" must be an integer in 1–4');
    await expect(renderSyntheticDataset({ outDir: path.join(root, 'x'), train: 1, val: 0, seed: 1, trainSet: 'a', valSet: 'a' })).rejects.toThrow('must differ');
  });
});

describe('syntheticScene', () => {
  const scenes = Array.from({ length: 150 }, (_, i) => syntheticScene('stats', 'train', i));

  it('draws at most maxPersons figures', () => {
    const counts = new Set(Array.from({ length: 60 }, (_, i) => syntheticScene('stats', 'train', i, undefined, 2).persons.length));
    expect([...counts].sort()).toEqual([1, 2]);
  });

  it('draws 1–4 people, occlusions, out-of-image joints, and figures seen from the back', () => {
    const counts = new Set(scenes.map((s) => s.persons.length));
    expect([...counts].sort()).toEqual([1, 2, 3, 4]);
    const vis = [0, 0, 0];
    let backViews = 0;
    for (const s of scenes) {
      for (const p of s.persons) {
        for (let k = 2; k < p.keypoints.length; k += 3) vis[p.keypoints[k]]++;
        // Seen from the back: nose and both eyes unlabelled while a shoulder is labelled.
        const v = (k: number) => p.keypoints[3 * k + 2];
        if (v(0) === 0 && v(1) === 0 && v(2) === 0 && (v(5) > 0 || v(6) > 0)) backViews++;
      }
    }
    const total = vis[0] + vis[1] + vis[2];
    expect(vis[2] / total).toBeGreaterThan(0.6);
    expect(vis[1] / total).toBeGreaterThan(0.05);
    expect(vis[0] / total).toBeGreaterThan(0.01);
    expect(backViews).toBeGreaterThan(0);
  });

  it('is a pure function of (seed, split, index) and honours a fixed size', () => {
    expect(syntheticScene('stats', 'train', 7)).toEqual(scenes[7]);
    expect(syntheticScene('stats', 'val', 7).svg).not.toBe(scenes[7].svg);
    const fixed = syntheticScene('stats', 'train', 7, [256, 192]);
    expect([fixed.width, fixed.height]).toEqual([256, 192]);
    expect(fixed.svg).toContain('width="256" height="192"');
  });
});

describe('addPixelNoise', () => {
  it('adds zero-mean noise of the requested standard deviation, the same for the same seed', () => {
    const base = new Uint8Array(200_000).fill(128);
    const a = base.slice();
    addPixelNoise(a, 6, 12345);
    let sum = 0;
    let sq = 0;
    for (const v of a) {
      sum += v - 128;
      sq += (v - 128) ** 2;
    }
    const mean = sum / a.length;
    const sd = Math.sqrt(sq / a.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    // Rounding to integers adds 1/12 to the variance.
    expect(Math.abs(sd - Math.sqrt(36 + 1 / 12))).toBeLessThan(0.1);
    const b = base.slice();
    addPixelNoise(b, 6, 12345);
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    const c = base.slice();
    addPixelNoise(c, 6, 999);
    expect(Buffer.from(c).equals(Buffer.from(a))).toBe(false);
  });
});

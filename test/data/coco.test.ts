import * as fs from 'fs';
import * as path from 'path';
import { cocoAnnotationFile, detectionRecords, loadCocoDataset } from '../../src/data/coco';
import { COCO_META } from '../../src/data/keypoint-meta';
import { xywh2cs } from '../../src/data/transforms';
import { DATA_DIR, readFixtureJson, type FixtureArray } from '../helpers/fixtures';
import { makeTempDir, removeTempDir, sampleDataConfig, warningCollector } from '../helpers/data';

interface GtDbCase {
  inputs: { image: { id: number } };
  expected: { records: { center: FixtureArray; scale: FixtureArray; joints_3d: FixtureArray; joints_3d_vis: FixtureArray }[] };
}

interface RawCoco {
  images: { id: number; file_name: string }[];
  annotations: { id: number; image_id: number; area: number; keypoints: number[]; bbox: number[] }[];
}

const COCO_JSON = path.join(DATA_DIR, 'coco', 'test_coco.json');
const DET_JSON = path.join(DATA_DIR, 'coco', 'test_coco_det_AP_H_56.json');

describe('COCO person keypoints', () => {
  const quiet = warningCollector();
  const config = sampleDataConfig('coco', 'coco', 'test_coco.json', 17);
  const dataset = loadCocoDataset(config, 'train', { onWarning: quiet.onWarning });

  it('reproduces the official gt_db records of every image (coco_gt_db.json)', () => {
    const cases = readFixtureJson<{ cases: GtDbCase[] }>('pipeline/coco_gt_db.json').cases;
    let compared = 0;
    for (const c of cases) {
      const mine = dataset.records.filter((r) => r.imageId === c.inputs.image.id);
      expect(mine).toHaveLength(c.expected.records.length);
      c.expected.records.forEach((exp, i) => {
        const rec = mine[i];
        expect(rec.center).toEqual(Array.from(Float32Array.from(exp.center.data)));
        expect(rec.scale).toEqual(Array.from(Float32Array.from(exp.scale.data)));
        expect(Array.from(rec.joints3d)).toEqual(exp.joints_3d.data);
        expect(Array.from(rec.joints3dVis)).toEqual(exp.joints_3d_vis.data);
        compared++;
      });
    }
    expect(compared).toBe(12);
    expect(dataset.records).toHaveLength(compared);
  });

  it('exposes meta, images, ids, scores, areas and image paths next to the annotation file', () => {
    const raw = JSON.parse(fs.readFileSync(COCO_JSON, 'utf8')) as RawCoco;
    expect(dataset.numJoints).toBe(17);
    expect(dataset.meta.flipPairs).toEqual(COCO_META.flipPairs);
    expect(dataset.meta.jointsWeight).toEqual(COCO_META.jointsWeight);
    expect(dataset.annotationFile).toBe(COCO_JSON);
    expect(dataset.imageIds).toEqual(raw.images.map((im) => im.id));
    for (const rec of dataset.records) {
      const ann = raw.annotations.find((a) => a.id === rec.annotationId);
      expect(ann).toBeDefined();
      expect(rec.area).toBe(ann?.area);
      expect(rec.imageId).toBe(ann?.image_id);
      expect(rec.score).toBe(1);
      const file = raw.images.find((im) => im.id === rec.imageId)?.file_name as string;
      expect(rec.imagePath).toBe(path.join(DATA_DIR, 'coco', file));
      expect(fs.existsSync(rec.imagePath)).toBe(true);
    }
  });

  it('prefers the official ROOT/images/<set>/ layout', () => {
    const dir = makeTempDir('coco-layout');
    try {
      fs.mkdirSync(path.join(dir, 'annotations'));
      fs.mkdirSync(path.join(dir, 'images', 'val2017'), { recursive: true });
      fs.copyFileSync(COCO_JSON, path.join(dir, 'annotations', 'person_keypoints_val2017.json'));
      const raw = JSON.parse(fs.readFileSync(COCO_JSON, 'utf8')) as RawCoco;
      for (const im of raw.images) fs.writeFileSync(path.join(dir, 'images', 'val2017', im.file_name), '');
      const cfg = sampleDataConfig('coco', 'coco', 'val2017', 17, { 'DATASET.ROOT': dir, 'TEST.USE_GT_BBOX': true });
      expect(cocoAnnotationFile(cfg, 'test', dir).file).toBe(path.join(dir, 'annotations', 'person_keypoints_val2017.json'));
      const ds = loadCocoDataset(cfg, 'test', { onWarning: quiet.onWarning });
      expect(ds.records[0].imagePath.startsWith(path.join(dir, 'images', 'val2017'))).toBe(true);
      expect(ds.name).toBe('coco:val2017');
    } finally {
      removeTempDir(dir);
    }
  });

  it('reads person detections for the test split (official _load_coco_person_detection_results)', () => {
    const cfg = sampleDataConfig('coco', 'coco', 'test_coco.json', 17, {
      'TEST.USE_GT_BBOX': false,
      'TEST.COCO_BBOX_FILE': DET_JSON,
      'TEST.IMAGE_THRE': 0.5,
    });
    const ds = loadCocoDataset(cfg, 'test', { onWarning: quiet.onWarning });
    const dets = JSON.parse(fs.readFileSync(DET_JSON, 'utf8')) as { bbox: number[]; score: number; image_id: number; category_id: number }[];
    const kept = dets.filter((d) => d.category_id === 1 && d.score >= 0.5);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(dets.length);
    expect(ds.boxFile).toBe(DET_JSON);
    expect(ds.records).toHaveLength(kept.length);
    ds.records.forEach((rec, i) => {
      const d = kept[i];
      const cs = xywh2cs(d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3], 192 / 256);
      expect(rec.center).toEqual(cs.center);
      expect(rec.scale).toEqual(cs.scale);
      expect(rec.score).toBe(d.score);
      expect(rec.imageId).toBe(d.image_id);
      expect(Array.from(rec.joints3d).every((v) => v === 0)).toBe(true);
      expect(Array.from(rec.joints3dVis).every((v) => v === 1)).toBe(true);
      expect(fs.existsSync(rec.imagePath)).toBe(true);
    });
  });

  it('rejects a detection file without boxes above the threshold, and a missing box file setting', () => {
    const opts = { numJoints: 17, aspectRatio: 0.75, imageThre: 2, categoryIds: [1], imagePathOf: () => '' };
    expect(() => detectionRecords(DET_JSON, opts)).toThrow(/test_coco_det_AP_H_56\.json.*empty dataset.*IMAGE_THRE \(2\)/);
    const cfg = sampleDataConfig('coco', 'coco', 'test_coco.json', 17, { 'TEST.USE_GT_BBOX': false });
    expect(() => loadCocoDataset(cfg, 'test', { onWarning: quiet.onWarning })).toThrow(/TEST\.COCO_BBOX_FILE is empty/);
  });
});

describe('custom COCO-format datasets', () => {
  const quiet = warningCollector();

  it('loads CrowdPose (14 keypoints, no area, num_keypoints of 12 joints only)', () => {
    const ds = loadCocoDataset(sampleDataConfig('custom', 'crowdpose', 'test_crowdpose.json', 14), 'train', {
      onWarning: quiet.onWarning,
    });
    expect(ds.numJoints).toBe(14);
    expect(ds.records).toHaveLength(4); // annotation 131039 has no labelled keypoint
    expect(ds.meta.flipPairs).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]);
    expect(ds.meta.keypointNames[12]).toBe('head');
    // the file's 17-keypoint skeleton links past joint 14 are dropped with a warning
    expect(ds.meta.skeleton.every(([a, b]) => a < 14 && b < 14)).toBe(true);
    expect(ds.warnings.some((w) => /out of range for 14 keypoints/.test(w))).toBe(true);
    for (const r of ds.records) expect(r.area).toBeGreaterThan(0);
  });

  it('loads OneHand10K (21 keypoints, no num_keypoints, v = 1 only)', () => {
    const ds = loadCocoDataset(sampleDataConfig('custom', 'onehand10k', 'test_onehand10k.json', 21), 'train', {
      onWarning: quiet.onWarning,
    });
    expect(ds.numJoints).toBe(21);
    expect(ds.records).toHaveLength(4);
    expect(ds.meta.flipPairs).toEqual([]);
    const labelled = ds.records.map((r) => Array.from(r.joints3dVis).filter((_, i) => i % 3 === 0 && r.joints3dVis[i] > 0).length);
    expect(labelled).toEqual([20, 7, 15, 21]);
  });

  it('loads AP-10K (54 categories sharing 17 keypoints)', () => {
    const ds = loadCocoDataset(sampleDataConfig('custom', 'ap10k', 'test_ap10k.json', 17), 'train', { onWarning: quiet.onWarning });
    expect(ds.records).toHaveLength(2);
    expect(ds.meta.flipPairs).toEqual([[0, 1], [5, 8], [6, 9], [7, 10], [11, 14], [12, 15], [13, 16]]);
    expect(ds.records.map((r) => r.annotationId).sort()).toEqual([6, 9284]);
  });

  it('applies a keypoint meta file, then the inline DATASET keys', () => {
    const dir = makeTempDir('meta');
    try {
      const metaFile = path.join(dir, 'hand.yaml');
      const weights = Array.from({ length: 21 }, (_, i) => 1 + i / 10);
      fs.writeFileSync(metaFile, `JOINTS_WEIGHT: [${weights.join(', ')}]\nupperBodyIds: [0, 1, 2]\nNAME: hand21\n`);
      const sigmas = new Array(21).fill(0.05);
      const cfg = sampleDataConfig('custom', 'onehand10k', 'test_onehand10k.json', 21, {
        'DATASET.KEYPOINT_META': metaFile,
        'DATASET.OKS_SIGMAS': sigmas,
        'DATASET.FLIP_PAIRS': [[1, 5]],
      });
      const ds = loadCocoDataset(cfg, 'train', { onWarning: quiet.onWarning });
      expect(ds.meta.name).toBe('hand21');
      expect(ds.meta.jointsWeight).toEqual(weights);
      expect(ds.meta.upperBodyIds).toEqual([0, 1, 2]);
      expect(ds.meta.lowerBodyIds).toEqual(Array.from({ length: 18 }, (_, i) => i + 3));
      expect(ds.meta.sigmas).toEqual(sigmas);
      expect(ds.meta.flipPairs).toEqual([[1, 5]]);
      fs.writeFileSync(metaFile, 'BAD_KEY: 1\n');
      expect(() => loadCocoDataset(cfg, 'train', { onWarning: quiet.onWarning })).toThrow(/hand\.yaml: unknown key "BAD_KEY"/);
    } finally {
      removeTempDir(dir);
    }
  });
});

describe('bad COCO data', () => {
  const quiet = warningCollector();
  let dir = '';
  beforeAll(() => {
    dir = makeTempDir('bad-coco');
  });
  afterAll(() => removeTempDir(dir));

  const load = (file: string, numJoints = 17) =>
    loadCocoDataset(sampleDataConfig('custom', 'coco', file, numJoints, { 'DATASET.ROOT': dir }), 'train', { onWarning: quiet.onWarning });
  const raw = (): RawCoco & { categories: unknown[] } => JSON.parse(fs.readFileSync(COCO_JSON, 'utf8'));

  it('names a missing annotation file', () => {
    expect(() => load('nope.json')).toThrow(`annotation file not found: ${path.join(dir, 'nope.json')}`);
  });

  it('names the file and position of malformed JSON', () => {
    fs.writeFileSync(path.join(dir, 'broken.json'), '{\n  "images": [],\n  "annotations": [}\n');
    expect(() => load('broken.json')).toThrow(/broken\.json: malformed JSON at line 3, column 19/);
  });

  it('names the annotation with the wrong number of keypoints', () => {
    const data = raw();
    data.annotations[3].keypoints = data.annotations[3].keypoints.slice(0, 48);
    fs.writeFileSync(path.join(dir, 'short.json'), JSON.stringify(data));
    const id = data.annotations[3].id;
    expect(() => load('short.json')).toThrow(
      new RegExp(`short\\.json: annotation ${id} \\(image \\d+\\) has the wrong number of keypoints: expected 17 .* found 16`),
    );
  });

  it('reports and skips a box with a null width or a negative size, naming the file and the annotation', () => {
    const data = raw();
    (data.annotations[2].bbox as (number | null)[])[2] = null; // how JSON.stringify writes NaN
    data.annotations[5].bbox[2] = -40;
    data.annotations[5].bbox[3] = -80;
    fs.writeFileSync(path.join(dir, 'boxes.json'), JSON.stringify(data));
    const [nullId, negId] = [data.annotations[2].id, data.annotations[5].id];
    const collector = warningCollector();
    const config = sampleDataConfig('custom', 'coco', 'boxes.json', 17, { 'DATASET.ROOT': dir, 'DATASET.MAX_BAD_SAMPLE_SHARE': 0.2 });
    const ds = loadCocoDataset(config, 'train', { onWarning: collector.onWarning });
    expect(ds.records.map((r) => r.annotationId)).not.toContain(nullId);
    expect(ds.records.map((r) => r.annotationId)).not.toContain(negId);
    expect(ds.records).toHaveLength(10);
    for (const r of ds.records) expect(r.scale[0] > 0 && r.scale[1] > 0).toBe(true);
    const skipped = collector.messages.filter((m) => m.startsWith('skipping bad sample: '));
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatch(new RegExp(`boxes\\.json: annotation ${nullId} \\(annotations\\[2\\], image \\d+\\): field "bbox\\[2\\]": expected a finite number .*got null`));
    expect(skipped[1]).toMatch(new RegExp(`boxes\\.json: annotation ${negId} \\(annotations\\[5\\], image \\d+\\): field "bbox\\[2\\]": expected a value >= 0 .*got -40`));
  });

  it('refuses a file with more bad samples than DATASET.MAX_BAD_SAMPLE_SHARE, with the list', () => {
    const data = raw();
    (data.annotations[2].bbox as (number | null)[])[3] = null;
    (data.annotations[4].keypoints as (number | null)[])[7] = null;
    fs.writeFileSync(path.join(dir, 'many-bad.json'), JSON.stringify(data));
    let message = '';
    try {
      load('many-bad.json');
    } catch (err) {
      message = (err as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toMatch(/^annotation file .*many-bad\.json: 2 of 12 samples are bad \(16\.7%, more than DATASET\.MAX_BAD_SAMPLE_SHARE = 0\.05\)/);
    expect(lines[1]).toMatch(/many-bad\.json: annotation \d+ \(annotations\[2\], image \d+\): field "bbox\[3\]"/);
    expect(lines[2]).toMatch(/many-bad\.json: annotation \d+ \(annotations\[4\], image \d+\): field "keypoints\[7\]"/);
  });

  it('names the file and the config key when NUM_JOINTS differs', () => {
    fs.writeFileSync(path.join(dir, 'ok.json'), JSON.stringify(raw()));
    expect(() => load('ok.json', 14)).toThrow(/MODEL\.NUM_JOINTS = 14 in the config, but the annotation file .*ok\.json has 17 keypoints/);
  });

  it('explains an empty dataset', () => {
    const data = raw();
    for (const a of data.annotations) a.keypoints = a.keypoints.map(() => 0);
    fs.writeFileSync(path.join(dir, 'empty.json'), JSON.stringify(data));
    expect(() => load('empty.json')).toThrow(/empty\.json: empty dataset: no usable annotation with keypoints \(4 images, 14 annotations/);
  });

  it('warns when no image folder holds the images', () => {
    const collector = warningCollector();
    fs.writeFileSync(path.join(dir, 'ok.json'), JSON.stringify(raw()));
    const ds = loadCocoDataset(sampleDataConfig('custom', 'coco', 'ok.json', 17, { 'DATASET.ROOT': dir }), 'train', {
      onWarning: collector.onWarning,
    });
    expect(ds.records).toHaveLength(12);
    expect(collector.messages.some((m) => /none of its first images was found/.test(m))).toBe(true);
  });
});

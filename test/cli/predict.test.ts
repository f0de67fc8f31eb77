import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { imageIdOfFile, PredictionFile, readBoxesFile } from '../../src/cli/predict';
import { applyOverrides, loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { createDataset } from '../../src/data/create-dataset';
import { JointsDataset, sampleOptionsFromConfig } from '../../src/data/joints-dataset';
import { codecOf } from '../../src/codec/codecs';
import { cleanBox } from '../../src/data/transforms';
import { predictDataset } from '../../src/eval/evaluate';
import { saveModelCheckpoint } from '../../src/io/checkpoint';
import { readPth } from '../../src/io/pth';
import { loadStateDict } from '../../src/io/state-dict';
import { createPoseHRNet, PoseHRNet } from '../../src/model/pose-hrnet';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';
import { DATA_DIR, PARITY_DIR } from '../helpers/fixtures';
import { runCli } from '../helpers/cli';

const IMAGE = path.join(DATA_DIR, 'coco', '000000196141.jpg');
const ANNOTATIONS = path.join(DATA_DIR, 'coco', 'test_coco.json');
const DETECTIONS = path.join(DATA_DIR, 'coco', 'test_coco_det_AP_H_56.json');

let dir: string;
let ckpt: string;
let config: Config;
let model: PoseHRNet;

beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-predict-'));
  config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
  model = createPoseHRNet(config);
  loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')));
  ckpt = path.join(dir, 'model.ckpt');
  await saveModelCheckpoint(ckpt, model, config);
});
afterAll(() => {
  model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});


/** The crop region `[x0, y0, x1, y1]` of a person: center ± scale·200/2. */
function cropRegion(p: { center: number[]; scale: number[] }): [number, number, number, number] {
  const hw = (p.scale[0] * 200) / 2;
  const hh = (p.scale[1] * 200) / 2;
  return [p.center[0] - hw, p.center[1] - hh, p.center[0] + hw, p.center[1] + hh];
}

function readPrediction(file: string): PredictionFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PredictionFile;
}

interface CocoFile {
  images: { id: number; width: number; height: number }[];
  annotations: { image_id: number; bbox: number[]; num_keypoints: number; iscrowd: number }[];
}

describe('hrnet predict', () => {
  it('treats the whole image as one box and writes the JSON and the picture', async () => {
    const out = path.join(dir, 'whole');
    const printed = await runCli(['predict', '--checkpoint', dir, '--image', IMAGE, '--out', out, '--backend', TEST_BACKEND]);
    expect(printed).toMatch(/^1 person: /);
    const pred = readPrediction(path.join(out, '000000196141.json'));
    expect(pred.image).toBe(path.resolve(IMAGE));
    expect([pred.width, pred.height]).toEqual([640, 429]);
    expect(pred.keypoint_names).toHaveLength(17);
    expect(pred.keypoint_names[0]).toBe('nose');
    expect(pred.persons).toHaveLength(1);
    const [person] = pred.persons;
    expect(person.bbox).toEqual([0, 0, 640, 429]);
    expect(person.box_score).toBe(1);
    // xywh2cs with the input aspect 96/128 and the ×1.25 enlargement: 640 wide → 853.33 tall → ×1.25.
    expect(person.center).toEqual([320, 214.5]);
    expect(person.scale[0]).toBeCloseTo((640 / 200) * 1.25, 5);
    expect(person.scale[1]).toBeCloseTo((640 / 0.75 / 200) * 1.25, 5);
    expect(person.keypoints).toHaveLength(17);
    const [x0, y0, x1, y1] = cropRegion(person);
    for (const [x, y, s] of person.keypoints) {
      expect(x).toBeGreaterThanOrEqual(x0);
      expect(x).toBeLessThanOrEqual(x1);
      expect(y).toBeGreaterThanOrEqual(y0);
      expect(y).toBeLessThanOrEqual(y1);
      expect(Number.isFinite(s)).toBe(true);
    }
    const png = await sharp(path.join(out, '000000196141.png')).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 640, 429]);
  });

  it('predicts on ground-truth boxes exactly as the dataset evaluation does', async () => {
    // The boxes the COCO reader makes records of: sanitised boxes of the image's non-crowd annotations with keypoints.
    const gt = JSON.parse(fs.readFileSync(ANNOTATIONS, 'utf8')) as CocoFile;
    const img = gt.images.find((i) => i.id === 196141);
    if (!img) throw new Error('test data: image 196141 missing from test_coco.json');
    const boxes = gt.annotations
      .filter((a) => a.image_id === 196141 && a.iscrowd === 0 && a.num_keypoints > 0)
      .map((a) => cleanBox(a.bbox, img.width, img.height))
      .filter((b): b is [number, number, number, number] => b !== null)
      .map((bbox) => ({ bbox, score: 1 }));
    const boxesFile = path.join(dir, 'gt-boxes.json');
    fs.writeFileSync(boxesFile, JSON.stringify(boxes));
    const out = path.join(dir, 'gt');
    await runCli(['predict', '--checkpoint', ckpt, '--image', IMAGE, '--boxes', boxesFile, '--out', out, '--backend', TEST_BACKEND]);
    const pred = readPrediction(path.join(out, '000000196141.json'));
    expect(pred.persons).toHaveLength(boxes.length);

    const dataConfig = applyOverrides(
      config,
      { DATA_DIR: '', 'DATASET.ROOT': path.join(DATA_DIR, 'coco'), 'DATASET.TEST_SET': 'test_coco.json', 'TEST.USE_GT_BBOX': true },
      'test',
    );
    const dataset = createDataset(dataConfig, 'test', { onWarning: () => undefined });
    const data = new JointsDataset(dataset, sampleOptionsFromConfig(dataConfig, false));
    const ref = await predictDataset(model, data, {
      batchSize: 32,
      flipTest: config.TEST.FLIP_TEST,
      codec: codecOf(config),
    });
    const refPersons = ref.persons.filter((p) => p.imageId === 196141);
    expect(refPersons).toHaveLength(pred.persons.length);
    pred.persons.forEach((p, i) => {
      const r = refPersons[i];
      expect(p.center).toEqual(r.center);
      expect(p.scale).toEqual(r.scale);
      p.keypoints.forEach(([x, y, s], j) => {
        const [rx, ry, rs] = r.keypoints[j];
        expect(Math.abs(x - rx)).toBeLessThan(1e-3);
        expect(Math.abs(y - ry)).toBeLessThan(1e-3);
        expect(Math.abs(s - rs)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(rs)));
      });
      // Crops that lie inside the image give keypoints inside the image.
      const [x0, y0, x1, y1] = cropRegion(p);
      if (x0 >= 0 && y0 >= 0 && x1 <= pred.width && y1 <= pred.height) {
        for (const [x, y] of p.keypoints) {
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(pred.width);
          expect(y).toBeGreaterThanOrEqual(0);
          expect(y).toBeLessThan(pred.height);
        }
      }
    });
    expect(pred.persons.some((p) => cropRegion(p)[0] >= 0 && cropRegion(p)[3] <= pred.height)).toBe(true);
  });

  it('reads COCO detection files and keeps the boxes of the image', () => {
    expect(imageIdOfFile(IMAGE)).toBe(196141);
    const boxes = readBoxesFile(DETECTIONS, 196141);
    const dets = JSON.parse(fs.readFileSync(DETECTIONS, 'utf8')) as { image_id: number; bbox: number[]; score: number }[];
    const mine = dets.filter((d) => d.image_id === 196141);
    expect(boxes).toEqual(mine.map((d) => ({ bbox: d.bbox, score: d.score })));
    expect(() => readBoxesFile(DETECTIONS, 1)).toThrow(/test_coco_det_AP_H_56\.json holds detections of 4 images/);
    const bad = path.join(dir, 'bad-boxes.json');
    fs.writeFileSync(bad, JSON.stringify([{ bbox: [1, 2, 3] }]));
    expect(() => readBoxesFile(bad)).toThrow(/bad-boxes\.json: entry 0: "bbox" must be \[x, y, w, h\]/);
  });

  it('names a missing image', async () => {
    await expect(
      runCli(['predict', '--checkpoint', ckpt, '--image', path.join(dir, 'no-such.jpg'), '--out', dir, '--backend', TEST_BACKEND]),
    ).rejects.toThrow(/no-such\.jpg/);
  });
});

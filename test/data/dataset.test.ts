import * as fs from 'fs';
import * as path from 'path';
import { createDataset } from '../../src/data/create-dataset';
import { jsonErrorOffset, pickImageDir, readJsonFile } from '../../src/data/dataset';
import { DATA_DIR } from '../helpers/fixtures';
import { makeTempDir, removeTempDir, sampleDataConfig, warningCollector } from '../helpers/data';

describe('createDataset', () => {
  const quiet = warningCollector();

  it('chooses the reader from DATASET.DATASET', () => {
    const coco = createDataset(sampleDataConfig('coco', 'coco', 'test_coco.json', 17), 'train', quiet);
    expect([coco.name, coco.records.length, coco.numJoints]).toEqual(['coco:test_coco', 12, 17]);
    const mpii = createDataset(sampleDataConfig('mpii', 'mpii', 'test_mpii.json', 16), 'train', quiet);
    expect([mpii.name, mpii.records.length, mpii.numJoints]).toEqual(['mpii:test_mpii', 5, 16]);
    const hands = createDataset(sampleDataConfig('custom', 'onehand10k', 'test_onehand10k.json', 21, { 'TEST.USE_GT_BBOX': true }), 'test', quiet);
    expect([hands.name, hands.records.length, hands.numJoints]).toEqual(['custom:test_onehand10k', 4, 21]);
  });

  it('reads the synthetic layout ROOT/annotations/person_keypoints_<set>.json + ROOT/images/<set>/', () => {
    const dir = makeTempDir('synthetic');
    try {
      const src = JSON.parse(fs.readFileSync(path.join(DATA_DIR, 'crowdpose', 'test_crowdpose.json'), 'utf8')) as {
        images: { file_name: string }[];
      };
      fs.mkdirSync(path.join(dir, 'annotations'));
      fs.mkdirSync(path.join(dir, 'images', 'train'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'annotations', 'person_keypoints_train.json'), JSON.stringify(src));
      for (const im of src.images) {
        fs.copyFileSync(path.join(DATA_DIR, 'crowdpose', im.file_name), path.join(dir, 'images', 'train', im.file_name));
      }
      const cfg = sampleDataConfig('synthetic', 'crowdpose', 'train', 14, { 'DATASET.ROOT': dir });
      const ds = createDataset(cfg, 'train', quiet);
      expect(ds.annotationFile).toBe(path.join(dir, 'annotations', 'person_keypoints_train.json'));
      expect(ds.records).toHaveLength(4);
      expect(ds.meta.keypointNames).toHaveLength(14);
      for (const r of ds.records) expect(path.dirname(r.imagePath)).toBe(path.join(dir, 'images', 'train'));
    } finally {
      removeTempDir(dir);
    }
  });

  it('loads a 150k-annotation COCO file', () => {
    const dir = makeTempDir('big-coco');
    try {
      const numImages = 60000;
      const numAnns = 150000;
      const images = Array.from({ length: numImages }, (_, i) => ({ id: i + 1, file_name: `${i + 1}.jpg`, width: 640, height: 480 }));
      const file = path.join(dir, 'person_keypoints_big.json');
      const fd = fs.openSync(file, 'w');
      fs.writeSync(fd, `{"images":${JSON.stringify(images)},"categories":[{"id":1,"name":"person","keypoints":[]}],"annotations":[`);
      for (let a = 0; a < numAnns; a++) {
        const kpts: number[] = [];
        for (let k = 0; k < 17; k++) kpts.push(100 + ((a + k * 7) % 300), 50 + ((a * 3 + k * 11) % 300), k % 3);
        const ann = { id: a + 1, image_id: (a % numImages) + 1, category_id: 1, iscrowd: 0, area: 5000, bbox: [50, 40, 300, 350], num_keypoints: 11, keypoints: kpts, segmentation: [[50, 40, 350, 40, 350, 390]] };
        fs.writeSync(fd, (a > 0 ? ',' : '') + JSON.stringify(ann));
      }
      fs.writeSync(fd, ']}');
      fs.closeSync(fd);
      // How fast and in how much memory such files load is measured by the bench, not here.
      const cfg = sampleDataConfig('coco', 'coco', file, 17, { 'DATASET.ROOT': dir });
      const ds = createDataset(cfg, 'train', quiet);
      expect(ds.records).toHaveLength(numAnns);
      expect(ds.imageIds).toHaveLength(numImages);
    } finally {
      removeTempDir(dir);
    }
  });
});

describe('annotation file helpers', () => {
  it('locates JSON syntax errors', () => {
    expect(jsonErrorOffset('{"a": [1, 2, 3]}')).toBe(-1);
    expect(jsonErrorOffset('{"a": [1, 2,, 3]}')).toBe(12);
    expect(jsonErrorOffset('{"a": tru}')).toBe(6);
    expect(jsonErrorOffset('{"a": [1, 2')).toBe(11);
    for (const text of ['[1, 2', '{"a": "x\\q"}', '[1] x', '{"a" 1}']) {
      expect(() => JSON.parse(text)).toThrow();
      expect(jsonErrorOffset(text)).toBeGreaterThanOrEqual(0);
    }
  });

  it('names the file and says when it is truncated', () => {
    const dir = makeTempDir('json');
    try {
      const file = path.join(dir, 'cut.json');
      fs.writeFileSync(file, '{"images": [1, 2');
      expect(() => readJsonFile(file, 'annotation file')).toThrow(/annotation file .*cut\.json: malformed JSON at the end of the file \(truncated\?\)/);
      expect(() => readJsonFile(dir, 'annotation file')).toThrow(/is a directory, expected a JSON file/);
    } finally {
      removeTempDir(dir);
    }
  });

  it('picks the first folder that holds the images', () => {
    const coco = path.join(DATA_DIR, 'coco');
    expect(pickImageDir(['/nonexistent', coco], ['000000000785.jpg'])).toEqual({ dir: coco, found: true });
    expect(pickImageDir(['/nonexistent', coco], ['x.jpg'])).toEqual({ dir: '/nonexistent', found: false });
  });
});

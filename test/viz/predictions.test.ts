import * as fs from 'fs';
import * as path from 'path';
import { COCO_META } from '../../src/data/keypoint-meta';
import { renderPredictions } from '../../src/viz/predictions';
import { blankImage } from '../../src/viz/raster';
import { DATA_DIR } from '../helpers/fixtures';
import { decodeImage } from '../../src/data/image';
import { colorDistance, decodePng, keepPicture, pixelAt } from '../helpers/viz';

const K = COCO_META.keypointNames.length;
const colors = COCO_META.colors ?? [];

describe('renderPredictions', () => {
  test('keypoints at or above the threshold are drawn, the others not; the box is drawn thin', async () => {
    const image = blankImage(200, 150, [90, 90, 90]);
    const keypoints = Array.from({ length: K }, () => [0, 0, 0]);
    keypoints[0] = [50, 40, 0.9]; // nose, drawn
    keypoints[13] = [120, 100, 0.1]; // left_knee, below 0.2
    keypoints[14] = [160, 100, 0.2]; // right_knee, at the threshold
    const png = await renderPredictions(image, [{ keypoints, score: 0.87, box: [20.5, 10.5, 160, 130] }], COCO_META, { radius: 3 });
    const img = await decodePng(png);
    expect([img.width, img.height]).toEqual([200, 150]);
    expect(pixelAt(img, 50, 40)).toEqual(colors[0]);
    expect(pixelAt(img, 160, 100)).toEqual(colors[14]);
    expect(pixelAt(img, 120, 100)).toEqual([90, 90, 90]);
    // box edge (x = 20.5 covers pixel 20) is light, the inside is untouched
    expect(pixelAt(img, 20, 75)[0]).toBeGreaterThan(200);
    expect(pixelAt(img, 30, 75)).toEqual([90, 90, 90]);
    // a higher threshold hides the knee too
    const strict = await decodePng(await renderPredictions(image, [{ keypoints, score: 0.87 }], COCO_META, { scoreThreshold: 0.5 }));
    expect(pixelAt(strict, 160, 100)).toEqual([90, 90, 90]);
    expect(pixelAt(strict, 50, 40)).toEqual(colors[0]);
  });

  test('the better-scored person is drawn on top', async () => {
    const image = blankImage(100, 100);
    const a = Array.from({ length: K }, () => [50, 50, 0]);
    const b = Array.from({ length: K }, () => [50, 50, 0]);
    a[1] = [50, 50, 1]; // left_eye
    b[2] = [50, 50, 1]; // right_eye at the same place
    const img = await decodePng(await renderPredictions(image, [{ keypoints: a, score: 0.9 }, { keypoints: b, score: 0.3 }], COCO_META));
    expect(pixelAt(img, 50, 50)).toEqual(colors[1]);
  });

  test('a COCO image with its ground truth as predictions', async () => {
    const dir = path.join(DATA_DIR, 'coco');
    const coco = JSON.parse(fs.readFileSync(path.join(dir, 'test_coco.json'), 'utf8')) as {
      annotations: { image_id: number; bbox: [number, number, number, number]; keypoints: number[]; num_keypoints: number }[];
    };
    const image = await decodeImage(path.join(dir, '000000196141.jpg'));
    const persons = coco.annotations
      .filter((a) => a.image_id === 196141 && a.num_keypoints > 0)
      .map((a, i) => ({
        keypoints: Array.from({ length: K }, (_, k) => [a.keypoints[k * 3], a.keypoints[k * 3 + 1], a.keypoints[k * 3 + 2] > 0 ? 0.9 : 0]),
        score: 0.95 - 0.1 * i,
        box: a.bbox,
      }));
    const png = await renderPredictions(image, persons, COCO_META);
    keepPicture('viz-predictions.png', png);
    const img = await decodePng(png);
    expect([img.width, img.height]).toEqual([640, 429]);
    const p = persons[0].keypoints;
    const k = p.findIndex(([x, y, s], i) => s > 0 && p.every(([x2, y2, s2], j) => j === i || s2 === 0 || Math.hypot(x2 - x, y2 - y) > 10));
    expect(k).toBeGreaterThanOrEqual(0);
    expect(colorDistance(pixelAt(img, Math.round(p[k][0]), Math.round(p[k][1])), colors[k])).toBeLessThanOrEqual(1);
  });
});

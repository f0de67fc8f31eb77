import { COCO_META } from '../../src/data/keypoint-meta';
import { gridLayout, renderJointsGrid } from '../../src/viz/grid';
import { blankImage } from '../../src/viz/raster';
import { cocoPersonCrops, colorDistance, decodePng, keepPicture, pixelAt } from '../helpers/viz';

const K = COCO_META.keypointNames.length;

describe('renderJointsGrid', () => {
  test('gridLayout is make_grid: min(nrow, N) columns, cells of size + padding, a padding border', () => {
    const sizes = new Array(10).fill({ width: 192, height: 256 });
    const g = gridLayout(sizes, 8, 2);
    expect([g.width, g.height]).toEqual([8 * 194 + 2, 2 * 258 + 2]);
    expect(g.origins[0]).toEqual([2, 2]);
    expect(g.origins[7]).toEqual([7 * 194 + 2, 2]);
    expect(g.origins[9]).toEqual([194 + 2, 258 + 2]);
    expect(gridLayout(sizes.slice(0, 3), 8, 0)).toMatchObject({ width: 3 * 192, height: 256 });
  });

  test('joints are drawn in their colour at their crop position; invisible joints are not drawn', async () => {
    const gray = blankImage(48, 64, [128, 128, 128]);
    const a = new Float32Array(K * 3);
    a.set([10, 12, 2], 0); // nose (midline)
    a.set([40, 50, 0], 9 * 3); // left_wrist, not labelled
    const b = new Float32Array(K * 3);
    b.set([30, 20, 1], 1 * 3); // left_eye
    b.set([8, 50, 2], 2 * 3); // right_eye
    const png = await renderJointsGrid([gray, gray], [a, b], COCO_META, { nrow: 2, padding: 2 });
    const img = await decodePng(png);
    expect([img.width, img.height]).toEqual([2 * 50 + 2, 66 + 2]);
    const colors = COCO_META.colors ?? [];
    expect(pixelAt(img, 2 + 10, 2 + 12)).toEqual(colors[0]);
    expect(pixelAt(img, 52 + 30, 2 + 20)).toEqual(colors[1]);
    expect(pixelAt(img, 52 + 8, 2 + 50)).toEqual(colors[2]);
    // the unlabelled wrist leaves the crop untouched, the border stays black
    expect(pixelAt(img, 2 + 40, 2 + 50)).toEqual([128, 128, 128]);
    expect(pixelAt(img, 0, 30)).toEqual([0, 0, 0]);
    expect(pixelAt(img, 51, 30)).toEqual([0, 0, 0]);
  });

  test('real COCO crops with their ground truth', async () => {
    const crops = await cocoPersonCrops(10);
    const png = await renderJointsGrid(crops.map((c) => c.image), crops.map((c) => c.joints), COCO_META);
    keepPicture('viz-joints-grid.png', png);
    const img = await decodePng(png);
    expect([img.width, img.height]).toEqual([8 * 194 + 2, 2 * 258 + 2]);
    const colors = COCO_META.colors ?? [];
    let checked = 0;
    crops.forEach((crop, i) => {
      const [left, top] = [(i % 8) * 194 + 2, Math.floor(i / 8) * 258 + 2];
      crop.joints.forEach(([x, y, v], k) => {
        const isolated = crop.joints.every(([x2, y2, v2], j) => j === k || v2 === 0 || Math.hypot(x2 - x, y2 - y) > 10);
        if (v === 0 || !isolated || x < 0 || y < 0 || x > 191 || y > 255) return;
        expect(colorDistance(pixelAt(img, left + Math.round(x), top + Math.round(y)), colors[k])).toBeLessThanOrEqual(1);
        checked++;
      });
    });
    expect(checked).toBeGreaterThan(50);
  });

  test('errors name the argument', async () => {
    const gray = blankImage(4, 4);
    await expect(renderJointsGrid([gray], [], COCO_META)).rejects.toThrow(/1 images but 0 joint sets/);
    await expect(renderJointsGrid([gray], [[1, 2, 3]], COCO_META)).rejects.toThrow(/joints\[0\].*51 numbers/);
    await expect(renderJointsGrid([{ data: new Uint8Array(3), width: 4, height: 4 }], [new Float32Array(K * 3)], COCO_META)).rejects.toThrow(
      /images\[0\]/,
    );
  });
});

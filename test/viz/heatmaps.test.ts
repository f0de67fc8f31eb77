import { COCO_META } from '../../src/data/keypoint-meta';
import { generateTarget } from '../../src/codec/targets';
import { jetColor } from '../../src/viz/colormap';
import { renderHeatmapGrid } from '../../src/viz/heatmaps';
import { blankImage } from '../../src/viz/raster';
import { cocoPersonCrops, decodePng, keepPicture, pixelAt } from '../helpers/viz';

/** The official blend of one pixel: floor(0.7 · jet + 0.3 · image). */
function blend(level: number, image: number[]): number[] {
  return jetColor(level).map((c, i) => Math.floor(c * 0.7 + image[i] * 0.3));
}

describe('renderHeatmapGrid', () => {
  test('one row per sample: the resized crop, then each joint blended in JET (blue at 0, red at 1)', async () => {
    const [n, h, w, k] = [2, 8, 6, 2];
    const heatmaps = new Float32Array(n * h * w * k);
    heatmaps[((0 * h + 3) * w + 4) * k + 1] = 1; // sample 0, joint 1 peaks at (4, 3)
    heatmaps[((1 * h + 6) * w + 1) * k + 0] = 0.5; // sample 1, joint 0 at (1, 6)
    const images = [blankImage(12, 16, [100, 150, 200]), blankImage(30, 40, [20, 40, 60])];
    const scale = 4;
    const img = await decodePng(await renderHeatmapGrid(images, heatmaps, [n, h, w, k], { scale }));
    expect([img.width, img.height]).toEqual([(k + 1) * w * scale, n * h * scale]);
    const at = (sample: number, col: number, x: number, y: number) => pixelAt(img, (col * w + x) * scale + 1, (sample * h + y) * scale + 1);
    // column 0: the crop, resized
    expect(at(0, 0, 0, 0)).toEqual([100, 150, 200]);
    expect(at(1, 0, 5, 7)).toEqual([20, 40, 60]);
    // heatmap 0 → dark blue, heatmap 1 → dark red, both under 0.3 of the crop
    expect(at(0, 2, 0, 0)).toEqual(blend(0, [100, 150, 200]));
    expect(at(0, 2, 4, 3)).toEqual(blend(255, [100, 150, 200]));
    expect(at(1, 1, 1, 6)).toEqual(blend(127, [20, 40, 60]));
    const cold = at(0, 2, 0, 0);
    const hot = at(0, 2, 4, 3);
    expect(cold[2]).toBeGreaterThan(cold[0]);
    expect(hot[0]).toBeGreaterThan(hot[2]);
    // the peak is ringed in red in the crop column and in its joint column
    const ring = (sample: number, col: number, x: number, y: number) =>
      pixelAt(img, (col * w + x + 0.5) * scale + scale - 1, (sample * h + y + 0.5) * scale);
    expect(ring(0, 2, 4, 3)).toEqual([255, 0, 0]);
    expect(ring(0, 0, 4, 3)).toEqual([255, 0, 0]);
    // an all-zero heatmap has no peak and no ring
    expect(at(0, 1, 0, 0)).toEqual(blend(0, [100, 150, 200]));
    expect(pixelAt(img, (1 * w + 0.5) * scale + scale - 1, 0.5 * scale)).toEqual(blend(0, [100, 150, 200]));
  });

  test('keypoint names make a header row', async () => {
    const heatmaps = new Float32Array(1 * 4 * 4 * 2);
    const img = await decodePng(await renderHeatmapGrid([blankImage(4, 4)], heatmaps, [1, 4, 4, 2], { scale: 16, keypointNames: ['a', 'b'] }));
    expect(img.width).toBe(3 * 64);
    expect(img.height).toBeGreaterThan(64);
    expect(pixelAt(img, 1, 1)).toEqual([255, 255, 255]);
  });

  test('shape and size errors name the field', async () => {
    await expect(renderHeatmapGrid([blankImage(4, 4)], new Float32Array(10), [1, 2, 2, 2])).rejects.toThrow(/10 values.*8/);
    await expect(renderHeatmapGrid([], new Float32Array(8), [1, 2, 2, 2])).rejects.toThrow(/0 images for N = 1/);
    await expect(renderHeatmapGrid([blankImage(4, 4)], new Float32Array(8), [1, 2, 2, 2], { keypointNames: ['a'] })).rejects.toThrow(
      /keypointNames has 1 names, expected K = 2/,
    );
  });

  test('real COCO crops with Gaussian targets of their ground truth', async () => {
    const crops = await cocoPersonCrops(3);
    const [h, w, k] = [64, 48, COCO_META.keypointNames.length];
    const heatmaps = new Float32Array(crops.length * h * w * k);
    crops.forEach((crop, i) => {
      const joints = crop.joints.flatMap(([x, y]) => [x, y, 0]);
      const vis = crop.joints.flatMap(([, , v]) => (v > 0 ? [1, 1, 0] : [0, 0, 0]));
      const { target } = generateTarget(joints, vis, { imageSize: [192, 256], heatmapSize: [w, h], sigma: 2, layout: 'HWK' });
      heatmaps.set(target, i * h * w * k);
    });
    const png = await renderHeatmapGrid(
      crops.map((c) => c.image),
      heatmaps,
      [crops.length, h, w, k],
      { keypointNames: COCO_META.keypointNames },
    );
    keepPicture('viz-heatmaps.png', png);
    const img = await decodePng(png);
    expect(img.width).toBe((k + 1) * w * 2);
    const header = img.height - crops.length * h * 2;
    expect(header).toBeGreaterThan(0);
    // the first visible joint of the first crop: its Gaussian's centre is red in its column
    const j = crops[0].joints.findIndex(([, , v]) => v > 0);
    const cx = Math.round(crops[0].joints[j][0] / 4);
    const cy = Math.round(crops[0].joints[j][1] / 4);
    const centre = pixelAt(img, ((j + 1) * w + cx) * 2, header + cy * 2);
    expect(centre[0]).toBeGreaterThan(centre[2] + 40);
  });
});

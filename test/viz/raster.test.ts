import { blankImage, checkRgbImage, encodePng, overlaySvg, pasteImage, rasterizeSvg, resizeBilinear, upscaleNearest } from '../../src/viz/raster';
import { svgDocument, svgRect } from '../../src/viz/svg';
import { decodePng, pixelAt } from '../helpers/viz';

/** A W×H image whose pixel (x, y) is [x, y, x + y] (mod 256). */
function ramp(width: number, height: number): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x % 256, y % 256, (x + y) % 256], (y * width + x) * 3);
  }
  return { data, width, height };
}

describe('raster', () => {
  test('checkRgbImage names the argument and the expected size', () => {
    expect(() => checkRgbImage({ data: new Uint8Array(5), width: 2, height: 1 }, 'images[3]')).toThrow(/images\[3\].*5 bytes.*6/);
    expect(() => checkRgbImage({ data: new Uint8Array(0), width: 0, height: 1 }, 'img')).toThrow(/img: width and height/);
    expect(() => checkRgbImage({ data: new Uint8Array(6), width: 2, height: 1 }, 'img')).not.toThrow();
  });

  test('blankImage fills; pasteImage copies and clips at the borders', () => {
    const dst = blankImage(4, 3, [9, 8, 7]);
    expect(Array.from(dst.data.subarray(0, 6))).toEqual([9, 8, 7, 9, 8, 7]);
    const src = ramp(3, 2);
    pasteImage(dst, src, 2, 2); // only src row 0, columns 0-1 land inside
    expect(Array.from(dst.data.subarray((2 * 4 + 2) * 3, (2 * 4 + 4) * 3))).toEqual([0, 0, 0, 1, 0, 1]);
    expect(Array.from(dst.data.subarray((2 * 4 + 1) * 3, (2 * 4 + 2) * 3))).toEqual([9, 8, 7]);
    pasteImage(dst, src, -2, -1); // src (2, 1) lands at (0, 0)
    expect(Array.from(dst.data.subarray(0, 3))).toEqual([2, 1, 3]);
  });

  test('encodePng round-trips the pixels', async () => {
    const img = ramp(7, 5);
    const back = await decodePng(await encodePng(img));
    expect([back.width, back.height, back.channels]).toEqual([7, 5, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
  });

  test('overlaySvg draws over the pixels and keeps the rest', async () => {
    const img = ramp(20, 10);
    const back = await decodePng(await overlaySvg(img, svgRect(5, 2, 3, 4, { fill: 'rgb(10,20,30)' })));
    expect([back.width, back.height, back.channels]).toEqual([20, 10, 3]);
    expect(pixelAt(back, 6, 3)).toEqual([10, 20, 30]);
    expect(pixelAt(back, 15, 8)).toEqual([15, 8, 23]);
    expect(pixelAt(back, 4, 3)).toEqual([4, 3, 7]);
  });

  test('rasterizeSvg puts the drawing on white', async () => {
    const back = await decodePng(await rasterizeSvg(svgDocument(12, 8, svgRect(0, 0, 6, 8, { fill: 'black' }))));
    expect([back.width, back.height, back.channels]).toEqual([12, 8, 3]);
    expect(pixelAt(back, 2, 2)).toEqual([0, 0, 0]);
    expect(pixelAt(back, 9, 2)).toEqual([255, 255, 255]);
  });

  test('resizeBilinear: cv2 INTER_LINEAR geometry (half-pixel centres, clamped borders)', () => {
    const src = { data: new Uint8Array([0, 0, 0, 100, 100, 100, 200, 200, 200, 240, 240, 240]), width: 4, height: 1 };
    // 4 → 2: output x samples (x + 0.5)·2 − 0.5 = 0.5, 2.5
    expect(Array.from(resizeBilinear(src, 2, 1).data)).toEqual([50, 50, 50, 220, 220, 220]);
    // 4 → 8: output 0 samples −0.25 → clamped to 0; output 1 samples 0.25
    const up = resizeBilinear(src, 8, 1).data;
    expect([up[0], up[3], up[21]]).toEqual([0, 25, 240]);
    const same = ramp(5, 4);
    expect(Array.from(resizeBilinear(same, 5, 4).data)).toEqual(Array.from(same.data));
  });

  test('upscaleNearest makes blocks', () => {
    const src = ramp(2, 2);
    const big = upscaleNearest(src, 3);
    expect([big.width, big.height]).toEqual([6, 6]);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        const s = (Math.floor(y / 3) * 2 + Math.floor(x / 3)) * 3;
        expect(Array.from(big.data.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3))).toEqual(Array.from(src.data.subarray(s, s + 3)));
      }
    }
    expect(() => upscaleNearest(src, 1.5)).toThrow(/factor/);
  });
});

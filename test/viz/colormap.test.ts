import { JET_LUT, heatmapLevel, jetColor } from '../../src/viz/colormap';

describe('colormap', () => {
  test('JET is dark blue at 0 and dark red at 255 (cv2 COLORMAP_JET ends)', () => {
    expect(jetColor(0)).toEqual([0, 0, 128]);
    expect(jetColor(255)).toEqual([128, 0, 0]);
  });

  test('JET passes blue, cyan, yellow, red in order', () => {
    // tent centres: blue full at t = 0.25, green full at 0.5, red full at 0.75
    expect(jetColor(64)).toEqual([0, expect.any(Number), 255]);
    const mid = jetColor(128);
    expect(mid[1]).toBe(255);
    expect(Math.abs(mid[0] - mid[2])).toBeLessThanOrEqual(4);
    expect(jetColor(191)).toEqual([255, expect.any(Number), 0]);
    for (let v = 0; v < 256; v++) {
      const [r, g, b] = jetColor(v);
      // at most two channels are lit, and red and blue never together except around the middle
      expect(Math.min(r, b)).toBeLessThanOrEqual(v >= 96 && v <= 160 ? 255 : 0);
      expect(Math.max(r, g, b)).toBeGreaterThanOrEqual(128);
    }
  });

  test('JET_LUT holds jetColor row by row; out-of-range levels clamp', () => {
    for (const v of [0, 1, 37, 128, 200, 255]) expect(Array.from(JET_LUT.subarray(v * 3, v * 3 + 3))).toEqual(jetColor(v));
    expect(jetColor(-5)).toEqual(jetColor(0));
    expect(jetColor(900)).toEqual(jetColor(255));
  });

  test('heatmapLevel is mul(255).clamp(0, 255).byte(): truncation in float32', () => {
    expect(heatmapLevel(0)).toBe(0);
    expect(heatmapLevel(1)).toBe(255);
    expect(heatmapLevel(1.7)).toBe(255);
    expect(heatmapLevel(-0.3)).toBe(0);
    expect(heatmapLevel(Number.NaN)).toBe(0);
    expect(heatmapLevel(0.5)).toBe(127);
    expect(heatmapLevel(0.999)).toBe(254);
    expect(heatmapLevel(Math.fround(0.99999994))).toBe(254);
  });
});

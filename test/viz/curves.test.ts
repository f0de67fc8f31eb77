import { CurveSeries, CurvesOptions, EpochMetrics, SERIES_COLORS, curvesPanelSvg, renderTrainingCurves } from '../../src/viz/curves';
import { rasterizeSvg } from '../../src/viz/raster';
import { svgDocument, svgRect } from '../../src/viz/svg';
import { DecodedPng, colorDistance, decodePng, keepPicture, pixelAt } from '../helpers/viz';

/** One panel of the training picture (curvesPanelSvg, as renderTrainingCurves draws each) on a white PNG. */
async function renderPanel(series: readonly CurveSeries[], opts: CurvesOptions): Promise<Buffer> {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  return rasterizeSvg(svgDocument(width, height, svgRect(0, 0, width, height, { fill: 'white' }) + curvesPanelSvg(series, opts, { x: 0, y: 0, width, height })));
}

function hex(color: string): [number, number, number] {
  const v = parseInt(color.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Pixels of `color` (±8 per channel) inside columns [x0, x1). */
function countColor(img: DecodedPng, color: [number, number, number], x0 = 0, x1 = img.width): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = x0; x < x1; x++) if (colorDistance(pixelAt(img, x, y), color) <= 8) n++;
  }
  return n;
}

/** A plausible 20-epoch run: loss falling, AP rising, validated every second epoch, LR stepped at 10 and 15. */
function fakeLog(): EpochMetrics[] {
  return Array.from({ length: 20 }, (_, e) => ({
    epoch: e,
    trainLoss: 0.0011 * Math.exp(-e / 6) + 0.00045 + 0.00002 * Math.sin(e),
    trainAcc: 0.75 - 0.5 * Math.exp(-e / 5),
    valLoss: e % 2 === 1 ? 0.0012 * Math.exp(-e / 7) + 0.0005 : undefined,
    valMetric: e % 2 === 1 ? 0.72 - 0.6 * Math.exp(-e / 5) : undefined,
    valMetricName: 'AP',
    lr: e < 10 ? 1e-3 : e < 15 ? 1e-4 : 1e-5,
  }));
}

describe('curves', () => {
  test('curvesPanelSvg: a PNG of the requested size with each series in its colour', async () => {
    const png = await renderPanel(
      [
        { name: 'train', points: Array.from({ length: 30 }, (_, i): [number, number] => [i, 1 / (i + 1)]) },
        { name: 'val', points: [[0, 0.9], [10, 0.3], [20, Number.NaN], [29, 0.1]], dashed: true },
      ],
      { title: 'Loss', xLabel: 'epoch', yLabel: 'loss', width: 500, height: 300 },
    );
    keepPicture('viz-curves-single.png', png);
    const img = await decodePng(png);
    expect([img.width, img.height]).toEqual([500, 300]);
    expect(pixelAt(img, 2, 2)).toEqual([255, 255, 255]);
    expect(countColor(img, hex(SERIES_COLORS[0]))).toBeGreaterThan(200);
    expect(countColor(img, hex(SERIES_COLORS[1]))).toBeGreaterThan(100);
  });

  test('curvesPanelSvg: empty series still give a framed plot; log axes drop non-positive values', async () => {
    const empty = await decodePng(await renderPanel([{ name: 'nothing', points: [] }], { title: 'Empty', xLabel: 'x' }));
    expect([empty.width, empty.height]).toEqual([640, 400]);
    const log = await decodePng(
      await renderPanel([{ name: 'lr', points: [[0, 0], [1, 1e-3], [2, 1e-4]] }], { title: 'LR', xLabel: 'epoch', logY: true }),
    );
    expect(countColor(log, hex(SERIES_COLORS[0]))).toBeGreaterThan(50);
    await expect(renderPanel([], { title: 'tiny', xLabel: 'x', width: 60, height: 60 })).rejects.toThrow(/tiny.*no room/);
  });

  test('renderTrainingCurves: loss, accuracy/AP and learning-rate panels side by side', async () => {
    const png = await renderTrainingCurves(fakeLog(), { title: 'w32_256x192 (fake run)' });
    keepPicture('viz-training-curves.png', png);
    const img = await decodePng(png);
    expect(img.width).toBe(3 * 520);
    expect(img.height).toBeGreaterThan(380);
    // train loss in the first panel, val AP in the second, LR in the third
    expect(countColor(img, hex(SERIES_COLORS[0]), 0, 520)).toBeGreaterThan(200);
    expect(countColor(img, hex(SERIES_COLORS[3]), 520, 1040)).toBeGreaterThan(200);
    expect(countColor(img, hex(SERIES_COLORS[4]), 1040, 1560)).toBeGreaterThan(200);
    expect(countColor(img, hex(SERIES_COLORS[3]), 0, 520)).toBe(0);
  });

  test('renderTrainingCurves: without accuracy or validation there are two panels; an empty log is an error', async () => {
    const log = fakeLog().map(({ epoch, trainLoss, lr }) => ({ epoch, trainLoss, lr }));
    const img = await decodePng(await renderTrainingCurves(log));
    expect([img.width, img.height]).toEqual([2 * 520, 380]);
    await expect(renderTrainingCurves([])).rejects.toThrow(/metrics log is empty/);
  });
});

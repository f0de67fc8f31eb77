import { getFinalPreds, getMaxPreds, HeatmapShape, nhwcToNchw } from '../../src/eval/decode';
import { FixtureArray, maxAbsDiff } from '../helpers/fixtures';
import { f32Data, readPipelineFixture } from '../helpers/pipeline-cases';

function shapeOf(a: FixtureArray): HeatmapShape {
  expect(a.shape).toHaveLength(4);
  return a.shape as unknown as HeatmapShape;
}

describe('getMaxPreds', () => {
  const fixture = readPipelineFixture<{ batch_heatmaps: FixtureArray }, { preds: FixtureArray; maxvals: FixtureArray }>(
    'get_max_preds',
  );

  it('matches the 20 official cases exactly (ties, all-negative and all-zero maps)', () => {
    expect(fixture.cases).toHaveLength(20);
    for (const c of fixture.cases) {
      const out = getMaxPreds(f32Data(c.inputs.batch_heatmaps), shapeOf(c.inputs.batch_heatmaps));
      expect(out.preds).toEqual(f32Data(c.expected.preds));
      expect(out.maxvals).toEqual(f32Data(c.expected.maxvals));
    }
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => getMaxPreds(new Float32Array(10), [1, 1, 3, 3])).toThrow(/expected N·K·H·W = 9/);
  });
});

describe('getFinalPreds', () => {
  interface Inputs {
    batch_heatmaps: FixtureArray;
    center: FixtureArray;
    scale: FixtureArray;
    post_process: boolean;
  }
  const fixture = readPipelineFixture<Inputs, { preds: FixtureArray; maxvals: FixtureArray }>('get_final_preds');

  it('matches the 22 official cases to 1e-3 px (post-processing on and off, peaks at borders)', () => {
    expect(fixture.cases).toHaveLength(22);
    expect(fixture.cases.filter((c) => !c.inputs.post_process)).toHaveLength(2);
    for (const c of fixture.cases) {
      const out = getFinalPreds(
        f32Data(c.inputs.batch_heatmaps),
        shapeOf(c.inputs.batch_heatmaps),
        f32Data(c.inputs.center),
        f32Data(c.inputs.scale),
        { postProcess: c.inputs.post_process },
      );
      expect(maxAbsDiff(out.preds, c.expected.preds.data)).toBeLessThanOrEqual(1e-3);
      expect(out.maxvals).toEqual(f32Data(c.expected.maxvals));
    }
  });

  it('checks the center/scale lengths', () => {
    expect(() => getFinalPreds(new Float32Array(2 * 9), [2, 1, 3, 3], [1, 2], [1, 1, 1, 1], { postProcess: true })).toThrow(
      /centers and scales must be \[N, 2\]/,
    );
  });
});

describe('nhwcToNchw', () => {
  it('reorders NHWC model output to the NCHW layout of the fixtures', () => {
    const fixture = readPipelineFixture<{ batch_heatmaps: FixtureArray }, unknown>('get_max_preds');
    const a = fixture.cases[1].inputs.batch_heatmaps;
    const [n, k, h, w] = shapeOf(a);
    const nchw = f32Data(a);
    const nhwc = new Float32Array(nchw.length);
    for (let b = 0; b < n; b++) {
      for (let c = 0; c < k; c++) {
        for (let p = 0; p < h * w; p++) nhwc[(b * h * w + p) * k + c] = nchw[(b * k + c) * h * w + p];
      }
    }
    expect(nhwcToNchw(nhwc, n, h, w, k)).toEqual(nchw);
    expect(() => nhwcToNchw(nhwc, n, h, w, k + 1)).toThrow(/expected N·H·W·K/);
  });
});

describe('DARK decoding', () => {
  const H = 64;
  const W = 48;
  /** Center and scale that make heatmap → image the identity map. */
  const identityCenter = [W / 2, H / 2];
  const identityScale = [W / 200, H / 200];

  /** One `[1, 1, H, W]` unnormalised Gaussian heatmap with peak 1 at (mx, my). */
  function gaussianMap(mx: number, my: number, sigma: number): Float32Array {
    const map = new Float32Array(H * W);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) map[y * W + x] = Math.exp(-((x - mx) ** 2 + (y - my) ** 2) / (2 * sigma * sigma));
    }
    return map;
  }

  function decodeOne(map: Float32Array, decode: 'default' | 'dark'): [number, number] {
    const { preds } = getFinalPreds(map, [1, 1, H, W], identityCenter, identityScale, { postProcess: true, decode });
    return [preds[0], preds[1]];
  }

  it('identity center/scale leaves heatmap coordinates unchanged', () => {
    const map = gaussianMap(20, 30, 2);
    const { preds } = getFinalPreds(map, [1, 1, H, W], identityCenter, identityScale, { postProcess: false });
    expect(Math.abs(preds[0] - 20)).toBeLessThan(1e-4);
    expect(Math.abs(preds[1] - 30)).toBeLessThan(1e-4);
  });

  it('recovers sub-pixel peaks of σ = 2 Gaussians far better than the quarter-pixel shift', () => {
    const peaks: [number, number][] = [
      [12.3, 7.8],
      [12.45, 7.6],
      [20.1, 33.4],
      [30.62, 41.38],
      [24.0, 32.0],
      [17.49, 50.51],
    ];
    let darkWorst = 0;
    let darkSum = 0;
    let defaultSum = 0;
    for (const [mx, my] of peaks) {
      const map = gaussianMap(mx, my, 2);
      const dark = decodeOne(map, 'dark');
      const plain = decodeOne(map, 'default');
      const darkErr = Math.hypot(dark[0] - mx, dark[1] - my);
      darkWorst = Math.max(darkWorst, darkErr);
      darkSum += darkErr;
      defaultSum += Math.hypot(plain[0] - mx, plain[1] - my);
    }
    expect(darkWorst).toBeLessThan(0.05);
    expect(defaultSum / peaks.length).toBeGreaterThan(0.1);
    expect(darkSum).toBeLessThan(defaultSum / 5);
  });

  it('leaves peaks at or next to the border at the argmax and stays finite on flat or negative maps', () => {
    const borderPeaks: [number, number][] = [
      [0, 20],
      [W - 1, 10],
      [1, 1],
      [W - 2, H - 2],
      [15, 0],
    ];
    for (const [mx, my] of borderPeaks) {
      const dark = decodeOne(gaussianMap(mx, my, 2), 'dark');
      expect(Math.abs(dark[0] - mx)).toBeLessThan(1e-4);
      expect(Math.abs(dark[1] - my)).toBeLessThan(1e-4);
    }
    const flat = decodeOne(new Float32Array(H * W), 'dark');
    expect(flat).toEqual([0, 0]);
    const negative = decodeOne(new Float32Array(H * W).fill(-0.5), 'dark');
    expect(negative).toEqual([0, 0]);
    const plateau = new Float32Array(H * W).fill(0.3);
    const onPlateau = decodeOne(plateau, 'dark');
    expect(onPlateau.every(Number.isFinite)).toBe(true);
  });

  it('rejects an even blur kernel', () => {
    expect(() =>
      getFinalPreds(gaussianMap(20, 20, 2), [1, 1, H, W], identityCenter, identityScale, { postProcess: true, decode: 'dark', blurKernel: 10 }),
    ).toThrow(/blurKernel must be an odd integer/);
  });
});

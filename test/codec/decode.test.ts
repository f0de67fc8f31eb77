import { getAffineTransform } from '../../src/codec/affine';
import { getMaxPreds, HeatmapShape } from '../../src/codec/argmax';
import { createCodec, darkCodec, msraCodec, udpCodec } from '../../src/codec/codecs';
import type { CodecName, CodecSpec } from '../../src/codec/heatmap-codec';
import { nhwcToNchw } from '../../src/codec/layout';
import { darkUdpTaylorOffset } from '../../src/codec/refine';
import { FixtureArray, maxAbsDiff } from '../helpers/fixtures';
import { f32Data, readPipelineFixture } from '../helpers/pipeline-cases';

/** A codec whose geometry fits heatmaps of `shape` (the decoding reads the heatmap size from the shape). */
function codec(name: CodecName, shape: HeatmapShape, extra: Partial<CodecSpec> = {}): ReturnType<typeof createCodec> {
  const [, , h, w] = shape;
  return createCodec({ name, imageSize: [w * 4, h * 4], heatmapSize: [w, h], sigma: 2, ...extra });
}

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

describe('the official codec (msra) decode: get_final_preds', () => {
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
      const shape = shapeOf(c.inputs.batch_heatmaps);
      const out = codec('msra', shape, { postProcess: c.inputs.post_process }).decode(
        f32Data(c.inputs.batch_heatmaps),
        shape,
        f32Data(c.inputs.center),
        f32Data(c.inputs.scale),
      );
      expect(maxAbsDiff(out.preds, c.expected.preds.data)).toBeLessThanOrEqual(1e-3);
      expect(out.maxvals).toEqual(f32Data(c.expected.maxvals));
    }
  });

  it('checks the center/scale lengths', () => {
    expect(() => codec('msra', [2, 1, 3, 3]).decode(new Float32Array(2 * 9), [2, 1, 3, 3], [1, 2], [1, 1, 1, 1])).toThrow(
      /centers and scales must be \[N, 2\]/,
    );
  });

  it('maps heatmap coordinates through the inverse crop affine (official transform_preds)', () => {
    const shape: HeatmapShape = [1, 2, 64, 48];
    const maps = new Float32Array(2 * 64 * 48);
    const set = (k: number, x: number, y: number, v: number): void => {
      maps[(k * 64 + y) * 48 + x] = v;
    };
    set(0, 1, 2, 1); // next to the border: no quarter shift → (1, 2)
    set(1, 30, 41, 1); // right and upper neighbours higher → (30.25, 40.75)
    set(1, 31, 41, 0.5);
    set(1, 29, 41, 0.2);
    set(1, 30, 40, 0.5);
    set(1, 30, 42, 0.2);
    const center = [Math.fround(320.5), Math.fround(200.25)];
    const scale = [Math.fround(1.3), Math.fround(1.7333)];
    const t = getAffineTransform(center, scale, 0, [48, 64], [0, 0], true);
    const { preds } = codec('msra', shape).decode(maps, shape, center, scale);
    const expected = [1, 2, 30.25, 40.75].map((_, i, a) => (i % 2 === 0 ? t[0] * a[i] + t[1] * a[i + 1] + t[2] : t[3] * a[i - 1] + t[4] * a[i] + t[5]));
    expect(Array.from(preds)).toEqual(Array.from(Float32Array.from(expected)));
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
    const c = decode === 'dark' ? darkCodec : msraCodec;
    const { preds } = c({ name: 'dark', imageSize: [W * 4, H * 4], heatmapSize: [W, H], sigma: 2 }).decode(map, [1, 1, H, W], identityCenter, identityScale);
    return [preds[0], preds[1]];
  }

  it('identity center/scale leaves heatmap coordinates unchanged', () => {
    const map = gaussianMap(20, 30, 2);
    const { preds } = codec('msra', [1, 1, H, W], { postProcess: false }).decode(map, [1, 1, H, W], identityCenter, identityScale);
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
      codec('dark', [1, 1, H, W], { blurKernel: 10 }).decode(gaussianMap(20, 20, 2), [1, 1, H, W], identityCenter, identityScale),
    ).toThrow(/blurKernel must be an odd integer/);
  });
});

describe('UDP decoding', () => {
  it('DARK-UDP Taylor step: lands on the maximum of a quadratic log map, by hand', () => {
    const h = 20;
    const w = 16;
    const [mx, my] = [10.4, 11.7];
    const [a, b, c] = [0.3, 0.1, 0.2];
    const log = new Float64Array(h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) log[y * w + x] = -(a * (x - mx) ** 2 + 2 * b * (x - mx) * (y - my) + c * (y - my) ** 2);
    }
    // central differences are exact on a quadratic, so one Newton step reaches (mx, my) (up to the 2⁻²³ regulariser)
    const [ox, oy] = darkUdpTaylorOffset(log, h, w, 10, 12);
    expect(Math.abs(10 + ox - mx)).toBeLessThan(1e-5);
    expect(Math.abs(12 + oy - my)).toBeLessThan(1e-5);
  });

  it('DARK-UDP Taylor step at the border: edge padding makes the step −½ on a separable map, by hand', () => {
    // L(x, y) = −0.3 (x − 2.6)² − 0.2 (y − 5)²; at x = 0, L(−1) = L(0): dx = (L(1) − L(0))/2, dxx = L(1) − L(0), dxy = 0
    const h = 10;
    const w = 8;
    const log = new Float64Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) log[y * w + x] = -0.3 * (x - 2.6) ** 2 - 0.2 * (y - 5) ** 2;
    const [ox, oy] = darkUdpTaylorOffset(log, h, w, 0, 5);
    expect(Math.abs(ox - -0.5)).toBeLessThan(1e-6);
    expect(Math.abs(oy)).toBeLessThan(1e-12);
  });

  it('maps heatmap pixels back through the inverse UDP affine: x = x_hm · boxWidth/(W − 1) + cx − boxWidth/2, by hand', () => {
    const shape: HeatmapShape = [1, 3, 33, 25];
    const maps = new Float32Array(3 * 33 * 25);
    maps[(0 * 33 + 16) * 25 + 12] = 1;
    maps[(1 * 33 + 0) * 25 + 0] = 1;
    maps[(2 * 33 + 32) * 25 + 24] = 1;
    // box 100 × 200 px around (100, 50)
    const { preds, maxvals } = codec('udp', shape, { postProcess: false }).decode(maps, shape, [100, 50], [0.5, 1]);
    expect(maxAbsDiff(preds, [100, 50, 50, -50, 150, 150])).toBeLessThan(1e-4);
    expect(Array.from(maxvals)).toEqual([1, 1, 1]);
  });

  it('recovers joints encoded by the same codec far better than the official codec recovers its own', () => {
    const spec = { imageSize: [96, 128] as [number, number], heatmapSize: [24, 32] as [number, number], sigma: 2 };
    const center = [320, 240];
    const scale = [1.2, 1.6];
    const joints = [
      [300.3, 200.7],
      [351.9, 290.2],
      [280.05, 260.6],
      [330.5, 180.25],
    ];
    const worst = (c: ReturnType<typeof createCodec>): number => {
      const t = c.cropTransform(center, scale, 0);
      const crop = joints.flatMap(([x, y]) => [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5], 0]);
      const { target } = c.encode(crop, crop.map((_, i) => (i % 3 === 2 ? 0 : 1)));
      const { preds } = c.decode(target, [1, joints.length, 32, 24], center, scale);
      return Math.max(...joints.map(([x, y], k) => Math.hypot(preds[k * 2] - x, preds[k * 2 + 1] - y)));
    };
    const udp = worst(udpCodec({ name: 'udp', ...spec }));
    const msra = worst(msraCodec({ name: 'msra', ...spec }));
    // one heatmap pixel is 240 / 23 ≈ 10.4 image pixels here
    expect(udp).toBeLessThan(0.05);
    expect(msra).toBeGreaterThan(1);
  });

  it('never shifts flipped heatmaps, whatever TEST.SHIFT_HEATMAP says; the other codecs follow it', () => {
    const spec = { imageSize: [96, 128] as [number, number], heatmapSize: [24, 32] as [number, number], sigma: 2, shiftHeatmap: true };
    expect(udpCodec({ name: 'udp', ...spec }).flipTest([[1, 2]])).toEqual({ pairs: [[1, 2]], shift: false });
    expect(msraCodec({ name: 'msra', ...spec }).flipTest([[1, 2]])).toEqual({ pairs: [[1, 2]], shift: true });
    expect(darkCodec({ name: 'dark', ...spec, shiftHeatmap: false }).flipTest([])).toEqual({ pairs: [], shift: false });
  });
});

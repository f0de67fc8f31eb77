import * as tf from '@tensorflow/tfjs';
import { flipBackHeatmaps, flipPermutation, flipTestAverage, type FlipTest } from '../../src/codec/flip';
import { nhwcToNchw } from '../../src/codec/layout';
import { FixtureArray } from '../helpers/fixtures';
import { f32Data, readPipelineFixture } from '../helpers/pipeline-cases';

type Pair = [number, number];
type Shape4 = [number, number, number, number];

/** `[N, K, H, W]` → `[N, H, W, K]`. */
function nchwToNhwc(data: Float32Array, [n, k, h, w]: Shape4): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < k; c++) {
      for (let p = 0; p < h * w; p++) out[(b * h * w + p) * k + c] = data[(b * k + c) * h * w + p];
    }
  }
  return out;
}

/** The codec's flip-back on NCHW data, as the official `flip_back` takes it (plus the optional shift). */
async function flipBackNchw(data: Float32Array, shape: Shape4, flip: FlipTest): Promise<Float32Array> {
  const [n, k, h, w] = shape;
  const input = tf.tensor4d(nchwToNhwc(data, shape), [n, h, w, k]);
  const out = flipBackHeatmaps(input, flip);
  try {
    return nhwcToNchw(await out.data(), n, h, w, k);
  } finally {
    input.dispose();
    out.dispose();
  }
}

describe('flipBackHeatmaps', () => {
  const fixture = readPipelineFixture<{ output_flipped: FixtureArray; matched_parts: Pair[] }, { output: FixtureArray }>(
    'flip_back',
  );

  it('matches the 20 official flip_back cases exactly', async () => {
    expect(fixture.cases).toHaveLength(20);
    for (const c of fixture.cases) {
      const shape = c.inputs.output_flipped.shape as Shape4;
      const out = await flipBackNchw(f32Data(c.inputs.output_flipped), shape, { pairs: c.inputs.matched_parts, shift: false });
      expect(out).toEqual(f32Data(c.expected.output));
    }
  });

  it('is its own inverse', async () => {
    const c = fixture.cases[0];
    const shape = c.inputs.output_flipped.shape as Shape4;
    const input = f32Data(c.inputs.output_flipped);
    const flip = { pairs: c.inputs.matched_parts, shift: false };
    expect(await flipBackNchw(await flipBackNchw(input, shape, flip), shape, flip)).toEqual(input);
  });

  it('with the shift moves every column one right and keeps column 0 (SHIFT_HEATMAP)', async () => {
    const c = fixture.cases[0];
    const shape = c.inputs.output_flipped.shape as Shape4;
    const [n, k, h, w] = shape;
    const input = f32Data(c.inputs.output_flipped);
    const plain = await flipBackNchw(input, shape, { pairs: c.inputs.matched_parts, shift: false });
    const shifted = await flipBackNchw(input, shape, { pairs: c.inputs.matched_parts, shift: true });
    for (let m = 0; m < n * k; m++) {
      for (let y = 0; y < h; y++) {
        const row = (m * h + y) * w;
        expect(shifted[row]).toBe(plain[row]);
        for (let x = 1; x < w; x++) expect(shifted[row + x]).toBe(plain[row + x - 1]);
      }
    }
  });
});

describe('flipTestAverage', () => {
  it('averages the plain heatmaps with the flipped-back ones', async () => {
    const plain = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 4, 2]);
    const mirrored = tf.tensor4d([10, 20, 30, 40, 50, 60, 70, 80], [1, 1, 4, 2]);
    const flip: FlipTest = { pairs: [[0, 1]], shift: false };
    const avg = flipTestAverage(plain, mirrored, flip);
    const back = flipBackHeatmaps(mirrored, flip);
    try {
      // one row of 4 columns, two joints swapped: mirrored column x of joint 1 becomes column 3 − x of joint 0
      expect(Array.from(await back.data())).toEqual([80, 70, 60, 50, 40, 30, 20, 10]);
      expect(Array.from(await avg.data())).toEqual([40.5, 36, 31.5, 27, 22.5, 18, 13.5, 9]);
    } finally {
      tf.dispose([plain, mirrored, avg, back]);
    }
  });

  it('rejects flip pairs outside the joint range', () => {
    expect(() => flipPermutation(2, [[0, 2]])).toThrow(/out of range for 2 joints/);
  });
});

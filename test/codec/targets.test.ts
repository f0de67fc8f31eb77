import { generateTarget, generateUdpTarget, TargetBuffers } from '../../src/codec/targets';
import { FixtureArray, maxAbsDiff } from '../helpers/fixtures';
import { closeMismatches, f32Data, FLOAT32_TOLERANCE, readPipelineFixture } from '../helpers/pipeline-cases';

interface Inputs {
  joints: FixtureArray;
  joints_vis: FixtureArray;
  sigma: number;
  image_size: [number, number];
  heatmap_size: [number, number];
  num_joints: number;
  use_different_joints_weight: boolean;
  joints_weight: FixtureArray | number;
}

interface Block {
  joint: number;
  y0: number;
  x0: number;
  h: number;
  w: number;
  data: number[];
}

interface Expected {
  target: { shape: [number, number, number]; encoding: 'blocks'; blocks: Block[] };
  target_weight: FixtureArray;
}

const fixture = readPipelineFixture<Inputs, Expected>('generate_target');

/** The fixture's sparse target as a dense `[K, H, W]` float32 array. */
function denseTarget(e: Expected['target']): Float32Array {
  const [k, h, w] = e.shape;
  const out = new Float32Array(k * h * w);
  for (const b of e.blocks) {
    for (let y = 0; y < b.h; y++) {
      for (let x = 0; x < b.w; x++) out[(b.joint * h + b.y0 + y) * w + b.x0 + x] = b.data[y * b.w + x];
    }
  }
  return out;
}

/** `[H, W, K]` → `[K, H, W]`. */
function hwkToKhw(a: Float32Array, k: number, h: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < k; c++) out[(c * h + y) * w + x] = a[(y * w + x) * k + c];
  return out;
}

function optionsOf(i: Inputs) {
  return {
    imageSize: i.image_size,
    heatmapSize: i.heatmap_size,
    sigma: i.sigma,
    useDifferentJointsWeight: i.use_different_joints_weight,
    jointsWeight: typeof i.joints_weight === 'number' ? undefined : i.joints_weight.data,
  };
}

describe('generateTarget', () => {
  it('covers the documented cases (sigma 3, joint weights, invisible and out-of-bounds joints)', () => {
    expect(fixture.cases).toHaveLength(22);
    expect(fixture.cases.some((c) => c.inputs.sigma === 3)).toBe(true);
    expect(fixture.cases.filter((c) => c.inputs.use_different_joints_weight)).toHaveLength(2);
  });

  it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i matches the official target in both layouts', (_i, c) => {
    const expectedTarget = denseTarget(c.expected.target);
    const expectedWeight = f32Data(c.expected.target_weight);
    const [k, h, w] = c.expected.target.shape;
    expect(c.inputs.heatmap_size).toEqual([w, h]);

    const khw = generateTarget(c.inputs.joints.data, c.inputs.joints_vis.data, optionsOf(c.inputs));
    expect(khw.target).toHaveLength(k * h * w);
    expect(closeMismatches(khw.target, expectedTarget, FLOAT32_TOLERANCE)).toEqual([]);
    // zeros stay exactly zero: the Gaussian is pasted only inside each window
    const strayValues = khw.target.filter((v, i) => expectedTarget[i] === 0 && v !== 0);
    expect(strayValues).toHaveLength(0);
    expect(khw.targetWeight).toEqual(expectedWeight);

    const hwk = generateTarget(c.inputs.joints.data, c.inputs.joints_vis.data, { ...optionsOf(c.inputs), layout: 'HWK' });
    expect(closeMismatches(hwkToKhw(hwk.target, k, h, w), expectedTarget, FLOAT32_TOLERANCE)).toEqual([]);
    expect(hwk.targetWeight).toEqual(expectedWeight);
  });

  it('refills caller-owned buffers without leftovers from the previous sample', () => {
    const [first, second] = fixture.cases;
    const [k, h, w] = second.expected.target.shape;
    for (const layout of ['KHW', 'HWK'] as const) {
      const out: TargetBuffers = { target: new Float32Array(k * h * w), targetWeight: new Float32Array(k) };
      generateTarget(first.inputs.joints.data, first.inputs.joints_vis.data, { ...optionsOf(first.inputs), layout }, out);
      const reused = generateTarget(second.inputs.joints.data, second.inputs.joints_vis.data, { ...optionsOf(second.inputs), layout }, out);
      expect(reused.target).toBe(out.target);
      expect(reused.targetWeight).toBe(out.targetWeight);
      const fresh = generateTarget(second.inputs.joints.data, second.inputs.joints_vis.data, { ...optionsOf(second.inputs), layout });
      expect(maxAbsDiff(reused.target, fresh.target)).toBe(0);
      expect(reused.targetWeight).toEqual(fresh.targetWeight);
    }
  });

  it('rejects inconsistent inputs with messages naming the argument', () => {
    const c = fixture.cases[0].inputs;
    const opts = optionsOf(c);
    expect(() => generateTarget(c.joints.data.slice(0, 50), c.joints_vis.data, opts)).toThrow(/joints must be \[K, 3\]/);
    expect(() => generateTarget(c.joints.data, c.joints_vis.data.slice(0, 48), opts)).toThrow(/jointsVis must be \[K, 3\]/);
    expect(() => generateTarget(c.joints.data, c.joints_vis.data, { ...opts, useDifferentJointsWeight: true, jointsWeight: [1] })).toThrow(
      /jointsWeight with 17 entries/,
    );
    const wrong = { target: new Float32Array(10), targetWeight: new Float32Array(17) };
    expect(() => generateTarget(c.joints.data, c.joints_vis.data, opts, wrong)).toThrow(/out buffers/);
  });
});

describe('generateUdpTarget', () => {
  // Input 97 × 129, heatmaps 25 × 33: the UDP grid step is (25 − 1)/(97 − 1) = (33 − 1)/(129 − 1) = 1/4.
  const opts = { imageSize: [97, 129] as [number, number], heatmapSize: [25, 33] as [number, number], sigma: 2 };
  const W = 25;
  const H = 33;
  const at = (t: Float32Array, k: number, x: number, y: number): number => t[(k * H + y) * W + x];

  it('centres the Gaussian on the exact heatmap position μ = joint · (hm − 1)/(in − 1), by hand', () => {
    // joint (42, 50) → μ = (10.5, 12.5); window around trunc(μ + 0.5) = (11, 13) ± 3σ: x 5…17, y 7…19
    const { target, targetWeight } = generateUdpTarget([42, 50, 0], [1, 1, 0], opts);
    expect(Array.from(targetWeight)).toEqual([1]);
    const g = (x: number, y: number): number => Math.fround(Math.exp(-((x - 10.5) ** 2 + (y - 12.5) ** 2) / 8));
    expect(at(target, 0, 10, 12)).toBe(Math.fround(Math.exp(-1 / 16)));
    expect(at(target, 0, 11, 13)).toBe(Math.fround(Math.exp(-1 / 16)));
    expect(at(target, 0, 5, 7)).toBe(g(5, 7));
    expect(at(target, 0, 17, 19)).toBe(g(17, 19));
    expect(at(target, 0, 4, 12)).toBe(0);
    expect(at(target, 0, 18, 12)).toBe(0);
    expect(at(target, 0, 10, 6)).toBe(0);
    // symmetric about μ: the peak is between four cells, none of which reaches 1
    expect(at(target, 0, 10, 13)).toBe(at(target, 0, 11, 12));
    expect(Math.max(...target)).toBe(Math.fround(Math.exp(-1 / 16)));
    let nonZero = 0;
    for (const v of target) if (v > 0) nonZero++;
    expect(nonZero).toBe(13 * 13);
  });

  it('puts an integer-grid joint at the peak 1 and keeps the official window rules at the border', () => {
    // joint (8, 0) → μ = (2, 0): peak 1 at (2, 0), window clipped at the top and left
    const { target } = generateUdpTarget([8, 0, 0], [1, 1, 0], opts);
    expect(at(target, 0, 2, 0)).toBe(1);
    expect(at(target, 0, 0, 0)).toBe(Math.fround(Math.exp(-4 / 8)));
    // joint x = −12.8 → μx = −3.2, trunc(−2.7) = −2, window −8…4: weight 1, Gaussian on columns 0…4
    const border = generateUdpTarget([-12.8, 40, 0], [1, 1, 0], opts);
    expect(Array.from(border.targetWeight)).toEqual([1]);
    expect(at(border.target, 0, 0, 10)).toBe(Math.fround(Math.exp(-((0 + 3.2) ** 2) / 8)));
    expect(at(border.target, 0, 4, 10)).toBe(Math.fround(Math.exp(-((4 + 3.2) ** 2) / 8)));
    expect(at(border.target, 0, 5, 10)).toBe(0);
    // joint x = −40 → μx = −10, trunc(−9.5) = −9, window ends at trunc(−9 + 7) = −2 < 0: weight 0, no Gaussian
    const outside = generateUdpTarget([-40, 40, 0], [1, 1, 0], opts);
    expect(Array.from(outside.targetWeight)).toEqual([0]);
    expect(outside.target.every((v) => v === 0)).toBe(true);
  });

  it('gives invisible joints weight 0 and no Gaussian, and applies the joint weights', () => {
    const { target, targetWeight } = generateUdpTarget([42, 50, 0, 20, 20, 0], [0, 0, 0, 1, 1, 0], {
      ...opts,
      useDifferentJointsWeight: true,
      jointsWeight: [2, 1.5],
    });
    expect(Array.from(targetWeight)).toEqual([0, 1.5]);
    expect(target.subarray(0, W * H).every((v) => v === 0)).toBe(true);
    expect(at(target, 1, 5, 5)).toBe(1);
  });

  it('writes the same values in the HWK layout', () => {
    const joints = [42, 50, 0, 20.3, 70.9, 0];
    const vis = [1, 1, 0, 1, 1, 0];
    const khw = generateUdpTarget(joints, vis, opts).target;
    const hwk = generateUdpTarget(joints, vis, { ...opts, layout: 'HWK' }).target;
    for (let k = 0; k < 2; k++) {
      for (let p = 0; p < W * H; p++) expect(hwk[p * 2 + k]).toBe(khw[k * W * H + p]);
    }
  });

  it('is mirror-exact: the target of the mirrored joint is the mirrored target', () => {
    const a = generateUdpTarget([33.3, 61.7, 0], [1, 1, 0], opts).target;
    const b = generateUdpTarget([96 - 33.3, 61.7, 0], [1, 1, 0], opts).target;
    let worst = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) worst = Math.max(worst, Math.abs(at(a, 0, x, y) - at(b, 0, W - 1 - x, y)));
    expect(worst).toBeLessThan(1e-6);
  });
});

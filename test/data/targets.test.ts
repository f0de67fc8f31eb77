import { generateTarget, TargetBuffers } from '../../src/data/targets';
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

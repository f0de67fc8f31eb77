import {
  affineTransform,
  affineTransformJointsInPlace,
  get3rdPoint,
  getAffineTransform,
  getDir,
  getUdpAffineTransform,
  invertAffine,
} from '../../src/codec/affine';
import { FixtureArray, maxAbsDiff } from '../helpers/fixtures';
import { f32Data, readPipelineFixture, typedData } from '../helpers/pipeline-cases';

type Pair = [number, number];

describe('getAffineTransform', () => {
  interface Inputs {
    center: FixtureArray;
    scale: FixtureArray | number;
    rot: number;
    output_size: Pair;
    shift: FixtureArray;
    inv: number;
  }
  const fixture = readPipelineFixture<Inputs, { trans: FixtureArray }>('get_affine_transform');

  it('has the documented 45 cases, forward and inverse', () => {
    expect(fixture.cases).toHaveLength(45);
    expect(fixture.cases.some((c) => c.inputs.inv === 1)).toBe(true);
    expect(fixture.cases.some((c) => typeof c.inputs.scale === 'number')).toBe(true);
  });

  it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i matches the official matrix to 1e-9', (_i, c) => {
    const { center, scale, rot, output_size: outputSize, shift, inv } = c.inputs;
    const t = getAffineTransform(
      f32Data(center),
      typeof scale === 'number' ? scale : f32Data(scale),
      rot,
      outputSize,
      f32Data(shift),
      inv === 1,
    );
    expect(t).toHaveLength(6);
    expect(maxAbsDiff(t, c.expected.trans.data)).toBeLessThanOrEqual(1e-9);
  });

  it('inverse and forward matrices compose to the identity', () => {
    for (const c of fixture.cases.filter((x) => x.inputs.inv === 0)) {
      const { center, scale, rot, output_size: outputSize, shift } = c.inputs;
      const s = typeof scale === 'number' ? scale : f32Data(scale);
      const fwd = getAffineTransform(f32Data(center), s, rot, outputSize, f32Data(shift));
      const back = getAffineTransform(f32Data(center), s, rot, outputSize, f32Data(shift), true);
      const p = affineTransform(affineTransform([123.4, 56.7], fwd), back);
      expect(Math.abs(p[0] - 123.4)).toBeLessThan(1e-9);
      expect(Math.abs(p[1] - 56.7)).toBeLessThan(1e-9);
      expect(maxAbsDiff(invertAffine(fwd), back)).toBeLessThan(1e-9);
    }
  });

  it('rejects a zero scale', () => {
    expect(() => getAffineTransform([10, 10], [0, 0], 0, [48, 64])).toThrow(/collinear/);
  });
});

describe('getDir and get3rdPoint', () => {
  it('rotates by the angle and builds the perpendicular point in float32', () => {
    const [x, y] = getDir([0, -10], Math.PI / 2);
    expect(x).toBeCloseTo(10, 12);
    expect(y).toBeCloseTo(0, 12);
    const p = get3rdPoint([1.1, 2.2], [0.3, 0.4]);
    // b + rot90(a − b), each step rounded to float32
    expect(p[0]).toBe(Math.fround(Math.fround(0.3) - Math.fround(Math.fround(2.2) - Math.fround(0.4))));
    expect(p[1]).toBe(Math.fround(Math.fround(0.4) + Math.fround(Math.fround(1.1) - Math.fround(0.3))));
  });
});

describe('affineTransform', () => {
  const fixture = readPipelineFixture<{ pt: FixtureArray; t: FixtureArray }, { new_pt: FixtureArray }>('affine_transform');

  it('matches the 20 official cases', () => {
    expect(fixture.cases).toHaveLength(20);
    for (const c of fixture.cases) {
      expect(maxAbsDiff(affineTransform(typedData(c.inputs.pt), c.inputs.t.data), c.expected.new_pt.data)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('affineTransformJointsInPlace moves only visible joints, like the official loop', () => {
    const cases = fixture.cases.slice(0, 4);
    const t = cases[0].inputs.t.data;
    const joints = new Float64Array(cases.length * 3);
    const vis = new Float64Array(cases.length * 3);
    cases.forEach((c, k) => {
      joints[k * 3] = typedData(c.inputs.pt)[0];
      joints[k * 3 + 1] = typedData(c.inputs.pt)[1];
      joints[k * 3 + 2] = 7;
      vis[k * 3] = vis[k * 3 + 1] = k === 2 ? 0 : 1;
    });
    const before = Float64Array.from(joints);
    affineTransformJointsInPlace(joints, t, vis);
    cases.forEach((c, k) => {
      const expected = k === 2 ? [before[6], before[7]] : affineTransform(typedData(c.inputs.pt), t);
      expect(joints[k * 3]).toBe(expected[0]);
      expect(joints[k * 3 + 1]).toBe(expected[1]);
      expect(joints[k * 3 + 2]).toBe(7);
    });
  });
});


describe('getUdpAffineTransform', () => {
  // A 100 × 200 px box around (100, 50) onto a 49 × 65 input: sx = 48 / 100, sy = 64 / 200.
  const center: Pair = [100, 50];
  const scale: Pair = [0.5, 1];
  const size: Pair = [49, 65];

  it('maps the box onto the input measured in pixel extents (size − 1), by hand', () => {
    const t = getUdpAffineTransform(center, scale, 0, size);
    // x' = 0.48·(x − 100) + 24, y' = 0.32·(y − 50) + 32
    expect(maxAbsDiff(t, [0.48, 0, -24, 0, 0.32, 16])).toBeLessThan(1e-12);
    expect(maxAbsDiff(affineTransform([50, -50], t), [0, 0])).toBeLessThan(1e-12);
    expect(maxAbsDiff(affineTransform([150, 150], t), [48, 64])).toBeLessThan(1e-12);
    expect(maxAbsDiff(affineTransform(center, t), [24, 32])).toBeLessThan(1e-12);
  });

  it('turns the content the way getAffineTransform does (a point above the center goes left at +90°)', () => {
    const udp = affineTransform([100, 40], getUdpAffineTransform(center, scale, 90, size));
    // x' = sx·(y − cy) + 24 = 0.48·(−10) + 24, y' = −sy·(x − cx) + 32 = 32
    expect(maxAbsDiff(udp, [19.2, 32])).toBeLessThan(1e-12);
    const official = affineTransform([100, 40], getAffineTransform(center, scale, 90, [48, 64]));
    expect(official[0]).toBeLessThan(24);
    expect(Math.abs(official[1] - 32)).toBeLessThan(1e-9);
  });

  it('its inverse maps back to the image', () => {
    const fwd = getUdpAffineTransform(center, scale, 23, size);
    const back = getUdpAffineTransform(center, scale, 23, size, true);
    const p = affineTransform(affineTransform([123.4, 56.7], fwd), back);
    expect(maxAbsDiff(p, [123.4, 56.7])).toBeLessThan(1e-9);
    expect(maxAbsDiff(invertAffine(fwd), back)).toBeLessThan(1e-12);
  });

  it('mirrors exactly: the crop of the mirrored image is the mirrored crop (no half-pixel shift)', () => {
    const width = 640;
    const t = getUdpAffineTransform(center, scale, 0, size);
    const mirrored = getUdpAffineTransform([width - 1 - center[0], center[1]], scale, 0, size);
    for (const [x, y] of [[60.5, 10], [133, 77.25], [100, 50]] as Pair[]) {
      const a = affineTransform([x, y], t);
      const b = affineTransform([width - 1 - x, y], mirrored);
      expect(maxAbsDiff([size[0] - 1 - a[0], a[1]], b)).toBeLessThan(1e-9);
    }
  });

  it('rejects a zero scale and a one-pixel output', () => {
    expect(() => getUdpAffineTransform(center, [0, 1], 0, size)).toThrow(/scale must be positive/);
    expect(() => getUdpAffineTransform(center, scale, 0, [1, 65])).toThrow(/at least 2 × 2/);
  });
});

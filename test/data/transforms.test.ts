import * as fs from 'fs';
import * as path from 'path';
import seedrandom from 'seedrandom';
import {
  cleanBox,
  cocoAnnotationsToRecords,
  CocoRecordAnnotation,
  CocoRecordImage,
  fliplrJoints,
  halfBodyTransform,
  scaleRotateFromRandom,
  standardNormal,
  xywh2cs,
} from '../../src/data/transforms';
import { DATA_DIR, FixtureArray } from '../helpers/fixtures';
import { closeMismatches, f32Data, FLOAT32_TOLERANCE, readPipelineFixture } from '../helpers/pipeline-cases';

type Pair = [number, number];

/** A uniform stream that replays `values`, then fails (to pin down how many draws a function makes). */
function scripted(values: number[]): { rng: () => number; used: () => number } {
  let i = 0;
  return {
    rng: () => {
      if (i >= values.length) throw new Error(`scripted rng exhausted after ${values.length} draws`);
      return values[i++];
    },
    used: () => i,
  };
}

describe('fliplrJoints', () => {
  interface Inputs {
    joints: FixtureArray;
    joints_vis: FixtureArray;
    width: number;
    matched_parts: Pair[];
  }
  const fixture = readPipelineFixture<Inputs, { joints: FixtureArray; joints_vis: FixtureArray }>('fliplr_joints');

  it('matches the 20 official cases exactly and leaves its inputs untouched', () => {
    expect(fixture.cases).toHaveLength(20);
    for (const c of fixture.cases) {
      const joints = Float64Array.from(c.inputs.joints.data);
      const vis = Float64Array.from(c.inputs.joints_vis.data);
      const out = fliplrJoints(joints, vis, c.inputs.width, c.inputs.matched_parts);
      expect(Array.from(out.joints)).toEqual(c.expected.joints.data);
      expect(Array.from(out.jointsVis)).toEqual(c.expected.joints_vis.data);
      expect(Array.from(joints)).toEqual(c.inputs.joints.data);
      expect(Array.from(vis)).toEqual(c.inputs.joints_vis.data);
    }
  });

  it('rejects flip pairs outside the joint range', () => {
    expect(() => fliplrJoints(new Float64Array(6), new Float64Array(6), 10, [[0, 2]])).toThrow(/out of range for 2 joints/);
  });
});

describe('halfBodyTransform', () => {
  interface Inputs {
    joints: FixtureArray;
    joints_vis: FixtureArray;
    num_joints: number;
    upper_body_ids: number[];
    aspect_ratio: number;
    pixel_std: number;
  }
  interface Expected {
    center: FixtureArray | null;
    scale: FixtureArray | null;
  }
  const fixture = readPipelineFixture<Inputs, Expected>('half_body_transform');

  it('matches the 20 official random-independent cases for any random stream', () => {
    expect(fixture.cases).toHaveLength(20);
    expect(fixture.cases.filter((c) => c.expected.center === null)).toHaveLength(5);
    for (const seed of ['a', 'b', 'c', 'd']) {
      const rng = seedrandom(seed);
      for (const c of fixture.cases) {
        const opts = { upperBodyIds: c.inputs.upper_body_ids, aspectRatio: c.inputs.aspect_ratio, pixelStd: c.inputs.pixel_std };
        const out = halfBodyTransform(c.inputs.joints.data, c.inputs.joints_vis.data, opts, rng);
        if (c.expected.center === null || c.expected.scale === null) {
          expect(out).toBeNull();
          continue;
        }
        expect(out).not.toBeNull();
        if (out === null) continue;
        expect(closeMismatches(out.center, f32Data(c.expected.center), FLOAT32_TOLERANCE)).toEqual([]);
        expect(closeMismatches(out.scale, f32Data(c.expected.scale), FLOAT32_TOLERANCE)).toEqual([]);
      }
    }
  });

  it('chooses the upper body when the normal draw is < 0.5, else the lower body', () => {
    const c = fixture.cases[0].inputs;
    const K = c.num_joints;
    const joints = Float64Array.from({ length: K * 3 }, (_, i) => (i % 3 === 2 ? 0 : 10 + ((i * 37) % 101)));
    const allVisible = Float64Array.from({ length: K * 3 }, (_, i) => (i % 3 === 2 ? 0 : 1));
    const upper = new Set(c.upper_body_ids);
    const only = (keepUpper: boolean): Float64Array =>
      allVisible.map((v, i) => (upper.has(Math.floor(i / 3)) === keepUpper ? v : 0));
    const opts = { upperBodyIds: c.upper_body_ids, aspectRatio: c.aspect_ratio };
    // Box–Muller: u1 = 1 − 0.5, u2 = 0 gives randn = sqrt(2 ln 2) ≈ 1.18 (≥ 0.5); u2 = 0.5 gives −1.18 (< 0.5).
    const upperResult = halfBodyTransform(joints, only(true), opts, () => 0.5);
    const lowerResult = halfBodyTransform(joints, only(false), opts, () => 0.5);
    const low = scripted([0.5, 0.5]);
    expect(halfBodyTransform(joints, allVisible, opts, low.rng)).toEqual(upperResult);
    expect(low.used()).toBe(2);
    const high = scripted([0.5, 0]);
    expect(halfBodyTransform(joints, allVisible, opts, high.rng)).toEqual(lowerResult);
    expect(upperResult).not.toEqual(lowerResult);
  });
});

describe('xywh2cs', () => {
  interface Inputs {
    x: number;
    y: number;
    w: number;
    h: number;
    aspect_ratio: number;
    pixel_std: number;
  }
  const fixture = readPipelineFixture<Inputs, { center: FixtureArray; scale: FixtureArray }>('xywh2cs');

  it('matches the 22 official cases (including center x == −1)', () => {
    expect(fixture.cases).toHaveLength(22);
    expect(fixture.cases.some((c) => c.expected.center.data[0] === -1)).toBe(true);
    for (const c of fixture.cases) {
      const { x, y, w, h, aspect_ratio: ar, pixel_std: ps } = c.inputs;
      const out = xywh2cs(x, y, w, h, ar, ps);
      expect(closeMismatches(out.center, f32Data(c.expected.center), FLOAT32_TOLERANCE)).toEqual([]);
      expect(closeMismatches(out.scale, f32Data(c.expected.scale), FLOAT32_TOLERANCE)).toEqual([]);
    }
  });
});

describe('cleanBox and cocoAnnotationsToRecords', () => {
  interface Inputs {
    image: CocoRecordImage;
    annotations: CocoRecordAnnotation[];
    aspect_ratio: number;
    pixel_std: number;
  }
  interface Rec {
    center: FixtureArray;
    scale: FixtureArray;
    joints_3d: FixtureArray;
    joints_3d_vis: FixtureArray;
  }
  const fixture = readPipelineFixture<Inputs, { records: Rec[] }>('coco_gt_db');

  it('reproduces the official gt_db records of the 4 COCO images', () => {
    expect(fixture.cases).toHaveLength(4);
    for (const c of fixture.cases) {
      const records = cocoAnnotationsToRecords(c.inputs.image, c.inputs.annotations, {
        numJoints: 17,
        aspectRatio: c.inputs.aspect_ratio,
        pixelStd: c.inputs.pixel_std,
        categoryIds: [1],
      });
      expect(records).toHaveLength(c.expected.records.length);
      records.forEach((r, i) => {
        const e = c.expected.records[i];
        expect(closeMismatches(r.center, f32Data(e.center), FLOAT32_TOLERANCE)).toEqual([]);
        expect(closeMismatches(r.scale, f32Data(e.scale), FLOAT32_TOLERANCE)).toEqual([]);
        expect(Array.from(r.joints3d)).toEqual(e.joints_3d.data);
        expect(Array.from(r.joints3dVis)).toEqual(e.joints_3d_vis.data);
      });
    }
  });

  it('gives the same records when reading test_coco.json directly', () => {
    interface CocoFile {
      images: CocoRecordImage[];
      annotations: (CocoRecordAnnotation & { image_id: number })[];
    }
    const coco = JSON.parse(fs.readFileSync(path.join(DATA_DIR, 'coco', 'test_coco.json'), 'utf8')) as CocoFile;
    for (const c of fixture.cases) {
      const image = coco.images.find((im) => im.id === c.inputs.image.id);
      expect(image).toBeDefined();
      if (image === undefined) continue;
      const anns = coco.annotations.filter((a) => a.image_id === image.id);
      const records = cocoAnnotationsToRecords(image, anns, { numJoints: 17, aspectRatio: c.inputs.aspect_ratio });
      expect(records.map((r) => Array.from(r.joints3d))).toEqual(c.expected.records.map((e) => e.joints_3d.data));
    }
  });

  it('sanitises boxes as the official loader', () => {
    expect(cleanBox([-5, -3, 20, 10], 640, 480)).toEqual([0, 0, 19, 9]);
    expect(cleanBox([630, 470, 50, 50], 640, 480)).toEqual([630, 470, 9, 9]);
    expect(cleanBox([700, 10, 5, 5], 640, 480)).toBeNull();
  });

  it('skips crowd, zero-area, other-category and keypoint-free annotations; rejects short keypoint lists', () => {
    const image = { id: 1, width: 100, height: 100 };
    const kp = Array.from({ length: 9 }, (_, i) => (i % 3 === 2 ? 2 : 10 + i));
    const base = { bbox: [10, 10, 30, 40], keypoints: kp, category_id: 1, area: 100 };
    const opts = { numJoints: 3, aspectRatio: 0.75, categoryIds: [1] };
    expect(cocoAnnotationsToRecords(image, [base], opts)).toHaveLength(1);
    expect(cocoAnnotationsToRecords(image, [{ ...base, iscrowd: 1 }], opts)).toHaveLength(0);
    expect(cocoAnnotationsToRecords(image, [{ ...base, area: 0 }], opts)).toHaveLength(0);
    expect(cocoAnnotationsToRecords(image, [{ ...base, category_id: 2 }], opts)).toHaveLength(0);
    expect(cocoAnnotationsToRecords(image, [{ ...base, keypoints: new Array<number>(9).fill(0) }], opts)).toHaveLength(0);
    expect(() => cocoAnnotationsToRecords(image, [{ ...base, id: 42, keypoints: [1, 2, 2] }], opts)).toThrow(
      /annotation 42: field "keypoints" must hold 3/,
    );
  });
});

describe('random draws', () => {
  it('standardNormal is Box–Muller on two uniforms', () => {
    const s = scripted([0.5, 0, 0.5, 0.25]);
    expect(standardNormal(s.rng)).toBeCloseTo(Math.sqrt(2 * Math.log(2)), 14);
    expect(standardNormal(s.rng)).toBeCloseTo(0, 14);
    expect(s.used()).toBe(4);
    const rng = seedrandom('normal');
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const z = standardNormal(rng);
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });

  it('scaleRotateFromRandom draws scale normal, then the rotation gate, then the rotation normal', () => {
    // scale normal z1 = sqrt(2 ln 2)·cos(0.6π) (u1 = 0.5, u2 = 0.3); gate 0.6 passes (<=);
    // rotation normal z2 = sqrt(2 ln 2)·cos(π) (u1 = 0.5, u2 = 0.5)
    const radius = Math.sqrt(2 * Math.log(2));
    const pass = scripted([0.5, 0.3, 0.6, 0.5, 0.5]);
    const r1 = scaleRotateFromRandom(pass.rng, 0.35, 45);
    expect(pass.used()).toBe(5);
    expect(r1.scaleMultiplier).toBeCloseTo(1 + 0.35 * radius * Math.cos(0.6 * Math.PI), 12);
    expect(r1.rotation).toBeCloseTo(-45 * radius, 10);
    // gate 0.61 fails: no rotation draw
    const fail = scripted([0.5, 0, 0.61]);
    expect(scaleRotateFromRandom(fail.rng, 0.35, 45).rotation).toBe(0);
    expect(fail.used()).toBe(3);
    // clipping: a huge normal (u1 → 1 − 1e-12) is clipped to 1 + sf and 2·rf
    const big = scripted([1 - 1e-12, 0, 0, 1 - 1e-12, 0]);
    const r3 = scaleRotateFromRandom(big.rng, 0.25, 30);
    expect(r3.scaleMultiplier).toBe(1.25);
    expect(r3.rotation).toBe(60);
  });
});

import {
  KeypointCandidate,
  oksIou,
  oksNms,
  PredictedInstance,
  rescoreAndNms,
  softOksNms,
  softOksNmsWithScores,
} from '../../src/eval/nms';
import { FixtureArray, readFixtureJson } from '../helpers/fixtures';

interface NmsFixture {
  function: string;
  cases: {
    inputs: {
      kpts_db: { keypoints: FixtureArray; area: number; score: number }[];
      thresh: number;
      sigmas: FixtureArray | number[] | null;
      in_vis_thre: number | null;
    };
    expected: { keep: number[] };
  }[];
}

/** Fixture candidate → `KeypointCandidate` (float32 keypoints rounded back to float32 as the README says). */
function toCandidates(db: NmsFixture['cases'][number]['inputs']['kpts_db']): KeypointCandidate[] {
  return db.map((c) => {
    expect(c.keypoints.shape[1]).toBe(3);
    const flat = c.keypoints.dtype === 'float32' ? Array.from(Float32Array.from(c.keypoints.data)) : c.keypoints.data;
    const keypoints: number[][] = [];
    for (let j = 0; j < c.keypoints.shape[0]; j++) keypoints.push(flat.slice(3 * j, 3 * j + 3));
    return { keypoints, area: c.area, score: c.score };
  });
}

function sigmasOf(s: FixtureArray | number[] | null): number[] | undefined {
  if (s === null) return undefined;
  return Array.isArray(s) ? s : s.data;
}

describe.each([
  ['oks_nms.json', oksNms],
  ['soft_oks_nms.json', softOksNms],
] as const)('%s', (file, nms) => {
  const fx = readFixtureJson<NmsFixture>(`pipeline/${file}`);

  it('has the 40 reference cases', () => {
    expect(fx.cases.length).toBe(40);
  });

  it.each(fx.cases.map((c, i) => [i, c] as const))('case %i: keep list is exact', (_i, c) => {
    const keep = nms(toCandidates(c.inputs.kpts_db), c.inputs.thresh, sigmasOf(c.inputs.sigmas), c.inputs.in_vis_thre ?? undefined);
    expect(keep).toEqual(c.expected.keep);
  });
});

describe('softOksNms', () => {
  const fx = readFixtureJson<NmsFixture>('pipeline/soft_oks_nms.json');

  it('caps the picks at 20 when there are more candidates', () => {
    const big = fx.cases.filter((c) => c.inputs.kpts_db.length > 20);
    expect(big.length).toBeGreaterThan(0);
    for (const c of big) expect(softOksNms(toCandidates(c.inputs.kpts_db), c.inputs.thresh)).toHaveLength(20);
  });

  it('reports the first pick with its original score and never increases the scores of later picks', () => {
    const c = fx.cases[6];
    const db = toCandidates(c.inputs.kpts_db);
    const { keep, scores } = softOksNmsWithScores(db, c.inputs.thresh);
    expect(keep).toEqual(c.expected.keep);
    expect(scores[0]).toBe(Math.max(...db.map((d) => d.score)));
    keep.forEach((k, n) => expect(scores[n]).toBeLessThanOrEqual(db[k].score));
  });
});

describe('oksIou', () => {
  it('is 1 for identical poses and uses the mean of the two areas', () => {
    const sigmas = [0.1, 0.1];
    const g = [10, 10, 1, 20, 20, 1];
    // Joint 2 moved by 1 px: e = 1 / (2·0.1)² / ((100 + 300)/2 + ε) / 2 = 1/0.04/200/2 = 0.0625.
    const d = [
      [10, 10, 1, 20, 20, 1],
      [10, 10, 1, 20, 21, 1],
    ];
    const o = oksIou(g, d, 100, [100, 300], sigmas);
    expect(o[0]).toBe(1);
    expect(o[1]).toBeCloseTo((1 + Math.exp(-0.0625)) / 2, 14);
  });

  it('with inVisThre averages only the keypoints whose detection score passes, and is 0 when none does', () => {
    const sigmas = [0.1, 0.1];
    const g = [10, 10, 0.0, 20, 20, 0.0];
    const d = [
      [10, 10, 0.9, 50, 50, 0.1], // only joint 1 passes 0.5: OKS = exp(0) = 1
      [10, 10, 0.1, 20, 20, 0.1], // none passes: 0
    ];
    expect(oksIou(g, d, 100, [100, 100], sigmas, 0.5)).toEqual([1, 0]);
  });

  it('rejects keypoint arrays that do not match the sigmas', () => {
    expect(() => oksIou([1, 2, 3], [[1, 2, 3]], 1, [1], [0.1, 0.1])).toThrow(/expected 3 × 2 sigmas/);
  });
});

describe('rescoreAndNms', () => {
  // Two keypoints with sigma 0.1 (variance (2·0.1)² = 0.04), in_vis_thre 0.2, oks_thre 0.9.
  // Image 7:
  //   P1: keypoint scores 0.9, 0.1 → only 0.9 passes → score = 0.9 × box 0.5 ≈ 0.45
  //   P2: keypoint scores 0.5, 0.7 → mean 0.6 × box 1.0 ≈ 0.6 (the highest: picked first)
  //   P3: keypoint scores 0.1, 0.1 → none passes → keypoint score 0 → score 0
  //   OKS(P2, P1): joint 1 identical, joint 2 off by 1 px with area 100:
  //     e = 1 / 0.04 / 100 / 2 = 0.125 → OKS = (1 + e^−0.125) / 2 ≈ 0.941 > 0.9 → P1 is suppressed.
  //   OKS(P2, P3) ≈ 0 (≈ 90 px away) → P3 survives.
  // Image 3 (listed after image 7): P4 alone, scores 0.8, 0.8, box 0.5 → 0.4.
  // Results: image 7 first (order of first appearance): P2, P3; then image 3: P4.
  // The official predictions are float32: keypoint scores are float32 and their mean is taken in float32.
  const f = Math.fround;
  const preds: PredictedInstance[] = [
    { imageId: 7, keypoints: [[10, 10, 0.9], [20, 20, 0.1]], center: [15, 15], scale: [0.1, 0.1], area: 100, score: 0.5 },
    { imageId: 7, keypoints: [[10, 10, 0.5], [20, 21, 0.7]], center: [15, 15], scale: [0.1, 0.1], area: 100, score: 1.0 },
    { imageId: 3, keypoints: [[40, 40, 0.8], [50, 50, 0.8]], center: [45, 45], scale: [0.1, 0.1], area: 100, score: 0.5 },
    { imageId: 7, keypoints: [[100, 100, 0.1], [110, 110, 0.1]], center: [105, 105], scale: [0.1, 0.1], area: 100, score: 0.8 },
  ];
  const scoreP1 = f(0.9) * 0.5;
  const scoreP2 = f(f(f(0.5) + f(0.7)) / 2) * 1.0;
  const scoreP4 = f(f(f(0.8) + f(0.8)) / 2) * 0.5;
  const opts = { inVisThre: 0.2, oksThre: 0.9, softNms: false, sigmas: [0.1, 0.1] };

  it('rescores by the mean visible keypoint score and suppresses overlapping poses per image', () => {
    const res = rescoreAndNms(preds, opts);
    expect(res.map((r) => [r.image_id, r.score])).toEqual([
      [7, scoreP2],
      [7, 0],
      [3, scoreP4],
    ]);
    expect(scoreP2).toBeCloseTo(0.6, 6);
    expect(res[0]).toEqual({
      image_id: 7,
      category_id: 1,
      keypoints: [10, 10, 0.5, 20, 21, 0.7],
      score: scoreP2,
      center: [15, 15],
      scale: [0.1, 0.1],
    });
  });

  it('with soft NMS keeps every pose, ordered by the soft-rescored score, reporting the rescoring score', () => {
    // After picking P2: P1 → 0.45·exp(−0.941²/0.9) ≈ 0.168, P3 → 0 → order P2, P1, P3.
    const res = rescoreAndNms(preds, { ...opts, softNms: true });
    expect(res.map((r) => [r.image_id, r.score])).toEqual([
      [7, scoreP2],
      [7, scoreP1],
      [7, 0],
      [3, scoreP4],
    ]);
  });

  it('rejects predictions whose keypoint count differs from the sigmas', () => {
    expect(() => rescoreAndNms(preds, { ...opts, sigmas: [0.1, 0.1, 0.1] })).toThrow(/preds\[0\]\.keypoints: 2 keypoints, expected 3/);
  });
});

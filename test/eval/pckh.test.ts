import { formatNameValueTable } from '../../src/eval/name-value-table';
import { evaluatePckh, formatPckhTable, MPII_JOINTS, PckhResult } from '../../src/eval/pckh';
import { readFixtureJson } from '../helpers/fixtures';

/** Tolerance of the pckh fixtures (README: 1e-9 absolute on the percentages). */
const TOL = 1e-9;

interface PckhFixture {
  dataset_joints: string[];
  sc_bias: number;
  threshold: number;
  num_samples: number;
  preds: number[][][];
  gt_joints: number[][][];
  jnt_missing: number[][];
  headboxes: number[][][];
  expected: {
    summary: Record<string, number>;
    PCKh_per_joint: number[];
    jnt_count: number[];
    jnt_ratio: number[];
    headsizes: number[];
    'mean_at_0.1_threshold_used': number;
    'weighted_mean_at_threshold_0.1': number;
    weighted_mean_per_threshold: number[];
    thresholds: number[];
  };
}

function expectClose(actual: readonly number[], expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol));
}

function run(fx: PckhFixture): PckhResult {
  return evaluatePckh(
    { preds: fx.preds, gtJoints: fx.gt_joints, jntMissing: fx.jnt_missing, headboxes: fx.headboxes },
    { scBias: fx.sc_bias, threshold: fx.threshold },
  );
}

describe.each(['case_a', 'case_b'])('MPII PCKh fixture %s', (caseName) => {
  const fx = readFixtureJson<PckhFixture>(`pckh/${caseName}.json`);
  const result = run(fx);

  it('uses the MPII joint order of the fixture', () => {
    fx.dataset_joints.forEach((name, j) => expect(MPII_JOINTS[name as keyof typeof MPII_JOINTS]).toBe(j));
    expect(fx.preds.length).toBe(fx.num_samples);
  });

  it('matches every summary value to 1e-9', () => {
    const names = Object.keys(fx.expected.summary);
    expect(names).toEqual(['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean', 'Mean@0.1']);
    for (const name of names) {
      expect(Math.abs(result[name as keyof PckhResult] as number - fx.expected.summary[name])).toBeLessThanOrEqual(TOL);
    }
  });

  it('matches PCKh per joint, joint counts, ratios and head sizes', () => {
    expectClose(result.perJoint, fx.expected.PCKh_per_joint, TOL);
    expect(result.jntCount).toEqual(fx.expected.jnt_count);
    expectClose(result.jntRatio, fx.expected.jnt_ratio, 1e-15);
    expectClose(result.headsizes, fx.expected.headsizes, 1e-12);
  });

  it('uses threshold 0.11 for Mean@0.1 and matches the mean at every threshold', () => {
    expect(result.thresholds).toEqual(fx.expected.thresholds);
    expect(result.thresholds[11]).toBe(fx.expected['mean_at_0.1_threshold_used']);
    expectClose(result.meanPerThreshold, fx.expected.weighted_mean_per_threshold, TOL);
    expect(Math.abs(result.meanPerThreshold[10] - fx.expected['weighted_mean_at_threshold_0.1'])).toBeLessThanOrEqual(TOL);
  });
});

describe('formatPckhTable', () => {
  it('prints the official name/value table', () => {
    const result = run(readFixtureJson<PckhFixture>('pckh/case_a.json'));
    // Values of case_a's expected summary printed with '{:.3f}' (87.5, 82.95194…, 76.13636…, 83.74741…,
    // 87.22826…, 88.50931…, 82.11462…, 84.12698…, 44.76190…).
    expect(formatPckhTable(result)).toEqual([
      '| Arch | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Mean | Mean@0.1 |',
      '|---|---|---|---|---|---|---|---|---|---|',
      '| pose_hrnet | 87.500 | 82.952 | 76.136 | 83.747 | 87.228 | 88.509 | 82.115 | 84.127 | 44.762 |',
    ]);
  });

  it('shortens architecture names longer than 15 characters', () => {
    expect(formatNameValueTable([['AP', 0.5]], 'pose_hrnet_w32_256x192')[2]).toBe('| pose_hrn... | 0.500 |');
  });
});

describe('evaluatePckh validation', () => {
  it('names the field whose shape is wrong', () => {
    const fx = readFixtureJson<PckhFixture>('pckh/case_a.json');
    expect(() =>
      evaluatePckh({ preds: fx.preds, gtJoints: fx.gt_joints.slice(1), jntMissing: fx.jnt_missing, headboxes: fx.headboxes }),
    ).toThrow(/'gtJoints': expected 24 persons, got 23/);
  });
});

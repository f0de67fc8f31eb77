import type { CocoKeypointResult, CocoKeypointsFile } from '../../src/data/coco-format';
import {
  COCO_KEYPOINT_STAT_NAMES,
  computeOks,
  defaultCocoEvalParams,
  evaluateCocoKeypoints,
  formatCocoSummary,
  formatFixed,
  loadResults,
} from '../../src/eval/coco-eval';
import { COCO_KPT_OKS_SIGMAS } from '../../src/eval/oks';
import { readFixtureJson } from '../helpers/fixtures';

/** Tolerance of the cocoeval fixtures (README: stats and OKS to 1e-12 absolute). */
const TOL = 1e-12;

interface ParamsFixture {
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
  kpt_oks_sigmas: number[];
  eps_area: number;
}

interface ExpectedFixture {
  stats: Record<string, number>;
  stats_list: number[];
  stat_names: string[];
  summary_lines: string[];
  per_iou_threshold: {
    iou_threshold: number;
    AP_all: number;
    AR_all: number;
    AP_medium: number;
    AR_medium: number;
    AP_large: number;
    AR_large: number;
  }[];
}

interface OksFixture {
  images: {
    image_id: number;
    gt_ids: number[];
    gt_ignore: number[];
    dt_ids: number[];
    dt_result_index: number[];
    dt_scores: number[];
    oks: number[][];
  }[];
}

const CASES = ['case_a', 'case_b', 'case_real'];

function load(caseName: string): {
  gt: CocoKeypointsFile;
  results: CocoKeypointResult[];
  expected: ExpectedFixture;
  oks: OksFixture;
} {
  return {
    gt: readFixtureJson<CocoKeypointsFile>(`cocoeval/${caseName}/gt.json`),
    results: readFixtureJson<CocoKeypointResult[]>(`cocoeval/${caseName}/results.json`),
    expected: readFixtureJson<ExpectedFixture>(`cocoeval/${caseName}/expected.json`),
    oks: readFixtureJson<OksFixture>(`cocoeval/${caseName}/oks.json`),
  };
}

describe('defaultCocoEvalParams', () => {
  it('reproduces the exact float64 pycocotools keypoint parameters', () => {
    const fx = readFixtureJson<ParamsFixture>('cocoeval/params.json');
    const p = defaultCocoEvalParams();
    expect(p.iouThrs).toEqual(fx.iouThrs);
    expect(p.recThrs).toEqual(fx.recThrs);
    expect([p.maxDets]).toEqual(fx.maxDets);
    expect(p.areaRng).toEqual(fx.areaRng);
    expect(p.areaRngLbl).toEqual(fx.areaRngLbl);
    expect(p.kptOksSigmas).toEqual(fx.kpt_oks_sigmas);
    expect([...COCO_KPT_OKS_SIGMAS]).toEqual(fx.kpt_oks_sigmas);
  });
});

describe.each(CASES)('pycocotools fixture %s', (caseName) => {
  const { gt, results, expected, oks } = load(caseName);

  it('computeOks matches every per-image OKS matrix', () => {
    const dts = loadResults(results, 17);
    let compared = 0;
    for (const img of oks.images) {
      const gts = gt.annotations.filter((a) => a.image_id === img.image_id);
      const imageDts = dts.filter((d) => d.image_id === img.image_id);
      const out = computeOks(gts, imageDts);
      expect(gts.map((g) => g.id)).toEqual(img.gt_ids);
      if (img.oks.length === 0) {
        expect(out.oks).toEqual([]);
        continue;
      }
      expect(out.dts.map((d) => d.id)).toEqual(img.dt_ids);
      expect(out.dts.map((d) => d.id - 1)).toEqual(img.dt_result_index);
      expect(out.dts.map((d) => d.score)).toEqual(img.dt_scores);
      expect(out.oks.length).toBe(img.oks.length);
      out.oks.forEach((row, i) => {
        expect(row.length).toBe(img.oks[i].length);
        row.forEach((v, j) => {
          expect(Math.abs(v - img.oks[i][j])).toBeLessThanOrEqual(TOL);
          compared++;
        });
      });
    }
    expect(compared).toBeGreaterThan(0);
  });

  const result = evaluateCocoKeypoints(gt, results);

  it('all 10 stats equal pycocotools to 1e-12', () => {
    expect(result.statsList.length).toBe(10);
    expect([...COCO_KEYPOINT_STAT_NAMES]).toEqual(expected.stat_names);
    result.statsList.forEach((v, i) => {
      expect(Math.abs(v - expected.stats_list[i])).toBeLessThanOrEqual(TOL);
    });
    for (const name of COCO_KEYPOINT_STAT_NAMES) {
      expect(Math.abs(result.stats[name] - expected.stats[name])).toBeLessThanOrEqual(TOL);
    }
  });

  it('AP and AR per OKS threshold and area range match', () => {
    const { precision, recall, params } = result;
    const meanOverRecall = (t: number, a: number): number => {
      const vals = precision[t].map((byCat) => byCat[0][a]).filter((v) => v > -1);
      return vals.length === 0 ? -1 : vals.reduce((s, v) => s + v, 0) / vals.length;
    };
    expected.per_iou_threshold.forEach((row, t) => {
      expect(params.iouThrs[t]).toBe(row.iou_threshold);
      const areas = [
        ['all', row.AP_all, row.AR_all],
        ['medium', row.AP_medium, row.AR_medium],
        ['large', row.AP_large, row.AR_large],
      ] as const;
      for (const [label, ap, ar] of areas) {
        const a = params.areaRngLbl.indexOf(label);
        expect(Math.abs(meanOverRecall(t, a) - ap)).toBeLessThanOrEqual(TOL);
        expect(Math.abs(recall[t][0][a] - ar)).toBeLessThanOrEqual(TOL);
      }
    });
  });

  it('prints the pycocotools summary lines', () => {
    expect(formatCocoSummary(result)).toEqual(expected.summary_lines);
  });

  it('does not depend on the order of images and annotations in the file', () => {
    const reversed: CocoKeypointsFile = {
      ...gt,
      images: [...gt.images].reverse(),
    };
    const again = evaluateCocoKeypoints(reversed, results);
    expect(again.statsList).toEqual(result.statsList);
  });
});

describe('evaluateCocoKeypoints validation', () => {
  const { gt, results } = load('case_a');

  it('rejects sigmas whose count differs from the keypoint count', () => {
    expect(() => evaluateCocoKeypoints(gt, results, { kptOksSigmas: COCO_KPT_OKS_SIGMAS.slice(0, 16) })).toThrow(
      /annotations\[0\].*keypoints has 51 values, expected 48/,
    );
  });

  it('rejects a result on an image that is not in the annotation file', () => {
    const bad = [...results, { ...results[0], image_id: 987654321 }];
    expect(() => evaluateCocoKeypoints(gt, bad)).toThrow(/results\[68\]\.image_id: 987654321/);
  });

  it('rejects annotation id 0', () => {
    const bad: CocoKeypointsFile = { ...gt, annotations: [{ ...gt.annotations[0], id: 0 }, ...gt.annotations.slice(1)] };
    expect(() => evaluateCocoKeypoints(bad, results)).toThrow(/must not be 0/);
  });

  it('gives -1 for every statistic when no ground truth is scored', () => {
    const crowdOnly: CocoKeypointsFile = {
      ...gt,
      annotations: gt.annotations.map((a) => ({ ...a, iscrowd: 1 })),
    };
    const r = evaluateCocoKeypoints(crowdOnly, results);
    expect(r.statsList).toEqual(new Array(10).fill(-1));
    expect(formatCocoSummary(r)[0].endsWith('= -1.000')).toBe(true);
  });
});

describe('custom keypoint sets', () => {
  it('evaluates K = 3 keypoints with their own sigmas', () => {
    // Image 1: person A (area 1000, below the medium range) detected exactly (score 0.9, OKS 1) plus a
    // far-away false positive (score 0.8, keypoint extent 20×20 = 400). Image 2: person B (area 2000,
    // medium) with no detection.
    // area all: 2 scored persons; ranked TP, FP → recall 0.5 and precision 1 up to recall 0.5, so the
    //   precision is 1 at the 51 recall thresholds 0.00..0.50 and 0 after: AP = 51/101 at every OKS
    //   threshold, AR = 0.5.
    // medium: A is outside the range (ignored), so the exact detection matches an ignored person and
    //   does not count; the false positive's extent 400 is outside the range too, so it is ignored:
    //   no detection counts, B is missed → AP = AR = 0.
    // large: no scored person → −1.
    const person = [10, 10, 2, 20, 20, 2, 30, 30, 2];
    const gt: CocoKeypointsFile = {
      images: [
        { id: 1, file_name: 'a.jpg', width: 100, height: 100 },
        { id: 2, file_name: 'b.jpg', width: 100, height: 100 },
      ],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, keypoints: person, num_keypoints: 3, area: 1000, bbox: [10, 10, 20, 20], iscrowd: 0 },
        { id: 2, image_id: 2, category_id: 1, keypoints: person, num_keypoints: 3, area: 2000, bbox: [10, 10, 20, 20], iscrowd: 0 },
      ],
      categories: [{ id: 1, name: 'thing' }],
    };
    const results: CocoKeypointResult[] = [
      { image_id: 1, category_id: 1, keypoints: [10, 10, 1, 20, 20, 1, 30, 30, 1], score: 0.9 },
      { image_id: 1, category_id: 1, keypoints: [200, 200, 1, 210, 210, 1, 220, 220, 1], score: 0.8 },
    ];
    const r = evaluateCocoKeypoints(gt, results, { kptOksSigmas: [0.05, 0.05, 0.05] });
    expect(r.stats.AP).toBeCloseTo(51 / 101, 14);
    expect(r.stats.AP50).toBeCloseTo(51 / 101, 14);
    expect(r.stats.AP75).toBeCloseTo(51 / 101, 14);
    expect(r.stats.AR).toBe(0.5);
    expect(r.stats.APm).toBe(0);
    expect(r.stats.ARm).toBe(0);
    expect(r.stats.APl).toBe(-1);
    expect(r.stats.ARl).toBe(-1);
  });
});

describe('formatFixed', () => {
  it('rounds exact binary ties to even like Python and others to nearest', () => {
    // 0.0625 and 0.1875 are exact binary ties at 3 decimals: Python prints 0.062 and 0.188.
    expect(formatFixed(0.0625, 3)).toBe('0.062');
    expect(formatFixed(0.1875, 3)).toBe('0.188');
    expect(formatFixed(0.4375, 3)).toBe('0.438');
    expect(formatFixed(0.3125, 3)).toBe('0.312');
    // Not exact ties in binary: the nearest decimal wins (values printed by Python 3).
    expect(formatFixed(0.0015, 3)).toBe('0.002');
    expect(formatFixed(2.675, 2)).toBe('2.67');
    expect(formatFixed(0.5, 0)).toBe('0');
    expect(formatFixed(-1, 3)).toBe('-1.000');
    expect(formatFixed(0.95, 2)).toBe('0.95');
    expect(formatFixed(0.125, 2)).toBe('0.12');
  });
});

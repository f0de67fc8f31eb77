import * as fs from 'fs';
import * as path from 'path';
import {
  COCO_META,
  inferFlipPairs,
  KeypointCategory,
  KeypointMeta,
  keypointSide,
  metaFromCocoCategory,
  MPII_META,
  validateKeypointMeta,
} from '../../src/data/keypoint-meta';
import { DATA_DIR, readFixtureJson } from '../helpers/fixtures';

function categoriesOf(file: string): KeypointCategory[] {
  return (JSON.parse(fs.readFileSync(path.join(DATA_DIR, file), 'utf8')) as { categories: KeypointCategory[] }).categories;
}

/** Flip pairs listed in /work/shared/data/README.md (0-based). */
const README_PAIRS = {
  coco: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]],
  mpii: [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]],
  crowdpose: [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]],
  ap10k: [[0, 1], [5, 8], [6, 9], [7, 10], [11, 14], [12, 15], [13, 16]],
};

describe('built-in metas', () => {
  it('are internally consistent', () => {
    expect(() => validateKeypointMeta(COCO_META)).not.toThrow();
    expect(() => validateKeypointMeta(MPII_META)).not.toThrow();
    expect(COCO_META.keypointNames).toHaveLength(17);
    expect(MPII_META.keypointNames).toHaveLength(16);
  });

  it('COCO: official flip pairs and body halves, the annotation file names and skeleton, pycocotools sigmas', () => {
    const [person] = categoriesOf('coco/test_coco.json');
    expect(COCO_META.flipPairs).toEqual(README_PAIRS.coco);
    expect(COCO_META.keypointNames).toEqual(person.keypoints);
    expect(COCO_META.skeleton).toEqual((person.skeleton ?? []).map(([a, b]) => [a - 1, b - 1]));
    expect(COCO_META.upperBodyIds).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(COCO_META.lowerBodyIds).toEqual([11, 12, 13, 14, 15, 16]);
    const params = readFixtureJson<{ kpt_oks_sigmas: number[] }>('cocoeval/params.json');
    expect(COCO_META.sigmas).toEqual(params.kpt_oks_sigmas);
  });

  it('MPII: official flip pairs and body halves agree with its joint names', () => {
    expect(MPII_META.flipPairs).toEqual(README_PAIRS.mpii);
    expect(inferFlipPairs(MPII_META.keypointNames).flipPairs).toEqual(MPII_META.flipPairs);
    const inferred = metaFromCocoCategory({ name: 'mpii', keypoints: MPII_META.keypointNames }).meta;
    expect(inferred.lowerBodyIds).toEqual(MPII_META.lowerBodyIds);
    expect(inferred.upperBodyIds).toEqual(MPII_META.upperBodyIds);
    expect(MPII_META.jointsWeight.every((w) => w === 1)).toBe(true);
    expect(MPII_META.skeleton).toHaveLength(15);
  });
});

describe('keypointSide', () => {
  it.each([
    ['left_eye', 'left', 'eye'],
    ['right_eye', 'right', 'eye'],
    ['l_eye', 'left', 'eye'],
    ['eye_r', 'right', 'eye'],
    ['leftEye', 'left', 'eye'],
    ['RShoulder', 'right', 'shoulder'],
    ['LBigToe', 'left', 'big_toe'],
    ['leftshoulder', 'left', 'shoulder'],
    ['left_front_paw', 'left', 'front_paw'],
    ['nose', null, 'nose'],
    ['root_of_tail', null, 'root_of_tail'],
  ])('%s → %s %s', (name, side, base) => {
    expect(keypointSide(name)).toEqual({ side, base });
  });
});

describe('metaFromCocoCategory', () => {
  it('COCO (test_coco.json): the official flip pairs and body halves', () => {
    const { meta, warnings } = metaFromCocoCategory(categoriesOf('coco/test_coco.json')[0]);
    expect(warnings).toEqual([]);
    expect(meta.flipPairs).toEqual(COCO_META.flipPairs);
    expect(meta.upperBodyIds).toEqual(COCO_META.upperBodyIds);
    expect(meta.lowerBodyIds).toEqual(COCO_META.lowerBodyIds);
    expect(meta.sigmas).toEqual(COCO_META.sigmas);
    expect(meta.skeleton).toEqual(COCO_META.skeleton);
    expect(meta.jointsWeight).toEqual(new Array(17).fill(1));
  });

  it('CrowdPose: 14 keypoints, the README pairs, COCO skeleton links out of range dropped with warnings', () => {
    const category = categoriesOf('crowdpose/test_crowdpose.json')[0];
    const { meta, warnings } = metaFromCocoCategory(category);
    expect(meta.keypointNames).toHaveLength(14);
    expect(meta.flipPairs).toEqual(README_PAIRS.crowdpose);
    const outOfRange = (category.skeleton ?? []).filter((link) => link.some((i) => i < 1 || i > 14));
    expect(outOfRange.length).toBeGreaterThan(0);
    expect(meta.skeleton).toHaveLength((category.skeleton ?? []).length - outOfRange.length);
    expect(warnings.filter((w) => /skeleton\[\d+\].*out of range for 14 keypoints/.test(w))).toHaveLength(outOfRange.length);
    expect(meta.skeleton.flat().every((i) => i >= 0 && i < 14)).toBe(true);
    // head and neck are upper body; hips, knees, ankles lower
    expect(meta.lowerBodyIds).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it('OneHand10K: 21 keypoints, no flip pairs, every joint upper body', () => {
    const { meta, warnings } = metaFromCocoCategory(categoriesOf('onehand10k/test_onehand10k.json')[0]);
    expect(warnings).toEqual([]);
    expect(meta.keypointNames).toHaveLength(21);
    expect(meta.flipPairs).toEqual([]);
    expect(meta.upperBodyIds).toHaveLength(21);
    expect(meta.lowerBodyIds).toEqual([]);
    expect(meta.skeleton).toHaveLength(20);
  });

  it('AP-10K: every one of the 54 animal categories gives the README pairs', () => {
    const categories = categoriesOf('ap10k/test_ap10k.json');
    expect(categories).toHaveLength(54);
    for (const category of categories) {
      const { meta, warnings } = metaFromCocoCategory(category);
      expect(warnings).toEqual([]);
      expect(meta.keypointNames).toHaveLength(17);
      expect(meta.flipPairs).toEqual(README_PAIRS.ap10k);
    }
  });

  it('applies overrides and validates them, naming the field', () => {
    const category = categoriesOf('crowdpose/test_crowdpose.json')[0];
    const sigmas = [0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079];
    const { meta } = metaFromCocoCategory(category, { sigmas, name: 'crowdpose' });
    expect(meta.sigmas).toEqual(sigmas);
    expect(meta.name).toBe('crowdpose');
    expect(() => metaFromCocoCategory(category, { sigmas: [0.1] })).toThrow(/sigmas must have one entry per keypoint \(14\)/);
    expect(() => metaFromCocoCategory(category, { flipPairs: [[0, 14]] })).toThrow(/flipPairs\[0\]\[1\] = 14 is not a keypoint index/);
    expect(() => metaFromCocoCategory(category, { jointsWeight: new Array(14).fill(-1) })).toThrow(/jointsWeight\[0\]/);
    expect(() => metaFromCocoCategory({ name: 'x', keypoints: [] })).toThrow(/field "keypoints"/);
  });
});

describe('validateKeypointMeta', () => {
  const base: KeypointMeta = { ...COCO_META };
  it.each([
    ['duplicate names', { keypointNames: [...COCO_META.keypointNames.slice(0, 16), 'nose'] }, /"nose" twice/],
    ['a self pair', { flipPairs: [[3, 3]] }, /flipPairs\[0\] pairs joint 3 with itself/],
    ['a joint in two pairs', { flipPairs: [[1, 2], [2, 3]] }, /joint 2 appears in more than one flip pair/],
    ['a bad body id', { upperBodyIds: [0, 17] }, /upperBodyIds\[1\] = 17/],
    ['a bad skeleton link', { skeleton: [[0, -1]] }, /skeleton\[0\]\[1\] = -1/],
    ['a zero sigma', { sigmas: new Array(17).fill(0) }, /sigmas\[0\] = 0 must be a finite number > 0/],
    ['a short colour list', { colors: [[0, 0, 0]] }, /colors must have one/],
  ] as [string, Partial<KeypointMeta>, RegExp][])('rejects %s', (_what, patch, message) => {
    expect(() => validateKeypointMeta({ ...base, ...patch })).toThrow(message);
  });
});

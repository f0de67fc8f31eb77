import { CENTER_COLOR, COCO_META, KeypointMeta, LEFT_COLOR, MPII_META, RIGHT_COLOR } from '../../src/data/keypoint-meta';
import { defaultSkeletonStyle, jointsToArray, keypointColors, limbColors, skeletonPalette, skeletonSvg } from '../../src/viz/skeleton';

const COCO = COCO_META.keypointNames;

describe('skeleton', () => {
  test('jointsToArray accepts flat [K, 3] or K rows and checks the size', () => {
    expect(Array.from(jointsToArray(new Float32Array([1, 2, 1, 3, 4, 0]), 2, 'j'))).toEqual([1, 2, 1, 3, 4, 0]);
    expect(Array.from(jointsToArray([[1, 2, 1], [3, 4, 0, 99]], 2, 'j'))).toEqual([1, 2, 1, 3, 4, 0]);
    expect(() => jointsToArray([1, 2, 3], 2, 'joints[4]')).toThrow(/joints\[4\].*6 numbers.*got 3/);
    expect(() => jointsToArray([[1, 2, 1]], 2, 'joints[0]')).toThrow(/joints\[0\].*2 keypoint rows/);
    expect(() => jointsToArray([[1, 2, 1], [3, 4]], 2, 'p')).toThrow(/p\[1\]: expected \[x, y, v\]/);
  });

  test('keypoint colours: meta.colors when set, else by the side in the name', () => {
    expect(keypointColors(COCO_META)).toEqual(COCO_META.colors);
    const noColors: KeypointMeta = { ...MPII_META, colors: undefined };
    const colors = keypointColors(noColors);
    expect(colors[MPII_META.keypointNames.indexOf('left_knee')]).toEqual(LEFT_COLOR);
    expect(colors[MPII_META.keypointNames.indexOf('right_wrist')]).toEqual(RIGHT_COLOR);
    expect(colors[MPII_META.keypointNames.indexOf('pelvis')]).toEqual(CENTER_COLOR);
  });

  test('limb colours: one side keeps its colour, side-to-midline takes the side, across the body the midline', () => {
    const limbs = limbColors(COCO_META, keypointColors(COCO_META));
    const colorOf = (a: string, b: string) => {
      const i = COCO_META.skeleton.findIndex(([p, q]) => (COCO[p] === a && COCO[q] === b) || (COCO[p] === b && COCO[q] === a));
      expect(i).toBeGreaterThanOrEqual(0);
      return limbs[i];
    };
    expect(colorOf('left_hip', 'left_knee')).toEqual(LEFT_COLOR);
    expect(colorOf('right_shoulder', 'right_elbow')).toEqual(RIGHT_COLOR);
    expect(colorOf('nose', 'left_eye')).toEqual(LEFT_COLOR);
    expect(colorOf('left_shoulder', 'right_shoulder')).toEqual(CENTER_COLOR);
    expect(colorOf('left_hip', 'right_hip')).toEqual(CENTER_COLOR);
  });

  test('skeletonSvg draws shown joints and the limbs between them, at pixel centres', () => {
    const joints = new Float64Array(17 * 3);
    joints.set([10, 20, 1], 5 * 3); // left_shoulder
    joints.set([30, 20, 1], 6 * 3); // right_shoulder
    joints.set([12, 40, 0], 7 * 3); // left_elbow, not shown
    const svg = skeletonSvg(joints, (v) => v > 0, COCO_META, skeletonPalette(COCO_META), { radius: 3, lineWidth: 2 }, [100, 200]);
    // each shown joint: a dark rim and a coloured dot
    expect(svg.match(/<circle/g)).toHaveLength(4);
    expect(svg).toContain('cx="110.5" cy="220.5" r="3" fill="rgb(0,255,0)"');
    expect(svg).toContain('cx="130.5" cy="220.5" r="3" fill="rgb(255,128,0)"');
    expect(svg).not.toContain('cx="112.5"');
    // the shoulder-shoulder limb only (casing + line); the elbow's limb is not drawn
    expect(svg.match(/<line/g)).toHaveLength(2);
    expect(svg).toContain('x1="110.5" y1="220.5" x2="130.5" y2="220.5"');
    const nan = new Float64Array(joints);
    nan[5 * 3] = Number.NaN;
    expect(skeletonSvg(nan, () => true, COCO_META, skeletonPalette(COCO_META), { radius: 3, lineWidth: 2 })).not.toContain('NaN');
  });

  test('defaultSkeletonStyle grows with the picture', () => {
    expect(defaultSkeletonStyle(192).radius).toBe(3);
    expect(defaultSkeletonStyle(40).radius).toBe(2);
    expect(defaultSkeletonStyle(640).radius).toBeGreaterThan(defaultSkeletonStyle(192).radius);
  });
});

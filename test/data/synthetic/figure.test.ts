import seedrandom from 'seedrandom';
import sharp from 'sharp';
import { FIGURE_NUM_KEYPOINTS, KEYPOINT_OWN_PARTS, placeFigure, sampleFigure } from '../../../src/data/synthetic/figure';
import { containsPoint, geometryBounds } from '../../../src/data/synthetic/shapes';
import { COCO_META } from '../../../src/data/keypoint-meta';

const figures = Array.from({ length: 200 }, (_, i) => sampleFigure(seedrandom(`figure-${i}`), 200));

describe('sampleFigure', () => {
  it('uses the COCO left/right convention: facing the viewer, the left side is on the image right', () => {
    let front = 0;
    let back = 0;
    for (const fig of figures) {
      const x = (k: number) => fig.keypoints[k][0];
      const sign = fig.facingViewer ? 1 : -1;
      if (fig.facingViewer) front++;
      else back++;
      // Shoulders, hips and ears of the upright figure (the upper body leans by at most 30°).
      expect(sign * (x(5) - x(6))).toBeGreaterThan(0);
      expect(sign * (x(11) - x(12))).toBeGreaterThan(0);
      expect(sign * (x(3) - x(4))).toBeGreaterThan(0);
      if (fig.facingViewer) {
        expect(x(1)).toBeGreaterThan(x(2));
        expect(fig.status.slice(0, 3)).not.toContain('unlabelled');
      } else {
        expect(fig.status.slice(0, 3)).toEqual(['unlabelled', 'unlabelled', 'unlabelled']);
      }
    }
    expect(front).toBeGreaterThan(back);
    expect(back).toBeGreaterThan(0);
  });

  it('puts every shown keypoint on a drawn primitive of its own body parts', () => {
    for (const fig of figures) {
      expect(fig.keypoints).toHaveLength(FIGURE_NUM_KEYPOINTS);
      for (let k = 0; k < FIGURE_NUM_KEYPOINTS; k++) {
        if (fig.status[k] !== 'shown') continue;
        const own = fig.primitives.filter((p) => KEYPOINT_OWN_PARTS[k].includes(p.part));
        const on = own.some((p) => containsPoint(p.geometry, fig.keypoints[k]));
        if (!on) throw new Error(`${COCO_META.keypointNames[k]} is on none of its parts`);
      }
    }
  });

  it('draws both sides in the same clothing colours (left/right not colour-coded)', () => {
    for (const fig of figures) {
      const fillOf = (part: string) => fig.primitives.find((p) => p.part === part)?.paint.fill;
      for (const limb of ['upperArm', 'forearm', 'hand', 'thigh', 'shin', 'foot']) {
        expect(fillOf(`${limb}_left`)).toBe(fillOf(`${limb}_right`));
      }
    }
  });

  it('has a human-like size: the upright figure spans about its body height', () => {
    const standing = figures.map((f) => placeFigure(f, { rotation: 0, translation: [0, 0] }).bounds);
    const heights = standing.map((b) => b.y1 - b.y0).sort((a, b) => a - b);
    const median = heights[heights.length >> 1];
    expect(median).toBeGreaterThan(170);
    expect(median).toBeLessThan(260);
  });
});

describe('placeFigure', () => {
  it('rotates about the pelvis, then translates, keypoints and shapes alike', () => {
    const fig = figures[3];
    const placed = placeFigure(fig, { rotation: Math.PI / 2, translation: [100, 50] });
    for (let k = 0; k < FIGURE_NUM_KEYPOINTS; k++) {
      const [x, y] = fig.keypoints[k];
      // A clockwise quarter turn on screen: (x, y) → (−y, x).
      expect(placed.keypoints[k][0]).toBeCloseTo(100 - y, 9);
      expect(placed.keypoints[k][1]).toBeCloseTo(50 + x, 9);
    }
    expect(placed.shapes.map((s) => s.part)).toEqual(fig.primitives.map((p) => p.part));
    for (const s of placed.shapes) {
      const b = geometryBounds(s.geometry);
      expect(b.x0).toBeGreaterThanOrEqual(placed.bounds.x0);
      expect(b.y1).toBeLessThanOrEqual(placed.bounds.y1);
    }
    const elbow = 7;
    const own = placed.shapes.filter((s) => KEYPOINT_OWN_PARTS[elbow].includes(s.part));
    expect(own.some((s) => containsPoint(s.geometry, placed.keypoints[elbow]))).toBe(true);
  });

  it('renders each shown keypoint on a painted pixel of the figure (SVG through sharp)', async () => {
    const W = 240;
    const H = 240;
    for (let i = 0; i < 8; i++) {
      const fig = figures[i];
      const placed = placeFigure(fig, { rotation: (i - 4) * 0.3, translation: [120, 125] });
      const svg =
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="#ff00ff"/>` +
        placed.shapes.map((s) => s.svg).join('') +
        '</svg>';
      const { data } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      for (let k = 0; k < FIGURE_NUM_KEYPOINTS; k++) {
        if (placed.status[k] !== 'shown') continue;
        // The pixel whose square holds the point.
        const px = Math.floor(placed.keypoints[k][0]);
        const py = Math.floor(placed.keypoints[k][1]);
        const o = (py * W + px) * 3;
        const rgb = [data[o], data[o + 1], data[o + 2]];
        if (rgb[0] === 255 && rgb[1] === 0 && rgb[2] === 255) {
          throw new Error(`figure ${i}: ${COCO_META.keypointNames[k]} at (${px}, ${py}) is on the background`);
        }
      }
    }
  });
});

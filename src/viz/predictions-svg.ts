/**
 * The drawing of `hrnet predict`'s picture as SVG: every detected person's skeleton, box and score over a
 * `width × height` image. Plain strings, no image library: the PNG writer ({@link renderPredictions} in
 * `predictions.ts`) lays it over the pixels with sharp, the demo page over an `<img>` in the browser.
 */
import type { KeypointMeta } from '../data/keypoint-meta';
import { JointsInput, jointsToArray, skeletonPalette, skeletonSvg } from './skeleton';
import { svgRect, svgText } from './svg';

/** One person found in the image. */
export interface PersonPrediction {
  /** `[K, 3]` `x, y, score` in image pixels (flat or K rows). */
  keypoints: JointsInput;
  /** Instance score (box score × keypoint score after rescoring). */
  score: number;
  /** Person box `[x, y, w, h]` in image pixels (COCO `bbox` layout). */
  box?: readonly [number, number, number, number];
}

/** Look of the predictions picture. */
export interface PredictionsOptions {
  /** Keypoints scoring below this are not drawn (default 0.2, the official `TEST.IN_VIS_THRE`). */
  scoreThreshold?: number;
  /** Joint dot radius in pixels (default from the image size: 3 for a 640×480 image). */
  radius?: number;
  /** Limb width in pixels (default 0.8 × radius, at least 1.5). */
  lineWidth?: number;
  /** Write each person's score at its box corner (default true; needs a box). */
  showScores?: boolean;
}

/**
 * SVG elements (no `<svg>` wrapper) of people's skeletons over a `width × height` image; lower-scored people
 * first so the best one is on top. Pixel `i` has its centre at `i` (see `skeletonSvg`).
 * @param persons `[P]` predictions in image pixels
 * @param meta keypoint names, skeleton and colours
 */
export function predictionsSvg(
  width: number,
  height: number,
  persons: readonly PersonPrediction[],
  meta: KeypointMeta,
  opts: PredictionsOptions = {},
): string {
  const threshold = opts.scoreThreshold ?? 0.2;
  const radius = opts.radius ?? Math.max(2, Math.round(Math.min(width, height) / 160));
  const style = { radius, lineWidth: opts.lineWidth ?? Math.max(1.5, radius * 0.8) };
  const palette = skeletonPalette(meta);
  const numJoints = meta.keypointNames.length;
  const fontSize = Math.max(10, Math.round(Math.min(width, height) / 40));
  const order = persons.map((_, i) => i).sort((a, b) => persons[a].score - persons[b].score);
  let svg = '';
  for (const i of order) {
    const person = persons[i];
    const box = person.box;
    if (box !== undefined) {
      const [x, y, w, h] = box;
      svg += svgRect(x, y, w, h, { stroke: 'black', strokeWidth: 3, opacity: 0.4 });
      svg += svgRect(x, y, w, h, { stroke: 'white', strokeWidth: 1 });
      if (opts.showScores ?? true) {
        const label = person.score.toFixed(2);
        const ty = y - 3 >= fontSize ? y - 3 : y + fontSize + 2;
        svg += svgText(x + 2, ty, label, { fontSize, fill: 'white', halo: 'black' });
      }
    }
    const joints = jointsToArray(person.keypoints, numJoints, `predictions persons[${i}].keypoints`);
    svg += skeletonSvg(joints, (score) => score >= threshold, meta, palette, style);
  }
  return svg;
}

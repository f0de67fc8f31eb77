/**
 * One synthetic image: a textured background, 1–4 figures (smaller ones usually drawn first, as if farther away)
 * and occasional foreground occluders, with a COCO keypoint annotation per figure.
 *
 * Annotation conventions (those of the COCO files the pipeline reads):
 * - keypoints use pixel-index coordinates, pixel centers at integers (what `x → width − 1 − x` flipping and the
 *   crop affine assume): a point drawn at SVG position `(X, Y)` is annotated `(X − 0.5, Y − 0.5)`;
 * - `v = 2` visible; `v = 1` inside the image but hidden — by a shape drawn later (another body part of the same
 *   figure, a later figure, an occluder) or behind the figure's own head (far ear or eye of a turned head);
 *   `v = 0` with `x = y = 0` when outside `[0, W − 1] × [0, H − 1]` or not defined (the face of a figure seen
 *   from the back);
 * - `bbox` `[x, y, w, h]` is the tight box of everything drawn for the figure (limb thickness, hands, feet, hair
 *   included), whether or not a later shape covers it, clipped to the image `[0, W] × [0, H]`;
 * - `area` is the figure's silhouette area in pixels (union of its shapes, clipped to the image), measured on a
 *   sampling grid; like the bbox it ignores occlusion.
 */
import type { UniformRng } from '../transforms';
import { type SvgLayer, randomLinearGradient, randomPolygon, renderBackground } from './background';
import { hex, randomColor, shade } from './colors';
import {
  FIGURE_NUM_KEYPOINTS,
  KEYPOINT_OWN_PARTS,
  type BodyPart,
  type PlacedFigure,
  placeFigure,
  rotatedFigureBounds,
  sampleFigure,
} from './figure';
import { DEG, chance, normalClipped, pick, randSign, uniform, weightedIndex } from './random';
import {
  type Bounds,
  type DrawnShape,
  type Geometry,
  type Paint,
  type Point,
  containsPoint,
  ellipseShape,
  geometryBounds,
  polygonShape,
} from './shapes';

/** Options of {@link composeScene}. */
export interface SceneOptions {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Largest number of figures in one image (default 4). */
  maxPersons?: number;
}

/** The COCO annotation of one figure. */
export interface ScenePerson {
  /** `[17 × 3]` flat `x, y, v` in COCO keypoint order (pixel-index coordinates, two decimals). */
  keypoints: number[];
  /** Number of keypoints with `v > 0`. */
  numKeypoints: number;
  /** `[x, y, w, h]`: tight box of the drawn figure, clipped to the image (two decimals). */
  bbox: [number, number, number, number];
  /** Silhouette area in pixels (two decimals). */
  area: number;
}

/** A composed image: its SVG and its annotations. */
export interface Scene {
  width: number;
  height: number;
  /** The complete SVG document (1 user unit = 1 pixel). */
  svg: string;
  /** One entry per figure, in draw order (back to front). */
  persons: ScenePerson[];
  /** Standard deviation of the per-pixel noise to add after rasterising (0 = none), in 0–255 units. */
  noiseSigma: number;
  /** Seed of the pixel-noise stream. */
  noiseSeed: number;
}

/** A shape of the scene with its owner: a figure's body part, or an occluder (figure −1). */
interface OwnedShape {
  geometry: Geometry;
  figure: number;
  part: BodyPart | null;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const floor2 = (v: number) => Math.floor(v * 100) / 100;
const ceil2 = (v: number) => Math.ceil(v * 100) / 100;

/** Samples per figure when measuring its silhouette area. */
const AREA_SAMPLES = 4000;

/**
 * The area of the union of `shapes` inside `box`, by testing the centers of a regular grid of about
 * {@link AREA_SAMPLES} cells (at least 1 pixel apart).
 */
function silhouetteArea(shapes: readonly DrawnShape[], box: Bounds): number {
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  if (!(w > 0 && h > 0)) return 0;
  const step = Math.max(1, Math.sqrt((w * h) / AREA_SAMPLES));
  const nx = Math.max(1, Math.round(w / step));
  const ny = Math.max(1, Math.round(h / step));
  const sx = w / nx;
  const sy = h / ny;
  const geoms = shapes.map((s) => ({ g: s.geometry, b: geometryBounds(s.geometry) }));
  let inside = 0;
  for (let j = 0; j < ny; j++) {
    const y = box.y0 + (j + 0.5) * sy;
    const row = geoms.filter((e) => e.b.y0 <= y && e.b.y1 >= y);
    for (let i = 0; i < nx; i++) {
      const p: Point = [box.x0 + (i + 0.5) * sx, y];
      for (const e of row) {
        if (e.b.x0 <= p[0] && e.b.x1 >= p[0] && containsPoint(e.g, p)) {
          inside++;
          break;
        }
      }
    }
  }
  return inside * sx * sy;
}

/** Draws the figure's body height (pixels) for an image of height `imageHeight` holding `persons` figures. */
function sampleFigureHeight(rng: UniformRng, imageHeight: number, persons: number): number {
  if (chance(rng, 0.07)) return imageHeight * uniform(rng, 0.9, 1.4); // close-up, partly out of the image
  return persons === 1 ? imageHeight * uniform(rng, 0.45, 0.95) : imageHeight * uniform(rng, 0.28, 0.8);
}

/** In-plane rotation of a figure (radians): mostly upright, sometimes strongly tilted or lying. */
function sampleRotation(rng: UniformRng): number {
  switch (weightedIndex(rng, [0.88, 0.07, 0.05])) {
    case 0:
      return normalClipped(rng, 0, 15, -45, 45) * DEG;
    case 1:
      return randSign(rng) * uniform(rng, 45, 120) * DEG;
    default:
      return randSign(rng) * normalClipped(rng, 90, 10, 70, 110) * DEG;
  }
}

/** Translation range along one axis so that `[lo, hi]` lands inside `[0, size]`, or overhangs by up to `overhang`·extent. */
function placeAxis(rng: UniformRng, lo: number, hi: number, size: number, overhang: number): number {
  const extent = hi - lo;
  let min = -lo - overhang * extent;
  let max = size - hi + overhang * extent;
  if (min > max) min = max = (min + max) / 2;
  return uniform(rng, min, max);
}

/** An opaque foreground object over a part of `fig`. */
function sampleOccluder(rng: UniformRng, fig: PlacedFigure, id: string): { shape: DrawnShape; def: string } {
  const anchor = pick(rng, fig.keypoints);
  const size = fig.height * uniform(rng, 0.08, 0.3);
  const c: Point = [anchor[0] + uniform(rng, -0.08, 0.08) * fig.height, anchor[1] + uniform(rng, -0.08, 0.08) * fig.height];
  const color = randomColor(rng, 0, 1, 0.1, 0.9);
  let def = '';
  let fill = hex(color);
  if (chance(rng, 0.3)) {
    def = randomLinearGradient(rng, id);
    fill = `url(#${id})`;
  }
  const paint: Paint = { fill, ...(chance(rng, 0.6) ? { stroke: hex(shade(color, 0.5)), strokeWidth: uniform(rng, 0.8, 2) } : {}) };
  switch (weightedIndex(rng, [2, 2, 2])) {
    case 0: {
      const a = uniform(rng, 0, Math.PI);
      const hw = size * uniform(rng, 0.4, 1.2);
      const hh = size * uniform(rng, 0.3, 1);
      const corner = (x: number, y: number): Point => [c[0] + x * Math.cos(a) - y * Math.sin(a), c[1] + x * Math.sin(a) + y * Math.cos(a)];
      return { shape: polygonShape([corner(-hw, -hh), corner(hw, -hh), corner(hw, hh), corner(-hw, hh)], paint), def };
    }
    case 1:
      return { shape: ellipseShape(c, size, size * uniform(rng, 0.4, 1), uniform(rng, 0, Math.PI), paint), def };
    default:
      return { shape: polygonShape(randomPolygon(rng, c, size * 1.1), paint), def };
  }
}

/**
 * Composes a random image of `opts.width × opts.height` pixels with its annotations. Every draw comes from `rng`.
 * @param rng uniform stream
 */
export function composeScene(rng: UniformRng, opts: SceneOptions): Scene {
  const { width: W, height: H } = opts;
  const maxPersons = opts.maxPersons ?? 4;
  const background: SvgLayer = renderBackground(rng, W, H);

  const count = 1 + weightedIndex(rng, [0.4, 0.3, 0.2, 0.1].slice(0, Math.max(1, maxPersons)));
  let figures: PlacedFigure[] = [];
  for (let i = 0; i < count; i++) {
    const local = sampleFigure(rng, sampleFigureHeight(rng, H, count));
    const rotation = sampleRotation(rng);
    const b = rotatedFigureBounds(local, rotation);
    const overhang = chance(rng, 0.15) ? 0.4 : 0;
    let translation: Point = [0, 0];
    for (let attempt = 0; attempt < 6; attempt++) {
      translation = [placeAxis(rng, b.x0, b.x1, W, overhang), placeAxis(rng, b.y0, b.y1, H, overhang)];
      // Keep figures from sitting exactly on top of each other.
      const tooClose = figures.some((f) => Math.hypot(f.keypoints[11][0] + f.keypoints[12][0] - 2 * translation[0], f.keypoints[11][1] + f.keypoints[12][1] - 2 * translation[1]) < 0.4 * Math.min(f.height, local.height));
      if (!tooClose) break;
    }
    figures.push(placeFigure(local, { rotation, translation }));
  }
  if (chance(rng, 0.7)) figures = [...figures].sort((a, b) => a.height - b.height);

  // Occluders, each drawn right after the figure it covers (so later figures may pass in front of it).
  const occluderCount = weightedIndex(rng, [0.55, 0.3, 0.15]);
  const occludersAfter: { shape: DrawnShape; def: string }[][] = figures.map(() => []);
  for (let i = 0; i < occluderCount; i++) {
    const f = Math.floor(rng() * figures.length);
    occludersAfter[f].push(sampleOccluder(rng, figures[f], `oc${i}`));
  }

  // Draw list and its owners.
  const owned: OwnedShape[] = [];
  let defs = background.defs;
  let body = background.body;
  figures.forEach((fig, f) => {
    for (const s of fig.shapes) {
      owned.push({ geometry: s.geometry, figure: f, part: s.part });
      body += s.svg;
    }
    for (const oc of occludersAfter[f]) {
      owned.push({ geometry: oc.shape.geometry, figure: -1, part: null });
      body += oc.shape.svg;
      defs += oc.def;
    }
  });

  const persons = figures.map((fig, f) => annotateFigure(fig, f, owned, W, H));
  const noiseSigma = chance(rng, 0.3) ? 0 : uniform(rng, 1.5, 8);
  const noiseSeed = Math.floor(rng() * 0x100000000);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><defs>${defs}</defs>${body}</svg>`;
  return { width: W, height: H, svg, persons, noiseSigma, noiseSeed };
}

/** Visibility, box and area of figure number `f` of the draw list `owned`. */
function annotateFigure(fig: PlacedFigure, f: number, owned: readonly OwnedShape[], W: number, H: number): ScenePerson {
  const keypoints: number[] = [];
  let numKeypoints = 0;
  for (let k = 0; k < FIGURE_NUM_KEYPOINTS; k++) {
    const p = fig.keypoints[k];
    const x = round2(p[0] - 0.5);
    const y = round2(p[1] - 0.5);
    const status = fig.status[k];
    if (status === 'unlabelled' || !(x >= 0 && x <= W - 1 && y >= 0 && y <= H - 1)) {
      keypoints.push(0, 0, 0);
      continue;
    }
    let v = 2;
    if (status === 'selfHidden') {
      v = 1;
    } else {
      const own = KEYPOINT_OWN_PARTS[k];
      let lastOwn = -1;
      for (let i = 0; i < owned.length; i++) {
        const s = owned[i];
        if (s.figure === f && s.part !== null && own.includes(s.part)) lastOwn = i;
      }
      for (let i = lastOwn + 1; i < owned.length; i++) {
        const s = owned[i];
        if (s.figure === f && s.part !== null && own.includes(s.part)) continue;
        if (containsPoint(s.geometry, p)) {
          v = 1;
          break;
        }
      }
    }
    keypoints.push(x, y, v);
    numKeypoints++;
  }
  const clipped: Bounds = {
    x0: Math.max(0, fig.bounds.x0),
    y0: Math.max(0, fig.bounds.y0),
    x1: Math.min(W, fig.bounds.x1),
    y1: Math.min(H, fig.bounds.y1),
  };
  const bx = floor2(clipped.x0);
  const by = floor2(clipped.y0);
  const bbox: [number, number, number, number] = [bx, by, Math.max(0, round2(ceil2(clipped.x1) - bx)), Math.max(0, round2(ceil2(clipped.y1) - by))];
  return { keypoints, numKeypoints, bbox, area: round2(silhouetteArea(fig.shapes, clipped)) };
}

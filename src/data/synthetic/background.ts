/**
 * Textured scenery behind the figures: a gradient base, an optional floor, stripes, soft blobs and random
 * shapes — some of them limb-like sticks in skin and clothing colours, so that a figure is not found by colour
 * alone.
 */
import type { UniformRng } from '../transforms';
import { hex, randomColor, randomSkin, shade } from './colors';
import { chance, randInt, uniform, weightedIndex } from './random';
import { type Point, capsuleShape, ellipseShape, num, polygonShape } from './shapes';

/** An SVG fragment: gradient definitions and drawn elements. */
export interface SvgLayer {
  /** Elements for `<defs>`. */
  defs: string;
  /** Drawn elements, in order. */
  body: string;
}

/**
 * A random linear gradient definition with id `id` (2–3 stops, any direction).
 * @returns the `<linearGradient>` element
 */
export function randomLinearGradient(rng: UniformRng, id: string): string {
  const a = uniform(rng, 0, 2 * Math.PI);
  const x = 0.5 * Math.cos(a);
  const y = 0.5 * Math.sin(a);
  const stops = randInt(rng, 2, 3);
  let s = `<linearGradient id="${id}" x1="${num(0.5 - x)}" y1="${num(0.5 - y)}" x2="${num(0.5 + x)}" y2="${num(0.5 + y)}">`;
  for (let i = 0; i < stops; i++) s += `<stop offset="${num(i / (stops - 1))}" stop-color="${hex(randomColor(rng))}"/>`;
  return s + '</linearGradient>';
}

/** A random polygon of 3–7 vertices around `c` with radius about `r` (star-shaped, so never self-intersecting). */
export function randomPolygon(rng: UniformRng, c: Point, r: number): Point[] {
  const n = randInt(rng, 3, 7);
  const start = uniform(rng, 0, 2 * Math.PI);
  const pts: Point[] = [];
  for (let i = 0; i < n; i++) {
    const a = start + (2 * Math.PI * (i + uniform(rng, -0.3, 0.3))) / n;
    const rr = r * uniform(rng, 0.5, 1.1);
    pts.push([c[0] + rr * Math.cos(a), c[1] + rr * Math.sin(a)]);
  }
  return pts;
}

/**
 * Draws the background of a `width × height` image.
 * @param rng uniform stream
 */
export function renderBackground(rng: UniformRng, width: number, height: number): SvgLayer {
  let defs = '';
  let body = '';
  const minSide = Math.min(width, height);

  // Base: a linear or radial gradient over the whole image.
  if (chance(rng, 0.7)) {
    defs += randomLinearGradient(rng, 'bg0');
  } else {
    defs +=
      `<radialGradient id="bg0" cx="${num(uniform(rng, 0.2, 0.8))}" cy="${num(uniform(rng, 0.2, 0.8))}" r="${num(uniform(rng, 0.4, 0.9))}">` +
      `<stop offset="0" stop-color="${hex(randomColor(rng))}"/><stop offset="1" stop-color="${hex(randomColor(rng))}"/></radialGradient>`;
  }
  body += `<rect width="${width}" height="${height}" fill="url(#bg0)"/>`;

  // A floor: the lower part of the image in another colour, with a tilted horizon.
  if (chance(rng, 0.45)) {
    defs += randomLinearGradient(rng, 'bg1');
    const yl = height * uniform(rng, 0.4, 0.85);
    const yr = yl + height * uniform(rng, -0.1, 0.1);
    body += polygonShape([[0, yl], [width, yr], [width, height], [0, height]], { fill: 'url(#bg1)' }).svg;
  }

  // Stripes at any angle.
  if (chance(rng, 0.35)) {
    const period = uniform(rng, 6, 40);
    const bar = period * uniform(rng, 0.2, 0.6);
    const diag = Math.hypot(width, height);
    const angle = uniform(rng, 0, 180);
    const color = hex(randomColor(rng));
    const opacity = uniform(rng, 0.15, 0.6);
    let rects = '';
    for (let x = -diag / 2; x < diag / 2; x += period) {
      rects += `<rect x="${num(width / 2 + x)}" y="${num(height / 2 - diag / 2)}" width="${num(bar)}" height="${num(diag)}"/>`;
    }
    body += `<g fill="${color}" fill-opacity="${num(opacity)}" transform="rotate(${num(angle)} ${num(width / 2)} ${num(height / 2)})">${rects}</g>`;
  }

  // Soft blobs of any size and colour.
  const blobs = randInt(rng, 8, 50);
  for (let i = 0; i < blobs; i++) {
    const c: Point = [uniform(rng, 0, width), uniform(rng, 0, height)];
    const r = minSide * Math.exp(uniform(rng, Math.log(0.01), Math.log(0.2)));
    body += ellipseShape(c, r, r * uniform(rng, 0.4, 1), uniform(rng, 0, Math.PI), {
      fill: hex(randomColor(rng)),
      opacity: uniform(rng, 0.15, 0.7),
    }).svg;
  }

  // Random solid shapes: polygons, ellipses, rectangles and limb-like sticks.
  const shapes = randInt(rng, 2, 10);
  for (let i = 0; i < shapes; i++) {
    const c: Point = [uniform(rng, 0, width), uniform(rng, 0, height)];
    const r = minSide * uniform(rng, 0.03, 0.25);
    const color = randomColor(rng);
    const paint = {
      fill: hex(color),
      opacity: chance(rng, 0.6) ? 1 : uniform(rng, 0.4, 0.9),
      ...(chance(rng, 0.5) ? { stroke: hex(shade(color, 0.6)), strokeWidth: uniform(rng, 0.7, 2) } : {}),
    };
    switch (weightedIndex(rng, [3, 2, 2, 3])) {
      case 0:
        body += polygonShape(randomPolygon(rng, c, r), paint).svg;
        break;
      case 1:
        body += ellipseShape(c, r, r * uniform(rng, 0.3, 1), uniform(rng, 0, Math.PI), paint).svg;
        break;
      case 2: {
        const a = uniform(rng, 0, Math.PI);
        const hw = r * uniform(rng, 0.3, 1);
        const hh = r * uniform(rng, 0.3, 1);
        const corner = (x: number, y: number): Point => [c[0] + x * Math.cos(a) - y * Math.sin(a), c[1] + x * Math.sin(a) + y * Math.cos(a)];
        body += polygonShape([corner(-hw, -hh), corner(hw, -hh), corner(hw, hh), corner(-hw, hh)], paint).svg;
        break;
      }
      default: {
        const a = uniform(rng, 0, 2 * Math.PI);
        const len = minSide * uniform(rng, 0.05, 0.3);
        const stickColor = chance(rng, 0.4) ? randomSkin(rng) : color;
        body += capsuleShape(c, [c[0] + len * Math.cos(a), c[1] + len * Math.sin(a)], minSide * uniform(rng, 0.005, 0.03), {
          fill: hex(stickColor),
          stroke: hex(shade(stickColor, 0.6)),
          strokeWidth: 1,
        }).svg;
      }
    }
  }
  return { defs, body };
}

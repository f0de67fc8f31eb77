/**
 * The drawing primitives of the synthetic renderer: capsules (limbs), ellipses (heads, eyes, blobs) and polygons
 * (torsos, occluders). Each primitive has an exact geometry, used to decide which keypoints a later shape hides and
 * to measure a figure's extent, and an SVG element that draws it. Coordinates are SVG user units: pixel `(i, j)`
 * covers `[i, i + 1) × [j, j + 1)`, y points down.
 */

/** A 2-D point `[x, y]`. */
export type Point = [number, number];

/** A segment `a → b` thickened by radius `r`, with round ends. */
export interface Capsule {
  kind: 'capsule';
  a: Point;
  b: Point;
  r: number;
}

/** An ellipse with center `c`, half-axes `rx`, `ry`, rotated by `angle` radians (clockwise on screen). */
export interface Ellipse {
  kind: 'ellipse';
  c: Point;
  rx: number;
  ry: number;
  angle: number;
}

/** A simple polygon `[n][2]` (convex or not, not self-intersecting). */
export interface Polygon {
  kind: 'polygon';
  points: Point[];
}

/** Any primitive's geometry. */
export type Geometry = Capsule | Ellipse | Polygon;

/** An axis-aligned box `[x0, x1] × [y0, y1]`. */
export interface Bounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Fill and outline of a primitive. */
export interface Paint {
  /** CSS colour or `url(#id)`. */
  fill: string;
  /** Outline colour; none when absent. */
  stroke?: string;
  /** Outline width in pixels (default 1). */
  strokeWidth?: number;
  /** Fill opacity (default 1, opaque). Only opaque shapes may hide keypoints. */
  opacity?: number;
}

/** A primitive ready to draw: its geometry and its SVG element. */
export interface DrawnShape {
  geometry: Geometry;
  svg: string;
}

/** Formats a coordinate with at most two decimals (short SVG, same text for the same value). */
export function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function paintAttrs(paint: Paint): string {
  let s = ` fill="${paint.fill}"`;
  if (paint.opacity !== undefined && paint.opacity < 1) s += ` fill-opacity="${num(paint.opacity)}"`;
  if (paint.stroke !== undefined) {
    s += ` stroke="${paint.stroke}" stroke-width="${num(paint.strokeWidth ?? 1)}" stroke-linejoin="round"`;
    if (paint.opacity !== undefined && paint.opacity < 1) s += ` stroke-opacity="${num(paint.opacity)}"`;
  }
  return s;
}

/** Half the outline width: the part of the outline that lies outside the geometry. */
function outlinePad(paint: Paint): number {
  return paint.stroke === undefined ? 0 : (paint.strokeWidth ?? 1) / 2;
}

/**
 * A capsule drawn as one closed path (two straight sides, two half-circle ends) so that its outline surrounds
 * the whole limb. The returned geometry includes the outer half of the outline.
 */
export function capsuleShape(a: Point, b: Point, r: number, paint: Paint): DrawnShape {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  let svg: string;
  if (len < 1e-6) {
    svg = `<circle cx="${num(a[0])}" cy="${num(a[1])}" r="${num(r)}"${paintAttrs(paint)}/>`;
  } else {
    const nx = (-dy / len) * r;
    const ny = (dx / len) * r;
    const R = num(r);
    svg =
      `<path d="M${num(a[0] + nx)} ${num(a[1] + ny)}L${num(b[0] + nx)} ${num(b[1] + ny)}` +
      `A${R} ${R} 0 0 0 ${num(b[0] - nx)} ${num(b[1] - ny)}L${num(a[0] - nx)} ${num(a[1] - ny)}` +
      `A${R} ${R} 0 0 0 ${num(a[0] + nx)} ${num(a[1] + ny)}Z"${paintAttrs(paint)}/>`;
  }
  return { geometry: { kind: 'capsule', a, b, r: r + outlinePad(paint) }, svg };
}

/** An ellipse; `angle` in radians. The returned geometry includes the outer half of the outline. */
export function ellipseShape(c: Point, rx: number, ry: number, angle: number, paint: Paint): DrawnShape {
  const rot = Math.abs(angle) > 1e-9 ? ` transform="rotate(${num(angle / (Math.PI / 180))} ${num(c[0])} ${num(c[1])})"` : '';
  const svg = `<ellipse cx="${num(c[0])}" cy="${num(c[1])}" rx="${num(rx)}" ry="${num(ry)}"${rot}${paintAttrs(paint)}/>`;
  const pad = outlinePad(paint);
  return { geometry: { kind: 'ellipse', c, rx: rx + pad, ry: ry + pad, angle }, svg };
}

/** A closed polygon `points [n][2]`. Its geometry is the polygon itself (the outline's outer half is ignored). */
export function polygonShape(points: Point[], paint: Paint): DrawnShape {
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(p[0])} ${num(p[1])}`).join('') + 'Z';
  return { geometry: { kind: 'polygon', points }, svg: `<path d="${d}"${paintAttrs(paint)}/>` };
}

/** Squared distance from `p` to the segment `a → b`. */
function segmentDistanceSq(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = p[0] - (a[0] + t * dx);
  const ey = p[1] - (a[1] + t * dy);
  return ex * ex + ey * ey;
}

/** Whether the point `p` lies inside the geometry `g` (even–odd rule for polygons). */
export function containsPoint(g: Geometry, p: Point): boolean {
  switch (g.kind) {
    case 'capsule':
      return segmentDistanceSq(p, g.a, g.b) <= g.r * g.r;
    case 'ellipse': {
      const cs = Math.cos(g.angle);
      const sn = Math.sin(g.angle);
      const dx = p[0] - g.c[0];
      const dy = p[1] - g.c[1];
      const u = (dx * cs + dy * sn) / g.rx;
      const v = (-dx * sn + dy * cs) / g.ry;
      return u * u + v * v <= 1;
    }
    case 'polygon': {
      const pts = g.points;
      let inside = false;
      for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
        const [xi, yi] = pts[i];
        const [xj, yj] = pts[j];
        if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    }
  }
}

/** The tight axis-aligned box around the geometry `g`. */
export function geometryBounds(g: Geometry): Bounds {
  switch (g.kind) {
    case 'capsule':
      return {
        x0: Math.min(g.a[0], g.b[0]) - g.r,
        y0: Math.min(g.a[1], g.b[1]) - g.r,
        x1: Math.max(g.a[0], g.b[0]) + g.r,
        y1: Math.max(g.a[1], g.b[1]) + g.r,
      };
    case 'ellipse': {
      const cs = Math.cos(g.angle);
      const sn = Math.sin(g.angle);
      const ex = Math.hypot(g.rx * cs, g.ry * sn);
      const ey = Math.hypot(g.rx * sn, g.ry * cs);
      return { x0: g.c[0] - ex, y0: g.c[1] - ey, x1: g.c[0] + ex, y1: g.c[1] + ey };
    }
    case 'polygon': {
      const b: Bounds = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
      for (const [x, y] of g.points) {
        if (x < b.x0) b.x0 = x;
        if (x > b.x1) b.x1 = x;
        if (y < b.y0) b.y0 = y;
        if (y > b.y1) b.y1 = y;
      }
      return b;
    }
  }
}

/** The smallest box holding all of `boxes` (empty input gives an inverted infinite box). */
export function unionBounds(boxes: readonly Bounds[]): Bounds {
  const u: Bounds = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const b of boxes) {
    if (b.x0 < u.x0) u.x0 = b.x0;
    if (b.y0 < u.y0) u.y0 = b.y0;
    if (b.x1 > u.x1) u.x1 = b.x1;
    if (b.y1 > u.y1) u.y1 = b.y1;
  }
  return u;
}

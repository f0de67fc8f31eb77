/**
 * SVG building blocks for the pictures: every drawing in `src/viz` is an SVG string (shapes, text) laid over
 * raw RGB pixels and rasterised by sharp (librsvg). Coordinates are pixels of the output picture, origin at the
 * top-left corner, pixel `(x, y)` covering `[x, x + 1) × [y, y + 1)`.
 */
import type { Rgb } from '../data/keypoint-meta';

/** Font stack used for every label (DejaVu Sans is what librsvg finds on a bare Linux machine). */
export const FONT_FAMILY = 'DejaVu Sans, Verdana, Arial, sans-serif';

/** Average advance of one character as a fraction of the font size, for laying out text without measuring it. */
export const CHAR_WIDTH_EM = 0.6;

/** Width in pixels that `text` takes at `fontSize`, estimated from {@link CHAR_WIDTH_EM}. */
export function estimateTextWidth(text: string, fontSize: number): number {
  return text.length * fontSize * CHAR_WIDTH_EM;
}

/** Escapes `&`, `<`, `>`, `"` and `'` for use in SVG text and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&apos;';
    }
  });
}

/** A number as a short SVG attribute value (at most 2 decimals). */
export function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** `rgb(r,g,b)` CSS colour of an `[r, g, b]` triple (0–255, rounded and clamped). */
export function rgbCss(color: Readonly<Rgb>): string {
  const c = color.map((v) => Math.min(255, Math.max(0, Math.round(v))));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Paint attributes shared by the shape builders. */
export interface PaintStyle {
  /** Fill colour (CSS); `'none'` when omitted. */
  fill?: string;
  /** Stroke colour (CSS); no stroke when omitted. */
  stroke?: string;
  /** Stroke width in pixels (default 1 when a stroke is set). */
  strokeWidth?: number;
  /** Opacity of the whole shape, 0–1. */
  opacity?: number;
  /** Dash pattern, e.g. `[6, 3]`. */
  dash?: number[];
}

function paint(style: PaintStyle): string {
  let attrs = ` fill="${style.fill ?? 'none'}"`;
  if (style.stroke !== undefined) {
    attrs += ` stroke="${style.stroke}" stroke-width="${num(style.strokeWidth ?? 1)}"`;
  }
  if (style.opacity !== undefined) attrs += ` opacity="${num(style.opacity)}"`;
  if (style.dash !== undefined && style.dash.length > 0) attrs += ` stroke-dasharray="${style.dash.map(num).join(' ')}"`;
  return attrs;
}

/** A circle centred at `(cx, cy)`. */
export function svgCircle(cx: number, cy: number, r: number, style: PaintStyle): string {
  return `<circle cx="${num(cx)}" cy="${num(cy)}" r="${num(r)}"${paint(style)}/>`;
}

/** A straight segment with round caps. */
export function svgLine(x1: number, y1: number, x2: number, y2: number, style: PaintStyle): string {
  return `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke-linecap="round"${paint(style)}/>`;
}

/** An axis-aligned rectangle with its top-left corner at `(x, y)`. */
export function svgRect(x: number, y: number, width: number, height: number, style: PaintStyle): string {
  return `<rect x="${num(x)}" y="${num(y)}" width="${num(width)}" height="${num(height)}"${paint(style)}/>`;
}

/**
 * An open polyline through `points` with round joins.
 * @param points `[P, 2]` vertices `x, y`
 */
export function svgPolyline(points: readonly (readonly [number, number])[], style: PaintStyle): string {
  const pts = points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
  return `<polyline points="${pts}" stroke-linejoin="round" stroke-linecap="round"${paint(style)}/>`;
}

/** Placement and look of a text label. */
export interface TextStyle {
  /** Font size in pixels. */
  fontSize: number;
  /** Text colour (CSS, default black). */
  fill?: string;
  /** Horizontal anchor of `x` (default `'start'`). */
  anchor?: 'start' | 'middle' | 'end';
  /** Vertical alignment of `y`: the text's baseline (default) or its visual middle. */
  baseline?: 'alphabetic' | 'middle';
  /** Bold text. */
  bold?: boolean;
  /** Rotation in degrees about `(x, y)` (e.g. −90 for a y-axis label). */
  rotate?: number;
  /** Outline drawn under the glyphs (CSS colour) so the text reads over any background. */
  halo?: string;
}

/** A text label at `(x, y)`; the text is escaped. */
export function svgText(x: number, y: number, text: string, style: TextStyle): string {
  let attrs = ` x="${num(x)}" y="${num(y)}" font-family="${FONT_FAMILY}" font-size="${num(style.fontSize)}"`;
  attrs += ` fill="${style.fill ?? 'black'}"`;
  if (style.anchor !== undefined && style.anchor !== 'start') attrs += ` text-anchor="${style.anchor}"`;
  // librsvg honours dominant-baseline only partly; a 0.35em shift puts the visual middle of the glyphs on y.
  if (style.baseline === 'middle') attrs += ` dy="0.35em"`;
  if (style.bold === true) attrs += ` font-weight="bold"`;
  if (style.rotate !== undefined && style.rotate !== 0) attrs += ` transform="rotate(${num(style.rotate)} ${num(x)} ${num(y)})"`;
  if (style.halo !== undefined) {
    attrs += ` stroke="${style.halo}" stroke-width="${num(Math.max(2, style.fontSize / 5))}" paint-order="stroke" stroke-linejoin="round"`;
  }
  return `<text${attrs}>${escapeXml(text)}</text>`;
}

/** A complete SVG document of `width × height` pixels around `body`. */
export function svgDocument(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `${body}</svg>`
  );
}

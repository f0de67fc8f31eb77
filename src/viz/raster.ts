/**
 * From pixels and SVG to PNG: raw RGB canvases, SVG drawn over them, encoded by sharp (libvips + librsvg).
 */
import sharp from 'sharp';
import type { RgbImage } from '../data/image';
import { svgDocument } from './svg';

/**
 * Throws unless `image` is a positive-size RGB image whose `data` holds exactly `height · width · 3` bytes.
 * @param image `data` `[H, W, 3]`
 * @param what name of the argument in the error message, e.g. `images[3]`
 */
export function checkRgbImage(image: RgbImage, what: string): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`${what}: width and height must be positive integers, got ${width}×${height}`);
  }
  if (!(data instanceof Uint8Array)) throw new Error(`${what}: data must be a Uint8Array of RGB bytes`);
  if (data.length !== width * height * 3) {
    throw new Error(`${what}: data has ${data.length} bytes, expected height·width·3 = ${height * width * 3} for ${width}×${height} RGB`);
  }
}

/**
 * A canvas filled with one colour.
 * @returns `data` `[height, width, 3]`
 */
export function blankImage(width: number, height: number, fill: readonly [number, number, number] = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { data, width, height };
}

/**
 * Copies `src` into `dst` with its top-left corner at `(left, top)`; parts falling outside `dst` are clipped.
 * @param dst `data` `[H, W, 3]`, written in place
 * @param src `data` `[h, w, 3]`
 */
export function pasteImage(dst: RgbImage, src: RgbImage, left: number, top: number): void {
  const x0 = Math.max(0, left);
  const x1 = Math.min(dst.width, left + src.width);
  if (x1 <= x0) return;
  for (let y = Math.max(0, top); y < Math.min(dst.height, top + src.height); y++) {
    const from = ((y - top) * src.width + (x0 - left)) * 3;
    dst.data.set(src.data.subarray(from, from + (x1 - x0) * 3), (y * dst.width + x0) * 3);
  }
}

/**
 * Encodes an RGB image as PNG.
 * @param image `data` `[H, W, 3]`
 */
export async function encodePng(image: RgbImage): Promise<Buffer> {
  checkRgbImage(image, 'encodePng image');
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}

/**
 * Draws SVG elements over an RGB image and encodes the result as PNG (RGB, same size as the image).
 * @param image `data` `[H, W, 3]`
 * @param svgBody SVG elements (no `<svg>` wrapper) in the image's pixel coordinates
 */
export async function overlaySvg(image: RgbImage, svgBody: string): Promise<Buffer> {
  checkRgbImage(image, 'overlaySvg image');
  const base = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (svgBody.length === 0) return base.png().toBuffer();
  const svg = Buffer.from(svgDocument(image.width, image.height, svgBody));
  return base.composite([{ input: svg, left: 0, top: 0 }]).removeAlpha().png().toBuffer();
}

/**
 * Rasterises a complete SVG document (with `width`/`height` in pixels) to an RGB PNG on a white background.
 * @param svg the document, e.g. from `svgDocument`
 */
export async function rasterizeSvg(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 }).flatten({ background: '#ffffff' }).removeAlpha().png().toBuffer();
}

/**
 * Bilinear resize with `cv2.resize(..., INTER_LINEAR)` geometry: output pixel `x` samples source position
 * `(x + 0.5) · srcW / width − 0.5`, clamped to the border; results rounded to the nearest level.
 * @param src `data` `[h, w, 3]`
 * @returns `data` `[height, width, 3]`
 */
export function resizeBilinear(src: RgbImage, width: number, height: number): RgbImage {
  checkRgbImage(src, 'resizeBilinear src');
  const out = blankImage(width, height);
  const sx = src.width / width;
  const sy = src.height / height;
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const wxs = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(src.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(src.width - 1, x0s[x] + 1);
    wxs[x] = fx - x0s[x];
  }
  const s = src.data;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(src.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(src.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const wx = wxs[x];
      const a = (y0 * src.width + x0s[x]) * 3;
      const b = (y0 * src.width + x1s[x]) * 3;
      const c = (y1 * src.width + x0s[x]) * 3;
      const d = (y1 * src.width + x1s[x]) * 3;
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = s[a + ch] + (s[b + ch] - s[a + ch]) * wx;
        const bottom = s[c + ch] + (s[d + ch] - s[c + ch]) * wx;
        out.data[o + ch] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return out;
}

/**
 * Enlarges an image by an integer factor, each pixel becoming a `factor × factor` block.
 * @param src `data` `[h, w, 3]`
 * @returns `data` `[h · factor, w · factor, 3]`
 */
export function upscaleNearest(src: RgbImage, factor: number): RgbImage {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`upscaleNearest: factor must be a positive integer, got ${factor}`);
  if (factor === 1) return src;
  const out = blankImage(src.width * factor, src.height * factor);
  const rowBytes = out.width * 3;
  for (let y = 0; y < src.height; y++) {
    const row = (y * factor) * rowBytes;
    for (let x = 0; x < src.width; x++) {
      const i = (y * src.width + x) * 3;
      for (let r = 0; r < factor; r++) {
        const o = row + (x * factor + r) * 3;
        out.data[o] = src.data[i];
        out.data[o + 1] = src.data[i + 1];
        out.data[o + 2] = src.data[i + 2];
      }
    }
    for (let r = 1; r < factor; r++) out.data.copyWithin(row + r * rowBytes, row, row + rowBytes);
  }
  return out;
}

/**
 * Source images of the top-down pipeline: decoding a JPEG/PNG to 8-bit RGB, the affine crop of the official
 * `JointsDataset.__getitem__` (`cv2.warpAffine(img, trans, (w, h), flags=cv2.INTER_LINEAR)`), the horizontal
 * flip folded into the crop matrix, and the official input normalisation (`ToTensor` + `Normalize`).
 *
 * Decoding goes through sharp/libvips (mozjpeg, a libjpeg-turbo fork; off the main thread). The embedded ICC
 * profile is ignored, as OpenCV ignores it: with it applied, COCO photos carrying a profile decode to different
 * pixels (on `000000000785.jpg` by 1.7 levels on average, up to 54); without it the decode is bit-identical to
 * `cv2.imread(IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION)` + BGR→RGB.
 *
 * The crop is OpenCV's 8-bit bilinear in plain TypeScript, fixed point included: destination pixel centres
 * mapped through the inverted matrix in 1/1024 px, quantised to 1/32 px, 15-bit bilinear weights, rounded
 * shift; neighbours outside the source count as 0 (`BORDER_CONSTANT`). It reproduces the fixtures' PNG crops
 * bit for bit. It is also the faster choice: a 256×192 crop from a 640×425 photo takes about 0.5 ms
 * (384×288: 1.2 ms) on one core, while a sharp/libvips `affine` of the same matrix costs about 1.9 ms even
 * before the crop is cut out (sharp renders the bounding box of the whole transformed image and adds a
 * pipeline set-up and an async round trip per call; see `bench/data-image.ts`), and libvips' own fixed-point
 * bilinear does not reproduce the official crops bit for bit.
 */
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';

/** An 8-bit RGB image, row-major HWC. */
export interface RgbImage {
  /** `[height, width, 3]` row-major RGB bytes. */
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes a JPEG/PNG (anything sharp reads) file to 8-bit RGB: alpha dropped, greyscale replicated to three
 * channels, no EXIF rotation and no ICC colour conversion (as `cv2.imread(IMREAD_COLOR |
 * IMREAD_IGNORE_ORIENTATION)` followed by BGR→RGB).
 * @param path image file
 * @returns the image, `data` `[height, width, 3]`
 * @throws an error naming the file if it is missing, unreadable or not a decodable image
 */
export async function decodeImage(path: string): Promise<RgbImage> {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(path, { autoOrient: false, ignoreIcc: true })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`decodeImage: cannot decode image file '${path}': ${(err as Error).message}`);
  }
  const { data, info } = decoded;
  const { width, height, channels } = info;
  const pixels = width * height;
  if (channels === 3) {
    return { data: new Uint8Array(data.buffer, data.byteOffset, pixels * 3), width, height };
  }
  if (channels === 1) {
    const rgb = new Uint8Array(pixels * 3);
    for (let i = 0, o = 0; i < pixels; i++, o += 3) {
      const v = data[i];
      rgb[o] = v;
      rgb[o + 1] = v;
      rgb[o + 2] = v;
    }
    return { data: rgb, width, height };
  }
  throw new Error(`decodeImage: image file '${path}' decoded to ${channels} channels; expected 1 (grey) or 3 (RGB)`);
}

/** Fixed-point constants of OpenCV's `warpAffine` / `remap` for 8-bit bilinear. */
const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
const INTER_MASK = INTER_TAB_SIZE - 1;
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
/** Half a 1/32-pixel step in 1/1024 px: the matrix offsets are rounded to the nearest 1/32 px. */
const ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2;
/** The four bilinear weights of one cell sum to `1 << INTER_REMAP_COEF_BITS`. */
const INTER_REMAP_COEF_BITS = 15;
const INTER_REMAP_ROUND = 1 << (INTER_REMAP_COEF_BITS - 1);

/** Per-column offsets `[outW]` reused across calls (the crop runs once per training sample). */
let columnDx = new Int32Array(0);
let columnDy = new Int32Array(0);

/**
 * OpenCV's `saturate_cast<int>(double)`: round half to even (`cvRound`), clamped to the int32 range; NaN gives
 * `INT_MIN` as the x86 conversion does.
 */
function roundToInt32(v: number): number {
  if (Number.isNaN(v)) return -2147483648;
  if (v >= 2147483647) return 2147483647;
  if (v <= -2147483648) return -2147483648;
  let r = Math.round(v);
  if (r - v === 0.5 && (r & 1) !== 0) r -= 1;
  return r;
}

/**
 * `cv2.warpAffine(src, trans, (outW, outH), flags=INTER_LINEAR, borderMode=BORDER_CONSTANT, borderValue=0)`
 * on an RGB image, bit-exact with OpenCV's fixed-point 8-bit bilinear. `trans` maps source to crop coordinates
 * (the official `get_affine_transform` output); it is inverted as OpenCV inverts it (a singular matrix
 * inverts to zeros, as in OpenCV). Each crop pixel `(x, y)` samples the source at `trans⁻¹·(x, y, 1)`,
 * quantised to 1/32 px, blending the four neighbours with 15-bit weights; neighbours outside the source count
 * as 0. Sources wider or taller than 32767 px are not supported (OpenCV's 16-bit map saturates there).
 * @param src source image, `data` `[src.height, src.width, 3]`
 * @param trans 2×3 row-major affine matrix `[a, b, c, d, e, f]` (source → crop)
 * @param outW crop width in pixels
 * @param outH crop height in pixels
 * @param out optional destination `[outH, outW, 3]`, fully overwritten
 * @returns the crop `[outH, outW, 3]` (`out` if given)
 */
export function warpAffine(src: RgbImage, trans: ArrayLike<number>, outW: number, outH: number, out?: Uint8Array): Uint8Array {
  const W = src.width;
  const H = src.height;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 1 || H < 1 || W > 32767 || H > 32767) {
    throw new Error(`warpAffine: src.width/height must be integers in [1, 32767], got ${W}×${H}`);
  }
  if (src.data.length !== W * H * 3) {
    throw new Error(`warpAffine: src.data has ${src.data.length} bytes; expected width·height·3 = ${W * H * 3}`);
  }
  if (trans.length !== 6) throw new Error(`warpAffine: trans must be a 2×3 matrix (6 numbers), got ${trans.length}`);
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) {
    throw new Error(`warpAffine: outW/outH must be positive integers, got ${outW}×${outH}`);
  }
  const dst = out ?? new Uint8Array(outW * outH * 3);
  if (dst.length !== outW * outH * 3) {
    throw new Error(`warpAffine: out has ${dst.length} bytes; expected outH·outW·3 = ${outW * outH * 3}`);
  }

  // Inverse of the matrix, as cv::invertAffineTransform computes it.
  const m0 = trans[0], m1 = trans[1], m2 = trans[2], m3 = trans[3], m4 = trans[4], m5 = trans[5];
  let det = m0 * m4 - m1 * m3;
  det = det !== 0 ? 1 / det : 0;
  const i0 = m4 * det;
  const i1 = m1 * -det;
  const i3 = m3 * -det;
  const i4 = m0 * det;
  const i2 = -i0 * m2 - i1 * m5;
  const i5 = -i3 * m2 - i4 * m5;

  if (columnDx.length < outW) {
    columnDx = new Int32Array(outW);
    columnDy = new Int32Array(outW);
  }
  const adelta = columnDx;
  const bdelta = columnDy;
  for (let x = 0; x < outW; x++) {
    adelta[x] = roundToInt32(i0 * x * AB_SCALE);
    bdelta[x] = roundToInt32(i3 * x * AB_SCALE);
  }

  const s = src.data;
  const rowStride = W * 3;
  const lastX = W - 1;
  const lastY = H - 1;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const x0 = roundToInt32((i1 * y + i2) * AB_SCALE) + ROUND_DELTA;
    const y0 = roundToInt32((i4 * y + i5) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < outW; x++, o += 3) {
      const X = (x0 + adelta[x]) >> (AB_BITS - INTER_BITS);
      const Y = (y0 + bdelta[x]) >> (AB_BITS - INTER_BITS);
      const sx = X >> INTER_BITS;
      const sy = Y >> INTER_BITS;
      const fx = X & INTER_MASK;
      const fy = Y & INTER_MASK;
      // Weights (1 − fx)(1 − fy), fx(1 − fy), (1 − fx)fy, fx·fy in units of 2^-15.
      const gx = INTER_TAB_SIZE - fx;
      const gy = INTER_TAB_SIZE - fy;
      const w00 = gx * gy * INTER_TAB_SIZE;
      const w01 = fx * gy * INTER_TAB_SIZE;
      const w10 = gx * fy * INTER_TAB_SIZE;
      const w11 = fx * fy * INTER_TAB_SIZE;
      if (sx >= 0 && sx < lastX && sy >= 0 && sy < lastY) {
        const p = sy * rowStride + sx * 3;
        const q = p + rowStride;
        dst[o] = (s[p] * w00 + s[p + 3] * w01 + s[q] * w10 + s[q + 3] * w11 + INTER_REMAP_ROUND) >> INTER_REMAP_COEF_BITS;
        dst[o + 1] = (s[p + 1] * w00 + s[p + 4] * w01 + s[q + 1] * w10 + s[q + 4] * w11 + INTER_REMAP_ROUND) >> INTER_REMAP_COEF_BITS;
        dst[o + 2] = (s[p + 2] * w00 + s[p + 5] * w01 + s[q + 2] * w10 + s[q + 5] * w11 + INTER_REMAP_ROUND) >> INTER_REMAP_COEF_BITS;
      } else if (sx >= W || sx + 1 < 0 || sy >= H || sy + 1 < 0) {
        dst[o] = 0;
        dst[o + 1] = 0;
        dst[o + 2] = 0;
      } else {
        // Partly outside: each missing neighbour contributes 0.
        const in0x = sx >= 0;
        const in1x = sx + 1 < W;
        const in0y = sy >= 0;
        const in1y = sy + 1 < H;
        const p = sy * rowStride + sx * 3;
        const q = p + rowStride;
        for (let c = 0; c < 3; c++) {
          let acc = INTER_REMAP_ROUND;
          if (in0y && in0x) acc += s[p + c] * w00;
          if (in0y && in1x) acc += s[p + 3 + c] * w01;
          if (in1y && in0x) acc += s[q + c] * w10;
          if (in1y && in1x) acc += s[q + 3 + c] * w11;
          dst[o + c] = acc >> INTER_REMAP_COEF_BITS;
        }
      }
    }
  }
  return dst;
}

/**
 * Offset (px) of the mirror axis of {@link composeFlip}: OpenCV rounds sampling points half up to the 1/32-px
 * grid, so an exact mirror sends the ties of the flipped image to the other neighbour. Moving the mirror by one
 * step of the 1/1024-px coordinate grid turns those ties around and makes both crops sample identical points.
 */
const FLIP_AXIS_NUDGE = 1 / AB_SCALE;

/**
 * Folds a horizontal mirror of the source (`x → width − 1 − x`, the training-time flip `img[:, ::-1]`) into a
 * crop matrix: `warpAffine(src, composeFlip(trans, src.width), …)` equals `warpAffine(flipped src, trans, …)`
 * up to the 1/32-px quantisation of the sampling points (at most one level on a few pixels).
 * @param trans 2×3 row-major affine matrix (flipped source → crop)
 * @param width source image width in pixels
 * @returns the 2×3 row-major matrix (unflipped source → crop), `trans · F` with `F(x, y) = (width − 1 − x, y)`
 */
export function composeFlip(trans: ArrayLike<number>, width: number): Float64Array {
  if (trans.length !== 6) throw new Error(`composeFlip: trans must be a 2×3 matrix (6 numbers), got ${trans.length}`);
  const w1 = width - 1 - FLIP_AXIS_NUDGE;
  return Float64Array.of(
    -trans[0], trans[1], trans[0] * w1 + trans[2],
    -trans[3], trans[4], trans[3] * w1 + trans[5],
  );
}

/** ImageNet RGB mean and standard deviation of the official `transforms.Normalize`. */
export const IMAGE_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGE_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/**
 * `[3, 256]` lookup: entry `c·256 + v` is the official float32 `(v / 255 − mean[c]) / std[c]`
 * (`ToTensor` then `Normalize`, each step rounded to float32 as PyTorch computes it).
 */
const NORMALIZE_LUT: Float32Array = (() => {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(IMAGE_MEAN[c]);
    const std = Math.fround(IMAGE_STD[c]);
    for (let v = 0; v < 256; v++) {
      lut[c * 256 + v] = Math.fround(Math.fround(v / 255) - mean) / std;
    }
  }
  return lut;
})();

/**
 * Official input normalisation on an RGB crop: `/255` then `(x − mean) / std` per channel with the ImageNet
 * mean `[0.485, 0.456, 0.406]` and std `[0.229, 0.224, 0.225]`, in float32 as PyTorch computes it. Keeps
 * the HWC layout (one sample of an NHWC batch).
 * @param rgb `[H, W, 3]` bytes (length a multiple of 3)
 * @param out destination; receives `[H, W, 3]` float32 values at `out[offset … offset + rgb.length)`
 * @param offset first element written in `out` (default 0), e.g. `n·H·W·3` for sample n of a batch
 */
export function normalizeImage(rgb: Uint8Array, out: Float32Array, offset = 0): void {
  const n = rgb.length;
  if (n % 3 !== 0) throw new Error(`normalizeImage: rgb has ${n} bytes; expected a multiple of 3 (HWC RGB)`);
  if (!Number.isInteger(offset) || offset < 0 || offset + n > out.length) {
    throw new Error(`normalizeImage: out (length ${out.length}) cannot hold ${n} values at offset ${offset}`);
  }
  const lut = NORMALIZE_LUT;
  for (let i = 0, o = offset; i < n; i += 3, o += 3) {
    out[o] = lut[rgb[i]];
    out[o + 1] = lut[256 + rgb[i + 1]];
    out[o + 2] = lut[512 + rgb[i + 2]];
  }
}

/**
 * Inverse of {@link normalizeImage} for pictures: `[H, W, 3]` normalised float32 → 8-bit RGB
 * (`(x·std + mean)·255`, rounded and clipped), as the official debug pictures do.
 * @param bgr the data was fed in BGR order (`DATASET.COLOR_RGB` false): swap back to RGB
 */
export function denormalizeImage(data: Float32Array, width: number, height: number, bgr = false): RgbImage {
  const n = width * height;
  if (data.length < n * 3) throw new Error(`denormalizeImage: expected ${n * 3} values for ${width}×${height}×3, got ${data.length}`);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const src = bgr ? 2 - c : c;
      const v = Math.round((data[i * 3 + src] * IMAGE_STD[c] + IMAGE_MEAN[c]) * 255);
      out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data: out, width, height };
}

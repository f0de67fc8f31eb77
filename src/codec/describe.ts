/**
 * Each codec's decoding in words, for people who decode exported heatmaps without this project's code (written to
 * `hrnet-meta.json` by `hrnet export`). Kept beside the codecs so that the words change with the code.
 */
import { DEFAULT_BLUR_KERNEL } from './codecs';
import type { HeatmapCodec } from './heatmap-codec';

const ARGMAX =
  'per joint k: maxval = max of heatmap[:, :, k]; (x, y) = its first argmax in row-major order; if maxval <= 0 then (x, y) = (0, 0)';

const REFINE: Record<HeatmapCodec['name'], (blurKernel: number) => string> = {
  msra: () =>
    'postProcess: px = floor(x + 0.5), py = floor(y + 0.5); if 1 < px < W - 1 and 1 < py < H - 1: ' +
    'x += 0.25 · sign(hm[py][px + 1] − hm[py][px − 1]), y += 0.25 · sign(hm[py + 1][px] − hm[py − 1][px])',
  dark: (blurKernel) =>
    `postProcess (DARK): L = log(max(blur(hm) · max(hm) / max(blur(hm)), 1e-10)), blur = ${blurKernel}×${blurKernel} Gaussian (OpenCV's σ for that size) ` +
    'with zero padding; if 1 < x < W − 2 and 1 < y < H − 2: (x, y) −= H⁻¹·g with g the central differences of L and ' +
    'H its second differences at step 2 (skipped when H is singular)',
  udp: () =>
    'postProcess (DARK-UDP): L = log(clip(blur(hm) · max(hm) / max(blur(hm)), 1e-3, 50)), blur as DARK, L edge-padded ' +
    'by one pixel; (x, y) −= (H + 2⁻²³·I)⁻¹·g with g the central differences of L at (x, y) and H its second ' +
    'differences with the direct neighbours',
};

const BACK_PROJECTION: Record<HeatmapCodec['name'], string> = {
  msra:
    'image coords = inverse affine getAffineTransform(center, scale, 0, heatmapSize, inv=1) applied to (x, y); ' +
    'with no rotation: X = center[0] + (x − W/2)·k, Y = center[1] + (y − H/2)·k, k = scale[0]·pixelStd / W (W, H: heatmap size)',
  dark: '',
  udp:
    'image coords (UDP): X = center[0] + (x / (W − 1) − 1/2)·scale[0]·pixelStd, ' +
    'Y = center[1] + (y / (H − 1) − 1/2)·scale[1]·pixelStd (W, H: heatmap size)',
};
BACK_PROJECTION.dark = BACK_PROJECTION.msra;

/**
 * The decoding of `codec`, step by step.
 * @returns one sentence a step: argmax, refinement, back-projection, score, flip test
 */
export function describeDecoding(codec: HeatmapCodec): string[] {
  const shift = codec.flipTest([]).shift;
  return [
    ARGMAX,
    REFINE[codec.name](codec.spec.blurKernel ?? DEFAULT_BLUR_KERNEL),
    BACK_PROJECTION[codec.name],
    'score of joint k = maxval',
    'flipTest: run the mirrored crop too, mirror its heatmaps back along x, swap the flipPairs channels, ' +
      (shift ? 'shift one pixel right (column x ← x − 1, column 0 kept), ' : '') +
      'and average with the plain heatmaps before decoding',
  ];
}

/**
 * How `codec` cuts the network input out of an image, in words.
 * @param inputSize `[width, height]` of the network input
 */
export function describeCrop(codec: HeatmapCodec, inputSize: readonly [number, number]): string {
  const [w, h] = inputSize;
  if (codec.name === 'udp') {
    return (
      `crop = warpAffine(image, UDP affine), bilinear: the scale·pixelStd box around center mapped onto the ${w}×${h} ` +
      `input with pixel extents, X = (x − center[0])·(${w} − 1)/(scale[0]·pixelStd) + (${w} − 1)/2, ` +
      `Y = (y − center[1])·(${h} − 1)/(scale[1]·pixelStd) + (${h} − 1)/2`
    );
  }
  return `crop = warpAffine(image, getAffineTransform(center, scale, 0, inputSize)), bilinear: the scale·pixelStd box around center mapped onto the ${w}×${h} input`;
}

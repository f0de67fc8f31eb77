/**
 * The three heatmap codecs, built from a {@link CodecSpec}: the official (`msra`), `dark` and `udp` — and the
 * codec a config asks for ({@link codecOf}).
 */
import type { Config } from '../config/schema';
import { getAffineTransform, getUdpAffineTransform } from './affine';
import { decodeHeatmaps, type DecodeSteps } from './decode';
import type { CodecName, CodecSpec, EncodeOptions, HeatmapCodec } from './heatmap-codec';
import { darkRefine, darkUdpRefine, quarterOffsetRefine } from './refine';
import { generateTarget, generateUdpTarget, type TargetBuffers } from './targets';

/** Blur kernel of the DARK decodings: 11, the DARK and mmpose setting for σ = 2 heatmaps. */
export const DEFAULT_BLUR_KERNEL = 11;

/** Every codec name, for validation and help texts. */
export const CODEC_NAMES: readonly CodecName[] = ['msra', 'dark', 'udp'];

/** The official crop map: `get_affine_transform` onto a `size`-pixel output. */
function officialCrop(center: ArrayLike<number>, scale: ArrayLike<number>, rotation: number, size: ArrayLike<number>, inv = false): Float64Array {
  return getAffineTransform(center, scale, rotation, size, [0, 0], inv);
}

/** A codec with the official geometry and target, and `refine` as its decoding. */
function officialGeometryCodec(spec: CodecSpec, refine: DecodeSteps['refine']): HeatmapCodec {
  const steps: DecodeSteps = {
    refine: spec.postProcess === false ? null : refine,
    heatmapToImage: (center, scale, heatmapSize) => officialCrop(center, scale, 0, heatmapSize, true),
  };
  return {
    name: spec.name,
    spec,
    cropTransform: (center, scale, rotation, inv) => officialCrop(center, scale, rotation, spec.imageSize, inv),
    encode: (joints, jointsVis, opts: EncodeOptions = {}, out?: TargetBuffers) =>
      generateTarget(joints, jointsVis, { ...opts, imageSize: spec.imageSize, heatmapSize: spec.heatmapSize, sigma: spec.sigma }, out),
    decode: (heatmaps, shape, centers, scales) => decodeHeatmaps(heatmaps, shape, centers, scales, steps),
    flipTest: (flipPairs) => ({ pairs: flipPairs.map(([a, b]) => [a, b]), shift: spec.shiftHeatmap === true }),
  };
}

/**
 * The official codec (`get_final_preds`): targets of `generate_target`, argmax, with `postProcess` the quarter-pixel
 * shift, back-projection through the inverse of `get_affine_transform` onto the heatmap.
 */
export function msraCodec(spec: CodecSpec): HeatmapCodec {
  return officialGeometryCodec({ ...spec, name: 'msra' }, (heatmaps, shape, coords) => quarterOffsetRefine(heatmaps, shape, coords));
}

/** DARK's decoding on the official targets and geometry: with `postProcess`, blur + log + Taylor step. */
export function darkCodec(spec: CodecSpec): HeatmapCodec {
  return officialGeometryCodec({ ...spec, name: 'dark' }, (heatmaps, shape, coords) => darkRefine(heatmaps, shape, coords, spec.blurKernel ?? DEFAULT_BLUR_KERNEL));
}

/**
 * UDP (Huang et al., CVPR 2020): the crop is {@link getUdpAffineTransform} onto the input, the targets
 * {@link generateUdpTarget}, the decoding the argmax refined by DARK-UDP and mapped back by the inverse UDP affine
 * onto the heatmap (`x_image = x_heatmap · boxWidth / (W − 1) + cx − boxWidth / 2` without rotation). Flipped heatmaps
 * need no shift: the `(size − 1)` grid is symmetric under `x → W − 1 − x`.
 */
export function udpCodec(spec: CodecSpec): HeatmapCodec {
  const s: CodecSpec = { ...spec, name: 'udp', shiftHeatmap: false };
  const steps: DecodeSteps = {
    refine:
      s.postProcess === false
        ? null
        : (heatmaps, shape, coords, maxvals) => darkUdpRefine(heatmaps, shape, coords, maxvals, s.blurKernel ?? DEFAULT_BLUR_KERNEL),
    heatmapToImage: (center, scale, heatmapSize) => getUdpAffineTransform(center, scale, 0, heatmapSize, true),
  };
  return {
    name: 'udp',
    spec: s,
    cropTransform: (center, scale, rotation, inv) => getUdpAffineTransform(center, scale, rotation, s.imageSize, inv),
    encode: (joints, jointsVis, opts: EncodeOptions = {}, out?: TargetBuffers) =>
      generateUdpTarget(joints, jointsVis, { ...opts, imageSize: s.imageSize, heatmapSize: s.heatmapSize, sigma: s.sigma }, out),
    decode: (heatmaps, shape, centers, scales) => decodeHeatmaps(heatmaps, shape, centers, scales, steps),
    flipTest: (flipPairs) => ({ pairs: flipPairs.map(([a, b]) => [a, b]), shift: false }),
  };
}

/**
 * The codec of a spec.
 * @throws on an unknown name
 */
export function createCodec(spec: CodecSpec): HeatmapCodec {
  switch (spec.name) {
    case 'msra':
      return msraCodec(spec);
    case 'dark':
      return darkCodec(spec);
    case 'udp':
      return udpCodec(spec);
    default:
      throw new Error(`createCodec: unknown codec ${JSON.stringify(spec.name)}; expected one of ${CODEC_NAMES.join(', ')}`);
  }
}

/**
 * The codec name a config asks for: `udp` when `MODEL.USE_UDP`, else `dark` when `TEST.DECODE` is `dark`, else the
 * official `msra`.
 */
export function codecNameOf(config: Config): CodecName {
  if (config.MODEL.USE_UDP) return 'udp';
  return config.TEST.DECODE === 'dark' ? 'dark' : 'msra';
}

/** The codec spec of a config (`MODEL.IMAGE_SIZE`, `HEATMAP_SIZE`, `SIGMA`, `USE_UDP`, `TEST.DECODE`, …). */
export function codecSpecOf(config: Config): CodecSpec {
  const m = config.MODEL;
  return {
    name: codecNameOf(config),
    imageSize: [m.IMAGE_SIZE[0], m.IMAGE_SIZE[1]],
    heatmapSize: [m.HEATMAP_SIZE[0], m.HEATMAP_SIZE[1]],
    sigma: m.SIGMA,
    postProcess: config.TEST.POST_PROCESS,
    shiftHeatmap: config.TEST.SHIFT_HEATMAP,
    blurKernel: DEFAULT_BLUR_KERNEL,
  };
}

/** The codec a config asks for: training targets, crop, decoding and flip test. */
export function codecOf(config: Config): HeatmapCodec {
  return createCodec(codecSpecOf(config));
}

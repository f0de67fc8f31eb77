/**
 * What every heatmap codec is: keypoints ⇄ heatmaps as one object (mmpose's codec idea) — the crop map that puts
 * the joints into the network input, `encode` (training targets and weights), `decode` (argmax, refinement,
 * back-projection, scores) and the flip test. {@link CodecSpec} is plain data, so a worker thread or a web page can
 * rebuild the same codec from it.
 */
import type { Vec2 } from './affine';
import type { HeatmapShape, MaxPreds } from './argmax';
import type { FlipTest } from './flip';
import type { TargetBuffers, TargetLayout } from './targets';

/**
 * The codecs:
 * - `msra`: the official one (Xiao et al. / Sun et al.): Gaussian at the integer heatmap cell, argmax and the
 *   quarter-pixel shift toward the higher neighbour;
 * - `dark`: the official targets, DARK's decoding (Zhang et al., CVPR 2020: blur, log, Taylor step);
 * - `udp`: unbiased data processing (Huang et al., CVPR 2020): the `(size − 1)` crop affine and target grid,
 *   Gaussian at the exact heatmap position, DARK-UDP decoding.
 */
export type CodecName = 'msra' | 'dark' | 'udp';

/** Everything that defines a codec, as plain (structured-cloneable) data. */
export interface CodecSpec {
  name: CodecName;
  /** Network input `[width, height]` (`MODEL.IMAGE_SIZE`). */
  imageSize: Vec2;
  /** Heatmap `[width, height]` (`MODEL.HEATMAP_SIZE`). */
  heatmapSize: Vec2;
  /** Gaussian σ of the targets in heatmap pixels (`MODEL.SIGMA`). */
  sigma: number;
  /** Refine the argmax (`TEST.POST_PROCESS`; default true); false decodes the plain argmax with every codec. */
  postProcess?: boolean;
  /** Shift the flipped-back heatmaps one column right (`TEST.SHIFT_HEATMAP`; default false; always false for `udp`). */
  shiftHeatmap?: boolean;
  /** Odd size of the Gaussian blur of the DARK and DARK-UDP decodings (default 11, for σ = 2). */
  blurKernel?: number;
}

/** Per-call options of {@link HeatmapCodec.encode}. */
export interface EncodeOptions {
  /** `[K]` per-joint loss weights (`LOSS.USE_DIFFERENT_JOINTS_WEIGHT`), e.g. the dataset meta's `jointsWeight`. */
  jointsWeight?: readonly number[];
  /** Multiply the target weights by `jointsWeight` (default false). */
  useDifferentJointsWeight?: boolean;
  /** `'KHW'` (default, the official `[K, H, W]`) or `'HWK'` (one sample of an NHWC batch). */
  layout?: TargetLayout;
}

/** One heatmap codec. */
export interface HeatmapCodec {
  /** Which codec this is (written to `hrnet-meta.json` as the decoding). */
  readonly name: CodecName;
  /** The spec it was built from. */
  readonly spec: Readonly<CodecSpec>;
  /**
   * The crop map from the image to the network input (`inv`: back), the one that cuts the input and moves the
   * joints.
   * @param center `[x, y]` box center in image pixels
   * @param scale `[sx, sy]` box scale (×200 px)
   * @param rotation degrees
   * @returns 2×3 row-major matrix
   */
  cropTransform(center: ArrayLike<number>, scale: ArrayLike<number>, rotation: number, inv?: boolean): Float64Array;
  /**
   * Training targets of one sample.
   * @param joints flat `[K, 3]` in input-crop pixels (mapped by {@link cropTransform})
   * @param jointsVis flat `[K, 3]` visibilities
   * @param out optional preallocated buffers: `target` `[K·H·W]`, `targetWeight` `[K]`
   * @returns `target` `[K, H, W]` or `[H, W, K]`, `targetWeight` `[K]`
   */
  encode(joints: ArrayLike<number>, jointsVis: ArrayLike<number>, opts?: EncodeOptions, out?: TargetBuffers): TargetBuffers;
  /**
   * Keypoints in image coordinates and their scores (the heatmap maxima).
   * @param heatmaps `[N, K, H, W]` (NCHW; `nhwcToNchw` converts model outputs)
   * @param shape `[N, K, H, W]`
   * @param centers `[N, 2]` box centers in image pixels
   * @param scales `[N, 2]` box scales (×200 px)
   * @returns `preds` `[N, K, 2]` image coordinates, `maxvals` `[N, K]`
   */
  decode(heatmaps: ArrayLike<number>, shape: HeatmapShape, centers: ArrayLike<number>, scales: ArrayLike<number>): MaxPreds;
  /**
   * The flip test of this codec for a dataset's left/right pairs.
   * @param flipPairs `[P, 2]` 0-based pairs
   */
  flipTest(flipPairs: ReadonlyArray<readonly [number, number]>): FlipTest;
}

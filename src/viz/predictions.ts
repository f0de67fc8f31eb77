/**
 * The picture of `hrnet predict`: a whole image with every detected person's skeleton, box and score, as PNG.
 */
import type { KeypointMeta } from '../data/keypoint-meta';
import type { RgbImage } from '../data/image';
import { PersonPrediction, PredictionsOptions, predictionsSvg } from './predictions-svg';
import { checkRgbImage, overlaySvg } from './raster';

export type { PersonPrediction, PredictionsOptions };

/**
 * Draws people's skeletons over a full image ({@link predictionsSvg}); lower-scored people first so the best
 * one is on top.
 * @param image `data` `[H, W, 3]`
 * @param persons `[P]` predictions in image pixels
 * @param meta keypoint names, skeleton and colours
 * @returns PNG bytes, `W × H`
 */
export async function renderPredictions(
  image: RgbImage,
  persons: readonly PersonPrediction[],
  meta: KeypointMeta,
  opts: PredictionsOptions = {},
): Promise<Buffer> {
  checkRgbImage(image, 'renderPredictions image');
  return overlaySvg(image, predictionsSvg(image.width, image.height, persons, meta, opts));
}

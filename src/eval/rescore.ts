/**
 * The official person rescoring of `COCODataset.evaluate`, shared by the evaluation and `hrnet predict`: a person's
 * score is its box score × the mean of its keypoint scores above `IN_VIS_THRE`.
 */

/**
 * The rescored person score. The official predictions are float32, so the keypoint-score mean is accumulated in
 * float32 before the float64 product with the box score; a person with no keypoint above the threshold scores 0.
 * @param keypointScores `[K]` keypoint scores (heatmap maxima)
 * @param boxScore the detector's (or ground truth's, 1) box score
 * @param inVisThre `TEST.IN_VIS_THRE`: keypoints scoring above it count
 */
export function rescorePerson(keypointScores: Iterable<number>, boxScore: number, inVisThre: number): number {
  let sum = 0;
  let count = 0;
  for (const value of keypointScores) {
    const s = Math.fround(value);
    if (s > inVisThre) {
      sum = Math.fround(sum + s);
      count++;
    }
  }
  return (count !== 0 ? Math.fround(sum / count) : 0) * boxScore;
}

/**
 * The COCO file formats, declared once for every reader and writer of the project (the dataset loader, the
 * synthetic data writer, the keypoint-meta inference, the evaluation, `hrnet predict` and `eval-coco`):
 * keypoint annotation files (`images`, `annotations`, `categories`; cocodataset.org "data format") and results
 * files (keypoint results, person detections; "results format").
 *
 * The interfaces describe entries as COCO writes them. COCO-format files of other datasets leave fields out
 * (custom files the image sizes, CrowdPose the `area`, OneHand10K `num_keypoints`): what a reader accepts is
 * {@link CocoKeypointsFileAsRead}, and each reader checks at run time what it uses.
 */

/** `T` with the fields `K` optional. */
export type WithOptional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/** One `images[i]` entry of a COCO annotation file. */
export interface CocoImage {
  id: number;
  /** Image file name, relative to the split's image folder. */
  file_name: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** One keypoint `annotations[i]` entry of a COCO annotation file (one person or other instance). */
export interface CocoKeypointAnnotation {
  /** Annotation id; must not be 0 for the evaluation (pycocotools stores matches as ids, 0 meaning "unmatched"). */
  id: number;
  image_id: number;
  category_id: number;
  /** Flat keypoints `[3K]`: x, y, v (v = 0 unlabelled, 1 labelled but hidden, 2 visible). */
  keypoints: number[];
  /** Number of labelled keypoints; 0 makes the annotation ignored by the evaluation. */
  num_keypoints: number;
  /** Segment area; selects the evaluation's area range. */
  area: number;
  /** Box `[x, y, w, h]` in pixels. */
  bbox: number[];
  /** Crowd region: skipped for training; ignored by the evaluation, where it may absorb several detections. */
  iscrowd?: number | boolean;
}

/** One `categories[k]` entry of a COCO annotation file; keypoint categories name their keypoints and limbs. */
export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  /** `[K]` keypoint names. */
  keypoints?: string[];
  /** Limbs as 1-based keypoint indices (COCO convention), `[L, 2]`. */
  skeleton?: number[][];
}

/** A COCO keypoint annotation file (`person_keypoints_*.json`, or a custom dataset in that format). */
export interface CocoKeypointsFile {
  images: CocoImage[];
  annotations: CocoKeypointAnnotation[];
  categories: CocoCategory[];
}

/**
 * A COCO-format keypoint annotation file as the dataset loader accepts it: image sizes, annotation ids,
 * `num_keypoints` and `area` may be missing, as may category names and the `categories` list itself.
 */
export interface CocoKeypointsFileAsRead {
  images: WithOptional<CocoImage, 'width' | 'height'>[];
  annotations: WithOptional<CocoKeypointAnnotation, 'id' | 'num_keypoints' | 'area'>[];
  categories?: WithOptional<CocoCategory, 'name'>[];
}

/** The fields of every entry of a COCO results file. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  /** Instance score; ranks the results. */
  score: number;
}

/** One entry of a COCO keypoint results file. */
export interface CocoKeypointResult extends CocoResult {
  /** Flat keypoints `[3K]`: x, y, keypoint score (the score is not used by the metric). */
  keypoints: number[];
  /** Box center `[2]` the person was cropped with (written by the official code, not used by the metric). */
  center?: number[];
  /** Box scale `[2]` in units of 200 px (written by the official code, not used by the metric). */
  scale?: number[];
}

/** One entry of a COCO detection results file, such as the person boxes of `TEST.COCO_BBOX_FILE`. */
export interface CocoDetection extends CocoResult {
  /** `[x, y, w, h]` in pixels. */
  bbox: number[];
}

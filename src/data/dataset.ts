/**
 * Keypoint datasets: the record every dataset produces (official `gt_db` entries plus image id, score and area),
 * the dataset object the pipeline, loader and evaluation share, and annotation-file and image-folder helpers;
 * `createDataset` (`create-dataset.ts`) picks the COCO, MPII, custom COCO-format or synthetic reader from the config.
 *
 * Paths: `DATASET.ROOT` is relative to `DATA_DIR` (both relative to the working directory when not absolute).
 * Annotation files per kind:
 * - `coco`, `synthetic`: `ROOT/annotations/person_keypoints_<set>.json`; a set ending in `.json` is a file path
 *   (absolute, or relative to ROOT);
 * - `mpii`: `ROOT/annot/<set>.json`; a set ending in `.json` is a file path as above;
 * - `custom`: the set is the COCO-format file (absolute, or relative to ROOT).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import type { Config } from '../config/schema';
import { validateKeypointMeta, type KeypointMeta } from './keypoint-meta';
import type { Vec2 } from './transforms';

export { jsonErrorOffset, readJsonFile } from './json-file';

/** Which split of the config a dataset is made for: `train` uses `TRAIN_SET`, `test` uses `TEST_SET`. */
export type DatasetSplit = 'train' | 'test';

/** One person (or animal, hand…) instance: the official `gt_db` / `kpt_db` entry plus what evaluation needs. */
export interface DatasetRecord {
  /** Image file path (resolved, see the readers for the search order). */
  imagePath: string;
  /** Id of the image (COCO `image_id`; MPII: position of the image in first-appearance order). */
  imageId: number;
  /** Box center `[x, y]` in image pixels. */
  center: Vec2;
  /** Box scale `[sx, sy]` in units of 200 px (enlargement included). */
  scale: Vec2;
  /** Flat `[K, 3]`: keypoint x, y, 0 (0-based pixels). */
  joints3d: Float64Array;
  /** Flat `[K, 3]`: visibility (0/1) twice, then 0. */
  joints3dVis: Float64Array;
  /** Box score: 1 for ground-truth boxes, the detector score for detection boxes. */
  score: number;
  /** Instance area: COCO `area` (the sanitised box area when the file has none), the box area for detections, 0 for MPII. */
  area: number;
  /** COCO annotation id, when the record comes from an annotation that has one. */
  annotationId?: number;
}

/** One image of a dataset, as evaluation needs it. */
export interface DatasetImage {
  /** Image id (COCO `id`). */
  id: number;
  /** `file_name` as written in the annotation file. */
  fileName: string;
  /** Width in pixels (0 when the file does not say). */
  width: number;
  /** Height in pixels (0 when the file does not say). */
  height: number;
}

/** A loaded keypoint dataset. */
export interface KeypointDataset {
  /** `coco`, `mpii`, `custom` or `synthetic`, plus the set, e.g. `coco:val2017`. */
  name: string;
  /** The annotation file read. */
  annotationFile: string;
  /** Person box file read instead of the ground-truth boxes (test split, `TEST.USE_GT_BBOX` false). */
  boxFile?: string;
  /** Keypoints per instance (K). */
  numJoints: number;
  /** Keypoint names, flip pairs, body halves, joint weights, OKS sigmas, skeleton. */
  meta: KeypointMeta;
  /** The instances, in the official order (image order, then annotation order). */
  records: DatasetRecord[];
  /** Every image of the annotation file, in file order. */
  images: DatasetImage[];
  /** `images[i].id`, in file order. */
  imageIds: number[];
  /** Notes gathered while loading (missing images, meta inference), already printed through `onWarning`. */
  warnings: string[];
}

/** Options of {@link createDataset}. */
export interface CreateDatasetOptions {
  /** Receives every warning (default: `console.warn`). */
  onWarning?: (message: string) => void;
  /** Root folder instead of `DATA_DIR/DATASET.ROOT`. */
  root?: string;
}

/** The dataset root: `root` when given, else `DATA_DIR/DATASET.ROOT`. */
export function datasetRoot(config: Config, root?: string): string {
  if (root !== undefined) return root;
  return path.join(config.DATA_DIR, config.DATASET.ROOT);
}

/**
 * A set name or file path resolved against the dataset root: absolute paths stay, others are joined to `root`.
 * @param root dataset root
 * @param file file path from the config
 */
export function resolveUnderRoot(root: string, file: string): string {
  return path.isAbsolute(file) ? file : path.join(root, file);
}

/**
 * Picks the folder holding a dataset's images: the first of `candidates` that contains the first image found
 * among `probeFiles` (up to 16 are tried, in order). When none does, the first candidate is returned and
 * `found` is false (missing images are then reported when a sample is read).
 * @param candidates folders in order of preference
 * @param probeFiles image file names relative to a folder
 */
export function pickImageDir(candidates: readonly string[], probeFiles: readonly string[]): { dir: string; found: boolean } {
  const probes = probeFiles.slice(0, 16);
  for (const dir of candidates) {
    for (const file of probes) {
      if (fs.existsSync(path.join(dir, file))) return { dir, found: true };
    }
  }
  return { dir: candidates[0], found: false };
}

/**
 * The error for a keypoint count that differs from the config.
 * @param file annotation file
 * @param found keypoints per instance in the file
 * @param expected `MODEL.NUM_JOINTS`
 * @param source where the file's count comes from, e.g. `category "person"`
 */
export function numJointsMismatch(file: string, found: number, expected: number, source: string): Error {
  return new Error(
    `MODEL.NUM_JOINTS = ${expected} in the config, but the annotation file ${path.resolve(file)} has ` +
      `${found} keypoints per instance (${source}); set MODEL.NUM_JOINTS: ${found}`,
  );
}

/** Meta file keys, in the config's spelling (`FLIP_PAIRS`) or the {@link KeypointMeta} spelling (`flipPairs`). */
const META_FILE_KEYS: Record<string, keyof KeypointMeta> = {
  NAME: 'name',
  KEYPOINT_NAMES: 'keypointNames',
  FLIP_PAIRS: 'flipPairs',
  UPPER_BODY_IDS: 'upperBodyIds',
  LOWER_BODY_IDS: 'lowerBodyIds',
  JOINTS_WEIGHT: 'jointsWeight',
  OKS_SIGMAS: 'sigmas',
  SIGMAS: 'sigmas',
  SKELETON: 'skeleton',
  COLORS: 'colors',
};

function metaFieldOf(key: string): keyof KeypointMeta | undefined {
  if (key in META_FILE_KEYS) return META_FILE_KEYS[key];
  const fields = Object.values(META_FILE_KEYS);
  return fields.find((f) => f === key);
}

/**
 * Reads a keypoint meta file (`DATASET.KEYPOINT_META`): a JSON or YAML mapping whose keys are the config's
 * (`KEYPOINT_NAMES`, `FLIP_PAIRS`, `UPPER_BODY_IDS`, `LOWER_BODY_IDS`, `JOINTS_WEIGHT`, `OKS_SIGMAS`, `SKELETON`,
 * `NAME`) or the meta's own field names (`keypointNames`, `flipPairs`, …). Indices are 0-based.
 * @param file path of the meta file
 * @returns the fields the file sets
 */
export function readKeypointMetaFile(file: string): Partial<KeypointMeta> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`DATASET.KEYPOINT_META: keypoint meta file not found: ${path.resolve(file)}`);
    throw new Error(`DATASET.KEYPOINT_META: cannot read ${path.resolve(file)}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new Error(`keypoint meta file ${path.resolve(file)}: malformed ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error(`keypoint meta file ${path.resolve(file)}: expected a mapping of meta keys (KEYPOINT_NAMES, FLIP_PAIRS, ...)`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const field = metaFieldOf(key);
    if (field === undefined) {
      const known = Object.keys(META_FILE_KEYS).join(', ');
      throw new Error(`keypoint meta file ${path.resolve(file)}: unknown key "${key}"; expected one of ${known}`);
    }
    out[field] = value;
  }
  return out as Partial<KeypointMeta>;
}

/**
 * Applies, in this order, the meta file (`DATASET.KEYPOINT_META`) and the non-empty inline `DATASET.*` meta keys
 * onto `base`, and validates the result. Setting `upperBodyIds` without `lowerBodyIds` makes every other joint
 * lower body. The meta file path is absolute, relative to the working directory, or relative to `root` (tried in
 * that order).
 * @param base meta of the dataset (built in, or inferred from the annotation file)
 * @param config experiment config
 * @param root dataset root, for a relative meta file path
 */
export function applyMetaOverrides(base: KeypointMeta, config: Config, root: string): KeypointMeta {
  const meta: KeypointMeta = { ...base };
  const apply = (fields: Partial<KeypointMeta>): void => {
    Object.assign(meta, fields);
    if (fields.upperBodyIds !== undefined && fields.lowerBodyIds === undefined) {
      const upper = new Set(fields.upperBodyIds);
      meta.lowerBodyIds = base.keypointNames.map((_, i) => i).filter((i) => !upper.has(i));
    }
  };
  const metaPath = config.DATASET.KEYPOINT_META;
  if (metaPath !== '') {
    const file = path.isAbsolute(metaPath) || fs.existsSync(metaPath) ? metaPath : path.join(root, metaPath);
    apply(readKeypointMetaFile(file));
  }
  const d = config.DATASET;
  const inline: Partial<KeypointMeta> = {};
  if (d.KEYPOINT_NAMES.length > 0) inline.keypointNames = [...d.KEYPOINT_NAMES];
  if (d.FLIP_PAIRS.length > 0) inline.flipPairs = d.FLIP_PAIRS.map((p) => [p[0], p[1]]);
  if (d.UPPER_BODY_IDS.length > 0) inline.upperBodyIds = [...d.UPPER_BODY_IDS];
  if (d.JOINTS_WEIGHT.length > 0) inline.jointsWeight = [...d.JOINTS_WEIGHT];
  if (d.OKS_SIGMAS.length > 0) inline.sigmas = [...d.OKS_SIGMAS];
  if (d.SKELETON.length > 0) inline.skeleton = d.SKELETON.map((p) => [p[0], p[1]]);
  apply(inline);
  if (meta.keypointNames.length !== base.keypointNames.length) {
    throw new Error(
      `keypoint meta: ${meta.keypointNames.length} keypoint names from DATASET.KEYPOINT_NAMES / KEYPOINT_META, ` +
        `but the dataset has ${base.keypointNames.length} keypoints`,
    );
  }
  if (meta.colors !== undefined && meta.colors.length !== meta.keypointNames.length) delete meta.colors;
  validateKeypointMeta(meta);
  return meta;
}

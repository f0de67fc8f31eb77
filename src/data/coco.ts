/**
 * COCO-format keypoint datasets: the official `COCODataset` (person keypoints, ground-truth boxes or person
 * detections), custom COCO-format files (hands, animals, other joint sets, keypoint meta from the file's
 * categories) and the synthetic data set (COCO layout).
 *
 * Images are looked up in the first of these folders that holds the first images of the file:
 * - `coco`, `synthetic`: `ROOT/images/<set>/` (official layout), `ROOT/images/`, the annotation file's folder,
 *   `<annotation folder>/images/`;
 * - `custom`: `ROOT/images/`, the annotation file's folder, `<annotation folder>/images/`, `ROOT/`.
 * `<set>` is the set name, or for a set given as a `.json` path its file name without `.json` and without a
 * `person_keypoints_` prefix. When no folder has them, the first is used and missing files are reported when a
 * sample is read.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Config } from '../config/schema';
import {
  applyMetaOverrides,
  datasetRoot,
  numJointsMismatch,
  pickImageDir,
  readJsonFile,
  resolveUnderRoot,
  type CreateDatasetOptions,
  type DatasetImage,
  type DatasetRecord,
  type DatasetSplit,
  type KeypointDataset,
} from './dataset';
import { checkBadShare, type BadSample } from './bad-samples';
import { JointSlab } from './joint-slab';
import { readJsonFileWithout } from './json-file';
import type { CocoDetection, CocoKeypointsFileAsRead } from './coco-format';
import { COCO_META, metaFromCocoCategory, type KeypointMeta } from './keypoint-meta';
import { COCO_DETECTION_SCHEMA, cocoAnnotationSchema, firstFieldFault } from './record-schema';
import { cocoAnnotationsToRecords, xywh2cs } from './transforms';

/** The COCO person category id (the official loader keeps only this one). */
export const COCO_PERSON_CATEGORY_ID = 1;

/** A COCO-format `annotations[i]` entry as the loader accepts it. */
type CocoAnnotationAsRead = CocoKeypointsFileAsRead['annotations'][number];

/** A COCO-format `categories[k]` entry as the loader accepts it. */
type CocoCategoryAsRead = NonNullable<CocoKeypointsFileAsRead['categories']>[number];

/**
 * Checks the top-level layout of a parsed COCO file: an object with `images` and `annotations` lists (and
 * `categories` when present).
 * @param data parsed JSON
 * @param file the file, for messages
 */
export function asCocoKeypointFile(data: unknown, file: string): CocoKeypointsFileAsRead {
  const where = `annotation file ${path.resolve(file)}`;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error(`${where}: expected a COCO object with "images", "annotations" and "categories", got ${Array.isArray(data) ? 'a list' : typeof data}`);
  }
  const obj = data as Record<string, unknown>;
  for (const key of ['images', 'annotations'] as const) {
    if (!Array.isArray(obj[key])) throw new Error(`${where}: field "${key}" must be a list, got ${obj[key] === undefined ? 'nothing' : typeof obj[key]}`);
  }
  if (obj.categories !== undefined && !Array.isArray(obj.categories)) {
    throw new Error(`${where}: field "categories" must be a list`);
  }
  return obj as unknown as CocoKeypointsFileAsRead;
}

/** The annotation file of a COCO-format dataset split (see the file comment of `dataset.ts`). */
export function cocoAnnotationFile(config: Config, split: DatasetSplit, root: string): { file: string; setName: string } {
  const set = split === 'train' ? config.DATASET.TRAIN_SET : config.DATASET.TEST_SET;
  if (config.DATASET.DATASET === 'custom' || /\.json$/i.test(set)) {
    const stem = path.basename(set).replace(/\.json$/i, '').replace(/^person_keypoints_/, '');
    return { file: resolveUnderRoot(root, set), setName: stem };
  }
  return { file: path.join(root, 'annotations', `person_keypoints_${set}.json`), setName: set };
}

/** The keypoint categories of a file and the keypoint count they define. */
interface KeypointCategories {
  /** Ids of the categories whose instances are loaded; null = every annotation. */
  ids: number[] | null;
  /** The category giving the keypoint names, when any has them. */
  category: CocoCategoryAsRead | null;
  numJoints: number;
}

function keypointCategories(data: CocoKeypointsFileAsRead, file: string, config: Config): KeypointCategories {
  const kind = config.DATASET.DATASET;
  const categories = data.categories ?? [];
  const where = `annotation file ${path.resolve(file)}`;
  if (kind === 'coco') {
    const person = categories.find((c) => c.id === COCO_PERSON_CATEGORY_ID);
    const named = person !== undefined && Array.isArray(person.keypoints) && person.keypoints.length > 0;
    const numJoints = named ? (person.keypoints as string[]).length : COCO_META.keypointNames.length;
    return { ids: [COCO_PERSON_CATEGORY_ID], category: named ? person : null, numJoints };
  }
  const withKeypoints = categories.filter((c) => Array.isArray(c.keypoints) && c.keypoints.length > 0);
  if (withKeypoints.length === 0) {
    return { ids: null, category: null, numJoints: config.MODEL.NUM_JOINTS };
  }
  const first = withKeypoints[0];
  const firstNames = first.keypoints as string[];
  for (const c of withKeypoints) {
    const names = c.keypoints as string[];
    if (names.length !== firstNames.length || names.some((n, i) => n !== firstNames[i])) {
      throw new Error(
        `${where}: categories ${JSON.stringify(first.name ?? first.id)} and ${JSON.stringify(c.name ?? c.id)} define ` +
          `different keypoints (${firstNames.length} vs ${names.length}); one dataset must use one keypoint set`,
      );
    }
  }
  return { ids: withKeypoints.map((c) => c.id), category: first, numJoints: firstNames.length };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** The dataset's keypoint meta before the config's overrides. */
function baseMeta(kind: string, cats: KeypointCategories, name: string, warnings: string[]): KeypointMeta {
  if (kind === 'coco') return COCO_META;
  const category = cats.category;
  if (category === null || !Array.isArray(category.keypoints)) {
    const names = Array.from({ length: cats.numJoints }, (_, i) => `keypoint_${i}`);
    return metaFromCocoCategory({ name, keypoints: names }).meta;
  }
  if (sameNames(category.keypoints, COCO_META.keypointNames)) return COCO_META;
  const inferred = metaFromCocoCategory({
    id: category.id,
    name: cats.ids !== null && cats.ids.length > 1 ? name : category.name,
    keypoints: category.keypoints,
    skeleton: category.skeleton,
  });
  warnings.push(...inferred.warnings);
  return inferred.meta;
}

/** Finds a box file: absolute, relative to the working directory, or relative to the dataset root. */
function resolveBoxFile(boxFile: string, root: string): string {
  if (path.isAbsolute(boxFile) || fs.existsSync(boxFile)) return boxFile;
  return path.join(root, boxFile);
}

/**
 * Loads a COCO-format dataset split: `coco` (person category only, COCO meta), `custom` (every category that has
 * keypoints; meta from the file), `synthetic` (COCO layout, meta from the file). The test split of any of them
 * reads the person boxes of `TEST.COCO_BBOX_FILE` when `TEST.USE_GT_BBOX` is false.
 * @param config experiment config
 * @param split `train` or `test`
 */
export function loadCocoDataset(config: Config, split: DatasetSplit, opts: CreateDatasetOptions = {}): KeypointDataset {
  const onWarning = opts.onWarning ?? ((m: string) => console.warn(m));
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    onWarning(m);
  };
  const kind = config.DATASET.DATASET;
  const root = datasetRoot(config, opts.root);
  const { file, setName } = cocoAnnotationFile(config, split, root);
  // Segmentation polygons are most of a COCO annotation file and are not used: they are never built.
  const data = asCocoKeypointFile(readJsonFileWithout(file, 'annotation file', ['segmentation']), file);
  const where = `annotation file ${path.resolve(file)}`;

  const cats = keypointCategories(data, file, config);
  const numJoints = cats.numJoints;
  if (numJoints !== config.MODEL.NUM_JOINTS) {
    const source = cats.category !== null ? `"keypoints" of category ${JSON.stringify(cats.category.name ?? cats.category.id)}` : 'COCO person';
    throw numJointsMismatch(file, numJoints, config.MODEL.NUM_JOINTS, source);
  }
  const datasetName = `${kind}:${setName}`;
  const metaWarnings: string[] = [];
  const meta = applyMetaOverrides(baseMeta(kind, cats, datasetName, metaWarnings), config, root);
  metaWarnings.forEach(warn);

  const images: DatasetImage[] = [];
  const imageById = new Map<number, DatasetImage>();
  data.images.forEach((img, i) => {
    if (img === null || typeof img !== 'object' || typeof img.id !== 'number' || typeof img.file_name !== 'string') {
      throw new Error(`${where}: images[${i}] must have a numeric "id" and a string "file_name"`);
    }
    const entry: DatasetImage = { id: img.id, fileName: img.file_name, width: img.width ?? 0, height: img.height ?? 0 };
    images.push(entry);
    imageById.set(img.id, entry);
  });

  const annDir = path.dirname(file);
  const candidates =
    kind === 'custom'
      ? [path.join(root, 'images'), annDir, path.join(annDir, 'images'), root]
      : [path.join(root, 'images', setName), path.join(root, 'images'), annDir, path.join(annDir, 'images')];
  const picked = pickImageDir(candidates, images.map((im) => im.fileName));
  if (!picked.found && images.length > 0) {
    warn(`${where}: none of its first images was found in ${candidates.join(', ')}; reading them from ${picked.dir}`);
  }
  const imageDir = picked.dir;
  const imagePathOf = (imageId: number): string => {
    const info = imageById.get(imageId);
    return path.join(imageDir, info !== undefined ? info.fileName : `${String(imageId).padStart(12, '0')}.jpg`);
  };

  const useDetections = split === 'test' && !config.TEST.USE_GT_BBOX;
  const aspectRatio = config.MODEL.IMAGE_SIZE[0] / config.MODEL.IMAGE_SIZE[1];
  let records: DatasetRecord[];
  let boxFile: string | undefined;
  if (useDetections) {
    if (config.TEST.COCO_BBOX_FILE === '') {
      throw new Error('TEST.USE_GT_BBOX is false, so the test split needs person boxes, but TEST.COCO_BBOX_FILE is empty');
    }
    boxFile = resolveBoxFile(config.TEST.COCO_BBOX_FILE, root);
    records = detectionRecords(boxFile, {
      numJoints,
      aspectRatio,
      imageThre: config.TEST.IMAGE_THRE,
      categoryIds: kind === 'coco' ? [COCO_PERSON_CATEGORY_ID] : cats.ids,
      imagePathOf,
      maxBadShare: config.DATASET.MAX_BAD_SAMPLE_SHARE,
      warn,
    });
  } else {
    records = groundTruthRecords(data, file, {
      numJoints,
      aspectRatio,
      categoryIds: cats.ids,
      imageById,
      imagePathOf,
      warn,
      maxBadShare: config.DATASET.MAX_BAD_SAMPLE_SHARE,
    });
  }

  const dataset: KeypointDataset = {
    name: datasetName,
    annotationFile: file,
    numJoints,
    meta,
    records,
    images,
    imageIds: images.map((im) => im.id),
    warnings,
  };
  if (boxFile !== undefined) dataset.boxFile = boxFile;
  return dataset;
}

/** Options of {@link groundTruthRecords}. */
interface GroundTruthOptions {
  numJoints: number;
  aspectRatio: number;
  /** Categories to keep; null = all. */
  categoryIds: number[] | null;
  imageById: Map<number, DatasetImage>;
  imagePathOf: (imageId: number) => string;
  warn: (message: string) => void;
  /** `DATASET.MAX_BAD_SAMPLE_SHARE`. */
  maxBadShare: number;
}

/**
 * The official `_load_coco_keypoint_annotations`: images in file order, each image's annotations in file order,
 * through {@link cocoAnnotationsToRecords}. Every annotation of a kept category must have exactly K × 3
 * keypoint values. A regular (not crowd) annotation whose fields break {@link cocoAnnotationSchema} (a box that is
 * not four finite numbers with w, h ≥ 0, keypoints that are not finite numbers), or whose box has no area once
 * clipped to the image, is a bad sample: reported and skipped, or the file is refused when there are more than
 * `maxBadShare` of them.
 */
function groundTruthRecords(data: CocoKeypointsFileAsRead, file: string, opts: GroundTruthOptions): DatasetRecord[] {
  const { numJoints, aspectRatio, imageById } = opts;
  const where = `annotation file ${path.resolve(file)}`;
  const keep = opts.categoryIds === null ? null : new Set(opts.categoryIds);
  const byImage = new Map<number, { ann: CocoAnnotationAsRead; position: number }[]>();
  const schema = cocoAnnotationSchema(numJoints);
  const bad: BadSample[] = [];
  const badSample = (ann: CocoAnnotationAsRead, position: number, field: string, reason: string): BadSample => ({
    file: path.resolve(file),
    record: `annotation ${ann.id ?? '(no id)'} (annotations[${position}], image ${ann.image_id})`,
    field,
    reason,
  });
  let orphans = 0;
  let kept = 0;
  let crowd = 0;
  data.annotations.forEach((ann, i) => {
    if (ann === null || typeof ann !== 'object') throw new Error(`${where}: annotations[${i}] must be an object`);
    if (keep !== null && !keep.has(ann.category_id)) return;
    const kpts = ann.keypoints;
    if (!Array.isArray(kpts) || kpts.length !== numJoints * 3) {
      const found = Array.isArray(kpts) ? `${kpts.length / 3} (${kpts.length} values)` : `no "keypoints" list`;
      throw new Error(
        `${where}: annotation ${ann.id ?? `#${i}`} (image ${ann.image_id}) has the wrong number of keypoints: ` +
          `expected ${numJoints} × [x, y, v] = ${numJoints * 3} values, found ${found}`,
      );
    }
    if (!imageById.has(ann.image_id)) {
      orphans++;
      return;
    }
    if (ann.iscrowd) crowd++;
    else {
      const fault = firstFieldFault(ann, schema);
      if (fault !== null) {
        bad.push(badSample(ann, i, fault.field, fault.reason));
        return;
      }
    }
    kept++;
    let list = byImage.get(ann.image_id);
    if (list === undefined) {
      list = [];
      byImage.set(ann.image_id, list);
    }
    list.push({ ann, position: i });
  });
  if (orphans > 0) opts.warn(`${where}: ${orphans} annotation(s) refer to an image id missing from "images"; ignored`);

  const records: DatasetRecord[] = [];
  const catOpts = { numJoints, aspectRatio };
  const slab = new JointSlab(2 * kept, numJoints * 3);
  for (const [imageId, image] of imageById) {
    const anns = byImage.get(imageId);
    if (anns === undefined) continue;
    const imagePath = opts.imagePathOf(imageId);
    for (const { ann, position } of anns) {
      // one annotation at a time, so each record keeps its annotation's area
      const [rec] = cocoAnnotationsToRecords(image, [ann], catOpts);
      if (rec === undefined) continue;
      if (!(rec.scale[0] > 0 && rec.scale[1] > 0)) {
        const size = `${image.width}×${image.height}`;
        bad.push(badSample(ann, position, 'bbox', `box ${JSON.stringify(ann.bbox)} has no area once clipped to the ${size} image`));
        continue;
      }
      const area = typeof ann.area === 'number' ? ann.area : Math.max(0, ann.bbox[2]) * Math.max(0, ann.bbox[3]);
      const record: DatasetRecord = {
        imagePath,
        imageId,
        center: rec.center,
        scale: rec.scale,
        joints3d: slab.take(rec.joints3d),
        joints3dVis: slab.take(rec.joints3dVis),
        score: 1,
        area,
      };
      if (rec.annotationId !== undefined) record.annotationId = rec.annotationId;
      records.push(record);
    }
  }
  checkBadShare(bad, records.length + bad.length, opts.maxBadShare, where, opts.warn);
  if (records.length === 0) {
    const cats = opts.categoryIds === null ? 'any category' : `category ${opts.categoryIds.join('/')}`;
    throw new Error(
      `${where}: empty dataset: no usable annotation with keypoints (${data.images.length} images, ` +
        `${data.annotations.length} annotations, ${kept} of ${cats} on a listed image, ${crowd} of them crowd; ` +
        'an annotation needs iscrowd 0, a box of positive area and at least one keypoint value > 0)',
    );
  }
  return records;
}

/** Options of {@link detectionRecords}. */
export interface DetectionRecordOptions {
  /** K. */
  numJoints: number;
  /** Input `width / height`. */
  aspectRatio: number;
  /** Keep boxes with `score >= imageThre` (`TEST.IMAGE_THRE`). */
  imageThre: number;
  /** Categories kept; null = all. */
  categoryIds: readonly number[] | null;
  /** Image path of an image id. */
  imagePathOf: (imageId: number) => string;
  /** `DATASET.MAX_BAD_SAMPLE_SHARE` (default 0.05). */
  maxBadShare?: number;
  /** Receives the bad-sample reports (default `console.warn`). */
  warn?: (message: string) => void;
}

/**
 * The official `_load_coco_person_detection_results`: boxes of the kept categories with `score >= imageThre`,
 * in file order; center/scale by {@link xywh2cs} of the raw box; joints 0 and visibilities 1 (as official).
 * An entry whose fields break {@link COCO_DETECTION_SCHEMA} (a box that is not finite, a negative width or height)
 * or whose box has no area is a bad sample (see `bad-samples.ts`).
 * @param boxFile detection file (JSON list of `{image_id, category_id, bbox, score}`)
 */
export function detectionRecords(boxFile: string, opts: DetectionRecordOptions): DatasetRecord[] {
  const where = `person box file ${path.resolve(boxFile)}`;
  const data = readJsonFile(boxFile, 'person box file (TEST.COCO_BBOX_FILE)');
  if (!Array.isArray(data)) throw new Error(`${where}: expected a JSON list of {image_id, category_id, bbox, score}`);
  const keep = opts.categoryIds === null ? null : new Set(opts.categoryIds);
  const k3 = opts.numJoints * 3;
  const records: DatasetRecord[] = [];
  const bad: BadSample[] = [];
  const slab = new JointSlab(2 * data.length, k3);
  (data as CocoDetection[]).forEach((det, i) => {
    if (det === null || typeof det !== 'object') {
      throw new Error(`${where}: entry ${i} must be an object with "bbox" [x, y, w, h], "score", "image_id" and "category_id"`);
    }
    if (keep !== null && !keep.has(det.category_id)) return;
    const fault = firstFieldFault(det, COCO_DETECTION_SCHEMA);
    const record = `entry ${i} (image ${det.image_id})`;
    if (fault !== null) {
      bad.push({ file: path.resolve(boxFile), record, field: fault.field, reason: fault.reason });
      return;
    }
    if (det.score < opts.imageThre) return;
    const [x, y, w, h] = det.bbox;
    const { center, scale } = xywh2cs(x, y, w, h, opts.aspectRatio);
    if (!(scale[0] > 0 && scale[1] > 0)) {
      bad.push({ file: path.resolve(boxFile), record, field: 'bbox', reason: `box ${JSON.stringify(det.bbox)} has no area` });
      return;
    }
    records.push({
      imagePath: opts.imagePathOf(det.image_id),
      imageId: det.image_id,
      center,
      scale,
      joints3d: slab.take(),
      joints3dVis: slab.take().fill(1),
      score: det.score,
      area: w * h,
    });
  });
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  checkBadShare(bad, records.length + bad.length, opts.maxBadShare ?? 0.05, where, warn);
  if (records.length === 0) {
    throw new Error(`${where}: empty dataset: no box of the kept categories has score >= TEST.IMAGE_THRE (${opts.imageThre})`);
  }
  return records;
}

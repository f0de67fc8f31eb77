/**
 * The keypoint meta a config describes (names, flip pairs, skeleton, OKS sigmas, …), for the commands that have a
 * config but no loaded dataset (`predict`, `export`).
 */
import * as fs from 'fs';
import type { Config } from '../config/schema';
import { cocoAnnotationFile } from './coco';
import { applyMetaOverrides, datasetRoot, readJsonFile } from './dataset';
import type { CocoKeypointsFileAsRead } from './coco-format';
import { COCO_META, type KeypointCategory, type KeypointMeta, MPII_META, metaFromCocoCategory } from './keypoint-meta';

/**
 * The keypoint meta of a config's dataset: COCO / MPII built in; for `custom` and `synthetic` the
 * first keypoint category of the annotation file when it can be read, else generic names; then the
 * config's own meta keys (`DATASET.KEYPOINT_META`, `KEYPOINT_NAMES`, `FLIP_PAIRS`, …).
 * @returns the meta and notes on what could not be used
 */
export function keypointMetaOfConfig(config: Config): { meta: KeypointMeta; warnings: string[] } {
  const k = config.MODEL.NUM_JOINTS;
  const kind = config.DATASET.DATASET;
  const warnings: string[] = [];
  const generic = (): KeypointMeta =>
    metaFromCocoCategory({ name: kind, keypoints: Array.from({ length: k }, (_, i) => `keypoint_${i}`) }).meta;
  let base: KeypointMeta | null = null;
  if (kind === 'coco' && k === COCO_META.keypointNames.length) base = COCO_META;
  else if (kind === 'mpii' && k === MPII_META.keypointNames.length) base = MPII_META;
  const root = datasetRoot(config);
  if (base === null && (kind === 'custom' || kind === 'synthetic')) {
    for (const split of ['train', 'test'] as const) {
      const { file } = cocoAnnotationFile(config, split, root);
      if (!fs.existsSync(file)) continue;
      const data = readJsonFile(file, 'annotation file') as Pick<CocoKeypointsFileAsRead, 'categories'>;
      const cat = (data.categories ?? []).find((c): c is typeof c & KeypointCategory => Array.isArray(c.keypoints) && c.keypoints.length === k);
      if (cat) {
        const inferred = metaFromCocoCategory(cat);
        warnings.push(...inferred.warnings);
        base = inferred.meta;
        break;
      }
    }
  }
  if (base === null) {
    warnings.push(
      `no keypoint names for ${k} joints of dataset ${JSON.stringify(kind)}; exported generic names keypoint_0 … keypoint_${k - 1} ` +
        `and no flip pairs (set DATASET.KEYPOINT_NAMES / FLIP_PAIRS or DATASET.KEYPOINT_META)`,
    );
    base = generic();
  }
  return { meta: applyMetaOverrides(base, config, root), warnings };
}

/**
 * The MPII dataset in the JSON layout of the official HRNet code (`annot/<set>.json`: a list of
 * `{image, center, scale, joints, joints_vis}` in 1-based pixel coordinates), read as the official `MPIIDataset`.
 *
 * Images are looked up in `ROOT/images/` (official layout), then next to the annotation file, then in
 * `<annotation folder>/images/`: the first folder holding the first images is used.
 */
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
import { MPII_META } from './keypoint-meta';
import { firstFieldFault, MPII_ENTRY_SCHEMA } from './record-schema';
import type { Vec2 } from './transforms';

/** One entry of an official MPII annotation file. */
export interface MpiiAnnotation {
  /** Image file name. */
  image: string;
  /** `[x, y]` person center, 1-based pixels; `[-1, -1]` when unknown. */
  center: [number, number];
  /** Person height / 200. */
  scale: number;
  /** `[K, 2]` joints, 1-based pixels (absent in the `test` set). */
  joints?: number[][];
  /** `[K]` 0/1 visibility (absent in the `test` set). */
  joints_vis?: number[];
}

/** Center and scale after the official MPII adjustments. */
export interface MpiiCenterScale {
  center: Vec2;
  scale: Vec2;
}

/**
 * The official MPII box adjustment: when `center[0] != -1`, `center[1] += 15·scale` and `scale *= 1.25`; then the
 * center moves to 0-based pixels (`− 1`). The scale is used for both axes.
 * @param center `[x, y]` 1-based
 * @param scale person height / 200
 */
export function mpiiCenterScale(center: readonly number[], scale: number): MpiiCenterScale {
  let cx = center[0];
  let cy = center[1];
  let s = scale;
  if (cx !== -1) {
    cy = cy + 15 * s;
    s = s * 1.25;
  }
  cx -= 1;
  cy -= 1;
  return { center: [cx, cy], scale: [s, s] };
}

/** The annotation file of an MPII split: `ROOT/annot/<set>.json`, or the set itself when it ends in `.json`. */
export function mpiiAnnotationFile(config: Config, split: DatasetSplit, root: string): { file: string; setName: string } {
  const set = split === 'train' ? config.DATASET.TRAIN_SET : config.DATASET.TEST_SET;
  if (/\.json$/i.test(set)) return { file: resolveUnderRoot(root, set), setName: path.basename(set).replace(/\.json$/i, '') };
  return { file: path.join(root, 'annot', `${set}.json`), setName: set };
}

/**
 * Loads an MPII split as the official `MPIIDataset._get_db`: center/scale by {@link mpiiCenterScale}, joints
 * moved to 0-based pixels, `joints_vis` copied to both visibility columns. A set named `test` has no joints
 * (all zero), as official.
 * @param config experiment config
 * @param split `train` or `test`
 */
export function loadMpiiDataset(config: Config, split: DatasetSplit, opts: CreateDatasetOptions = {}): KeypointDataset {
  const onWarning = opts.onWarning ?? ((m: string) => console.warn(m));
  const warnings: string[] = [];
  const root = datasetRoot(config, opts.root);
  const { file, setName } = mpiiAnnotationFile(config, split, root);
  const where = `annotation file ${path.resolve(file)}`;
  const data = readJsonFile(file, 'annotation file');
  if (!Array.isArray(data)) {
    throw new Error(`${where}: expected the official MPII layout, a JSON list of {image, center, scale, joints, joints_vis}`);
  }
  const numJoints = MPII_META.keypointNames.length;
  if (config.MODEL.NUM_JOINTS !== numJoints) throw numJointsMismatch(file, numJoints, config.MODEL.NUM_JOINTS, 'MPII');
  if (data.length === 0) throw new Error(`${where}: empty dataset: the list has no entry`);
  const withJoints = setName !== 'test';

  const entries = data as MpiiAnnotation[];
  const imageIds = new Map<string, number>();
  const images: DatasetImage[] = [];
  entries.forEach((a, i) => {
    if (a === null || typeof a !== 'object' || typeof a.image !== 'string') {
      throw new Error(`${where}: entry ${i} must have a string "image"`);
    }
    if (!imageIds.has(a.image)) {
      imageIds.set(a.image, images.length);
      images.push({ id: images.length, fileName: a.image, width: 0, height: 0 });
    }
  });
  const annDir = path.dirname(file);
  const candidates = [path.join(root, 'images'), annDir, path.join(annDir, 'images')];
  const picked = pickImageDir(candidates, images.map((im) => im.fileName));
  if (!picked.found) {
    const m = `${where}: none of its first images was found in ${candidates.join(', ')}; reading them from ${picked.dir}`;
    warnings.push(m);
    onWarning(m);
  }

  const records: DatasetRecord[] = [];
  const bad: BadSample[] = [];
  entries.forEach((a, i) => {
    const fault = firstFieldFault(a, MPII_ENTRY_SCHEMA) ?? (a.scale > 0 ? null : { field: 'scale', reason: `expected a person height / 200 > 0, got ${a.scale}` });
    if (fault !== null) {
      bad.push({ file: path.resolve(file), record: `entry ${i} (${a.image})`, field: fault.field, reason: fault.reason });
      return;
    }
    const { center, scale } = mpiiCenterScale(a.center, a.scale);
    const joints3d = new Float64Array(numJoints * 3);
    const joints3dVis = new Float64Array(numJoints * 3);
    if (withJoints) {
      const joints = a.joints;
      const vis = a.joints_vis;
      if (!Array.isArray(joints) || joints.length !== numJoints) {
        const found = Array.isArray(joints) ? joints.length : 'no "joints" list';
        throw new Error(`${where}: entry ${i} (${a.image}) has the wrong number of keypoints: expected ${numJoints}, found ${found}`);
      }
      if (!Array.isArray(vis) || vis.length !== numJoints) {
        const found = Array.isArray(vis) ? vis.length : 'no "joints_vis" list';
        throw new Error(`${where}: entry ${i} (${a.image}) field "joints_vis": expected ${numJoints} values, found ${found}`);
      }
      for (let k = 0; k < numJoints; k++) {
        joints3d[k * 3] = joints[k][0] - 1;
        joints3d[k * 3 + 1] = joints[k][1] - 1;
        joints3dVis[k * 3] = vis[k];
        joints3dVis[k * 3 + 1] = vis[k];
      }
    }
    records.push({
      imagePath: path.join(picked.dir, a.image),
      imageId: imageIds.get(a.image) as number,
      center,
      scale,
      joints3d,
      joints3dVis,
      score: 1,
      area: 0,
    });
  });
  checkBadShare(bad, entries.length, config.DATASET.MAX_BAD_SAMPLE_SHARE, where, (m) => {
    warnings.push(m);
    onWarning(m);
  });

  return {
    name: `mpii:${setName}`,
    annotationFile: file,
    numJoints,
    meta: applyMetaOverrides(MPII_META, config, root),
    records,
    images,
    imageIds: images.map((im) => im.id),
    warnings,
  };
}

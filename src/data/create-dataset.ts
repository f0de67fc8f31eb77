/**
 * The dataset a config describes: COCO-format files (`coco`, `synthetic`, `custom`) or MPII. Kept apart from
 * `dataset.ts`, whose types and file helpers the loaders build on, so that the imports run one way.
 */
import type { Config } from '../config/schema';
import { loadCocoDataset } from './coco';
import type { CreateDatasetOptions, DatasetSplit, KeypointDataset } from './dataset';
import { loadMpiiDataset } from './mpii';

/**
 * Loads the dataset of `split` described by `config.DATASET` (the file comment of `dataset.ts` lists the paths). Throws an error
 * naming the file and the fault for missing or malformed files, keypoint counts that differ from
 * `MODEL.NUM_JOINTS`, and empty datasets.
 * @param config experiment config
 * @param split `train` (`TRAIN_SET`, ground-truth boxes) or `test` (`TEST_SET`; COCO boxes per `TEST.USE_GT_BBOX`)
 */
export function createDataset(config: Config, split: DatasetSplit, opts: CreateDatasetOptions = {}): KeypointDataset {
  const kind = config.DATASET.DATASET;
  switch (kind) {
    case 'coco':
    case 'synthetic':
    case 'custom':
      return loadCocoDataset(config, split, opts);
    case 'mpii':
      return loadMpiiDataset(config, split, opts);
    default:
      throw new Error(`DATASET.DATASET: unknown dataset kind ${JSON.stringify(kind)}; expected coco, mpii, custom or synthetic`);
  }
}

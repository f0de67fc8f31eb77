/**
 * Configs and temporary folders for the dataset, sample-pipeline and loader tests.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyOverrides, defaultConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { DATA_DIR } from './fixtures';

/**
 * A validated config for the sample dataset `name` of the shared data folder (`coco`, `mpii`, `crowdpose`,
 * `onehand10k`, `ap10k`) at 192×256 input (48×64 heatmaps), with extra dotted-key overrides.
 * @param kind DATASET.DATASET
 * @param folder sample dataset folder under the shared data folder
 * @param set annotation file name inside it (used as TRAIN_SET and TEST_SET)
 * @param numJoints MODEL.NUM_JOINTS
 */
export function sampleDataConfig(
  kind: 'coco' | 'mpii' | 'custom' | 'synthetic',
  folder: string,
  set: string,
  numJoints: number,
  overrides: Record<string, unknown> = {},
): Config {
  return applyOverrides(
    defaultConfig(),
    {
      'DATASET.DATASET': kind,
      'DATASET.ROOT': path.join(DATA_DIR, folder),
      'DATASET.TRAIN_SET': set,
      'DATASET.TEST_SET': set,
      'DATASET.COLOR_RGB': true,
      'MODEL.NUM_JOINTS': numJoints,
      'MODEL.IMAGE_SIZE': [192, 256],
      'MODEL.HEATMAP_SIZE': [48, 64],
      ...overrides,
    },
    'test',
  );
}

/** A fresh temporary folder; remove it with {@link removeTempDir}. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hrnet-${prefix}-`));
}

/** Removes a folder made by {@link makeTempDir}. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Silences and collects warnings: pass `collector.onWarning` where an `onWarning` option is accepted. */
export function warningCollector(): { messages: string[]; onWarning: (m: string) => void } {
  const messages: string[] = [];
  return { messages, onWarning: (m: string) => messages.push(m) };
}

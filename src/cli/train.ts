/**
 * `hrnet train [--config FILE] [--set K=V …] [--pretrained CKPT|PTH] [--resume] [--seed N] [--out DIR]`.
 * With no config it runs the main job: the embedded synthetic dataset (rendered on first use) and
 * `configs/synthetic/w16_128x96.yaml`.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { applyOverrides, loadConfig } from '../config/load';
import { datasetRoot } from '../data/dataset';
import { renderSyntheticDataset } from '../data/synthetic';
import { train } from '../train/trainer';
import { GlobalArgs, startBackend, withBackend } from './common';

/** The main job's config, relative to the package. */
export const DEFAULT_CONFIG = path.join(__dirname, '..', '..', 'configs', 'synthetic', 'w16_128x96.yaml');
/** Size of the synthetic dataset rendered for the main job. */
export const SYNTHETIC_TRAIN_IMAGES = 1500;
export const SYNTHETIC_VAL_IMAGES = 150;
/** Most figures per image of the main job's dataset (`hrnet synth` renders up to 4 by default). */
export const SYNTHETIC_MAX_PERSONS = 2;

interface TrainArgs extends GlobalArgs {
  config?: string;
  set: string[];
  pretrained?: string;
  resume: boolean;
  seed?: number;
  out?: string;
  epochs?: number;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'train a model (no --config: the synthetic main job)',
  builder: (y: Argv) =>
    withBackend(y)
      .option('config', { type: 'string', describe: `experiment YAML (default ${path.relative(process.cwd(), DEFAULT_CONFIG)})` })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a config key, e.g. --set TRAIN.LR=0.0005' })
      .option('pretrained', { type: 'string', describe: 'initial weights: a project checkpoint or an official .pth (what fits is loaded)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue from OUT/checkpoint.ckpt' })
      .option('seed', { type: 'number', describe: 'seed of initialisation, shuffling and augmentation (TRAIN.SEED)' })
      .option('out', { type: 'string', describe: 'output directory (default OUTPUT_DIR/<config name>)' })
      .option('epochs', { type: 'number', describe: 'stop after this many epochs of this run' }) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const configFile = args.config ?? DEFAULT_CONFIG;
    let config = loadConfig(configFile, args.set);
    if (args.seed !== undefined) config = applyOverrides(config, { TRAIN: { SEED: args.seed } }, '--seed');
    const out = args.out ?? path.join(config.OUTPUT_DIR || 'checkpoints', path.basename(configFile, path.extname(configFile)));
    await startBackend(args);

    if (config.DATASET.DATASET === 'synthetic') {
      const root = datasetRoot(config);
      const annotations = path.join(root, 'annotations', `person_keypoints_${config.DATASET.TRAIN_SET}.json`);
      if (!fs.existsSync(annotations)) {
        console.error(`rendering the synthetic dataset into ${root} (${SYNTHETIC_TRAIN_IMAGES} + ${SYNTHETIC_VAL_IMAGES} images, 1–${SYNTHETIC_MAX_PERSONS} figures each)`);
        const summary = await renderSyntheticDataset({
          outDir: root,
          train: SYNTHETIC_TRAIN_IMAGES,
          val: SYNTHETIC_VAL_IMAGES,
          seed: 0,
          maxPersons: SYNTHETIC_MAX_PERSONS,
          trainSet: config.DATASET.TRAIN_SET,
          valSet: config.DATASET.TEST_SET,
        });
        console.error(`rendered ${summary.splits.map((s) => `${s.images} ${s.name}`).join(', ')} images in ${summary.seconds.toFixed(0)} s`);
      }
    }
    const result = await train({ config, outDir: out, resume: args.resume, pretrained: args.pretrained, maxEpochs: args.epochs });
    try {
      const last = result.history[result.history.length - 1];
      console.log(`best ${result.metricName} ${result.bestMetric.toFixed(4)} at epoch ${result.bestEpoch}` + (last ? `; last epoch ${last.epoch}: ${result.metricName} ${last.valMetric?.toFixed(4)}` : ''));
      console.log(`checkpoints, metrics.jsonl and curves.png in ${out}`);
    } finally {
      result.model.dispose();
    }
  },
};

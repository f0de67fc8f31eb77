/**
 * `hrnet show --config FILE [--split train|val] --out DIR`: what the network is trained on — a grid
 * of augmented crops with their joints and skeleton, and a grid of their target heatmaps (the
 * official SAVE_BATCH_IMAGES_GT and SAVE_HEATMAPS_GT pictures).
 */
import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { createDataset } from '../data/create-dataset';
import { denormalizeImage, RgbImage } from '../data/image';
import { JointsDataset, sampleOptionsFromConfig } from '../data/joints-dataset';
import { renderHeatmapGrid } from '../viz/heatmaps';
import { renderJointsGrid } from '../viz/grid';
import { savePng } from '../viz/save-png';
import { configFromArgs, withConfig } from './common';

interface ShowArgs {
  config?: string;
  set?: string[];
  split: 'train' | 'val';
  out: string;
  count: number;
  seed: number;
  epoch: number;
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show',
  describe: 'draw augmented training crops with their joints, and their target heatmaps',
  builder: (y: Argv) =>
    withConfig(y)
      .option('split', { choices: ['train', 'val'] as const, default: 'train' as const, describe: 'train (augmented) or val (test-time crops)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory' })
      .option('count', { type: 'number', default: 16, describe: 'number of samples' })
      .option('seed', { type: 'number', default: 0, describe: 'augmentation seed' })
      .option('epoch', { type: 'number', default: 0, describe: 'epoch of the augmentation stream' }) as unknown as Argv<ShowArgs>,
  handler: async (args) => {
    const config = configFromArgs(args);
    const isTrain = args.split === 'train';
    const dataset = createDataset(config, isTrain ? 'train' : 'test', { onWarning: (m) => console.error(`warning: ${m}`) });
    const joints = new JointsDataset(dataset, sampleOptionsFromConfig(config, isTrain, args.seed));
    const n = Math.min(args.count, joints.length);
    const [w, h] = config.MODEL.IMAGE_SIZE;
    const [hw, hh] = config.MODEL.HEATMAP_SIZE;
    const k = dataset.numJoints;
    const images: RgbImage[] = [];
    const points: Float64Array[] = [];
    const targets = new Float32Array(n * hh * hw * k);
    for (let i = 0; i < n; i++) {
      const s = await joints.get(i, args.epoch);
      images.push(denormalizeImage(s.image, w, h, !config.DATASET.COLOR_RGB));
      const p = new Float64Array(k * 3);
      for (let j = 0; j < k; j++) {
        p[j * 3] = s.meta.joints[j * 3];
        p[j * 3 + 1] = s.meta.joints[j * 3 + 1];
        p[j * 3 + 2] = s.meta.jointsVis[j * 3] * s.targetWeight[j] > 0 ? 1 : 0;
      }
      points.push(p);
      targets.set(s.target, i * hh * hw * k);
    }
    const gridFile = path.join(args.out, `${args.split}_batch_gt.png`);
    const heatFile = path.join(args.out, `${args.split}_heatmaps_gt.png`);
    await savePng(gridFile, await renderJointsGrid(images, points, dataset.meta));
    await savePng(heatFile, await renderHeatmapGrid(images, targets, [n, hh, hw, k], { keypointNames: dataset.meta.keypointNames }));
    console.log(`${dataset.name}: ${joints.length} samples; drew ${n}`);
    console.log(`wrote ${gridFile}`);
    console.log(`wrote ${heatFile}`);
  },
};

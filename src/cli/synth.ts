/**
 * `hrnet synth --out DIR --train N --val M --seed S [--size WxH]`: renders the synthetic COCO-format keypoint
 * dataset (images of human-like figures with person-keypoint annotations) that the synthetic configs train on.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { renderSyntheticDataset } from '../data/synthetic';

interface SynthArgs {
  out: string;
  train: number;
  val: number;
  seed: string;
  size?: string;
  quality: number;
  'max-persons': number;
  concurrency?: number;
  'train-set': string;
  'val-set': string;
  json: boolean;
}

/** A progress bar is shown for at least this many images, on a terminal. */
const PROGRESS_MIN_IMAGES = 50;

/**
 * Parses `--size` (`WxH`, e.g. `384x288`).
 * @returns `[width, height]`
 */
export function parseImageSize(text: string): [number, number] {
  const m = /^\s*(\d+)\s*[x×X]\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--size: expected WIDTHxHEIGHT in pixels, e.g. 384x288, got "${text}"`);
  return [Number(m[1]), Number(m[2])];
}

export const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'render the synthetic keypoint dataset (JPEG images + COCO person-keypoint files)',
  builder: (y: Argv) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'output folder (annotations/, images/<split>/)' })
      .option('train', { type: 'number', default: 2000, describe: 'number of training images' })
      .option('val', { type: 'number', default: 200, describe: 'number of validation images' })
      .option('seed', { type: 'string', default: '0', describe: 'seed of every random draw (same seed, same files)' })
      .option('size', { type: 'string', describe: 'fixed image size WxH (default: each image 320–480 × 240–360)' })
      .option('max-persons', { type: 'number', default: 4, describe: 'most figures in one image (1–4)' })
      .option('quality', { type: 'number', default: 90, describe: 'JPEG quality 1–100' })
      .option('concurrency', { type: 'number', describe: 'images rendered at the same time (default: CPUs, at most 4)' })
      .option('train-set', { type: 'string', default: 'train', describe: 'name of the training split' })
      .option('val-set', { type: 'string', default: 'val', describe: 'name of the validation split' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' }) as unknown as Argv<SynthArgs>,
  handler: async (args) => {
    const total = args.train + args.val;
    const bar =
      process.stderr.isTTY && total >= PROGRESS_MIN_IMAGES
        ? new SingleBar({ format: 'synth [{bar}] {value}/{total} images | {eta}s left', stream: process.stderr }, Presets.shades_classic)
        : null;
    bar?.start(total, 0);
    let summary;
    try {
      summary = await renderSyntheticDataset({
        outDir: args.out,
        train: args.train,
        val: args.val,
        seed: args.seed,
        imageSize: args.size === undefined ? undefined : parseImageSize(args.size),
        jpegQuality: args.quality,
        maxPersons: args['max-persons'],
        concurrency: args.concurrency,
        trainSet: args['train-set'],
        valSet: args['val-set'],
        onProgress: bar ? (done) => bar.update(done) : undefined,
      });
    } finally {
      bar?.stop();
    }
    if (args.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    for (const s of summary.splits) {
      const [v0, v1, v2] = s.keypointVisibility;
      const people = s.personsPerImage.map((n, i) => `${i}: ${n}`).filter((_, i) => i > 0).join(', ');
      console.log(`${s.name}: ${s.images} images, ${s.annotations} persons (images by persons ${people}); keypoints v=2 ${v2}, v=1 ${v1}, v=0 ${v0}`);
      console.log(`  ${s.annotationFile}`);
      console.log(`  ${s.imageDir}/`);
    }
    console.log(`seed ${summary.seed}: ${summary.seconds.toFixed(1)} s, ${summary.imagesPerSecond.toFixed(1)} images/s`);
  },
};

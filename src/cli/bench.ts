/**
 * `hrnet bench data [--annotations FILE] [--seconds S] [--workers N] [--no-cache] [--json]`: training
 * samples per second of the data pipeline (decode, augmentation, affine crop, targets) on real images.
 */
import * as os from 'os';
import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { benchmarkDataPipeline } from '../data/bench-data';

interface BenchArgs {
  part: 'data';
  annotations: string;
  seconds: number;
  workers?: number;
  cache: boolean;
  json: boolean;
}

/** The COCO sample images beside the repository, when present. */
const DEFAULT_ANNOTATIONS = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'coco', 'test_coco.json');

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench <part>',
  describe: 'benchmarks: `data` measures the training data pipeline',
  builder: (y: Argv) =>
    y
      .positional('part', { choices: ['data'] as const, describe: 'what to measure' })
      .option('annotations', { type: 'string', default: DEFAULT_ANNOTATIONS, describe: 'COCO-format annotation file (images beside it)' })
      .option('seconds', { type: 'number', default: 10, describe: 'measuring time' })
      .option('workers', { type: 'number', describe: 'worker threads (default one per core)' })
      .option('cache', { type: 'boolean', default: false, describe: 'keep decoded images (measures crop + targets only)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }) as unknown as Argv<BenchArgs>,
  handler: async (args) => {
    const r = await benchmarkDataPipeline({
      annotationFile: args.annotations,
      seconds: args.seconds,
      workers: args.workers,
      imageCacheBytes: args.cache ? undefined : 0,
    });
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const info = { ...r, node: process.version, cpu, cores: os.availableParallelism() };
    if (args.json) {
      console.log(JSON.stringify(info));
      return;
    }
    console.log(`data pipeline, 192×256 training crops with augmentation and targets, ${path.basename(args.annotations)}`);
    console.log(`  ${r.samplesPerSecond.toFixed(0)} samples/s (${r.samples} samples in ${r.seconds.toFixed(1)} s, ${r.workers} workers, batch ${r.batchSize}, decoded-image cache ${r.imageCache ? 'on' : 'off'})`);
    console.log(`  ${cpu}, ${info.cores} cores, Node ${process.version}, load average ${r.loadAverage.toFixed(2)}`);
  },
};

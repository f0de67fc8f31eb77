/**
 * `hrnet bench [all|model|data|eval] [--config FILE] [--batch N] [--backend NAME] [--json] [--profile]`:
 * training and inference images/s of a network (default HRNet-W32 256×192, batch 8), data-pipeline
 * samples/s on real COCO images, peak RSS and tensors leaked per training step, with the backend,
 * Node version and CPU. `eval` (not part of `all`) times `eval-coco` on a generated val2017-sized case.
 * `--json` prints one JSON object last.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { initBackend } from '../backend/select';
import { checkedOnWebGpu } from '../backend/webgpu-errors';
import { UsageError } from './common';
import { loadConfig } from '../config/load';
import { benchmarkDataPipeline, DataBenchmarkResult } from '../data/bench-data';
import { benchmarkCocoEval } from '../eval/bench-eval';
import { benchmarkModel, ModelBenchmarkResult } from '../train/bench-model';

interface BenchArgs {
  part: 'all' | 'model' | 'data' | 'eval';
  evalDir: string;
  evalRuns: number;
  pycocotools?: string;
  config: string;
  set: string[];
  batch: number;
  replicas?: number;
  steps: number;
  backend?: string;
  annotations: string;
  seconds: number;
  workers?: number;
  cache: boolean;
  profile: boolean;
  json: boolean;
}

/** The COCO sample images beside the repository, when present. */
const DEFAULT_ANNOTATIONS = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'coco', 'test_coco.json');
const DEFAULT_CONFIG = path.join(__dirname, '..', '..', 'configs', 'coco', 'w32_256x192.yaml');

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench [part]',
  describe: 'benchmarks: training/inference images/s, data samples/s, memory, leaks',
  builder: (y: Argv) =>
    y
      .positional('part', { choices: ['all', 'model', 'data', 'eval'] as const, default: 'all' as const, describe: 'what to measure' })
      .option('config', { type: 'string', default: DEFAULT_CONFIG, describe: 'network to measure' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a config key' })
      .option('batch', { type: 'number', default: 8, describe: 'batch size of training and batched inference' })
      .option('replicas', { type: 'number', describe: 'data-parallel training replicas, one worker thread each (default one per core on wasm/cpu, 1 on a GPU); on webgpu one process per GPU, for GPUs of one model' })
      .option('steps', { type: 'number', default: 3, describe: 'timed steps (median reported) after two warm-up steps' })
      .option('backend', { type: 'string', describe: 'node-gpu | webgpu | node | wasm | cpu' })
      .option('annotations', { type: 'string', default: DEFAULT_ANNOTATIONS, describe: 'COCO-format file for the data benchmark (images beside it)' })
      .option('seconds', { type: 'number', default: 10, describe: 'data benchmark duration' })
      .option('workers', { type: 'number', describe: 'data worker threads (default one per core)' })
      .option('cache', { type: 'boolean', default: false, describe: 'data: keep decoded images (measures crop + targets only)' })
      .option('eval-dir', { type: 'string', default: path.join(os.tmpdir(), 'hrnet-bench-eval'), describe: 'eval: folder of the generated case (written when absent)' })
      .option('eval-runs', { type: 'number', default: 3, describe: 'eval: timed runs (median reported)' })
      .option('pycocotools', { type: 'string', describe: 'eval: a Python with pycocotools, to time it on the same files' })
      .option('profile', { type: 'boolean', default: false, describe: 'print the top kernels of one training step' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object last' }) as unknown as Argv<BenchArgs>,
  handler: async (args) => {
    const backend = await initBackend({ preferred: args.backend });
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const out: Record<string, unknown> = { backend: backend.name, backendDetails: backend.details, node: process.version, cpu, cores: os.availableParallelism() };
    let model: ModelBenchmarkResult | undefined;
    let data: DataBenchmarkResult | undefined;
    if (args.part === 'eval') {
      console.error(`eval-coco on a generated val2017-sized case in ${args.evalDir} (${args.evalRuns} runs)…`);
      const e = benchmarkCocoEval({ dir: args.evalDir, runs: args.evalRuns, python: args.pycocotools });
      Object.assign(out, { eval: e });
      const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);
      console.log(`eval-coco: ${e.images} images, ${e.annotations} annotations (${mb(e.gtBytes)} MB), ${e.results} results (${mb(e.resultsBytes)} MB)`);
      console.log(`  ${e.seconds.toFixed(2)} s (median of ${e.runs.map((s) => s.toFixed(2)).join(', ')}), AP ${e.AP}`);
      if (e.pycocotools) {
        const py = e.pycocotools;
        console.log(`  pycocotools ${py.seconds.toFixed(2)} s, AP ${py.AP}: ${(e.seconds / py.seconds).toFixed(3)}× its time, stats equal to ${py.maxAbsStatDiff.toExponential(1)}`);
      }
    }
    if (args.part === 'all' || args.part === 'model') {
      const config = loadConfig(args.config, args.set);
      console.error(`measuring ${path.basename(args.config)} at batch ${args.batch} (${args.steps} timed step${args.steps === 1 ? '' : 's'})…`);
      // One replica per core on the one-core backends (WASM, cpu); one on a GPU, which runs a whole batch.
      const oneCore = backend.name === 'wasm' || backend.name === 'cpu';
      const replicas = args.replicas ?? (oneCore ? Math.min(args.batch, os.availableParallelism()) : 1);
      if (!(Number.isInteger(replicas) && replicas >= 1)) throw new UsageError(`--replicas must be a positive integer, got ${args.replicas}`);
      model = await checkedOnWebGpu('the benchmark', () => benchmarkModel(config, { batch: args.batch, steps: args.steps, profile: args.profile, replicas }), {
        outOfMemory: `lower --batch (now ${args.batch})`,
      });
      Object.assign(out, { config: path.basename(args.config), batch: args.batch, ...model, profile: model.profile?.slice(0, 15) });
      console.log(`${path.basename(args.config)}, batch ${args.batch}, ${backend.name}${backend.adapter ? ` on ${backend.details}` : ''}:`);
      const on = model.replicas > 1 ? `, ${model.replicas} data-parallel replicas in ${model.replicaPlacement ?? 'worker threads'}` : ', this thread';
      console.log(`  training   ${model.trainImagesPerSecond.toFixed(2)} images/s (${model.trainStepSeconds.toFixed(2)} s a step${on})`);
      if (model.trainRecordSeconds !== undefined) {
        const share = `${model.trainRecordSeconds.toFixed(3)} s of the ${model.trainStepSeconds.toFixed(3)} s step`;
        console.log(`  host       ${share} recording its commands (no GPU makes a step shorter than that)`);
      }
      if (model.trainOverlappedStepSeconds !== undefined) {
        const s = model.trainOverlappedStepSeconds;
        console.log(`  overlapped ${(args.batch / s).toFixed(2)} images/s (${s.toFixed(3)} s a step, each recorded while the device computes the one before, as hrnet train runs them)`);
      }
      const split = model.replicas > 1 ? ` (split over the ${model.replicas} replicas)` : '';
      console.log(`  inference  ${model.inferImagesPerSecondBatchN.toFixed(2)} images/s at batch ${args.batch}${split}, ${model.inferImagesPerSecondBatch1.toFixed(2)} at batch 1`);
      console.log(`  tensors leaked per training step: ${model.tensorsLeakedPerStep}`);
      if (model.gpuMemory) {
        const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MiB`;
        const whose = model.replicas > 1 ? ' (this process: replica 0 and the optimizer step)' : '';
        console.log(`  GPU memory${whose}: ${mib(model.gpuMemory.allocatedBytes)} held by TF.js's buffer pool after training steps, ${mib(model.gpuMemory.inUseBytes)} in use between steps`);
      }
      if (model.profile) {
        console.log(`  top kernels of one training step of ${Math.ceil(args.batch / model.replicas)} images (one replica's share):`);
        for (const k of model.profile.slice(0, 15)) console.log(`    ${k.kernel.padEnd(24)} ${k.ms.toFixed(0).padStart(7)} ms ${String(k.calls).padStart(6)} calls`);
      }
    }
    if (args.part === 'all' || args.part === 'data') {
      if (!fs.existsSync(args.annotations)) throw new Error(`data benchmark: ${args.annotations} not found (give --annotations FILE)`);
      data = await benchmarkDataPipeline({ annotationFile: args.annotations, seconds: args.seconds, workers: args.workers, imageCacheBytes: args.cache ? undefined : 0 });
      Object.assign(out, { dataSamplesPerSecond: data.samplesPerSecond, dataWorkers: data.workers, dataImageCache: data.imageCache, loadAverage: data.loadAverage });
      console.log(`data pipeline (192×256 crops, augmentation, targets, ${path.basename(args.annotations)}): ${data.samplesPerSecond.toFixed(0)} samples/s, ${data.workers} workers, decoded-image cache ${data.imageCache ? 'on' : 'off'}`);
    }
    out.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    console.log(`peak RSS ${out.peakRssMiB} MiB; ${cpu}, ${out.cores} cores, Node ${process.version}`);
    if (args.json) console.log(JSON.stringify(out));
  },
};

/**
 * `hrnet eval --checkpoint CKPT [--config FILE] [--set K=V …] [--out DIR] [--json]`: the official test of
 * a trained model (`tools/test.py`): predictions over the test split (flip test and decoding as `TEST.*`
 * says), then for COCO-format datasets rescoring, OKS NMS and COCO keypoint AP/AR, printed as the official
 * table, and the results file written. MPII PCKh needs the head boxes of `gt_valid.mat`, which the MPII
 * annotation files do not hold: the predictions are written for `hrnet eval-pckh`.
 */
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Argv, CommandModule } from 'yargs';
import { checkedOnWebGpu } from '../backend/webgpu-errors';
import { deviceMemoryAdvice } from '../config/memory-advice';
import { applyOverrides } from '../config/load';
import type { Config } from '../config/schema';
import { createDataset } from '../data/create-dataset';
import { JointsDataset, sampleOptionsFromConfig } from '../data/joints-dataset';
import { CocoKeypointStats, cocoStatsNameValue } from '../eval/coco-eval';
import { DatasetPredictions, evaluateCoco, predictDataset, predictOptionsFromConfig } from '../eval/evaluate';
import { formatNameValueTable } from '../eval/name-value-table';
import { loadModelFromCheckpoint, resolveCheckpointPath, writeFileAtomic } from '../io/checkpoint';
import type { PoseHRNet } from '../model/pose-hrnet';
import { ReplicaPool } from '../train/replicas';
import { planWebGpuReplicas, startReplicaProcesses } from '../train/webgpu-replicas';
import { configFromArgs, GlobalArgs, startBackend, UsageError, withBackend } from './common';

/** Arguments of `hrnet eval`. */
export interface EvalArgs extends GlobalArgs {
  /** Checkpoint file or run directory. */
  checkpoint: string;
  /** Experiment YAML whose `DATA_DIR`, `DATASET` and `TEST` sections say what is evaluated and how. */
  config?: string;
  /** `KEY=VALUE` overrides of `--config` (of the checkpoint's config without `--config`). */
  set: string[];
  /** Output directory (default: the checkpoint's directory). */
  out?: string;
  /** Print the statistics as JSON. */
  json: boolean;
  /** Worker threads computing the heatmaps (default: one per core on WASM/cpu; 1 = this thread). */
  threads?: number;
}

/** Name of the COCO results file written into the output directory. */
export const RESULTS_FILE = 'results.json';
/** Name of the MPII predictions file (`N×16×[x, y]`, 0-based) written into the output directory. */
export const MPII_PREDS_FILE = 'preds.json';

/** What {@link runEval} produced. */
export interface EvalOutcome {
  /** The config evaluated with: the checkpoint's model, the data and test settings of `--config`. */
  config: Config;
  /** Dataset name, e.g. `coco:test_coco.json`. */
  dataset: string;
  /** Number of evaluated instances. */
  samples: number;
  /** COCO statistics (COCO-format datasets only). */
  stats?: CocoKeypointStats;
  /** The official table lines (COCO-format datasets only). */
  table?: string[];
  /** File written: `results.json` (COCO) or `preds.json` (MPII). */
  file: string;
}

/**
 * The evaluation config: the checkpoint's config (the model it was built from) with `DATA_DIR`, `DATASET`
 * and `TEST` taken from `--config` when given; `--set` applies to `--config`, or to the checkpoint's config
 * without it.
 */
export function evalConfigOf(checkpointConfig: Config, args: Pick<EvalArgs, 'config' | 'set'>): Config {
  if (!args.config) return applyOverrides(checkpointConfig, args.set ?? [], '--set');
  const given = configFromArgs(args);
  return applyOverrides(
    checkpointConfig,
    { DATA_DIR: given.DATA_DIR, DATASET: given.DATASET, TEST: given.TEST },
    `${args.config} (DATA_DIR, DATASET, TEST)`,
  );
}

/**
 * On WebGPU, the replica processes of the config's `GPUS` where they name GPUs of one model (see
 * `planWebGpuReplicas`), with their weights loaded; `undefined` where the evaluation runs on this process's
 * device (one GPU, distinct GPUs, or processes that could not start, which is said).
 */
async function gpuProcesses(model: PoseHRNet, config: Config): Promise<ReplicaPool | undefined> {
  if (tf.getBackend() !== 'webgpu' || config.GPUS.length < 2) return undefined;
  const plan = await planWebGpuReplicas(config.GPUS);
  if (plan.kind !== 'processes') return undefined;
  let started: Awaited<ReturnType<typeof startReplicaProcesses>>;
  try {
    started = await startReplicaProcesses(config, plan.pinned);
  } catch (e) {
    console.error(`warning: the replica processes could not start (${(e as Error).message.split('\n')[0]}); evaluating on one GPU`);
    return undefined;
  }
  console.error(`heatmaps on ${started.pool.threads} GPUs, one process each: ${started.where}`);
  try {
    await started.pool.loadWeights(model);
  } catch (e) {
    await started.pool.close();
    throw e;
  }
  return started.pool;
}

/**
 * Predictions over `data`, the heatmaps computed on `threads` worker threads (default: one per core
 * when the backend uses one core, WASM or cpu; 1 runs on this thread); on WebGPU, split over the GPUs of
 * `GPUS` where they are of one model (a process each), else on this process's device.
 */
async function predictWithThreads(model: PoseHRNet, data: JointsDataset, config: Config, threads?: number): Promise<DatasetPredictions> {
  const processes = threads === undefined ? await gpuProcesses(model, config) : undefined;
  if (processes !== undefined) {
    try {
      return await predictDataset(model, data, predictOptionsFromConfig(config), (images, count, flip) => processes.heatmaps(images, count, flip));
    } finally {
      await processes.close();
    }
  }
  const oneCoreBackend = tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu';
  const n = threads ?? (oneCoreBackend ? os.availableParallelism() : 1);
  if (!(Number.isInteger(n) && n >= 1)) throw new UsageError(`--threads must be a positive integer, got ${threads}`);
  if (n === 1) return predictDataset(model, data, predictOptionsFromConfig(config));
  const pool = await ReplicaPool.create(config, { threads: n });
  try {
    await pool.loadWeights(model);
    return await predictDataset(model, data, predictOptionsFromConfig(config), (images, count, flip) => pool.heatmaps(images, count, flip));
  } finally {
    await pool.close();
  }
}

/** Runs the evaluation and writes its file; prints nothing but the backend line and progress notes (stderr). */
export async function runEval(args: EvalArgs): Promise<EvalOutcome> {
  await startBackend(args);
  const checkpointFile = resolveCheckpointPath(args.checkpoint);
  const { model, config: checkpointConfig } = loadModelFromCheckpoint(checkpointFile);
  try {
    const config = evalConfigOf(checkpointConfig, args);
    const outDir = args.out ?? path.dirname(checkpointFile);
    const dataset = createDataset(config, 'test', { onWarning: (m) => console.error(`warning: ${m}`) });
    const data = new JointsDataset(dataset, sampleOptionsFromConfig(config, false));
    console.error(`evaluating ${path.basename(checkpointFile)} on ${dataset.name}: ${data.length} instances`);
    const preds = await checkedOnWebGpu(`the evaluation of ${path.basename(checkpointFile)}`, () => predictWithThreads(model, data, config, args.threads), {
      outOfMemory: deviceMemoryAdvice(config, 'test'),
    });
    if (config.DATASET.DATASET === 'mpii') {
      const file = path.join(outDir, MPII_PREDS_FILE);
      // One row per record, as the PCKh ground truth lists them; a record whose image was skipped gets zeros.
      const skipped = new Set(preds.skipped.map((s) => s.index));
      let next = 0;
      const xy = Array.from({ length: data.length }, (_, r) =>
        skipped.has(r)
          ? Array.from({ length: preds.numJoints }, () => [0, 0])
          : preds.persons[next++].keypoints.map(([x, y]) => [x, y]),
      );
      writeFileAtomic(file, JSON.stringify(xy));
      return { config, dataset: dataset.name, samples: data.length, file };
    }
    const { results, eval: result } = evaluateCoco(dataset, preds, config);
    const file = path.join(outDir, RESULTS_FILE);
    writeFileAtomic(file, JSON.stringify(results));
    const table = formatNameValueTable(cocoStatsNameValue(result), config.MODEL.NAME);
    return { config, dataset: dataset.name, samples: data.length, stats: result.stats, table, file };
  } finally {
    model.dispose();
  }
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'evaluate a checkpoint on the test split (COCO AP/AR; MPII: predictions for eval-pckh)',
  builder: (y: Argv) =>
    withBackend(y)
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint file or run directory' })
      .option('config', {
        type: 'string',
        describe: "experiment YAML: its DATA_DIR, DATASET and TEST sections choose the data and test settings (default: the checkpoint's config)",
      })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a config key, e.g. --set TEST.FLIP_TEST=false' })
      .option('out', { type: 'string', describe: `directory for ${RESULTS_FILE} (default: the checkpoint's directory)` })
      .option('json', { type: 'boolean', default: false, describe: 'print {"AP", "AP50", …} as JSON' })
      .option('threads', { type: 'number', describe: 'worker threads computing the heatmaps (default: one per core on WASM/cpu; 1: this thread)' })
      .epilog(
        `COCO-format datasets: prints the official table and writes OUT/${RESULTS_FILE} (COCO keypoint results, rescored and ` +
          `OKS-NMSed; score it again with hrnet eval-coco). MPII: writes OUT/${MPII_PREDS_FILE} (N×16×[x, y], 0-based) ` +
          'for hrnet eval-pckh, since PCKh needs the head boxes of gt_valid.mat.',
      ) as unknown as Argv<EvalArgs>,
  handler: async (args) => {
    const outcome = await runEval(args);
    if (outcome.stats === undefined) {
      const note =
        `MPII PCKh needs the head boxes of gt_valid.mat, which ${outcome.dataset} does not hold; predictions written to ${outcome.file}: ` +
        `run hrnet eval-pckh --gt GT.json --preds ${outcome.file} (see hrnet eval-pckh --help for GT.json)`;
      if (args.json) console.log(JSON.stringify({ predictions: outcome.file, note }));
      else console.log(note);
      return;
    }
    if (args.json) console.log(JSON.stringify(outcome.stats));
    else {
      for (const line of outcome.table ?? []) console.log(line);
      console.log(`results: ${outcome.file}`);
    }
  },
};

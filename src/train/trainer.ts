/**
 * The training loop of the official `tools/train.py`: per epoch, the step LR, one pass over the
 * shuffled, augmented training set (joint-weighted MSE or OHKM, Adam or SGD), validation with the
 * official metric, a metrics log (JSON lines) and curves picture, and checkpoints written atomically:
 * `checkpoint.ckpt` every epoch (weights, optimizer state, epoch, schedule, best metric, the metrics
 * history, config), `model_best.ckpt` when the metric improves, `final_state.ckpt` at the end. `resume`
 * continues from `checkpoint.ckpt` exactly: augmentation and shuffling are pure functions of (seed,
 * epoch, index), so the only state to restore is in the checkpoint.
 *
 * An epoch is committed by renaming `checkpoint.ckpt` into place. What is derived from it is written
 * after the commit and rewritten from the checkpoint's history on `resume`: `metrics.jsonl`, `curves.png`
 * and the TensorBoard scalars. `model_best.ckpt` is written before the commit (a redone epoch writes the
 * same weights again). So a run killed at any moment and resumed leaves the same files as one that was
 * never interrupted. Temporary files that a killed run left behind are removed when a run starts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SingleBar, Presets } from 'cli-progress';
import { checkedOnWebGpu } from '../backend/webgpu-errors';
import { deviceMemoryAdvice } from '../config/memory-advice';
import { configToYaml } from '../config/load';
import type { Config } from '../config/schema';
import { checkBadShare, type BadSample } from '../data/bad-samples';
import { createDataset } from '../data/create-dataset';
import type { KeypointDataset } from '../data/dataset';
import { JointsDataset, sampleOptionsFromConfig } from '../data/joints-dataset';
import { createLoader, defaultWorkerCount, SampleWorkerPool } from '../data/loader';
import { heatmapAccuracy } from '../eval/accuracy';
import { nhwcToNchw } from '../codec/layout';
import { saveDebugPictures } from '../viz/debug-pictures';
import { cocoStatsNameValue } from '../eval/coco-eval';
import { evaluateCoco, FlipTest, predictDataset, predictOptionsFromConfig, type SkippedPrediction } from '../eval/evaluate';
import { formatNameValueTable } from '../eval/name-value-table';
import { readCheckpoint, removeStaleTempFiles, saveModelCheckpoint, StateValue, writeFileAtomic } from '../io/checkpoint';
import { readPth } from '../io/pth';
import { loadStateDict, LoadStateDictReport } from '../io/state-dict';
import { createPoseHRNet, PoseHRNet } from '../model/pose-hrnet';
import { renderTrainingCurves, EpochMetrics } from '../viz/curves';
import { savePng } from '../viz/save-png';
import { HeatmapLoss, lossOfConfig } from './loss';
import { DataParallelStep, ReplicaPool, replicaStepInTurn } from './replicas';
import { WebGpuReplicas, planWebGpuReplicas, startReplicaProcesses } from './webgpu-replicas';
import { createOptimizer, Optimizer, OptimizerState } from './optim';
import { multiStepLr } from './schedule';
import { openScalarWriter, ScalarWriter, writeEpochScalars } from './tensorboard';
import { HostBatch, hostBatchTensors, startTrainStep } from './train-step';

/** Options of {@link train}. */
export interface TrainOptions {
  config: Config;
  /** Output directory: checkpoints, metrics log, pictures. */
  outDir: string;
  /** Continue from `outDir/checkpoint.ckpt`. */
  resume?: boolean;
  /** Initial weights: a project checkpoint or an official `.pth`; what does not fit is re-initialised. */
  pretrained?: string;
  /** Messages (default: stderr). */
  log?: (message: string) => void;
  /** Progress bars on stderr (default: when stderr is a TTY). */
  progress?: boolean;
  /** Stop after this many epochs of this run (for tests and quick looks). */
  maxEpochs?: number;
  /**
   * Where the epoch scalars go besides `metrics.jsonl`. Default: TensorBoard event files in
   * `outDir/tensorboard` when tfjs-node is the backend (see `tensorboard.ts`), none otherwise.
   */
  scalars?: ScalarWriter;
}

/** One line of the metrics log. */
export interface EpochRecord extends EpochMetrics {
  samplesPerSecond: number;
  seconds: number;
  skippedSamples: number;
}

/** What a finished run reports. */
export interface TrainResult {
  model: PoseHRNet;
  history: EpochRecord[];
  bestMetric: number;
  bestEpoch: number;
  metricName: string;
}

/** Training state stored in `checkpoint.ckpt`. */
interface TrainingState {
  epoch: number;
  beginEpoch: number;
  bestMetric: number;
  bestEpoch: number;
  optimizer: OptimizerState;
  history: EpochRecord[];
}

/** Loads initial weights from a project checkpoint or an official `.pth`, non-strictly. */
export function loadPretrained(model: PoseHRNet, file: string, prefixes?: string[]): LoadStateDictReport {
  const dict = file.endsWith('.pth') || file.endsWith('.pt') ? readPth(file) : readCheckpoint(file).stateDict;
  return loadStateDict(model, dict, { strict: false, prefixes, source: file });
}

/** The bad samples of a list of skipped ones: the image file, the sample, what went wrong. */
function skippedAsBad(skipped: readonly { index: number; imagePath: string; reason: string }[]): BadSample[] {
  return skipped.map((s) => ({ file: s.imagePath, record: `sample ${s.index}`, field: 'image', reason: s.reason }));
}

/**
 * Validation: COCO AP for COCO-format datasets; heatmaps on the replica threads when there are some. A sample
 * whose image cannot be read is reported and left out; more than `DATASET.MAX_BAD_SAMPLE_SHARE` of them stop the run.
 */
async function validate(
  model: PoseHRNet,
  data: JointsDataset,
  config: Config,
  log: (message: string) => void,
  replicas?: ReplicaPool,
): Promise<{ name: string; value: number; table: string[] }> {
  if (replicas) await replicas.loadWeights(model);
  const infer = replicas ? (images: Float32Array, n: number, flip?: FlipTest) => replicas.heatmaps(images, n, flip) : undefined;
  const what = `validation set ${data.dataset.annotationFile}`;
  const skipped: SkippedPrediction[] = [];
  const onSkip = (s: SkippedPrediction): void => {
    log(`warning: validation: skipping sample ${s.index}: ${s.reason}`);
    skipped.push(s);
    // Stops as soon as the share is exceeded.
    checkBadShare(skippedAsBad(skipped), data.length, config.DATASET.MAX_BAD_SAMPLE_SHARE, what, () => undefined);
  };
  const preds = await checkedOnWebGpu('validation', () => predictDataset(model, data, { ...predictOptionsFromConfig(config), onSkip }, infer), {
    outOfMemory: deviceMemoryAdvice(config, 'test'),
  });
  if (config.DATASET.DATASET === 'mpii') {
    return { name: 'none', value: Number.NaN, table: ['MPII PCKh needs the head boxes of gt_valid.mat: use hrnet eval-pckh'] };
  }
  const { eval: result } = evaluateCoco(data.dataset, preds, config);
  const table = formatNameValueTable(cocoStatsNameValue(result), config.MODEL.NAME);
  return { name: 'AP', value: result.stats.AP, table };
}

/**
 * One training step on this thread; its promise gives the loss and the predicted heatmaps `[n, h, w, K]`. The
 * step is recorded when this returns (see `startTrainStep`).
 */
function stepInProcess(model: PoseHRNet, optimizer: Optimizer, host: HostBatch, lossFn: HeatmapLoss, config: Config): Promise<DataParallelStep> {
  const batch = hostBatchTensors(host, config);
  try {
    return startTrainStep(model, optimizer, batch, lossFn);
  } finally {
    // Recorded work keeps what it uses until it has run.
    tf.dispose([batch.images, batch.target, batch.targetWeight]);
  }
}

/** What a run works with, set up once. */
interface RunSetup {
  config: Config;
  outDir: string;
  seed: number;
  log: (message: string) => void;
  showProgress: boolean;
  trainData: JointsDataset;
  valData: JointsDataset;
  numJoints: number;
}

/** Where a run stands: restored from `checkpoint.ckpt` on resume, else the start of the schedule. */
interface RunProgress {
  beginEpoch: number;
  startEpoch: number;
  bestMetric: number;
  bestEpoch: number;
  history: EpochRecord[];
}

/** Worker threads of a run: sample preparation and data-parallel replicas (either may be absent). */
interface RunWorkers {
  pool?: SampleWorkerPool;
  replicas?: ReplicaPool;
  /** Replicas on WebGPU devices of their own (`GPUS` naming distinct adapters). */
  deviceReplicas?: WebGpuReplicas;
}

/** The train/validation means of one epoch, before validation. */
interface EpochTraining {
  trainLoss: number;
  trainAcc: number;
  samplesPerSecond: number;
  seconds: number;
  skipped: number;
}

const METRICS_FILE = 'metrics.jsonl';
const CURVES_FILE = 'curves.png';
const CHECKPOINT_FILE = 'checkpoint.ckpt';

/** Output folder, seed, stale temporary files removed, config written, datasets loaded. */
function setUpRun(opts: TrainOptions): RunSetup {
  const { config, outDir } = opts;
  const log = opts.log ?? ((m: string) => console.error(m));
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of removeStaleTempFiles(outDir)) log(`removed ${f}, left behind by an interrupted run`);
  const seed = config.TRAIN.SEED ?? 0;
  log(`seed: ${seed}`);
  writeFileAtomic(path.join(outDir, 'config.yaml'), configToYaml(config));
  const warn = (m: string): void => log(`warning: ${m}`);
  const trainSet: KeypointDataset = createDataset(config, 'train', { onWarning: warn });
  const valSet: KeypointDataset = createDataset(config, 'test', { onWarning: warn });
  const trainData = new JointsDataset(trainSet, sampleOptionsFromConfig(config, true, seed));
  const valData = new JointsDataset(valSet, sampleOptionsFromConfig(config, false, seed));
  log(`train: ${trainSet.name}, ${trainData.length} samples; val: ${valSet.name}, ${valData.length} samples`);
  return { config, outDir, seed, log, showProgress: opts.progress ?? Boolean(process.stderr.isTTY), trainData, valData, numJoints: trainSet.numJoints };
}

/** Loads `--pretrained` weights (non-strictly) and reports what did not fit. */
function loadInitialWeights(model: PoseHRNet, file: string, config: Config, log: (message: string) => void): void {
  const report = loadPretrained(model, file, config.MODEL.EXTRA.PRETRAINED_LAYERS);
  log(`pretrained: loaded ${report.loaded.length} tensors from ${file}`);
  for (const m of report.mismatched) log(`  re-initialised (shape differs): ${m.key} model [${m.expected}] file [${m.found}]`);
  if (report.missing.length) log(`  not in the file: ${report.missing.length} tensors`);
}

/** With `resume` and a `checkpoint.ckpt`: its weights and optimizer state, and where the run stood. */
function restoreProgress(run: RunSetup, model: PoseHRNet, optimizer: Optimizer, resume: boolean): RunProgress {
  const beginEpoch = run.config.TRAIN.BEGIN_EPOCH;
  const fresh: RunProgress = { beginEpoch, startEpoch: beginEpoch, bestMetric: -Infinity, bestEpoch: -1, history: [] };
  const ckptFile = path.join(run.outDir, CHECKPOINT_FILE);
  if (!resume) return fresh;
  if (!fs.existsSync(ckptFile)) {
    run.log(`no ${ckptFile} to resume from: starting at epoch ${fresh.startEpoch}`);
    return fresh;
  }
  const ckpt = readCheckpoint(ckptFile);
  loadStateDict(model, ckpt.stateDict, { strict: true, source: ckptFile });
  const state = ckpt.training as unknown as TrainingState;
  optimizer.setState(state.optimizer);
  run.log(`resumed from ${ckptFile} after epoch ${state.epoch}`);
  return { beginEpoch: state.beginEpoch, startEpoch: state.epoch + 1, bestMetric: state.bestMetric, bestEpoch: state.bestEpoch, history: state.history };
}

/** One worker pool for the whole run (starting workers costs about a second), and the replicas of a multi-GPU config. */
async function startWorkers(run: RunSetup, needed: boolean): Promise<RunWorkers> {
  const { config, log } = run;
  const workers: RunWorkers = {};
  if (!needed) return workers;
  // In-process when WORKERS is 0 or the workers cannot start.
  if (config.WORKERS > 0) {
    try {
      workers.pool = await SampleWorkerPool.create(run.trainData.spec, defaultWorkerCount());
    } catch (e) {
      log(`warning: data workers could not start (${(e as Error).message}); preparing batches in-process`);
    }
  }
  if (config.GPUS.length > 1 && tf.getBackend() === 'webgpu') {
    const plan = await planWebGpuReplicas(config.GPUS);
    const head = `data parallel: ${config.GPUS.length} replicas of ${config.TRAIN.BATCH_SIZE_PER_GPU} samples`;
    if (plan.kind === 'devices') {
      workers.deviceReplicas = await WebGpuReplicas.create(config, plan.gpus);
      log(`${head} on ${config.GPUS.length} WebGPU devices: replica 0 on the backend's; ${workers.deviceReplicas.describe()}`);
    } else if (plan.kind === 'processes') {
      try {
        const { pool, where } = await startReplicaProcesses(config, plan.pinned);
        workers.replicas = pool;
        log(`${head} in ${pool.threads} processes, one GPU each (the optimizer step on this process's device): ${where}`);
      } catch (e) {
        log(`warning: the replica processes could not start (${(e as Error).message.split('\n')[0]})`);
        log(`${head}, computed in turn on one WebGPU device`);
      }
    } else {
      log(`${head}, computed in turn on one WebGPU device (${plan.reason})`);
    }
  } else if (config.GPUS.length > 1) {
    workers.replicas = await ReplicaPool.create(config);
    log(`data parallel: ${workers.replicas.replicas} replicas of ${config.TRAIN.BATCH_SIZE_PER_GPU} samples on ${workers.replicas.threads} worker threads`);
  }
  return workers;
}

/**
 * The scalar writer of the run. The default TensorBoard writer starts from empty event files, and every epoch of
 * the restored history is written again, so the scalars are those of an uninterrupted run.
 */
function openRunScalars(run: RunSetup, opts: TrainOptions, history: readonly EpochRecord[]): ScalarWriter | undefined {
  let scalars = opts.scalars;
  if (scalars === undefined) {
    const dir = path.join(run.outDir, 'tensorboard');
    if (fs.existsSync(dir)) {
      for (const f of fs.readdirSync(dir)) if (f.startsWith('events.out.tfevents.')) fs.rmSync(path.join(dir, f), { force: true });
    }
    scalars = openScalarWriter(dir);
    if (scalars) run.log(`TensorBoard scalars in ${dir}`);
  }
  if (scalars && opts.resume) for (const record of history) writeEpochScalars(scalars, record);
  return scalars;
}

/** Writes `metrics.jsonl` (one JSON line per epoch of `history`) and `curves.png`, each atomically. */
async function writeMetricsLog(outDir: string, history: readonly EpochRecord[]): Promise<void> {
  writeFileAtomic(path.join(outDir, METRICS_FILE), history.map((r) => JSON.stringify(r) + '\n').join(''));
  if (history.length > 0) await savePng(path.join(outDir, CURVES_FILE), await renderTrainingCurves(history));
}

/** Images a second for the log: one decimal from 10 up, else two significant digits (0.020 on a software GPU, not 0.0). */
export function formatRate(perSecond: number): string {
  return perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toPrecision(2);
}

/**
 * One pass over the shuffled, augmented training set at the epoch's LR. Samples whose image cannot be read are
 * skipped (the loader reports them); more than `DATASET.MAX_BAD_SAMPLE_SHARE` of them stop the run as soon as
 * the share is exceeded.
 */
async function trainEpoch(run: RunSetup, epoch: number, model: PoseHRNet, optimizer: Optimizer, lossFn: HeatmapLoss, workers: RunWorkers): Promise<EpochTraining> {
  const { config, log } = run;
  const [hw, hh] = config.MODEL.HEATMAP_SIZE;
  const k = run.numJoints;
  const loader = createLoader(run.trainData, {
    // As the official train.py: BATCH_SIZE_PER_GPU × len(GPUS), one replica per entry of GPUS.
    batchSize: config.TRAIN.BATCH_SIZE_PER_GPU * config.GPUS.length,
    shuffle: config.TRAIN.SHUFFLE,
    seed: run.seed,
    epoch,
    dropLast: false,
    ...(workers.pool ? { pool: workers.pool } : { workers: 0 }),
    onWarning: (m) => log(`warning: ${m}`),
  });
  const bar = run.showProgress ? new SingleBar({ format: `epoch ${epoch} |{bar}| {value}/{total} loss {loss} acc {acc} {sps} img/s eta {eta_formatted}`, hideCursor: true }, Presets.shades_classic) : null;
  bar?.start(loader.numBatches, 0, { loss: '-', acc: '-', sps: '-' });
  const started = Date.now();
  let lossSum = 0;
  let accSum = 0;
  let seen = 0;
  let batches = 0;
  const what = `training set ${run.trainData.dataset.annotationFile}`;
  const memoryAdvice = { outOfMemory: deviceMemoryAdvice(config, 'train') };
  const maxBadShare = config.DATASET.MAX_BAD_SAMPLE_SHARE;
  /** A step whose work is recorded and whose reads are awaited. */
  interface StepInFlight {
    step: Promise<DataParallelStep>;
    target: Float32Array;
    n: number;
  }
  const finish = async ({ step: inFlight, target, n }: StepInFlight): Promise<void> => {
    const step = await inFlight;
    const acc = heatmapAccuracy(nhwcToNchw(step.output, n, hh, hw, k), nhwcToNchw(target, n, hh, hw, k), [n, k, hh, hw]);
    lossSum += step.loss * n;
    accSum += acc.average * n;
    seen += n;
    batches++;
    const sps = seen / ((Date.now() - started) / 1000);
    bar?.update(batches, { loss: (lossSum / seen).toExponential(3), acc: (accSum / seen).toFixed(3), sps: formatRate(sps) });
    if (!bar && (batches % config.PRINT_FREQ === 0 || batches === loader.numBatches)) {
      log(`epoch ${epoch} [${batches}/${loader.numBatches}] loss ${(lossSum / seen).toExponential(3)} acc ${(accSum / seen).toFixed(3)} ${formatRate(sps)} img/s`);
    }
  };
  // On this thread's device, a step is recorded before the reads of the one before it are awaited, so that a GPU
  // computes a step while the host records the next (the values are the same: the device runs them in order).
  // The worker replicas need each step's weights before the next step starts.
  const overlap = workers.replicas === undefined && workers.deviceReplicas === undefined;
  let pending: StepInFlight | undefined;
  try {
    for await (const batch of loader) {
      checkBadShare(skippedAsBad(loader.skipped), run.trainData.length, maxBadShare, what, () => undefined);
      const n = batch.size;
      const host: HostBatch = { n, images: batch.images, target: batch.target, targetWeight: batch.targetWeight };
      // The step reads its loss, so a device error of the step has been delivered when its promise settles.
      const step = checkedOnWebGpu(`training step ${batches + (pending ? 2 : 1)} of epoch ${epoch}`, () =>
        workers.replicas
          ? workers.replicas.step(model, optimizer, host)
          : workers.deviceReplicas
            ? workers.deviceReplicas.step(model, optimizer, host, lossFn)
            : config.GPUS.length > 1
              ? replicaStepInTurn(model, optimizer, host, lossFn, config)
              : stepInProcess(model, optimizer, host, lossFn, config),
        memoryAdvice,
      );
      // Settled later, or never where the step before fails: its failure is not to go unhandled meanwhile.
      step.catch(() => undefined);
      const current = { step, target: batch.target, n };
      if (pending) await finish(pending);
      pending = undefined;
      if (overlap) pending = current;
      else await finish(current);
    }
    if (pending) await finish(pending);
  } finally {
    bar?.stop();
  }
  checkBadShare(skippedAsBad(loader.skipped), run.trainData.length, maxBadShare, what, () => undefined);
  const seconds = (Date.now() - started) / 1000;
  return {
    trainLoss: lossSum / Math.max(seen, 1),
    trainAcc: accSum / Math.max(seen, 1),
    samplesPerSecond: seen / seconds,
    seconds,
    skipped: loader.skipped.length,
  };
}

/**
 * Ends an epoch: `model_best.ckpt` when the metric improved, then the commit (`checkpoint.ckpt` with the history),
 * then what derives from it (metrics log, curves, scalars). See the file header for why in this order.
 */
async function commitEpoch(run: RunSetup, progress: RunProgress, record: EpochRecord, model: PoseHRNet, optimizer: Optimizer, scalars: ScalarWriter | undefined): Promise<void> {
  const { outDir, config } = run;
  const metric = record.valMetric ?? Number.NaN;
  if (Number.isFinite(metric) && metric > progress.bestMetric) {
    progress.bestMetric = metric;
    progress.bestEpoch = record.epoch;
    await saveModelCheckpoint(path.join(outDir, 'model_best.ckpt'), model, config);
  }
  progress.history.push(record);
  const state: TrainingState = {
    epoch: record.epoch,
    beginEpoch: progress.beginEpoch,
    bestMetric: progress.bestMetric,
    bestEpoch: progress.bestEpoch,
    optimizer: await optimizer.getState(),
    history: progress.history,
  };
  await saveModelCheckpoint(path.join(outDir, CHECKPOINT_FILE), model, config, state as unknown as StateValue);
  await writeMetricsLog(outDir, progress.history);
  if (scalars) writeEpochScalars(scalars, record);
}

/** Trains a model as the config says; see the file header. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const run = setUpRun(opts);
  const { config, outDir, log } = run;
  const model = createPoseHRNet(config, { seed: run.seed });
  let optimizer: Optimizer | undefined;
  let workers: RunWorkers = {};
  try {
    if (opts.pretrained) loadInitialWeights(model, opts.pretrained, config, log);
    optimizer = createOptimizer(config.TRAIN, model.params.parameters());
    const progress = restoreProgress(run, model, optimizer, opts.resume === true);
    if (opts.resume) await writeMetricsLog(outDir, progress.history);
    const endEpoch = opts.maxEpochs !== undefined ? Math.min(config.TRAIN.END_EPOCH, progress.startEpoch + opts.maxEpochs) : config.TRAIN.END_EPOCH;
    workers = await startWorkers(run, progress.startEpoch < endEpoch);
    const scalars = openRunScalars(run, opts, progress.history);
    const lossFn = lossOfConfig(config);
    let metricName = progress.history.at(-1)?.valMetricName ?? 'AP';
    for (let epoch = progress.startEpoch; epoch < endEpoch; epoch++) {
      const lr = multiStepLr(config.TRAIN.LR, config.TRAIN.LR_STEP, config.TRAIN.LR_FACTOR, epoch, progress.beginEpoch);
      optimizer.lr = lr;
      const trained = await trainEpoch(run, epoch, model, optimizer, lossFn, workers);
      const val = await validate(model, run.valData, config, log, workers.replicas);
      if (config.DEBUG.DEBUG) {
        await saveDebugPictures(model, run.valData, outDir, 'val', {
          joints: config.DEBUG.SAVE_BATCH_IMAGES_PRED,
          heatmaps: config.DEBUG.SAVE_HEATMAPS_PRED,
          bgr: !config.DATASET.COLOR_RGB,
        });
      }
      metricName = val.name;
      for (const line of val.table) log(line);
      const record: EpochRecord = {
        epoch,
        trainLoss: trained.trainLoss,
        trainAcc: trained.trainAcc,
        valMetric: val.value,
        valMetricName: val.name,
        lr,
        samplesPerSecond: trained.samplesPerSecond,
        seconds: trained.seconds,
        skippedSamples: trained.skipped,
      };
      await commitEpoch(run, progress, record, model, optimizer, scalars);
      log(`epoch ${epoch}: loss ${record.trainLoss.toExponential(3)}, ${metricName} ${val.value.toFixed(4)} (best ${progress.bestMetric.toFixed(4)} at epoch ${progress.bestEpoch}), ${formatRate(record.samplesPerSecond)} img/s, ${trained.seconds.toFixed(0)} s`);
    }
    await saveModelCheckpoint(path.join(outDir, 'final_state.ckpt'), model, config);
    return { model, history: progress.history, bestMetric: progress.bestMetric, bestEpoch: progress.bestEpoch, metricName };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer?.dispose();
    await workers.pool?.close();
    await workers.replicas?.close();
    await workers.deviceReplicas?.close();
  }
}

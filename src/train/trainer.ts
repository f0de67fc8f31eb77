/**
 * The training loop of the official `tools/train.py`: per epoch, the step LR, one pass over the
 * shuffled, augmented training set (joint-weighted MSE or OHKM, Adam or SGD), validation with the
 * official metric, a metrics log (JSON lines) and curves picture, and checkpoints written atomically:
 * `checkpoint.ckpt` every epoch (weights, optimizer state, epoch, schedule, best metric, config),
 * `model_best.ckpt` when the metric improves, `final_state.ckpt` at the end. `resume` continues from
 * `checkpoint.ckpt` exactly: augmentation and shuffling are pure functions of (seed, epoch, index),
 * so the only state to restore is in the checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SingleBar, Presets } from 'cli-progress';
import { configToYaml } from '../config/load';
import type { Config } from '../config/schema';
import { createDataset } from '../data/create-dataset';
import type { KeypointDataset } from '../data/dataset';
import { JointsDataset, sampleOptionsFromConfig } from '../data/joints-dataset';
import { createLoader, defaultWorkerCount, SampleWorkerPool } from '../data/loader';
import { heatmapAccuracy } from '../eval/accuracy';
import { nhwcToNchw } from '../codec/layout';
import { saveDebugPictures } from '../viz/debug-pictures';
import { cocoStatsNameValue } from '../eval/coco-eval';
import { evaluateCoco, FlipTest, predictDataset, predictOptionsFromConfig } from '../eval/evaluate';
import { formatNameValueTable } from '../eval/name-value-table';
import { readCheckpoint, saveModelCheckpoint, StateValue, writeFileAtomic } from '../io/checkpoint';
import { readPth } from '../io/pth';
import { loadStateDict, LoadStateDictReport } from '../io/state-dict';
import { createPoseHRNet, PoseHRNet } from '../model/pose-hrnet';
import { renderTrainingCurves, EpochMetrics } from '../viz/curves';
import { savePng } from '../viz/save-png';
import { HeatmapLoss, lossOfConfig } from './loss';
import { DataParallelStep, ReplicaPool } from './replicas';
import { createOptimizer, Optimizer, OptimizerState } from './optim';
import { multiStepLr } from './schedule';
import { openScalarWriter, ScalarWriter, writeEpochScalars } from './tensorboard';
import { HostBatch, hostBatchTensors, trainStep } from './train-step';

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

/** Validation: COCO AP for COCO-format datasets; heatmaps on the replica threads when there are some. */
async function validate(model: PoseHRNet, data: JointsDataset, config: Config, replicas?: ReplicaPool): Promise<{ name: string; value: number; table: string[] }> {
  if (replicas) await replicas.loadWeights(model);
  const infer = replicas ? (images: Float32Array, n: number, flip?: FlipTest) => replicas.heatmaps(images, n, flip) : undefined;
  const preds = await predictDataset(model, data, predictOptionsFromConfig(config), infer);
  if (config.DATASET.DATASET === 'mpii') {
    return { name: 'none', value: Number.NaN, table: ['MPII PCKh needs the head boxes of gt_valid.mat: use hrnet eval-pckh'] };
  }
  const { eval: result } = evaluateCoco(data.dataset, preds, config);
  const table = formatNameValueTable(cocoStatsNameValue(result), config.MODEL.NAME);
  return { name: 'AP', value: result.stats.AP, table };
}

/** One training step on this thread; returns the loss and the predicted heatmaps `[n, h, w, K]`. */
async function stepInProcess(model: PoseHRNet, optimizer: Optimizer, host: HostBatch, lossFn: HeatmapLoss, config: Config): Promise<DataParallelStep> {
  const batch = hostBatchTensors(host, config);
  try {
    const step = await trainStep(model, optimizer, batch, lossFn, true);
    const out = step.output as tf.Tensor4D;
    const output = (await out.data()) as Float32Array;
    out.dispose();
    return { loss: step.loss, output };
  } finally {
    tf.dispose([batch.images, batch.target, batch.targetWeight]);
  }
}

/** Trains a model as the config says; see the file header. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { config, outDir } = opts;
  const log = opts.log ?? ((m: string) => console.error(m));
  const showProgress = opts.progress ?? Boolean(process.stderr.isTTY);
  fs.mkdirSync(outDir, { recursive: true });
  const seed = config.TRAIN.SEED ?? 0;
  log(`seed: ${seed}`);
  writeFileAtomic(path.join(outDir, 'config.yaml'), configToYaml(config));

  const trainSet: KeypointDataset = createDataset(config, 'train', { onWarning: (m) => log(`warning: ${m}`) });
  const valSet: KeypointDataset = createDataset(config, 'test', { onWarning: (m) => log(`warning: ${m}`) });
  const trainData = new JointsDataset(trainSet, sampleOptionsFromConfig(config, true, seed));
  const valData = new JointsDataset(valSet, sampleOptionsFromConfig(config, false, seed));
  log(`train: ${trainSet.name}, ${trainData.length} samples; val: ${valSet.name}, ${valData.length} samples`);

  const model = createPoseHRNet(config, { seed });
  let optimizer: Optimizer | undefined;
  let pool: SampleWorkerPool | undefined;
  let replicas: ReplicaPool | undefined;
  try {
    if (opts.pretrained) {
      const report = loadPretrained(model, opts.pretrained, config.MODEL.EXTRA.PRETRAINED_LAYERS);
      log(`pretrained: loaded ${report.loaded.length} tensors from ${opts.pretrained}`);
      for (const m of report.mismatched) log(`  re-initialised (shape differs): ${m.key} model [${m.expected}] file [${m.found}]`);
      if (report.missing.length) log(`  not in the file: ${report.missing.length} tensors`);
    }
    optimizer = createOptimizer(config.TRAIN, model.params.parameters());

    let beginEpoch = config.TRAIN.BEGIN_EPOCH;
    let startEpoch = beginEpoch;
    let bestMetric = -Infinity;
    let bestEpoch = -1;
    let history: EpochRecord[] = [];
    const ckptFile = path.join(outDir, 'checkpoint.ckpt');
    if (opts.resume && fs.existsSync(ckptFile)) {
      const ckpt = readCheckpoint(ckptFile);
      loadStateDict(model, ckpt.stateDict, { strict: true, source: ckptFile });
      const state = ckpt.training as unknown as TrainingState;
      optimizer.setState(state.optimizer);
      beginEpoch = state.beginEpoch;
      startEpoch = state.epoch + 1;
      bestMetric = state.bestMetric;
      bestEpoch = state.bestEpoch;
      history = state.history;
      log(`resumed from ${ckptFile} after epoch ${state.epoch}`);
    } else if (opts.resume) {
      log(`no ${ckptFile} to resume from: starting at epoch ${startEpoch}`);
    }

    const lossFn = lossOfConfig(config);
    // As the official train.py: BATCH_SIZE_PER_GPU × len(GPUS), one replica per entry of GPUS.
    const batchSize = config.TRAIN.BATCH_SIZE_PER_GPU * config.GPUS.length;
    const [hw, hh] = config.MODEL.HEATMAP_SIZE;
    const k = trainSet.numJoints;
    let metricName = 'AP';
    const endEpoch = opts.maxEpochs !== undefined ? Math.min(config.TRAIN.END_EPOCH, startEpoch + opts.maxEpochs) : config.TRAIN.END_EPOCH;

    // One worker pool for the whole run (starting workers costs about a second); in-process when
    // WORKERS is 0 or the workers cannot start.
    if (config.WORKERS > 0 && startEpoch < endEpoch) {
      try {
        pool = await SampleWorkerPool.create(trainData.spec, defaultWorkerCount());
      } catch (e) {
        log(`warning: data workers could not start (${(e as Error).message}); preparing batches in-process`);
      }
    }
    if (config.GPUS.length > 1 && startEpoch < endEpoch) {
      replicas = await ReplicaPool.create(config);
      log(`data parallel: ${replicas.replicas} replicas of ${config.TRAIN.BATCH_SIZE_PER_GPU} samples on ${replicas.threads} worker threads`);
    }
    const scalars = opts.scalars ?? openScalarWriter(path.join(outDir, 'tensorboard'));
    if (scalars && !opts.scalars) log(`TensorBoard scalars in ${path.join(outDir, 'tensorboard')}`);
    for (let epoch = startEpoch; epoch < endEpoch; epoch++) {
      const lr = multiStepLr(config.TRAIN.LR, config.TRAIN.LR_STEP, config.TRAIN.LR_FACTOR, epoch, beginEpoch);
      optimizer.lr = lr;
      const loader = createLoader(trainData, {
        batchSize,
        shuffle: config.TRAIN.SHUFFLE,
        seed,
        epoch,
        dropLast: false,
        ...(pool ? { pool } : { workers: 0 }),
        onWarning: (m) => log(`warning: ${m}`),
      });
      const bar = showProgress ? new SingleBar({ format: `epoch ${epoch} |{bar}| {value}/{total} loss {loss} acc {acc} {sps} img/s eta {eta_formatted}`, hideCursor: true }, Presets.shades_classic) : null;
      bar?.start(loader.numBatches, 0, { loss: '-', acc: '-', sps: '-' });
      const started = Date.now();
      let lossSum = 0;
      let accSum = 0;
      let seen = 0;
      let batches = 0;
      for await (const batch of loader) {
        const n = batch.size;
        const host: HostBatch = { n, images: batch.images, target: batch.target, targetWeight: batch.targetWeight };
        const step = replicas ? await replicas.step(model, optimizer, host) : await stepInProcess(model, optimizer, host, lossFn, config);
        const acc = heatmapAccuracy(nhwcToNchw(step.output, n, hh, hw, k), nhwcToNchw(batch.target, n, hh, hw, k), [n, k, hh, hw]);
        lossSum += step.loss * n;
        accSum += acc.average * n;
        seen += n;
        batches++;
        const sps = seen / ((Date.now() - started) / 1000);
        bar?.update(batches, { loss: (lossSum / seen).toExponential(3), acc: (accSum / seen).toFixed(3), sps: sps.toFixed(1) });
        if (!bar && (batches % config.PRINT_FREQ === 0 || batches === loader.numBatches)) {
          log(`epoch ${epoch} [${batches}/${loader.numBatches}] loss ${(lossSum / seen).toExponential(3)} acc ${(accSum / seen).toFixed(3)} ${sps.toFixed(1)} img/s`);
        }
      }
      bar?.stop();
      const seconds = (Date.now() - started) / 1000;
      const val = await validate(model, valData, config, replicas);
      if (config.DEBUG.DEBUG) {
        await saveDebugPictures(model, valData, outDir, 'val', {
          joints: config.DEBUG.SAVE_BATCH_IMAGES_PRED,
          heatmaps: config.DEBUG.SAVE_HEATMAPS_PRED,
          bgr: !config.DATASET.COLOR_RGB,
        });
      }
      metricName = val.name;
      for (const line of val.table) log(line);
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / Math.max(seen, 1),
        trainAcc: accSum / Math.max(seen, 1),
        valMetric: val.value,
        valMetricName: val.name,
        lr,
        samplesPerSecond: seen / seconds,
        seconds,
        skippedSamples: loader.skipped.length,
      };
      history.push(record);
      fs.appendFileSync(path.join(outDir, 'metrics.jsonl'), JSON.stringify(record) + '\n');
      if (scalars) writeEpochScalars(scalars, record);
      await savePng(path.join(outDir, 'curves.png'), await renderTrainingCurves(history));

      const improved = Number.isFinite(val.value) && val.value > bestMetric;
      if (improved) {
        bestMetric = val.value;
        bestEpoch = epoch;
      }
      const state: TrainingState = { epoch, beginEpoch, bestMetric, bestEpoch, optimizer: await optimizer.getState(), history };
      await saveModelCheckpoint(ckptFile, model, config, state as unknown as StateValue);
      if (improved) await saveModelCheckpoint(path.join(outDir, 'model_best.ckpt'), model, config);
      log(`epoch ${epoch}: loss ${record.trainLoss.toExponential(3)}, ${metricName} ${val.value.toFixed(4)} (best ${bestMetric.toFixed(4)} at epoch ${bestEpoch}), ${record.samplesPerSecond.toFixed(1)} img/s, ${seconds.toFixed(0)} s`);
    }
    await saveModelCheckpoint(path.join(outDir, 'final_state.ckpt'), model, config);
    return { model, history, bestMetric, bestEpoch, metricName };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer?.dispose();
    await pool?.close();
    await replicas?.close();
  }
}

/**
 * TensorBoard scalars of a training run. TF.js writes TensorBoard event files only through
 * `@tensorflow/tfjs-node` (`tf.node.summaryFileWriter`), so they are written when that backend is
 * the one in use; on WASM and cpu there is no writer, and `metrics.jsonl` and `curves.png` hold the
 * same values.
 */
import * as tf from '@tensorflow/tfjs';
import { requireOptional } from '../backend/select';
import type { EpochMetrics } from '../viz/curves';

/** Where scalars go: `tf.node.summaryFileWriter`'s interface. */
export interface ScalarWriter {
  scalar(name: string, value: number, step: number): void;
  flush(): void;
}

/** The part of `@tensorflow/tfjs-node` used here. */
interface TfjsNodeSummary {
  node?: { summaryFileWriter?: (logdir: string) => ScalarWriter };
}

/**
 * A writer of event files in `logDir` when tfjs-node (or tfjs-node-gpu) is the active backend,
 * else `undefined`.
 */
export function openScalarWriter(logDir: string): ScalarWriter | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    let mod: TfjsNodeSummary;
    try {
      mod = requireOptional(pkg) as TfjsNodeSummary;
    } catch {
      continue;
    }
    const open = mod.node?.summaryFileWriter;
    if (open !== undefined) return open(logDir);
  }
  return undefined;
}

/**
 * Writes one epoch's scalars at step `epoch`: `train_loss` and `train_acc` (the epoch's means, as
 * the progress bar shows them), `valid_<metric>` (AP, or PCKh for MPII) and `learning_rate`.
 */
export function writeEpochScalars(writer: ScalarWriter, record: EpochMetrics): void {
  writer.scalar('train_loss', record.trainLoss, record.epoch);
  if (record.trainAcc !== undefined) writer.scalar('train_acc', record.trainAcc, record.epoch);
  if (record.valMetric !== undefined && Number.isFinite(record.valMetric)) {
    writer.scalar(`valid_${record.valMetricName ?? 'metric'}`, record.valMetric, record.epoch);
  }
  writer.scalar('learning_rate', record.lr, record.epoch);
  writer.flush();
}

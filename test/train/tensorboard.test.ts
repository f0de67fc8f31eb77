import { openScalarWriter, ScalarWriter, writeEpochScalars } from '../../src/train/tensorboard';
import { useTestBackend } from '../helpers/backend';

beforeAll(async () => {
  await useTestBackend();
});

describe('TensorBoard scalars', () => {
  it('need tfjs-node: no writer on the fallback backends', () => {
    expect(openScalarWriter('/tmp/unused-tensorboard-dir')).toBeUndefined();
  });

  it('write an epoch as train_loss, train_acc, valid_<metric> and learning_rate at step epoch, then flush', () => {
    const calls: unknown[][] = [];
    const writer: ScalarWriter = { scalar: (...a) => void calls.push(a), flush: () => void calls.push(['flush']) };
    writeEpochScalars(writer, { epoch: 3, trainLoss: 0.004, trainAcc: 0.5, valMetric: 0.61, valMetricName: 'PCKh', lr: 1e-3 });
    // A validation that produced no number (NaN) writes no validation scalar.
    writeEpochScalars(writer, { epoch: 4, trainLoss: 0.003, trainAcc: 0.6, valMetric: NaN, valMetricName: 'AP', lr: 1e-4 });
    expect(calls).toEqual([
      ['train_loss', 0.004, 3],
      ['train_acc', 0.5, 3],
      ['valid_PCKh', 0.61, 3],
      ['learning_rate', 1e-3, 3],
      ['flush'],
      ['train_loss', 0.003, 4],
      ['train_acc', 0.6, 4],
      ['learning_rate', 1e-4, 4],
      ['flush'],
    ]);
  });
});

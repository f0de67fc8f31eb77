import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { jointsMseLoss } from '../../src/train/loss';
import { Adam } from '../../src/train/optim';
import { trainStep } from '../../src/train/train-step';
import { PARITY_DIR } from '../helpers/fixtures';
import { useTestBackend } from '../helpers/backend';

beforeAll(async () => {
  await useTestBackend();
});

describe('trainStep', () => {
  it('keeps the tensor count flat over training steps and lowers the loss on a fixed batch', async () => {
    const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
    const model = createPoseHRNet(config, { seed: 1 });
    const optimizer = new Adam(model.params.parameters(), { lr: 1e-3 });
    const images = tf.randomNormal([2, 128, 96, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const target = tf.randomUniform([2, 32, 24, 17], 0, 1, 'float32', 8) as tf.Tensor4D;
    const targetWeight = tf.ones([2, 17]) as tf.Tensor2D;
    const loss = (o: tf.Tensor4D, t: tf.Tensor4D, w: tf.Tensor2D) => jointsMseLoss(o, t, w, true);
    try {
      const counts: number[] = [];
      const losses: number[] = [];
      for (let i = 0; i < 4; i++) {
        losses.push((await trainStep(model, optimizer, { images, target, targetWeight }, loss)).loss);
        counts.push(tf.memory().numTensors);
      }
      // The first step creates the optimizer state; after it nothing may accumulate.
      expect(counts[2]).toBe(counts[1]);
      expect(counts[3]).toBe(counts[1]);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[3]).toBeLessThan(losses[0]);

      const { output } = await trainStep(model, optimizer, { images, target, targetWeight }, loss, true);
      expect(output?.shape).toEqual([2, 32, 24, 17]);
      output?.dispose();
      expect(tf.memory().numTensors).toBe(counts[1]);
    } finally {
      optimizer.dispose();
      model.dispose();
      tf.dispose([images, target, targetWeight]);
    }
  });
});

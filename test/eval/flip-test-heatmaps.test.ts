/**
 * The flip test in one forward pass (`flipTestHeatmaps`, which `inferHeatmaps` and `hrnet predict` use): the crops
 * and their mirror images as one batch give the heatmaps of two passes, bit for bit, on the suite's backend (WASM)
 * and on WebGPU (a software Vulkan driver where there is no GPU), with half the kernel calls.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { flipTestAverage, flipTestHeatmaps, type FlipTest } from '../../src/codec/flip';
import { loadConfig } from '../../src/config/load';
import { inferHeatmaps } from '../../src/eval/evaluate';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { TEST_BACKEND } from '../helpers/backend';

afterAll(() => disposeWebGpuBackend());

const config = () =>
  loadConfig('configs/synthetic/w16_128x96.yaml', [
    'MODEL.IMAGE_SIZE=[32,64]',
    'MODEL.HEATMAP_SIZE=[8,16]',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[4,8]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[4,8,16]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[4,8,16,32]',
  ]);
const FLIP: FlipTest = { pairs: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]], shift: true };

/** Float32 bit patterns, so that the comparison is exact. */
async function bits(t: tf.Tensor): Promise<number[]> {
  const v = (await t.data()) as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

it('gives the heatmaps of two passes, bit for bit, in one pass, as inferHeatmaps does (the suite\'s backend)', async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: TEST_BACKEND, quiet: true });
  const cfg = config();
  const model = createPoseHRNet(cfg, { seed: 3 });
  const [w, h] = cfg.MODEL.IMAGE_SIZE;
  const x = tf.randomNormal([3, h, w, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const predict = (input: tf.Tensor4D) => model.forward(input, { training: false });
  try {
    const twoPasses = tf.tidy(() => flipTestAverage(predict(x), predict(tf.reverse(x, 2)), FLIP));
    const before = tf.memory().numTensors;
    const onePass = flipTestHeatmaps(predict, x, FLIP);
    expect(tf.memory().numTensors).toBe(before + 1);
    try {
      expect(onePass.shape).toEqual([3, h / 4, w / 4, 17]);
      expect(await bits(onePass)).toEqual(await bits(twoPasses));
      // inferHeatmaps, which validation and `hrnet eval` run, is the same.
      const inferred = await inferHeatmaps(model, (await x.data()) as Float32Array, 3, FLIP);
      expect(Array.from(new Uint32Array(inferred.buffer, inferred.byteOffset, inferred.length))).toEqual(await bits(twoPasses));
    } finally {
      tf.dispose([onePass, twoPasses]);
    }
    // One pass: as many convolutions as the network has, where two passes make twice as many.
    const convs = async (f: () => tf.Tensor) => (await tf.profile(() => tf.tidy(f))).kernels.filter((k) => k.name === 'Conv2D').length;
    const plain = await convs(() => predict(x));
    expect(plain).toBeGreaterThan(10);
    expect(await convs(() => flipTestHeatmaps(predict, x, FLIP))).toBe(plain);
  } finally {
    x.dispose();
    model.dispose();
  }
}, 300000);

it('gives the heatmaps of two passes, bit for bit, in one pass on WebGPU, at the main job\'s input size', async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
  // TF.js's WebGPU backend picks a convolution program by the size of the problem; at 128×96 it runs the same
  // programs for 2 and 4 samples (the network narrowed to 4–32 channels at 64×32 is small enough for its
  // small-problem programs, which rounded one pass of 6 samples by up to 1.2e-7 away from two passes of 3).
  const cfg = loadConfig('configs/synthetic/w16_128x96.yaml', [
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,16]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[8,16,32]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64]',
  ]);
  const model = createPoseHRNet(cfg, { seed: 3 });
  const [w, h] = cfg.MODEL.IMAGE_SIZE;
  const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const predict = (input: tf.Tensor4D) => model.forward(input, { training: false });
  try {
    expect(tf.getBackend()).toBe('webgpu');
    const twoPasses = tf.tidy(() => flipTestAverage(predict(x), predict(tf.reverse(x, 2)), FLIP));
    const onePass = flipTestHeatmaps(predict, x, FLIP);
    try {
      expect(await bits(onePass)).toEqual(await bits(twoPasses));
    } finally {
      tf.dispose([onePass, twoPasses]);
    }
  } finally {
    x.dispose();
    model.dispose();
  }
}, 300000);

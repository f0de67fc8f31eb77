/**
 * The product on the WebGPU backend (a software Vulkan driver where there is no GPU): tensor count and
 * GPU memory flat over training steps, and a short run of the main job's network end to end — training
 * with validation, checkpoints and a resumed epoch, as two data-parallel replicas computed in turn on
 * the device (the main job's `GPUS: [0, 1]` on one GPU), then `hrnet eval` and `hrnet predict` on its
 * checkpoint, and both stopped by an error the device reports while they compute. Synchronous reads
 * throw on this backend in Node, so this also shows that none is left on those paths.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { runEval } from '../../src/cli/eval';
import { runPredict } from '../../src/cli/predict';
import { loadConfig } from '../../src/config/load';
import { renderSyntheticDataset } from '../../src/data/synthetic';
import { readCheckpoint } from '../../src/io/checkpoint';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { jointsMseLoss } from '../../src/train/loss';
import { Adam } from '../../src/train/optim';
import { trainStep } from '../../src/train/train-step';
import { train } from '../../src/train/trainer';
import { benchmarkModel } from '../../src/train/bench-model';
import * as webGpuReplicas from '../../src/train/webgpu-replicas';
import type { VulkanDevice } from '../../src/backend/gpu-pinning';
import { provokeWebGpuError } from '../helpers/webgpu-errors';

/** The main job's network and recipe, narrowed so that a software GPU runs it in a test. */
const overrides = (root: string) => [
  `DATASET.ROOT=${root}`,
  'TRAIN.BATCH_SIZE_PER_GPU=2',
  'TEST.BATCH_SIZE_PER_GPU=4',
  'TRAIN.END_EPOCH=2',
  'WORKERS=0',
  'MODEL.IMAGE_SIZE=[32,32]',
  'MODEL.HEATMAP_SIZE=[8,8]',
  'MODEL.EXTRA.STAGE1.NUM_CHANNELS=[8]',
  'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,16]',
  'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[8,16,32]',
  'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64]',
];

let dir: string;
beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-webgpu-'));
  await renderSyntheticDataset({ outDir: path.join(dir, 'data'), train: 4, val: 2, seed: 7, imageSize: [96, 80] });
}, 120000);
afterAll(() => {
  disposeWebGpuBackend();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('keeps the tensor count and the GPU memory flat over training steps', async () => {
  expect(tf.getBackend()).toBe('webgpu');
  const config = loadConfig('configs/synthetic/w16_128x96.yaml', overrides(path.join(dir, 'data')));
  const model = createPoseHRNet(config, { seed: 1 });
  const optimizer = new Adam(model.params.parameters(), { lr: 1e-3 });
  const images = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const target = tf.randomUniform([2, 8, 8, 17], 0, 1, 'float32', 2) as tf.Tensor4D;
  const targetWeight = tf.ones([2, 17]) as tf.Tensor2D;
  const loss = (o: tf.Tensor4D, t: tf.Tensor4D, w: tf.Tensor2D) => jointsMseLoss(o, t, w, true);
  try {
    const tensors: number[] = [];
    const bytes: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      losses.push((await trainStep(model, optimizer, { images, target, targetWeight }, loss)).loss);
      tensors.push(tf.memory().numTensors);
      bytes.push((tf.memory() as { numBytesInGPU?: number }).numBytesInGPU ?? NaN);
    }
    // The first step creates the optimizer state; after it nothing may accumulate.
    expect(tensors.slice(2)).toEqual([tensors[1], tensors[1]]);
    expect(bytes.every(Number.isFinite)).toBe(true);
    expect(bytes.slice(2)).toEqual([bytes[1], bytes[1]]);
    expect(losses.every(Number.isFinite)).toBe(true);
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([images, target, targetWeight]);
  }
}, 600000);

it('trains (two replicas, validation, checkpoints, resume), evaluates and predicts on webgpu', async () => {
  const config = loadConfig('configs/synthetic/w16_128x96.yaml', [...overrides(path.join(dir, 'data')), 'GPUS=[0,0]']);
  const out = path.join(dir, 'run');
  const logs: string[] = [];
  const quiet = { log: (m: string) => void logs.push(m), progress: false };
  const first = await train({ config, outDir: out, maxEpochs: 1, ...quiet });
  first.model.dispose();
  const second = await train({ config, outDir: out, resume: true, ...quiet });
  second.model.dispose();
  expect(second.history.map((h) => h.epoch)).toEqual([0, 1]);
  expect(second.history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.valMetric))).toBe(true);
  expect(logs.some((l) => /data parallel: 2 replicas .* computed in turn on one WebGPU device/.test(l))).toBe(true);
  const checkpoint = path.join(out, 'final_state.ckpt');
  expect(Object.keys(readCheckpoint(checkpoint).stateDict).length).toBeGreaterThan(0);

  const evaluated = await runEval({ backend: 'webgpu', checkpoint, set: [], json: true, out: path.join(dir, 'eval') });
  expect(Number.isFinite(evaluated.stats?.AP)).toBe(true);
  const valDir = path.join(dir, 'data', 'images', 'val');
  const predicted = await runPredict({ backend: 'webgpu', checkpoint, image: path.join(valDir, fs.readdirSync(valDir)[0]), out: path.join(dir, 'pred') });
  expect(predicted.prediction).toBeDefined();

  // An error the device reports while they compute stops them, with the device's message.
  await provokeWebGpuError();
  await expect(runEval({ backend: 'webgpu', checkpoint, set: [], json: true, out: path.join(dir, 'eval') })).rejects.toThrow(
    /^the WebGPU device reported an error during the evaluation of final_state.ckpt, .*Buffer usages must not be 0/s,
  );
  await provokeWebGpuError();
  await expect(runPredict({ backend: 'webgpu', checkpoint, image: path.join(valDir, fs.readdirSync(valDir)[0]), out: path.join(dir, 'pred') })).rejects.toThrow(
    /^the WebGPU device reported an error during the prediction on .*\.(jpg|png), .*Buffer usages must not be 0/s,
  );
}, 900000);

it('trains and evaluates with the replicas in processes, as on GPUs of one model', async () => {
  // CI's one software adapter cannot be pinned: the identical-GPU plan, with processes that all see it.
  const device: VulkanDevice = { index: 0, vendorId: 0x1ae0, deviceId: 0xc0de, name: 'SwiftShader Device (Subzero)', type: 'CPU' };
  const plan = jest.spyOn(webGpuReplicas, 'planWebGpuReplicas').mockResolvedValue({ kind: 'processes', pinned: [{ device, env: {} }, { device, env: {} }] });
  try {
    const config = loadConfig('configs/synthetic/w16_128x96.yaml', [...overrides(path.join(dir, 'data')), 'GPUS=[0,1]']);
    const out = path.join(dir, 'run-processes');
    const logs: string[] = [];
    const run = await train({ config, outDir: out, maxEpochs: 1, log: (m: string) => void logs.push(m), progress: false });
    run.model.dispose();
    expect(logs).toContainEqual(expect.stringMatching(/^data parallel: 2 replicas of 2 samples in 2 processes, one GPU each .*replica 1 on SwiftShader Device \(Subzero\) \(1ae0:c0de\): webgpu/));
    expect(run.history.map((h) => h.epoch)).toEqual([0]);
    expect(Number.isFinite(run.history[0].trainLoss) && Number.isFinite(run.history[0].valMetric)).toBe(true);

    // The evaluation splits its heatmaps over the processes; on this device alone it finds the same keypoints.
    const checkpoint = path.join(out, 'final_state.ckpt');
    const notes: string[] = [];
    const err = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void notes.push(a.join(' ')));
    let split, alone;
    try {
      split = await runEval({ backend: 'webgpu', checkpoint, set: [], json: true, out: path.join(dir, 'eval-split') });
      alone = await runEval({ backend: 'webgpu', checkpoint, set: [], json: true, threads: 1, out: path.join(dir, 'eval-alone') });
    } finally {
      err.mockRestore();
    }
    expect(notes).toContainEqual(expect.stringMatching(/^heatmaps on 2 GPUs, one process each: /));
    expect(split.stats?.AP).toBe(alone.stats?.AP);
    const keypoints = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { keypoints: number[] }[]).flatMap((r) => r.keypoints);
    const [a, b] = [keypoints(split.file), keypoints(alone.file)];
    expect(a.length).toBe(b.length);
    // Batches of another size round differently on WebGPU: the same keypoints to well under a pixel.
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-3));
  } finally {
    plan.mockRestore();
  }
}, 900000);

it('benchmarks one GPU: the step, the host\'s recording of it, steps overlapped, the memory, no leak', async () => {
  const config = loadConfig('configs/synthetic/w16_128x96.yaml', overrides(path.join(dir, 'data')));
  const before = tf.memory().numTensors;
  const r = await benchmarkModel(config, { batch: 2, steps: 2, warmup: 1 });
  expect(r.replicas).toBe(1);
  expect(r.tensorsLeakedPerStep).toBe(0);
  expect(r.gpuMemory?.inUseBytes).toBeGreaterThan(0);
  // The recording ends where the step's loss read begins; the read waits for the device.
  expect(r.trainRecordSeconds).toBeGreaterThan(0);
  expect(r.trainRecordSeconds).toBeLessThan(r.trainStepSeconds);
  // Steps in a row, as hrnet train runs them on one device.
  expect(r.trainOverlappedStepSeconds).toBeGreaterThan(0);
  expect(tf.memory().numTensors).toBe(before);
}, 300000);

it('benchmarks replicas in processes on GPUs of one model, and says why not elsewhere', async () => {
  const config = loadConfig('configs/synthetic/w16_128x96.yaml', overrides(path.join(dir, 'data')));
  // CI's one adapter: GPUS [0, 1] names a GPU there is not.
  await expect(benchmarkModel(config, { batch: 2, steps: 1, warmup: 0, replicas: 2 })).rejects.toThrow(/^2 replicas on WebGPU are timed on GPUs 0…1 of one model, a process each: there is no GPU 1 .*\(without --replicas, the benchmark times one GPU\)$/);
  const device: VulkanDevice = { index: 0, vendorId: 0x1ae0, deviceId: 0xc0de, name: 'SwiftShader Device (Subzero)', type: 'CPU' };
  const plan = jest.spyOn(webGpuReplicas, 'planWebGpuReplicas').mockResolvedValue({ kind: 'processes', pinned: [{ device, env: {} }, { device, env: {} }] });
  try {
    const before = tf.memory().numTensors;
    const result = await benchmarkModel(config, { batch: 2, steps: 1, warmup: 0, replicas: 2 });
    expect(result.replicas).toBe(2);
    expect(result.replicaPlacement).toMatch(/^processes, one GPU each: replica 0 on SwiftShader .*; replica 1 on SwiftShader/);
    expect(result.trainImagesPerSecond).toBeGreaterThan(0);
    expect(result.inferImagesPerSecondBatchN).toBeGreaterThan(0);
    // This process's device: at least the weights and Adam's two moments in use between steps, and the pool
    // holds at least what is in use.
    const net = createPoseHRNet(config, { seed: 0 });
    const weightBytes = net.params.parameters().reduce((sum, p) => sum + 4 * p.variable.size, 0);
    net.dispose();
    expect(result.gpuMemory?.inUseBytes).toBeGreaterThanOrEqual(3 * weightBytes);
    expect(result.gpuMemory?.allocatedBytes).toBeGreaterThanOrEqual(result.gpuMemory?.inUseBytes ?? Infinity);
    expect(tf.memory().numTensors).toBe(before);
  } finally {
    plan.mockRestore();
  }
}, 900000);

it('destroys the device when the backend is disposed, and a new registration computes on a new one', async () => {
  const { device } = tf.backend() as unknown as { device: { lost: Promise<{ reason: string }> } };
  disposeWebGpuBackend();
  expect(tf.findBackend('webgpu')).toBeNull();
  expect((await device.lost).reason).toBe('destroyed');

  await initBackend({ preferred: 'webgpu', quiet: true });
  expect(tf.getBackend()).toBe('webgpu');
  expect((tf.backend() as unknown as { device: unknown }).device).not.toBe(device);
  const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1));
  try {
    expect(Array.from(await y.data())).toEqual([2, 3]);
  } finally {
    y.dispose();
  }
});

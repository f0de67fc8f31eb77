/**
 * Data-parallel replicas on WebGPU devices of their own: the step equals the same replicas computed in
 * turn on one device (loss, heatmaps, weights after the Adam step, running statistics of replica 0),
 * replica 1 computes on its own device and TF.js backend, nothing accumulates over steps, and closing
 * frees the device. CI has one software adapter, so the second device is opened on it too; the planner
 * that maps `GPUS` to adapters is checked against the adapters there are.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { loadConfig } from '../../src/config/load';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { lossOfConfig } from '../../src/train/loss';
import { Adam } from '../../src/train/optim';
import { readState } from '../../src/train/replica-worker';
import { replicaStepInTurn } from '../../src/train/replicas';
import { WebGpuReplicas, planWebGpuReplicas } from '../../src/train/webgpu-replicas';

const config = () =>
  loadConfig('configs/synthetic/w16_128x96.yaml', [
    'GPUS=[0,0]',
    'MODEL.IMAGE_SIZE=[32,32]',
    'MODEL.HEATMAP_SIZE=[8,8]',
    'MODEL.EXTRA.STAGE1.NUM_CHANNELS=[8]',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,16]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[8,16,32]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64]',
  ]);

async function randomBatch(n: number, seed: number): Promise<{ n: number; images: Float32Array; target: Float32Array; targetWeight: Float32Array }> {
  const [images, target, weight] = [
    tf.randomNormal([n, 32, 32, 3], 0, 1, 'float32', seed),
    tf.randomUniform([n, 8, 8, 17], 0, 1, 'float32', seed + 1),
    tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([n, 17], 0, 1, 'float32', seed + 2), 0.2), 'float32')),
  ];
  try {
    return { n, images: (await images.data()) as Float32Array, target: (await target.data()) as Float32Array, targetWeight: (await weight.data()) as Float32Array };
  } finally {
    tf.dispose([images, target, weight]);
  }
}

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ preferred: 'webgpu', quiet: true });
}, 120000);
afterAll(() => disposeWebGpuBackend());

it('maps GPUS to adapters: distinct adapters get devices, others run in turn with the reason', async () => {
  expect(await planWebGpuReplicas([0, 1, 2, 3, 4, 5, 6, 7, 8])).toEqual({ devices: false, reason: expect.stringMatching(/^there is no GPU \d \(Dawn lists 0: .*SwiftShader/) });
  expect(await planWebGpuReplicas([0, 0])).toEqual({ devices: false, reason: expect.stringMatching(/^GPU 0 \(.*SwiftShader.*\) cannot be told apart from another entry of GPUS/) });
  expect(await planWebGpuReplicas([0])).toEqual({ devices: true, gpus: [] });
});

it('steps as the replicas computed in turn, on a device of its own, and frees it on close', async () => {
  const cfg = config();
  const loss = lossOfConfig(cfg);
  const onDevices = createPoseHRNet(cfg, { seed: 3 });
  const inTurn = createPoseHRNet(cfg, { seed: 3 });
  const [optDevices, optTurn] = [onDevices, inTurn].map((m) => new Adam(m.params.parameters(), { lr: 1e-3 }));
  const replicas = await WebGpuReplicas.create(cfg, [0]);
  const [other] = replicas.backends;
  try {
    expect(replicas.replicas).toBe(2);
    expect(other).not.toBe('webgpu');
    expect(replicas.describe()).toMatch(/^replica 1 on .*SwiftShader/);
    const counts: number[] = [];
    for (const seed of [10, 20]) {
      const batch = await randomBatch(2, seed);
      const a = await replicas.step(onDevices, optDevices, batch, loss);
      const b = await replicaStepInTurn(inTurn, optTurn, batch, loss, cfg);
      expect(tf.getBackend()).toBe('webgpu');
      expect(a.loss).toBeCloseTo(b.loss, 6);
      expect(Array.from(a.output)).toEqual(Array.from(b.output));
      const [sa, sb] = [await readState(onDevices), await readState(inTurn)];
      expect(sa.counters).toEqual(sb.counters);
      sa.values.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(sb.values[i])));
      counts.push(tf.memory().numTensors);
    }
    // The replica's weights live on its own backend; nothing accumulates from one step to the next.
    expect(tf.engine().findBackend(other)?.numDataIds()).toBeGreaterThan(0);
    expect(counts[1]).toBe(counts[0]);
    // A batch smaller than the replica count leaves replica 1 idle, as scatter does.
    const one = await randomBatch(1, 40);
    const a = await replicas.step(onDevices, optDevices, one, loss);
    const b = await replicaStepInTurn(inTurn, optTurn, one, loss, cfg);
    expect(Array.from(a.output)).toEqual(Array.from(b.output));
  } finally {
    await replicas.close();
    [optDevices, optTurn].forEach((o) => o.dispose());
    [onDevices, inTurn].forEach((m) => m.dispose());
  }
  expect(tf.findBackend(other)).toBeNull();
  expect(tf.getKernelsForBackend(other)).toEqual([]);
}, 900000);

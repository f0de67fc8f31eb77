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
import { ReplicaPool, replicaStepInTurn } from '../../src/train/replicas';
import type { VulkanDevice, VulkanDeviceList } from '../../src/backend/gpu-pinning';
import { inferHeatmaps } from '../../src/eval/evaluate';
import { relL2 } from '../helpers/fixtures';
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

it('maps GPUS to adapters: distinct adapters get devices, identical GPUs processes, others run in turn with the reason', async () => {
  expect(await planWebGpuReplicas([0, 1, 2, 3, 4, 5, 6, 7, 8])).toEqual({ kind: 'in-turn', reason: expect.stringMatching(/^there is no GPU \d \(Dawn lists 0: .*SwiftShader/) });
  expect(await planWebGpuReplicas([0, 0])).toEqual({ kind: 'in-turn', reason: expect.stringMatching(/^GPUS names GPU 0 more than once \(Dawn lists 0: .*SwiftShader/) });
  expect(await planWebGpuReplicas([0])).toEqual({ kind: 'devices', gpus: [] });
  // Two GPUs of one model: a process each, pinned by PCI address, where Mesa's layer lists them ...
  const h200 = (index: number, bus: string): VulkanDevice => ({ index, vendorId: 0x10de, deviceId: 0x2335, name: 'NVIDIA H200', type: 'discrete GPU', pci: `pci-0000_${bus}_00_0` });
  const adapterNames = ['NVIDIA H200', 'NVIDIA H200'];
  const listDevices = async (): Promise<VulkanDeviceList> => ({ devices: [h200(0, '18'), h200(1, '2a')] });
  expect(await planWebGpuReplicas([0, 1], { adapterNames, listDevices })).toEqual({
    kind: 'processes',
    pinned: [
      { device: h200(0, '18'), env: { DRI_PRIME: 'pci-0000_18_00_0!' } },
      { device: h200(1, '2a'), env: { DRI_PRIME: 'pci-0000_2a_00_0!' } },
    ],
  });
  // ... and in turn without the layer, saying what to install.
  const reason = await planWebGpuReplicas([0, 1], { adapterNames, listDevices: async () => ({ reason: 'the layer did not run: install mesa-vulkan-drivers' }) });
  expect(reason).toEqual({ kind: 'in-turn', reason: expect.stringMatching(/^GPU 1 \(NVIDIA H200\) cannot be told apart .*; a process per GPU would, but the layer did not run: install mesa-vulkan-drivers$/) });
});

it('steps in worker processes, one per replica, as the replicas computed in turn, and validates there', async () => {
  const cfg = config();
  const loss = lossOfConfig(cfg);
  const inProcesses = createPoseHRNet(cfg, { seed: 7 });
  const inTurn = createPoseHRNet(cfg, { seed: 7 });
  const [optProcesses, optTurn] = [inProcesses, inTurn].map((m) => new Adam(m.params.parameters(), { lr: 1e-3 }));
  // Unpinned here: CI's one software adapter is every process's.
  const pool = await ReplicaPool.create(cfg, { backend: 'webgpu', processes: [{}, {}] });
  try {
    expect(pool.processes).toBe(true);
    expect(pool.backends).toEqual([expect.stringMatching(/^webgpu \(.*SwiftShader/), expect.stringMatching(/^webgpu \(.*SwiftShader/)]);
    const counts: number[] = [];
    for (const [step, seed] of [50, 60].entries()) {
      const batch = await randomBatch(3, seed);
      const a = await pool.step(inProcesses, optProcesses, batch);
      const b = await replicaStepInTurn(inTurn, optTurn, batch, loss, cfg);
      expect(tf.getBackend()).toBe('webgpu');
      expect(a.loss).toBeCloseTo(b.loss, 6);
      // From the same weights, each replica's forward is the same computation on the same kind of device;
      // after a step the weights differ by rounding (below).
      if (step === 0) expect(Array.from(a.output)).toEqual(Array.from(b.output));
      else expect(relL2(a.output, b.output)).toBeLessThan(1e-5);
      // The chunk gradients are summed on the host here and on the device in turn, each rounding its own way.
      // Adam divides each gradient by its own scale, so where a gradient is rounding noise alone (a bias
      // that a BatchNorm follows) the two ways part after the second step, with worker threads too; the
      // weights are compared after the first, at the thread pool's tolerance (replicas.test.ts).
      const [sa, sb] = [await readState(inProcesses), await readState(inTurn)];
      expect(sa.counters).toEqual(sb.counters);
      if (step === 0) sa.values.forEach((v, i) => expect(relL2(v, sb.values[i])).toBeLessThan(1e-5));
      counts.push(tf.memory().numTensors);
    }
    expect(counts[1]).toBe(counts[0]);
    // Validation's heatmaps, split over the processes, with the weights they are sent.
    await pool.loadWeights(inProcesses);
    const { images } = await randomBatch(3, 70);
    // The processes take 2 and 1 images: the same batches here give the same bits (WebGPU's convolutions
    // tile by batch size, so a batch of 3 rounds differently).
    const per = 32 * 32 * 3;
    const here = [...(await inferHeatmaps(inProcesses, images.slice(0, 2 * per), 2)), ...(await inferHeatmaps(inProcesses, images.slice(2 * per), 1))];
    expect(Array.from(await pool.heatmaps(images, 3))).toEqual(here);
  } finally {
    await pool.close();
    [optProcesses, optTurn].forEach((o) => o.dispose());
    [inProcesses, inTurn].forEach((m) => m.dispose());
  }
}, 900000);

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

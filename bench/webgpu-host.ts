/**
 * The host's share of a WebGPU training step: HRNet-W32's train step (forward, loss, backward, Adam), the same
 * step as two data-parallel replicas computed in turn (the official configs' several GPUS on one GPU), and its
 * inference, issued to Dawn's Null backend, which validates and records every command and executes none. The time
 * is what the CPU spends per step whatever the GPU: TF.js's op dispatch, the tape, the bind groups and uniform
 * buffers, the encoding and submits. A GPU cannot train faster than batch / that time on this CPU; the count of
 * compute dispatches says where it goes. Rows: TF.js's own kernels, then with the project's WebGPU kernels.
 *
 * The Null device caps its memory at 512 MB, so the network is W32's topology (every layer, module and branch)
 * with narrow channels; the dispatches and the host's work for each do not depend on the widths.
 *
 * Build and run: npx tsc bench/webgpu-host.ts --outDir .tmp/bench --module commonjs --target es2022 \
 *   --esModuleInterop --skipLibCheck --strict --types node && node .tmp/bench/bench/webgpu-host.js [steps]
 * (scripts/gpu-bench packs it for a GPU machine, where it shows the CPU's share beside the GPU's figures).
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { create, globals } from 'webgpu';
import { registerWebGpuKernels } from '../src/backend/webgpu';
import { loadConfig } from '../src/config/load';
import { createPoseHRNet } from '../src/model/pose-hrnet';
import { jointsMseLoss } from '../src/train/loss';
import { Adam } from '../src/train/optim';
import { replicaStepInTurn } from '../src/train/replicas';
import { trainStep } from '../src/train/train-step';

const CONFIG = 'configs/coco/w32_256x192.yaml';
/** W32's stages at a quarter of their widths (the stem keeps its 64, which the official code fixes). */
const NARROW = [
  'MODEL.EXTRA.STAGE1.NUM_CHANNELS=[16]',
  'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,16]',
  'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[8,16,32]',
  'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64]',
];

/** Counts compute dispatches. */
let dispatches = 0;

async function nullDevice(): Promise<void> {
  Object.assign(globalThis, globals);
  const gpu = create(['backend=null']);
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  g.navigator = { ...(g.navigator ?? {}), gpu };
  const adapter = await gpu.requestAdapter();
  if (adapter === null) throw new Error("Dawn's Null backend offers no adapter");
  const device = await adapter.requestDevice();
  const pass = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: unknown[]) => void } } }).GPUComputePassEncoder.prototype;
  const dispatch = pass.dispatchWorkgroups;
  pass.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    dispatches++;
    return dispatch.apply(this, a);
  };
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device as unknown as GPUDevice, adapter.info as unknown as GPUAdapterInfo), 0);
  await tf.setBackend('webgpu');
  tf.env().set('PROD', true);
}

/** Median milliseconds and dispatches of `fn` over `steps` runs after two warm-up runs. */
async function measure(fn: () => Promise<void>, steps: number): Promise<{ ms: number; dispatches: number }> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i < steps; i++) {
    dispatches = 0;
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
    count = dispatches;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], dispatches: count };
}

async function run(steps: number, projectKernels: boolean): Promise<void> {
  // TF.js's kernels are measured first: registering the project's replaces some of them.
  if (projectKernels) registerWebGpuKernels();
  const config = loadConfig(CONFIG, NARROW);
  const [w, h] = config.MODEL.IMAGE_SIZE;
  const [hw, hh] = config.MODEL.HEATMAP_SIZE;
  const model = createPoseHRNet(config, { seed: 0 });
  const optimizer = new Adam(model.params.parameters(), { lr: 1e-3 });
  const images = tf.zeros([1, h, w, 3]) as tf.Tensor4D;
  const target = tf.zeros([1, hh, hw, config.MODEL.NUM_JOINTS]) as tf.Tensor4D;
  const targetWeight = tf.ones([1, config.MODEL.NUM_JOINTS]) as tf.Tensor2D;
  const loss = (o: tf.Tensor4D, t: tf.Tensor4D, wgt: tf.Tensor2D) => jointsMseLoss(o, t, wgt, true);
  try {
    const train = await measure(async () => void (await trainStep(model, optimizer, { images, target, targetWeight }, loss)), steps);
    const infer = await measure(async () => {
      const y = model.predict(images);
      await y.data();
      y.dispose();
    }, steps);
    // The official configs' GPUS of several entries on one GPU: the replicas' chunks in turn, their gradients
    // summed, one optimizer step (batch 2: a chunk of one image each).
    const inTurnConfig = { ...config, GPUS: [0, 1] };
    const k = config.MODEL.NUM_JOINTS;
    const host = { n: 2, images: new Float32Array(2 * h * w * 3), target: new Float32Array(2 * hh * hw * k), targetWeight: new Float32Array(2 * k).fill(1) };
    const inTurn = await measure(async () => void (await replicaStepInTurn(model, optimizer, host, loss, inTurnConfig)), steps);
    const label = projectKernels ? 'with the project kernels' : "TF.js's kernels";
    for (const [what, m] of [['training step', train], ['training step, 2 replicas in turn', inTurn], ['inference', infer]] as const) {
      console.log(`| ${label} | ${what} | ${m.dispatches} | ${m.ms.toFixed(0)} | ${((m.ms * 1000) / m.dispatches).toFixed(0)} |`);
    }
  } finally {
    tf.dispose([images, target, targetWeight]);
    optimizer.dispose();
    model.dispose();
  }
}

async function main(): Promise<void> {
  const steps = Number(process.argv[2] ?? 5);
  await nullDevice();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`W32 topology, ${CONFIG} (narrowed), batch 1, Dawn's Null backend; median of ${steps} after 2 warm-up; ${cpu}, Node ${process.version}`);
  console.log('| kernels | work | dispatches | host ms | µs a dispatch |');
  console.log('|---|---|---:|---:|---:|');
  await run(steps, false);
  await run(steps, true);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * Data-parallel training over several WebGPU devices in one process, as `nn.DataParallel` does it over
 * CUDA devices: the batch is split into one chunk per entry of `GPUS`; replica 0 is the model itself on
 * the main backend's device, replica r ≥ 1 a copy on a device of GPU `GPUS[r]`, registered as a TF.js
 * backend of its own. Each step broadcasts the weights to the copies, dispatches every replica's
 * train-mode forward and backward (BatchNorm statistics of its own chunk) before reading any result, so
 * the devices compute at the same time, then gathers the chunk gradients on the main device, weighted
 * by chunk size, for one optimizer step. The running statistics are replica 0's.
 *
 * Dawn cannot drive devices from worker threads (it aborts the process), which is why the replicas share
 * this thread: dispatching is cheap next to the kernels, and the reads are asynchronous. GPUs of one model,
 * which one process cannot tell apart, get a process each instead (`ReplicaPool` with `processes`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema';
import { formatPinned, listVulkanDevices, pinGpus, type PinnedGpu, type VulkanDeviceList } from '../backend/gpu-pinning';
import { dawnModulePath, formatAdapter, registerWebGpuDeviceBackend, webGpuAdapter, webGpuAdapterNames, type AdapterDescription, type WebGpuDeviceBackend } from '../backend/webgpu';
import { createPoseHRNet, type PoseHRNet } from '../model/pose-hrnet';
import type { HeatmapLoss } from './loss';
import type { Optimizer } from './optim';
import { addWeightedGradients, chunkSizes, hostChunks, ReplicaPool, type DataParallelStep } from './replicas';
import { computeGradients, hostBatchTensors, perSample, type BatchGradients, type HostBatch } from './train-step';

/**
 * How the replicas of `GPUS` run on WebGPU:
 * - `devices`: each on a device of its own in this process, where the entries name distinct adapters of
 *   Dawn's list and one of them is the main backend's: replica 0 runs there, replicas 1… on the other
 *   entries' adapters, in `GPUS` order (`gpus`);
 * - `processes`: each in a process of its own, shown one GPU by Mesa's device-select Vulkan layer, where
 *   entries name GPUs of the same model (Dawn's Node bindings choose adapters by name, so one process
 *   cannot tell them apart), in `GPUS` order (`pinned`);
 * - `in-turn`: in turn on the main device, with the reason (e.g. a config's `GPUS: [0, 1]` on a machine
 *   with one GPU, or identical GPUs without the layer).
 */
export type WebGpuReplicaPlan = { kind: 'devices'; gpus: number[] } | { kind: 'processes'; pinned: PinnedGpu[] } | { kind: 'in-turn'; reason: string };

/** Options of {@link planWebGpuReplicas}. */
export interface WebGpuReplicaPlanOptions {
  /** Dawn's adapters (default: asked of Dawn). */
  adapterNames?: readonly string[];
  /** The Vulkan devices (default: listed by a probe process, see `listVulkanDevices`). */
  listDevices?: () => Promise<VulkanDeviceList>;
}

/** Plans the replicas of `gpus` (the config's `GPUS`, indices into Dawn's list of adapters); see {@link WebGpuReplicaPlan}. */
export async function planWebGpuReplicas(gpus: readonly number[], opts: WebGpuReplicaPlanOptions = {}): Promise<WebGpuReplicaPlan> {
  const main = webGpuAdapter();
  if (main === undefined) return { kind: 'in-turn', reason: 'the WebGPU backend is not registered' };
  const names = opts.adapterNames ?? (await webGpuAdapterNames({ allowSoftware: main.software }));
  if (names.length === 0) return { kind: 'in-turn', reason: 'the adapters cannot be listed here (a browser offers one)' };
  const list = names.map((n, i) => `${i}: ${n}`).join(', ');
  const missing = gpus.find((g) => !(Number.isInteger(g) && g >= 0 && g < names.length));
  if (missing !== undefined) return { kind: 'in-turn', reason: `there is no GPU ${missing} (Dawn lists ${list})` };
  const repeated = gpus.find((g, i) => gpus.indexOf(g) !== i);
  if (repeated !== undefined) return { kind: 'in-turn', reason: `GPUS names GPU ${repeated} more than once (Dawn lists ${list})` };
  const twin = gpus.find((g, i) => gpus.findIndex((h) => names[h] === names[g]) !== i);
  if (twin !== undefined) {
    const why = `GPU ${twin} (${names[twin]}) cannot be told apart from another entry of GPUS in one process: Dawn's Node bindings choose adapters by name (Dawn lists ${list})`;
    const devices = await (opts.listDevices ?? (() => listVulkanDevices(dawnModulePath())))();
    if ('reason' in devices) return { kind: 'in-turn', reason: `${why}; a process per GPU would, but ${devices.reason}` };
    const pins = pinGpus(names, gpus, devices.devices);
    if ('reason' in pins) return { kind: 'in-turn', reason: `${why}; a process per GPU would, but ${pins.reason}` };
    return { kind: 'processes', pinned: pins.pinned };
  }
  const mainEntry = gpus.findIndex((g) => names[g] === main.device);
  if (mainEntry < 0) return { kind: 'in-turn', reason: `the backend's adapter (${main.device}) is none of GPUS (Dawn lists ${list})` };
  return { kind: 'devices', gpus: gpus.filter((_, i) => i !== mainEntry) };
}

/**
 * Starts the replica processes of a `processes` plan, on WebGPU, one per pinned GPU; `where` says, for the
 * log, which GPU each was pinned to and which adapter its backend reported.
 */
export async function startReplicaProcesses(config: Config, pinned: readonly PinnedGpu[]): Promise<{ pool: ReplicaPool; where: string }> {
  const pool = await ReplicaPool.create(config, { backend: 'webgpu', processes: pinned.map((p) => p.env) });
  const where = pinned.map((p, r) => `replica ${r} on ${formatPinned(p.device)}: ${pool.backends[r]}`).join('; ');
  return { pool, where };
}

/** A copy of the model on a device of its own. */
interface DeviceReplica {
  device: WebGpuDeviceBackend;
  model: PoseHRNet;
}

/** Options of {@link WebGpuReplicas.create}. */
export interface WebGpuReplicasOptions {
  /** Accept software adapters. Default: when the main backend's adapter is one (an explicit `--backend webgpu`). */
  allowSoftware?: boolean;
}

/** Replicas 1… of a multi-GPU config on their own WebGPU devices; replica 0 is the model on the main backend. */
export class WebGpuReplicas {
  private closed = false;

  private constructor(
    private readonly config: Config,
    /** TF.js backend of replica 0 (the main one, active between steps). */
    private readonly mainBackend: string,
    private readonly others: DeviceReplica[],
  ) {}

  /**
   * Opens a device on each GPU of `gpus`, one per replica r ≥ 1 (the main backend, active now, is
   * replica 0's), and builds a copy of the network there.
   * @param gpus adapter indices of Dawn's list (see {@link planWebGpuReplicas})
   */
  static async create(config: Config, gpus: readonly number[], opts: WebGpuReplicasOptions = {}): Promise<WebGpuReplicas> {
    const mainBackend = tf.getBackend();
    if (!mainBackend.startsWith('webgpu')) throw new Error(`WebGpuReplicas: the active backend is ${mainBackend}, not webgpu`);
    const allowSoftware = opts.allowSoftware ?? webGpuAdapter()?.software === true;
    const others: DeviceReplica[] = [];
    try {
      for (const gpu of gpus) {
        const device = await registerWebGpuDeviceBackend(gpu, { allowSoftware });
        let model: PoseHRNet;
        try {
          await tf.setBackend(device.tfBackend);
          // Zero weights: every step overwrites them with the main model's.
          model = createPoseHRNet(config, { initWeights: false });
        } catch (e) {
          await tf.setBackend(mainBackend);
          device.dispose();
          throw e;
        }
        others.push({ device, model });
        await tf.setBackend(mainBackend);
      }
    } catch (e) {
      await tf.setBackend(mainBackend);
      for (const r of others) {
        r.model.dispose();
        r.device.dispose();
      }
      throw e;
    }
    return new WebGpuReplicas(config, mainBackend, others);
  }

  /** Number of replicas, the main one included. */
  get replicas(): number {
    return this.others.length + 1;
  }

  /** The adapters of replicas 1…, in order. */
  get adapters(): AdapterDescription[] {
    return this.others.map((r) => r.device.adapter);
  }

  /** The TF.js backends of replicas 1…, in order. */
  get backends(): string[] {
    return this.others.map((r) => r.device.tfBackend);
  }

  /** `replica 1 on <adapter>, …` for the run's log. */
  describe(): string {
    return this.others.map((r, i) => `replica ${i + 1} on ${formatAdapter(r.device.adapter)}`).join('; ');
  }

  /**
   * Gradients of the full-batch loss at `model`'s weights, gathered on the main device (the caller
   * disposes them), with the loss and the heatmaps; `model`'s running statistics become replica 0's.
   */
  async gradients(model: PoseHRNet, batch: HostBatch, loss: HeatmapLoss): Promise<{ loss: number; output: Float32Array; grads: tf.NamedTensorMap }> {
    if (this.closed) throw new Error('WebGpuReplicas: closed');
    // A batch smaller than the replica count (an epoch's last) leaves the last replicas idle, as scatter does.
    const sizes = chunkSizes(batch.n, this.replicas);
    const chunks = hostChunks(batch, sizes, this.config);
    const perTarget = perSample(this.config).target;

    const weights = await Promise.all(model.params.parameters().map(async (p) => (await p.variable.data()) as Float32Array));
    const running: Promise<BatchGradients>[] = [];
    const inputs: tf.Tensor[] = [];
    let dispatchError: unknown;
    try {
      // Every replica's work is queued on its device before anything is read, so the devices overlap.
      for (const [i, replica] of this.others.slice(0, chunks.length - 1).entries()) {
        await tf.setBackend(replica.device.tfBackend);
        replica.model.params.parameters().forEach((p, j) => {
          const value = tf.tensor(weights[j], p.variable.shape, 'float32');
          p.variable.assign(value);
          value.dispose();
        });
        const tensors = hostBatchTensors(chunks[i + 1], this.config);
        inputs.push(tensors.images, tensors.target, tensors.targetWeight);
        running.push(computeGradients(replica.model, tensors, loss, true));
      }
      await tf.setBackend(this.mainBackend);
      const tensors = hostBatchTensors(chunks[0], this.config);
      inputs.push(tensors.images, tensors.target, tensors.targetWeight);
      running.unshift(computeGradients(model, tensors, loss, true));
    } catch (e) {
      dispatchError = e;
    } finally {
      await tf.setBackend(this.mainBackend);
    }
    // Wait for whatever was started, also after a failure, so that its tensors are freed.
    const settled = await Promise.allSettled(running);
    const results = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const summed: tf.NamedTensorMap = {};
    try {
      if (dispatchError !== undefined) throw dispatchError;
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const output = new Float32Array(batch.n * perTarget);
      let total = 0;
      let start = 0;
      // Σ_r (n_r / n) · g_r on the main device, in replica order.
      for (const [r, res] of results.entries()) {
        const weight = sizes[r] / batch.n;
        total += weight * res.loss;
        output.set((await (res.output as tf.Tensor).data()) as Float32Array, start * perTarget);
        start += sizes[r];
        const local = r === 0 ? res.grads : await this.toMainDevice(res.grads);
        try {
          addWeightedGradients(summed, local, weight);
        } finally {
          if (local !== res.grads) tf.dispose(Object.values(local));
        }
      }
      return { loss: total, output, grads: summed };
    } catch (e) {
      tf.dispose(Object.values(summed));
      throw e;
    } finally {
      for (const res of results) tf.dispose([...Object.values(res.grads), res.output as tf.Tensor]);
      tf.dispose(inputs);
    }
  }

  /** Copies of a replica's gradients on the main device (the active backend), read asynchronously. */
  private async toMainDevice(grads: tf.NamedTensorMap): Promise<tf.NamedTensorMap> {
    const entries = Object.entries(grads);
    const values = await Promise.all(entries.map(([, g]) => g.data() as Promise<Float32Array>));
    return Object.fromEntries(entries.map(([name, g], i) => [name, tf.tensor(values[i], g.shape, 'float32')]));
  }

  /** One optimizer step on the full-batch gradient (see {@link gradients}). */
  async step(model: PoseHRNet, optimizer: Optimizer, batch: HostBatch, loss: HeatmapLoss): Promise<DataParallelStep> {
    const { loss: value, output, grads } = await this.gradients(model, batch, loss);
    try {
      optimizer.step(grads);
    } finally {
      tf.dispose(Object.values(grads));
    }
    return { loss: value, output };
  }

  /** Frees the copies and their devices. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (tf.getBackend() !== this.mainBackend) await tf.setBackend(this.mainBackend);
    for (const r of this.others) {
      r.model.dispose();
      r.device.dispose();
    }
  }
}

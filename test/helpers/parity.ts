/**
 * The checks of full-model parity with the official PyTorch implementation on a `parity/` fixture
 * (eval and train forwards, BatchNorm running statistics, the joint-weighted MSE, gradients and one
 * Adam step), on whichever backend is active. Every tensor is read asynchronously, as the WebGPU
 * backend requires. Tolerances are the fixture README's.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { PoseHRNet, createPoseHRNet } from '../../src/model/pose-hrnet';
import { readPth, StateDict } from '../../src/io/pth';
import { loadStateDict, modelStateDict } from '../../src/io/state-dict';
import { jointsMseLoss } from '../../src/train/loss';
import { Adam } from '../../src/train/optim';
import { FIXTURES_DIR, maxAbsDiff, readF32, relL2 } from './fixtures';

interface Manifest {
  tensors: Record<string, { shape: number[] }>;
  values: { loss: number; bn_layers: string[]; grad_keys: string[] };
}

/** One parity fixture folder: its manifest and raw tensors. */
export class ParityFixture {
  readonly dir: string;
  readonly manifest: Manifest;

  /** @param name folder under `fixtures/parity`, e.g. `w8_coco_128x96_stable` */
  constructor(readonly name: string) {
    this.dir = path.join(FIXTURES_DIR, 'parity', name);
    this.manifest = JSON.parse(fs.readFileSync(path.join(this.dir, 'manifest.json'), 'utf8')) as Manifest;
  }

  /** A raw float32 tensor of the fixture. */
  f32(file: string): Float32Array {
    return readF32(path.join(this.dir, file));
  }

  /** A `.pth` of the fixture. */
  pth(file: string): StateDict {
    return readPth(path.join(this.dir, file));
  }

  /** The fixture's model with the weights of `weights` (a `.pth` of the folder), loaded strictly. */
  model(weights = 'weights.pth'): PoseHRNet {
    const model = createPoseHRNet(loadConfig(path.join(this.dir, 'config.yaml')), { initWeights: false });
    loadStateDict(model, this.pth(weights), { strict: true });
    return model;
  }

  /** A fixture tensor given NCHW, as an NHWC tensor. */
  nhwc(name: string): tf.Tensor4D {
    const shape = this.manifest.tensors[name].shape as [number, number, number, number];
    const data = this.f32(`${name}.f32`);
    return tf.tidy(() => tf.transpose(tf.tensor4d(data, shape), [0, 2, 3, 1]));
  }
}

/** NHWC tensor → NCHW data (the tensor is not disposed). */
export async function nchwData(t: tf.Tensor4D): Promise<Float32Array> {
  const nchw = tf.transpose(t, [0, 3, 1, 2]);
  try {
    return (await nchw.data()) as Float32Array;
  } finally {
    nchw.dispose();
  }
}

/** A variable's value (or gradient) in PyTorch layout (conv kernels OIHW). */
export async function torchData(t: tf.Tensor): Promise<Float32Array> {
  const torch = tf.tidy(() => (t.rank === 4 ? tf.transpose(t, [3, 2, 0, 1]) : t.clone()));
  try {
    return (await torch.data()) as Float32Array;
  } finally {
    torch.dispose();
  }
}

/** Eval-mode heatmaps of the fixture's input equal the official ones. */
export async function expectEvalHeatmaps(fx: ParityFixture, model: PoseHRNet, want = 'out_eval.f32'): Promise<void> {
  const x = fx.nhwc('x');
  const y = model.predict(x);
  try {
    const got = await nchwData(y);
    expect(relL2(got, fx.f32(want))).toBeLessThan(1e-4);
    expect(maxAbsDiff(got, fx.f32(want))).toBeLessThan(1e-3);
  } finally {
    tf.dispose([x, y]);
  }
}

/** What {@link expectTrainStep} checks besides the forward, BatchNorm statistics, loss and gradients. */
export interface TrainStepChecks {
  /** One Adam step with the gradients computed here, against `after_adam_step.pth`. */
  adamStep: boolean;
}

/**
 * A train-mode forward, the loss, the backward and one Adam step on the fixture's batch equal the
 * official ones: heatmaps, BatchNorm running statistics, loss, gradients and weights after the step.
 */
export async function expectTrainStep(fx: ParityFixture, model: PoseHRNet, checks: TrainStepChecks): Promise<void> {
  const { manifest } = fx;
  const x = fx.nhwc('x');
  const target = fx.nhwc('target');
  const targetWeight = tf.tensor2d(fx.f32('target_weight.f32'), [2, 17]);
  const nameOf = new Map(model.params.parameters().map((e) => [e.variable.name, e.name]));
  let outTrain: tf.Tensor4D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x, { training: true });
    outTrain = tf.keep(out.clone());
    return jointsMseLoss(out, target, targetWeight, true);
  });
  try {
    const gotOut = await nchwData(outTrain as tf.Tensor4D);
    const want = fx.f32('out_train.f32');
    expect(relL2(gotOut, want)).toBeLessThan(1e-4);
    expect(maxAbsDiff(gotOut, want)).toBeLessThan(1e-3);

    const loss = (await value.data())[0];
    expect(Math.abs(loss - manifest.values.loss) / manifest.values.loss).toBeLessThan(1e-5);

    for (const layer of manifest.values.bn_layers) {
      for (const stat of ['running_mean', 'running_var']) {
        const got = (await model.params.get(`${layer}.${stat}`).data()) as Float32Array;
        expect(relL2(got, fx.f32(`bn_${layer}_${stat}.f32`))).toBeLessThan(1e-5);
      }
    }

    const named: tf.NamedTensorMap = {};
    for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName) as string] = g;
    // Every parameter has a gradient.
    expect(Object.keys(named).sort()).toEqual(model.params.parameters().map((e) => e.name).sort());
    const allGrads = fx.pth('grads.pth');
    for (const key of Object.keys(allGrads)) {
      expect({ key, close: relL2(await torchData(named[key]), allGrads[key].data as Float32Array) < 1e-3 }).toEqual({ key, close: true });
    }
    for (const key of manifest.values.grad_keys) {
      expect(relL2(await torchData(named[key]), fx.f32(`grad_${key}.f32`))).toBeLessThan(1e-3);
    }
    if (!checks.adamStep) return;

    const adam = new Adam(model.params.parameters(), { lr: 1e-3 });
    try {
      adam.step(named);
    } finally {
      adam.dispose();
    }
    const after = fx.pth('after_adam_step.pth');
    let far = 0;
    let total = 0;
    let worst = 0;
    for (const e of model.params.parameters()) {
      const got = await torchData(e.variable);
      const ref = after[e.name].data as Float32Array;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs(got[i] - ref[i]);
        if (d > 1e-6) far++;
        worst = Math.max(worst, d);
      }
      total += got.length;
    }
    expect(far / total).toBeLessThanOrEqual(0.001);
    expect(worst).toBeLessThanOrEqual(2.1e-3);
    // Buffers after the train forward (running stats, num_batches_tracked + 1).
    const mine: StateDict = await modelStateDict(model);
    for (const key of Object.keys(after)) {
      if (after[key].dtype === 'int64') expect(mine[key].data[0]).toBe(after[key].data[0]);
      else if (key.includes('running_')) expect(relL2(mine[key].data as Float32Array, after[key].data as Float32Array)).toBeLessThan(1e-5);
    }
  } finally {
    tf.dispose([value, ...Object.values(grads), x, target, targetWeight]);
    outTrain?.dispose();
  }
}

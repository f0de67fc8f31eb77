/**
 * Full-model parity with the official PyTorch implementation on the w8_coco_128x96 fixture:
 * eval and train forwards, BatchNorm running statistics, the joint-weighted MSE, gradients and one
 * Adam step, from both `.pth` formats. Tolerances are the fixture README's.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { PoseHRNet, createPoseHRNet } from '../../src/model/pose-hrnet';
import { readPth, StateDict } from '../../src/io/pth';
import { loadStateDict, modelStateDict } from '../../src/io/state-dict';
import { jointsMseLoss } from '../../src/train/loss';
import { Adam } from '../../src/train/optim';
import { PARITY_DIR, maxAbsDiff, readF32, readFixtureJson, relL2 } from '../helpers/fixtures';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';
import { initBackend } from '../../src/backend/select';

interface Manifest {
  tensors: Record<string, { shape: number[] }>;
  values: { loss: number; bn_layers: string[]; grad_keys: string[] };
}

const manifest = readFixtureJson<Manifest>('parity/w8_coco_128x96/manifest.json');
const fixture = (name: string) => readF32(path.join(PARITY_DIR, name));

/** NCHW data → NHWC tensor. */
function nhwcFromNchw(data: Float32Array, shape: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** NHWC tensor → NCHW data. */
function nchwData(t: tf.Tensor4D): Float32Array {
  return tf.tidy(() => tf.transpose(t, [0, 3, 1, 2])).dataSync() as Float32Array;
}

/** A variable's value (or gradient) in PyTorch layout. */
function torchData(t: tf.Tensor): Float32Array {
  return tf.tidy(() => (t.rank === 4 ? tf.transpose(t, [3, 2, 0, 1]) : t.clone())).dataSync() as Float32Array;
}

function buildModel(weights: string): PoseHRNet {
  const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
  const model = createPoseHRNet(config);
  loadStateDict(model, readPth(path.join(PARITY_DIR, weights)), { strict: true });
  return model;
}

beforeAll(async () => {
  await useTestBackend();
});

describe.each(['weights.pth', 'weights_legacy.pth'])('parity with the official model (%s)', (weights) => {
  let model: PoseHRNet;
  let x: tf.Tensor4D;
  beforeAll(() => {
    model = buildModel(weights);
    x = nhwcFromNchw(fixture('x.f32'), manifest.tensors.x.shape);
  });
  afterAll(() => {
    model.dispose();
    x.dispose();
  });

  it('loads every tensor bit-exactly', () => {
    const dict = readPth(path.join(PARITY_DIR, weights));
    const back = modelStateDict(model);
    expect(Object.keys(back)).toEqual(Object.keys(dict));
    for (const [k, t] of Object.entries(dict)) {
      expect(back[k].shape).toEqual(t.shape);
      if (t.dtype === 'int64') expect(back[k].data[0]).toBe(t.data[0]);
      else expect(maxAbsDiff(back[k].data as Float32Array, t.data as Float32Array)).toBe(0);
    }
  });

  it('eval-mode heatmaps match', () => {
    const y = model.predict(x);
    const got = nchwData(y);
    y.dispose();
    const want = fixture('out_eval.f32');
    expect(relL2(got, want)).toBeLessThan(1e-4);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-3);
  });

  it('train-mode forward, BN statistics, loss, gradients and one Adam step match', () => {
    const target = nhwcFromNchw(fixture('target.f32'), manifest.tensors.target.shape);
    const targetWeight = tf.tensor2d(fixture('target_weight.f32'), [2, 17]);
    const nameOf = new Map(model.params.parameters().map((e) => [e.variable.name, e.name]));
    let outTrain: Float32Array = new Float32Array();
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x, { training: true });
      outTrain = nchwData(out);
      return jointsMseLoss(out, target, targetWeight, true);
    });
    try {
      const want = fixture('out_train.f32');
      expect(relL2(outTrain, want)).toBeLessThan(1e-4);
      expect(maxAbsDiff(outTrain, want)).toBeLessThan(1e-3);

      expect(Math.abs(value.dataSync()[0] - manifest.values.loss) / manifest.values.loss).toBeLessThan(1e-5);

      for (const layer of manifest.values.bn_layers) {
        for (const stat of ['running_mean', 'running_var']) {
          const got = model.params.get(`${layer}.${stat}`).dataSync() as Float32Array;
          expect(relL2(got, fixture(`bn_${layer}_${stat}.f32`))).toBeLessThan(1e-5);
        }
      }

      const named: tf.NamedTensorMap = {};
      for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName) as string] = g;
      // Every parameter has a gradient; the fixture's listed ones and grads.pth match.
      expect(Object.keys(named).sort()).toEqual(model.params.parameters().map((e) => e.name).sort());
      const allGrads = readPth(path.join(PARITY_DIR, 'grads.pth'));
      for (const key of Object.keys(allGrads)) {
        expect(relL2(torchData(named[key]), allGrads[key].data as Float32Array)).toBeLessThan(1e-3);
      }
      for (const key of manifest.values.grad_keys) {
        expect(relL2(torchData(named[key]), fixture(`grad_${key}.f32`))).toBeLessThan(1e-3);
      }

      const adam = new Adam(model.params.parameters(), { lr: 1e-3 });
      adam.step(named);
      adam.dispose();
      const after = readPth(path.join(PARITY_DIR, 'after_adam_step.pth'));
      let far = 0;
      let total = 0;
      let worst = 0;
      for (const e of model.params.parameters()) {
        const got = torchData(e.variable);
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
      const mine: StateDict = modelStateDict(model);
      for (const key of Object.keys(after)) {
        if (after[key].dtype === 'int64') expect(mine[key].data[0]).toBe(after[key].data[0]);
        else if (key.includes('running_')) expect(relL2(mine[key].data as Float32Array, after[key].data as Float32Array)).toBeLessThan(1e-5);
      }
    } finally {
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      target.dispose();
      targetWeight.dispose();
    }
  });
});

it('the model loaded from after_adam_step.pth gives the official eval heatmaps', () => {
  const model = buildModel('after_adam_step.pth');
  const x = nhwcFromNchw(fixture('x.f32'), manifest.tensors.x.shape);
  try {
    const y = model.predict(x);
    expect(relL2(nchwData(y), fixture('out_eval_after_step.f32'))).toBeLessThan(1e-4);
    y.dispose();
  } finally {
    model.dispose();
    x.dispose();
  }
});

/**
 * Gradients of every parameter of a small HRNet (the fixture's architecture with narrower stages
 * and a 64×64 input, so the pure-JS cpu backend stays quick) on the current backend, PyTorch layout.
 */
function smallModelGradients(): Record<string, Float32Array> {
  const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'), [
    'MODEL.IMAGE_SIZE=[64,64]',
    'MODEL.HEATMAP_SIZE=[16,16]',
    'MODEL.EXTRA.STAGE3.NUM_MODULES=1',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[4,8]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[4,8,16]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[4,8,16,32]',
  ]);
  const model = createPoseHRNet(config);
  // Official parity weights for the shared stem and layer1; the rest keeps its seeded init.
  loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')), { strict: false, prefixes: ['conv1', 'bn1', 'conv2', 'bn2', 'layer1'] });
  const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  const target = tf.randomUniform([2, 16, 16, 17], 0, 1, 'float32', 12) as tf.Tensor4D;
  const targetWeight = tf.ones([2, 17]) as tf.Tensor2D;
  const nameOf = new Map(model.params.parameters().map((e) => [e.variable.name, e.name]));
  try {
    const { value, grads } = tf.variableGrads(() => jointsMseLoss(model.forward(x, { training: true }), target, targetWeight, true));
    const out: Record<string, Float32Array> = {};
    for (const [v, g] of Object.entries(grads)) out[nameOf.get(v) as string] = new Float32Array(torchData(g));
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    model.dispose();
    tf.dispose([x, target, targetWeight]);
  }
}

(TEST_BACKEND === 'cpu' ? it.skip : it)(`training gradients on ${TEST_BACKEND} equal the cpu backend's`, async () => {
  // Skipped only when the suite itself runs on cpu: there is nothing to compare then.
  const onFallback = smallModelGradients();
  await initBackend({ preferred: 'cpu', quiet: true });
  try {
    const onCpu = smallModelGradients();
    expect(Object.keys(onFallback).sort()).toEqual(Object.keys(onCpu).sort());
    for (const key of Object.keys(onCpu)) expect(relL2(onFallback[key], onCpu[key])).toBeLessThan(1e-4);
  } finally {
    await useTestBackend();
  }
});

import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { jointsMseLoss, jointsOhkmMseLoss } from '../../src/train/loss';
import { FixtureArray, PARITY_DIR, readF32, readFixtureJson } from '../helpers/fixtures';

interface LossCase {
  inputs: {
    output: FixtureArray;
    target: FixtureArray;
    target_weight: FixtureArray;
    use_target_weight: boolean;
    topk?: number;
  };
  expected: { loss: number };
}

interface LossFixture {
  function: string;
  cases: LossCase[];
}

interface ParityManifest {
  values: { loss: number };
  tensors: Record<string, { file: string; shape: number[] }>;
}

/** NCHW fixture heatmaps `[N, K, H, W]` → NHWC tensor `[N, H, W, K]`. */
function nhwc(a: FixtureArray): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(Float32Array.from(a.data), a.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

const LOSS_REL = 1e-5;

describe('jointsMseLoss', () => {
  const fixture = readFixtureJson<LossFixture>('pipeline/joints_mse_loss.json');

  it.each(fixture.cases.map((c, i) => [i, c] as const))('matches JointsMSELoss case %i', (_i, c) => {
    const output = nhwc(c.inputs.output);
    const target = nhwc(c.inputs.target);
    const weight = tf.tensor(Float32Array.from(c.inputs.target_weight.data), c.inputs.target_weight.shape);
    try {
      const before = tf.memory().numTensors;
      const loss = jointsMseLoss(output, target, weight, c.inputs.use_target_weight);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(loss.shape).toEqual([]);
      expect(relErr(loss.dataSync()[0], c.expected.loss)).toBeLessThan(LOSS_REL);
      loss.dispose();
    } finally {
      tf.dispose([output, target, weight]);
    }
  });

  it('accepts target weights [N, K] and [N, K, 1] alike', () => {
    const c = fixture.cases.find((x) => x.inputs.use_target_weight) as LossCase;
    const [n, k] = c.inputs.target_weight.shape;
    const output = nhwc(c.inputs.output);
    const target = nhwc(c.inputs.target);
    const w3 = tf.tensor3d(Float32Array.from(c.inputs.target_weight.data), [n, k, 1]);
    const w2 = tf.tensor2d(Float32Array.from(c.inputs.target_weight.data), [n, k]);
    try {
      const a = jointsMseLoss(output, target, w3, true);
      const b = jointsMseLoss(output, target, w2, true);
      expect(b.dataSync()[0]).toBe(a.dataSync()[0]);
      tf.dispose([a, b]);
    } finally {
      tf.dispose([output, target, w3, w2]);
    }
  });

  it('ignores the weights when useTargetWeight is false', () => {
    const c = fixture.cases.find((x) => !x.inputs.use_target_weight) as LossCase;
    const output = nhwc(c.inputs.output);
    const target = nhwc(c.inputs.target);
    const zeros = tf.zeros(c.inputs.target_weight.shape);
    try {
      const loss = jointsMseLoss(output, target, zeros, false);
      expect(relErr(loss.dataSync()[0], c.expected.loss)).toBeLessThan(LOSS_REL);
      loss.dispose();
    } finally {
      tf.dispose([output, target, zeros]);
    }
  });

  it('matches the parity loss of the official model output (out_train)', () => {
    const manifest = readFixtureJson<ParityManifest>('parity/w8_coco_128x96/manifest.json');
    const t = manifest.tensors;
    const load = (name: string): FixtureArray => ({
      dtype: 'float32',
      shape: t[name].shape,
      data: Array.from(readF32(path.join(PARITY_DIR, t[name].file))),
    });
    const output = nhwc(load('out_train'));
    const target = nhwc(load('target'));
    const tw = load('target_weight');
    const weight = tf.tensor(Float32Array.from(tw.data), tw.shape);
    try {
      const loss = jointsMseLoss(output, target, weight, true);
      expect(relErr(loss.dataSync()[0], manifest.values.loss)).toBeLessThan(LOSS_REL);
      loss.dispose();
    } finally {
      tf.dispose([output, target, weight]);
    }
  });

  it('is differentiable: d loss / d output = w² (pred − gt) / (N·H·W·K)', () => {
    const c = fixture.cases.find((x) => x.inputs.use_target_weight) as LossCase;
    const output = nhwc(c.inputs.output);
    const target = nhwc(c.inputs.target);
    const weight = tf.tensor(Float32Array.from(c.inputs.target_weight.data), c.inputs.target_weight.shape);
    try {
      const before = tf.memory().numTensors;
      const g = tf.grad((o: tf.Tensor) => jointsMseLoss(o, target, weight, true))(output);
      expect(tf.memory().numTensors).toBe(before + 1);
      const [n, h, w, k] = output.shape;
      const pred = output.dataSync();
      const gt = target.dataSync();
      const tw = weight.dataSync();
      const grad = g.dataSync();
      let maxRel = 0;
      for (let i = 0; i < pred.length; i++) {
        const joint = i % k;
        const sample = Math.floor(i / (h * w * k));
        const wi = tw[sample * k + joint];
        const expected = (wi * wi * (pred[i] - gt[i])) / (n * h * w * k);
        maxRel = Math.max(maxRel, Math.abs(grad[i] - expected) / Math.max(Math.abs(expected), 1e-12));
      }
      expect(maxRel).toBeLessThan(1e-5);
      g.dispose();
    } finally {
      tf.dispose([output, target, weight]);
    }
  });

  it('rejects mismatched shapes with a message naming the argument', () => {
    const a = tf.zeros([2, 4, 3, 5]);
    const b = tf.zeros([2, 4, 3, 4]);
    const w = tf.ones([2, 4]);
    try {
      expect(() => jointsMseLoss(a, b, w, true)).toThrow(/target must have the shape of output/);
      expect(() => jointsMseLoss(a, a, w, true)).toThrow(/targetWeight must be \[N, K\]/);
    } finally {
      tf.dispose([a, b, w]);
    }
  });
});

describe('jointsOhkmMseLoss', () => {
  const fixture = readFixtureJson<LossFixture>('pipeline/joints_ohkm_mse_loss.json');

  it.each(fixture.cases.map((c, i) => [i, c] as const))('matches JointsOHKMMSELoss case %i', (_i, c) => {
    const output = nhwc(c.inputs.output);
    const target = nhwc(c.inputs.target);
    const weight = tf.tensor(Float32Array.from(c.inputs.target_weight.data), c.inputs.target_weight.shape);
    try {
      const before = tf.memory().numTensors;
      const loss = jointsOhkmMseLoss(output, target, weight, c.inputs.use_target_weight, c.inputs.topk);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(loss.shape).toEqual([]);
      expect(relErr(loss.dataSync()[0], c.expected.loss)).toBeLessThan(LOSS_REL);
      loss.dispose();
    } finally {
      tf.dispose([output, target, weight]);
    }
  });

  it('is differentiable: the gradient reaches only the top-k joints of each sample', () => {
    const c = fixture.cases.find((x) => x.inputs.output.shape[0] > 1 && x.inputs.use_target_weight) as LossCase;
    const topk = c.inputs.topk ?? 8;
    const output = nhwc(c.inputs.output);
    const target = nhwc(c.inputs.target);
    const weight = tf.tensor(Float32Array.from(c.inputs.target_weight.data), c.inputs.target_weight.shape);
    try {
      const before = tf.memory().numTensors;
      const g = tf.grad((o: tf.Tensor) => jointsOhkmMseLoss(o, target, weight, true, topk))(output);
      expect(tf.memory().numTensors).toBe(before + 1);
      const [n, h, w, k] = output.shape;
      const pred = output.dataSync();
      const gt = target.dataSync();
      const tw = weight.dataSync();
      const grad = g.dataSync();
      // per-joint losses, to know which joints are selected
      const perJoint = new Float64Array(n * k);
      for (let i = 0; i < pred.length; i++) {
        const joint = i % k;
        const sample = Math.floor(i / (h * w * k));
        const d = tw[sample * k + joint] * (pred[i] - gt[i]);
        perJoint[sample * k + joint] += (0.5 * d * d) / (h * w);
      }
      let maxRel = 0;
      for (let s = 0; s < n; s++) {
        const row = Array.from(perJoint.subarray(s * k, (s + 1) * k));
        const kth = [...row].sort((a, b) => b - a)[topk - 1];
        for (let i = s * h * w * k; i < (s + 1) * h * w * k; i++) {
          const joint = i % k;
          const wi = tw[s * k + joint];
          const selected = row[joint] >= kth;
          const expected = selected ? (wi * wi * (pred[i] - gt[i])) / (h * w * topk * n) : 0;
          maxRel = Math.max(maxRel, Math.abs(grad[i] - expected) / Math.max(Math.abs(expected), 1e-12));
        }
      }
      expect(maxRel).toBeLessThan(1e-5);
      g.dispose();
    } finally {
      tf.dispose([output, target, weight]);
    }
  });

  it('rejects a topk larger than the joint count', () => {
    const a = tf.zeros([1, 4, 3, 5]);
    const w = tf.ones([1, 5, 1]);
    try {
      expect(() => jointsOhkmMseLoss(a, a, w, true, 6)).toThrow(/topk must be an integer in \[1, 5\]/);
    } finally {
      tf.dispose([a, w]);
    }
  });
});

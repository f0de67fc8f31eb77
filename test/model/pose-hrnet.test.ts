import * as tf from '@tensorflow/tfjs';
import { PoseHRNet } from '../../src/model/pose-hrnet';
import { defaultConfig, type ModelExtra } from '../../src/config/schema';
import { readFixtureJson } from '../helpers/fixtures';
import { useTestBackend } from '../helpers/backend';

beforeAll(async () => {
  await useTestBackend();
});

interface ArchFixture {
  image_size_wh: [number, number];
  num_joints: number;
  /** The official pose code has no STAGE1 (layer1 is hard-coded). */
  extra: Omit<ModelExtra, 'PRETRAINED_LAYERS' | 'STAGE1'>;
  num_parameters: number;
  macs_per_image: number;
  parameters_by_top_module: Record<string, number>;
  macs_by_top_module: Record<string, number>;
  output_shape_nchw: number[];
  state_dict: { key: string; shape: number[]; kind: string }[];
}

/** PyTorch layout of a variable's shape: conv kernels [kh, kw, in, out] → [out, in, kh, kw]. */
function torchShape(shape: number[]): number[] {
  return shape.length === 4 ? [shape[3], shape[2], shape[0], shape[1]] : shape;
}

describe.each(['w32_256x192', 'w48_384x288'])('PoseHRNet architecture %s', (name) => {
  const arch = readFixtureJson<ArchFixture>(`arch/${name}.json`);
  let model: PoseHRNet;

  beforeAll(() => {
    model = new PoseHRNet({
      NUM_JOINTS: arch.num_joints,
      IMAGE_SIZE: arch.image_size_wh,
      // The official pose code hard-codes layer1; here it is STAGE1, whose default is that layer1.
      EXTRA: { PRETRAINED_LAYERS: ['*'], STAGE1: defaultConfig().MODEL.EXTRA.STAGE1, ...arch.extra },
    }, { initWeights: false });
  });
  afterAll(() => model.dispose());

  it('has the official state-dict keys in the official order, with the official shapes', () => {
    expect(model.params.keys()).toEqual(arch.state_dict.map((e) => e.key));
    for (const e of arch.state_dict) {
      if (model.params.hasCounter(e.key)) {
        expect(e.shape).toEqual([]);
        continue;
      }
      const entry = model.params.list().find((p) => p.name === e.key);
      expect(entry?.kind).toBe(e.kind);
      expect(torchShape(model.params.get(e.key).shape)).toEqual(e.shape);
    }
  });

  it('counts the official parameters and multiply-accumulates', () => {
    expect(model.countParameters()).toBe(arch.num_parameters);
    const byTop: Record<string, number> = {};
    for (const e of model.params.parameters()) {
      const top = e.name.split('.')[0];
      byTop[top] = (byTop[top] ?? 0) + e.variable.size;
    }
    expect(byTop).toEqual(arch.parameters_by_top_module);
    const macs = model.countMacs();
    expect(macs.total).toBe(arch.macs_per_image);
    expect(macs.byTopModule).toEqual(arch.macs_by_top_module);
  });
});

describe('PoseHRNet on other configurations', () => {
  const stage = (n: number, block: 'BASIC' | 'BOTTLENECK', modules: number, blocks: number, base: number) => ({
    NUM_MODULES: modules,
    NUM_BRANCHES: n,
    BLOCK: block,
    NUM_BLOCKS: Array(n).fill(blocks),
    NUM_CHANNELS: Array.from({ length: n }, (_, i) => base * 2 ** i),
    FUSE_METHOD: 'SUM' as const,
  });

  /** One module of one block per stage: a bottleneck layer1 of `planes`, branches from `width`. */
  const tinyExtra = (planes: number, width: number): ModelExtra => ({
    PRETRAINED_LAYERS: ['*'],
    FINAL_CONV_KERNEL: 1,
    STAGE1: stage(1, 'BOTTLENECK', 1, 1, planes),
    STAGE2: stage(2, 'BASIC', 1, 1, width),
    STAGE3: stage(3, 'BASIC', 1, 1, width),
    STAGE4: stage(4, 'BASIC', 1, 1, width),
  });

  it('builds a STAGE1 of basic blocks, bottleneck stages, a 3×3 final conv, any joint count and input size', () => {
    const model = new PoseHRNet({
      NUM_JOINTS: 21,
      IMAGE_SIZE: [64, 96],
      EXTRA: {
        PRETRAINED_LAYERS: ['*'],
        FINAL_CONV_KERNEL: 3,
        STAGE1: stage(1, 'BASIC', 1, 2, 32),
        STAGE2: stage(2, 'BOTTLENECK', 1, 1, 4),
        STAGE3: stage(3, 'BASIC', 2, 1, 4),
        STAGE4: stage(4, 'BASIC', 2, 2, 4),
      },
    });
    try {
      const x = tf.zeros([2, 96, 64, 3]) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const y = model.predict(x);
      expect(y.shape).toEqual([2, 24, 16, 21]);
      y.dispose();
      x.dispose();
      expect(tf.memory().numTensors).toBe(before - 1);
      expect(model.params.get('final_layer.weight').shape).toEqual([3, 3, 4, 21]);
      // layer1 from STAGE1: two basic blocks of 32 channels, the first projecting the stem's 64.
      expect(model.params.get('layer1.1.conv2.weight').shape).toEqual([3, 3, 32, 32]);
      expect(model.params.hasVariable('layer1.0.downsample.0.weight')).toBe(true);
      expect(model.params.hasVariable('layer1.0.conv3.weight')).toBe(false);
      expect(model.params.hasVariable('layer1.2.conv1.weight')).toBe(false);
      // Bottleneck branches expand ×4: stage 2 outputs 16 and 32 channels, so transition2 adapts.
      expect(model.params.hasVariable('stage2.0.branches.0.0.conv3.weight')).toBe(true);
      expect(model.params.hasVariable('transition2.0.0.weight')).toBe(true);
      // Only the last module of stage 4 keeps just the highest-resolution fuse.
      expect(model.params.hasVariable('stage4.0.fuse_layers.3.0.0.0.weight')).toBe(true);
      expect(model.params.hasVariable('stage4.1.fuse_layers.1.0.0.0.weight')).toBe(false);
      expect(model.params.hasVariable('stage4.1.fuse_layers.0.3.0.weight')).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('builds without drawing initial weights when they are loaded next (initWeights: false)', () => {
    const extra = tinyExtra(8, 2);
    const empty = new PoseHRNet({ NUM_JOINTS: 3, IMAGE_SIZE: [32, 32], EXTRA: extra }, { initWeights: false });
    const drawn = new PoseHRNet({ NUM_JOINTS: 3, IMAGE_SIZE: [32, 32], EXTRA: extra }, { seed: 1 });
    try {
      expect(empty.params.keys()).toEqual(drawn.params.keys());
      expect(Array.from(empty.params.get('layer1.0.conv2.weight').dataSync()).every((v) => v === 0)).toBe(true);
      expect(Array.from(drawn.params.get('layer1.0.conv2.weight').dataSync()).some((v) => v !== 0)).toBe(true);
      expect(Array.from(empty.params.get('bn1.weight').dataSync()).every((v) => v === 1)).toBe(true);
    } finally {
      empty.dispose();
      drawn.dispose();
    }
  });

  it('draws conv weights as the official N(0, 0.001²) by default and as He normal (fan-out) with CONV_INIT kaiming', () => {
    const extra = tinyExtra(16, 8);
    const official = new PoseHRNet({ NUM_JOINTS: 5, IMAGE_SIZE: [32, 32], EXTRA: extra }, { seed: 3 });
    const kaiming = new PoseHRNet({ NUM_JOINTS: 5, IMAGE_SIZE: [32, 32], EXTRA: extra, CONV_INIT: 'kaiming' }, { seed: 3 });
    const std = (model: PoseHRNet, key: string): number => {
      const v = model.params.get(key).dataSync();
      let s = 0;
      for (const x of v) s += x * x;
      return Math.sqrt(s / v.length);
    };
    try {
      // conv2 of the stem: 3×3, 64 → 64 (36,864 draws); He fan-out std = √(2 / (9·64)).
      expect(std(official, 'conv2.weight')).toBeCloseTo(0.001, 4);
      expect(std(kaiming, 'conv2.weight') / Math.sqrt(2 / (9 * 64))).toBeCloseTo(1, 1);
      // A 1×1 conv of layer1 (16 → 64 outputs): √(2 / 64).
      expect(std(kaiming, 'layer1.0.conv3.weight') / Math.sqrt(2 / 64)).toBeCloseTo(1, 1);
      // The output layer has no BatchNorm after it: it keeps the official std either way.
      expect(std(kaiming, 'final_layer.weight')).toBeCloseTo(0.001, 3);
      // Same draws, another scale: the seed stream is shared.
      const a = official.params.get('conv1.weight').dataSync();
      const b = kaiming.params.get('conv1.weight').dataSync();
      const ratio = Math.sqrt(2 / (9 * 64)) / 0.001;
      for (let i = 0; i < 10; i++) expect(b[i]).toBeCloseTo(a[i] * ratio, 4);
    } finally {
      official.dispose();
      kaiming.dispose();
    }
  });

  it('rejects an input size that is not a multiple of 32', () => {
    const model = new PoseHRNet({
      NUM_JOINTS: 3,
      IMAGE_SIZE: [32, 32],
      EXTRA: {
        PRETRAINED_LAYERS: ['*'],
        FINAL_CONV_KERNEL: 1,
        STAGE1: stage(1, 'BOTTLENECK', 1, 4, 64),
        STAGE2: stage(2, 'BASIC', 1, 1, 2),
        STAGE3: stage(3, 'BASIC', 1, 1, 2),
        STAGE4: stage(4, 'BASIC', 1, 1, 2),
      },
    });
    try {
      expect(() => model.predict(tf.zeros([1, 48, 32, 3]))).toThrow(/divisible by 32/);
    } finally {
      model.dispose();
    }
  });
});

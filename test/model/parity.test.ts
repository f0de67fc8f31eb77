/**
 * Full-model parity with the official PyTorch implementation on the suite's backend: eval and train
 * forwards, BatchNorm running statistics, the joint-weighted MSE, gradients and one Adam step, from
 * both `.pth` formats of `w8_coco_128x96`, and the same on `w8_coco_128x96_stable` (whose input no
 * summation order can flip a ReLU on: every backend's gradients are held to it). Tolerances are the
 * fixture README's. `parity-webgpu.test.ts` runs the same checks on the WebGPU backend.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { readPth } from '../../src/io/pth';
import { loadStateDict, modelStateDict } from '../../src/io/state-dict';
import { jointsMseLoss } from '../../src/train/loss';
import { PARITY_DIR, maxAbsDiff, relL2 } from '../helpers/fixtures';
import { ParityFixture, expectEvalHeatmaps, expectTrainStep, torchData } from '../helpers/parity';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';
import { initBackend } from '../../src/backend/select';

const fixture = new ParityFixture('w8_coco_128x96');
const stable = new ParityFixture('w8_coco_128x96_stable');

beforeAll(async () => {
  await useTestBackend();
});

describe.each(['weights.pth', 'weights_legacy.pth'])('parity with the official model (%s)', (weights) => {
  it('loads every tensor bit-exactly', async () => {
    const model = fixture.model(weights);
    try {
      const dict = readPth(path.join(PARITY_DIR, weights));
      const back = await modelStateDict(model);
      expect(Object.keys(back)).toEqual(Object.keys(dict));
      for (const [k, t] of Object.entries(dict)) {
        expect(back[k].shape).toEqual(t.shape);
        if (t.dtype === 'int64') expect(back[k].data[0]).toBe(t.data[0]);
        else expect(maxAbsDiff(back[k].data as Float32Array, t.data as Float32Array)).toBe(0);
      }
    } finally {
      model.dispose();
    }
  });

  it('eval-mode heatmaps match', async () => {
    const model = fixture.model(weights);
    try {
      await expectEvalHeatmaps(fixture, model);
    } finally {
      model.dispose();
    }
  });

  it('train-mode forward, BN statistics, loss, gradients and one Adam step match', async () => {
    const model = fixture.model(weights);
    try {
      await expectTrainStep(fixture, model, { adamStep: true });
    } finally {
      model.dispose();
    }
  });
});

it('the model loaded from after_adam_step.pth gives the official eval heatmaps', async () => {
  const model = fixture.model('after_adam_step.pth');
  try {
    await expectEvalHeatmaps(fixture, model, 'out_eval_after_step.f32');
  } finally {
    model.dispose();
  }
});

describe(`parity on the stable fixture (${TEST_BACKEND})`, () => {
  it('eval-mode heatmaps match, before and after the official Adam step', async () => {
    for (const [weights, want] of [['weights.pth', 'out_eval.f32'], ['after_adam_step.pth', 'out_eval_after_step.f32']]) {
      const model = stable.model(weights);
      try {
        await expectEvalHeatmaps(stable, model, want);
      } finally {
        model.dispose();
      }
    }
  });

  it('train-mode forward, BN statistics, loss, every gradient and one Adam step match', async () => {
    const model = stable.model();
    try {
      await expectTrainStep(stable, model, { adamStep: true });
    } finally {
      model.dispose();
    }
  });
});

/**
 * Gradients of every parameter of a small HRNet (the fixture's architecture with narrower stages
 * and a 64×64 input, so the pure-JS cpu backend stays quick) on the current backend, PyTorch layout.
 */
async function smallModelGradients(): Promise<Record<string, Float32Array>> {
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
    for (const [v, g] of Object.entries(grads)) out[nameOf.get(v) as string] = new Float32Array(await torchData(g));
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    model.dispose();
    tf.dispose([x, target, targetWeight]);
  }
}

/** The backend whose gradients are held to the cpu backend's: the suite's, or wasm when the suite runs on cpu. */
const COMPARED_BACKEND = TEST_BACKEND === 'cpu' ? 'wasm' : TEST_BACKEND;

it(`training gradients on ${COMPARED_BACKEND} equal the cpu backend's`, async () => {
  await initBackend({ preferred: COMPARED_BACKEND, quiet: true });
  try {
    const onCompared = await smallModelGradients();
    await initBackend({ preferred: 'cpu', quiet: true });
    const onCpu = await smallModelGradients();
    expect(Object.keys(onCompared).sort()).toEqual(Object.keys(onCpu).sort());
    for (const key of Object.keys(onCpu)) expect(relL2(onCompared[key], onCpu[key])).toBeLessThan(1e-4);
  } finally {
    await useTestBackend();
  }
});

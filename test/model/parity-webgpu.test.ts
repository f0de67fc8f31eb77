/**
 * Full-model parity with the official PyTorch implementation on the WebGPU backend (Dawn's Node
 * bindings; on machines without a GPU, the SwiftShader Vulkan driver that `npm install` brings): eval
 * and train heatmaps, BatchNorm statistics, the loss, every gradient and one Adam step against the
 * official fixtures, at the fixture README's tolerances.
 *
 * The gradients are held to `grads.pth` of `w8_coco_128x96_stable`. That fixture has a ReLU input within
 * float32 noise of zero (after `stage3.1.branches.0.0.bn1`, −6.5e-6 on the cpu backend, +5.1e-6 on WASM),
 * so a backend whose BatchNorm sums in another order can flip it and move every gradient before it by
 * 1–2.4e-2. WebGPU's train-mode BatchNorm (batch-norm-webgpu.ts) sums in the order of the WASM backend's,
 * which keeps PyTorch's sign there.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { disposeWebGpuBackend } from '../../src/backend/webgpu';
import { ParityFixture, expectEvalHeatmaps, expectTrainStep } from '../helpers/parity';

const stable = new ParityFixture('w8_coco_128x96_stable');
const fixture = new ParityFixture('w8_coco_128x96');

beforeAll(async () => {
  tf.env().set('PROD', true);
  const info = await initBackend({ preferred: 'webgpu', quiet: true });
  expect(info.adapter).toBeDefined();
}, 120000);
afterAll(() => disposeWebGpuBackend());

it('computes on the webgpu backend', () => {
  expect(tf.getBackend()).toBe('webgpu');
});

it('eval-mode heatmaps match on both fixtures, and after the official Adam step', async () => {
  for (const [fx, weights, want] of [
    [stable, 'weights.pth', 'out_eval.f32'],
    [stable, 'after_adam_step.pth', 'out_eval_after_step.f32'],
    [fixture, 'weights.pth', 'out_eval.f32'],
  ] as const) {
    const model = fx.model(weights);
    try {
      await expectEvalHeatmaps(fx, model, want);
    } finally {
      model.dispose();
    }
  }
}, 900000);

it('train-mode heatmaps, BN statistics, loss, every gradient and the Adam step on them match the official ones', async () => {
  const model = stable.model();
  try {
    await expectTrainStep(stable, model, { adamStep: true });
  } finally {
    model.dispose();
  }
}, 900000);

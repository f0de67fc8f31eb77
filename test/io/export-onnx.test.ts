/**
 * ONNX export: the model file runs in onnxruntime (`onnxruntime-web`, in a Node child process) and
 * gives the project's own heatmaps (`model.predict`, NCHW) and the official eval output, both to the
 * fixture README's `out_eval` tolerance (one network computed by another float32 implementation);
 * the batch is dynamic; the file holds the ONNX fields it should (opset, NCHW input and output shapes,
 * initializers under the official keys, the meta and its decoding).
 *
 * The parity weights are random and their heatmaps peak near 28: there onnxruntime and this project
 * differ by about 3e-4 max abs (1.2e-5 of the peak), as PyTorch and this project do (3.2e-4), so a
 * 1e-5 absolute bound holds only for outputs of about unit size or below; the relative distance to the
 * peak is checked against 2e-5. A W32 256×192 network conditioned as a trained one is (BatchNorm
 * running statistics from train-mode passes over COCO images, an output layer giving heatmaps that
 * peak at 1) is held to 1e-5 max abs on those images.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { normalizeImage } from '../../src/data/image';
import type { Config } from '../../src/config/schema';
import { HrnetExportMeta, ONNX_FILE, exportModel } from '../../src/io/export';
import { ONNX_OPSET, buildOnnxModel } from '../../src/io/export-onnx';
import { onnxModelProto } from '../../src/io/onnx-schema';
import { readPth } from '../../src/io/pth';
import { loadStateDict } from '../../src/io/state-dict';
import { PoseHRNet, createPoseHRNet } from '../../src/model/pose-hrnet';
import { useTestBackend } from '../helpers/backend';
import { PARITY_DIR, SHARED_DIR, maxAbsDiff, readF32, readFixtureJson, relL2 } from '../helpers/fixtures';
import { runOnnxModel } from '../helpers/onnxruntime';

/** Largest onnxruntime-vs-project difference, relative to the largest heatmap value. */
const ORT_MAX_ABS_OF_PEAK = 2e-5;
/** The bound on onnxruntime vs this project, for heatmaps of unit size. */
const ORT_MAX_ABS = 1e-5;
/** Fixture README, `out_eval`. */
const OUT_EVAL_TOLERANCE = { relL2: 1e-4, maxAbs: 1e-3 };

interface ParityManifest {
  tensors: Record<string, { shape: number[] }>;
}
const parityManifest = readFixtureJson<ParityManifest>('parity/w8_coco_128x96/manifest.json');

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-onnx-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function parityModel(): { model: PoseHRNet; config: Config } {
  const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
  const model = createPoseHRNet(config);
  loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')), { strict: true });
  return { model, config };
}

/** The project's heatmaps of NCHW images `[N, 3, H, W]`, as NCHW `[N, K, H/4, W/4]`. */
async function projectHeatmaps(model: PoseHRNet, nchw: tf.Tensor4D): Promise<Float32Array> {
  const y = tf.tidy(() => tf.transpose(model.predict(tf.transpose(nchw, [0, 2, 3, 1]) as tf.Tensor4D), [0, 3, 1, 2]));
  try {
    return (await y.data()) as Float32Array;
  } finally {
    y.dispose();
  }
}

/** onnxruntime's output of the model file on NCHW images. */
async function runOnnx(file: string, nchw: tf.Tensor4D): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const run = await runOnnxModel(file, (await nchw.data()) as Float32Array, nchw.shape);
  expect(run.output).toBe('heatmaps');
  return run;
}

describe('ONNX export', () => {
  it('runs in onnxruntime and matches the project heatmaps and the official output; batch is dynamic', async () => {
    const { model, config } = parityModel();
    const result = await exportModel(model, dir, config, { format: 'onnx' });
    expect(result.files).toEqual([ONNX_FILE, 'hrnet-meta.json']);
    const file = path.join(dir, ONNX_FILE);

    const shape = parityManifest.tensors.x.shape as [number, number, number, number];
    const x = tf.tensor4d(readF32(path.join(PARITY_DIR, 'x.f32')), shape);
    const onnx = await runOnnx(file, x);
    expect(onnx.dims).toEqual([2, 17, 32, 24]);
    const ours = await projectHeatmaps(model, x);
    const official = readF32(path.join(PARITY_DIR, 'out_eval.f32'));
    const diff = maxAbsDiff(onnx.data, ours);
    const peak = ours.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    console.log(
      `onnxruntime vs model.predict: max abs ${diff.toExponential(2)} (peak ${peak.toFixed(1)}), rel L2 ${relL2(onnx.data, ours).toExponential(2)}; ` +
        `vs PyTorch out_eval: max abs ${maxAbsDiff(onnx.data, official).toExponential(2)}`,
    );
    expect(relL2(onnx.data, ours)).toBeLessThan(OUT_EVAL_TOLERANCE.relL2);
    expect(diff).toBeLessThan(OUT_EVAL_TOLERANCE.maxAbs);
    expect(diff / peak).toBeLessThanOrEqual(ORT_MAX_ABS_OF_PEAK);
    expect(relL2(onnx.data, official)).toBeLessThan(OUT_EVAL_TOLERANCE.relL2);
    expect(maxAbsDiff(onnx.data, official)).toBeLessThan(OUT_EVAL_TOLERANCE.maxAbs);

    // One image: the same file takes another batch size and gives that image's heatmaps.
    const one = tf.slice(x, [1, 0, 0, 0], [1, ...shape.slice(1)]) as tf.Tensor4D;
    const single = await runOnnx(file, one);
    expect(single.dims).toEqual([1, 17, 32, 24]);
    expect(maxAbsDiff(single.data, onnx.data.subarray(onnx.data.length / 2))).toBe(0);
    tf.dispose([x, one]);
    model.dispose();
  }, 60000);

  it('runs a W32 256×192 network in onnxruntime within 1e-5 of the project on COCO images', async () => {
    const config = loadConfig('configs/coco/w32_256x192.yaml');
    const model = createPoseHRNet(config, { seed: 5 });
    const [w, h] = config.MODEL.IMAGE_SIZE;
    const files = ['000000000785.jpg', '000000040083.jpg'].map((f) => path.join(SHARED_DIR, 'data', 'coco', f));
    const pixels = new Float32Array(files.length * h * w * 3);
    for (const [i, f] of files.entries()) {
      normalizeImage(await sharp(f).resize(w, h, { fit: 'fill' }).removeAlpha().raw().toBuffer(), pixels, i * h * w * 3);
    }
    const nhwc = tf.tensor4d(pixels, [files.length, h, w, 3]);
    const nchw = tf.transpose(nhwc, [0, 3, 1, 2]) as tf.Tensor4D;
    try {
      // Running statistics of these images (momentum 0.1: 10 passes move them 65% of the way from the init's 0 and 1).
      for (let i = 0; i < 10; i++) tf.tidy(() => void model.forward(nhwc, { training: true }));
      const peak = tf.tidy(() => tf.max(tf.abs(model.predict(nhwc))));
      const scale = (await peak.data())[0];
      peak.dispose();
      for (const e of model.params.list().filter((p) => p.name.startsWith('final_layer.'))) e.variable.assign(tf.tidy(() => tf.div(e.variable, scale)));
      const out = path.join(dir, 'w32');
      await exportModel(model, out, config, { format: 'onnx' });
      const onnx = await runOnnx(path.join(out, ONNX_FILE), nchw);
      expect(onnx.dims).toEqual([2, 17, 64, 48]);
      const ours = await projectHeatmaps(model, nchw);
      const top = ours.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const diff = maxAbsDiff(onnx.data, ours);
      console.log(`W32 256×192: onnxruntime vs model.predict: max abs ${diff.toExponential(2)} (peak ${top.toFixed(3)})`);
      expect(top).toBeCloseTo(1, 5);
      expect(diff).toBeLessThanOrEqual(ORT_MAX_ABS);
    } finally {
      tf.dispose([nhwc, nchw]);
      model.dispose();
    }
  }, 300000);

  it('holds opset, NCHW shapes with a symbolic batch, official initializer names and the meta', async () => {
    const { model } = parityModel();
    const dark = loadConfig(path.join(PARITY_DIR, 'config.yaml'), ['TEST.DECODE=dark', 'TEST.FLIP_TEST=false']);
    const out = path.join(dir, 'dark');
    const result = await exportModel(model, out, dark, { format: 'onnx' });
    const proto = onnxModelProto();
    const decoded = proto.toObject(proto.decode(fs.readFileSync(path.join(out, ONNX_FILE))), { longs: Number }) as {
      opset_import: { domain?: string; version: number }[];
      graph: {
        input: { name: string; type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } } }[];
        output: { name: string; type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } } }[];
        initializer: { name: string; dims: number[] }[];
        node: { op_type: string }[];
      };
      metadata_props: { key: string; value: string }[];
    };
    expect(decoded.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(ONNX_OPSET).toBeGreaterThanOrEqual(13);
    const dims = (v: { type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } } }) =>
      v.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value);
    expect(decoded.graph.input.map((v) => [v.name, dims(v)])).toEqual([['input', ['N', 3, 128, 96]]]);
    expect(decoded.graph.output.map((v) => [v.name, dims(v)])).toEqual([['heatmaps', ['N', 17, 32, 24]]]);
    // Every weight under its official state-dict key, conv kernels OIHW.
    const init = new Map(decoded.graph.initializer.map((t) => [t.name, t.dims]));
    for (const e of model.params.list()) {
      const s = e.variable.shape;
      expect(init.get(e.name)).toEqual(s.length === 4 ? [s[3], s[2], s[0], s[1]] : s);
    }
    expect(new Set(decoded.graph.node.map((n) => n.op_type))).toEqual(new Set(['Conv', 'BatchNormalization', 'Relu', 'Add', 'Sum', 'Resize']));
    const props = new Map(decoded.metadata_props.map((p) => [p.key, p.value]));
    const meta = JSON.parse(props.get('hrnet') as string) as HrnetExportMeta;
    expect(meta).toEqual(result.meta);
    expect(meta.layout).toBe('NCHW');
    expect(meta.modelFile).toBe(ONNX_FILE);
    expect(JSON.parse(props.get('decode') as string)).toMatchObject({ method: 'dark', blurKernel: 11, flipTest: false, postProcess: true });
    model.dispose();
  }, 60000);

  it('refuses an input size that is not a multiple of 32', async () => {
    const { model } = parityModel();
    await expect(buildOnnxModel(model, { inputSize: [100, 64] })).rejects.toThrow(/multiples of 32, got \[100, 64\]/);
    model.dispose();
  });
});

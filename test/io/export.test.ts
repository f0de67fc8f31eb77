/**
 * Export to a stock TF.js layers model: the layers graph reproduces the official eval output
 * (`out_eval`, README tolerances) and `model.predict` on the parity weights, and `model.predict` on a
 * 3×3-final-conv / Bottleneck / 21-joint network; the files on disk reload to the same outputs;
 * `hrnet-meta.json` carries the config's geometry and keypoint meta; the CLI writes the same; and
 * headless Chromium (the npm package's) with only the stock TF.js bundles reproduces the official output
 * on the cpu, WebGL and WebGPU backends.
 *
 * Layers model vs `model.predict`: the stock BatchNormalization computes `(x − mean)·γ/√(var+ε) + β`,
 * the model `x·s + (β − mean·s)`; the two round differently by about one float32 ulp per BN, so the
 * outputs agree at the float32 floor, not bit for bit (on the parity weights 7e-6 rel L2, like the
 * model's own distance to PyTorch; on the random Bottleneck network 2.2e-5, the distance between
 * `model.predict` on the cpu and wasm backends). Outputs are therefore compared at the fixture
 * README's `out_eval` tolerance, and the weights themselves are checked bit for bit.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import yargs from 'yargs';
import { exportCommand } from '../../src/cli/export';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { IMAGE_MEAN, IMAGE_STD } from '../../src/data/image';
import { COCO_META } from '../../src/data/keypoint-meta';
import { saveModelCheckpoint } from '../../src/io/checkpoint';
import {
  HrnetExportMeta,
  META_JSON_FILE,
  MODEL_JSON_FILE,
  buildLayersModel,
  exportModel,
  keypointMetaOfConfig,
  layerNameOf,
} from '../../src/io/export';
import { readPth } from '../../src/io/pth';
import { loadStateDict } from '../../src/io/state-dict';
import { PoseHRNet, createPoseHRNet } from '../../src/model/pose-hrnet';
import { launchTestBrowser, TestBrowser } from '../browser/chromium';
import { PageBackend, runExportInChromium } from '../browser/harness';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';
import { PARITY_DIR, maxAbsDiff, readF32, readFixtureJson, relL2 } from '../helpers/fixtures';

/** A closeness bound on network outputs. */
interface OutputTolerance {
  relL2: number;
  maxAbs: number;
}
/** Fixture README, `out_eval`: one network's output computed by another float32 implementation. */
const OUT_EVAL_TOLERANCE: OutputTolerance = { relL2: 1e-4, maxAbs: 1e-3 };

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: OutputTolerance): void {
  expect(actual.length).toBe(expected.length);
  expect(relL2(actual, expected)).toBeLessThan(tol.relL2);
  expect(maxAbsDiff(actual, expected)).toBeLessThan(tol.maxAbs);
}

interface ParityManifest {
  tensors: Record<string, { shape: number[] }>;
}
const parityManifest = readFixtureJson<ParityManifest>('parity/w8_coco_128x96/manifest.json');

/** The fixture input `x` `[2, 3, 128, 96]` as NHWC `[2, 128, 96, 3]`. */
function fixtureInput(): tf.Tensor4D {
  const shape = parityManifest.tensors.x.shape as [number, number, number, number];
  return tf.tidy(() => tf.transpose(tf.tensor4d(readF32(path.join(PARITY_DIR, 'x.f32')), shape), [0, 2, 3, 1]));
}

/** The official eval output `out_eval` `[2, 17, 32, 24]` as NHWC data `[2, 32, 24, 17]`. */
function fixtureOutEval(): Float32Array {
  const shape = parityManifest.tensors.out_eval.shape as [number, number, number, number];
  return tf.tidy(() => tf.transpose(tf.tensor4d(readF32(path.join(PARITY_DIR, 'out_eval.f32')), shape), [0, 2, 3, 1]).dataSync() as Float32Array);
}

/** Layer classes a stock tfjs-layers build provides and the export may use. */
const STOCK_CLASSES = new Set(['InputLayer', 'ZeroPadding2D', 'Conv2D', 'BatchNormalization', 'Activation', 'Add', 'UpSampling2D']);

let dir: string;
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-export-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function parityConfig(overrides: string[] = []): Config {
  return loadConfig(path.join(PARITY_DIR, 'config.yaml'), overrides);
}

function parityModel(): { model: PoseHRNet; config: Config } {
  const config = parityConfig();
  const model = createPoseHRNet(config);
  loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')), { strict: true });
  return { model, config };
}

/** Seeded N(0, 1) images `[n, H, W, 3]` for a `[width, height]` input. */
function randomImages(n: number, [w, h]: [number, number], seed: number): tf.Tensor4D {
  return tf.randomNormal([n, h, w, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

/**
 * Random weights with O(1) eval activations: kaiming-normal convs, BN γ ~ U(0.5, 1.5), β and biases
 * ~ N(0, 0.1²); BN running statistics set to the batch statistics of one train-mode forward on `x`
 * (from mean 0 / var 1, one momentum-0.1 update gives `0.1·μ` and `0.9 + 0.1·σ²`).
 */
function randomizeCalibrated(model: PoseHRNet, x: tf.Tensor4D, seed: number): void {
  let s = seed;
  const entries = model.params.list();
  tf.tidy(() => {
    for (const e of entries) {
      const v = e.variable;
      s += 1;
      if (e.name.endsWith('running_mean')) v.assign(tf.zerosLike(v));
      else if (e.name.endsWith('running_var')) v.assign(tf.onesLike(v));
      else if (v.rank === 4) {
        const [kh, kw, cin] = v.shape;
        v.assign(tf.randomNormal(v.shape, 0, Math.sqrt(2 / (kh * kw * cin)), 'float32', s));
      } else if (e.name.endsWith('.weight')) v.assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', s));
      else v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', s));
    }
  });
  tf.tidy(() => {
    model.forward(x, { training: true });
  });
  tf.tidy(() => {
    for (const e of entries) {
      if (e.name.endsWith('running_mean')) e.variable.assign(tf.mul(e.variable, 10));
      else if (e.name.endsWith('running_var')) e.variable.assign(tf.relu(tf.mul(tf.sub(e.variable, 0.9), 10)));
    }
  });
}

/** Output of a layers model as a Float32Array. */
function layersPredict(lm: tf.LayersModel, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => (lm.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

function modelPredict(model: PoseHRNet, x: tf.Tensor4D): Float32Array {
  const y = model.predict(x);
  const data = y.dataSync() as Float32Array;
  y.dispose();
  return data;
}

/** Loads an export directory from disk with stock TF.js (`model.json` + every shard), as a browser would. */
async function loadExport(exportDir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(fs.readFileSync(path.join(exportDir, MODEL_JSON_FILE), 'utf8')) as tf.io.ModelJSON;
  const groups = json.weightsManifest;
  const shards = groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(exportDir, p))));
  const bytes = Buffer.concat(shards);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: groups.flatMap((g) => g.weights), weightData }),
  );
}

describe('layerNameOf', () => {
  it('keeps official module names, which tfjs-layers accepts', () => {
    expect(layerNameOf('stage2.0.fuse_layers.0.1.0')).toBe('stage2.0.fuse_layers.0.1.0');
    expect(() => layerNameOf('.bad')).toThrow(/cannot name a TF\.js layer "\.bad"/);
    expect(() => layerNameOf('a/b')).toThrow(/cannot name a TF\.js layer/);
  });
});

describe('buildLayersModel', () => {
  it('reproduces the official eval output and model.predict on the parity weights, with stock layers named by the state dict', () => {
    const { model } = parityModel();
    const lm = buildLayersModel(model);
    expect(lm.outputs[0].shape).toEqual([null, 32, 24, 17]);
    const x = fixtureInput();
    const out = layersPredict(lm, x);
    expectClose(out, fixtureOutEval(), OUT_EVAL_TOLERANCE);
    expectClose(out, modelPredict(model, x), OUT_EVAL_TOLERANCE);
    const xr = randomImages(1, model.imageSize, 11);
    expectClose(layersPredict(lm, xr), modelPredict(model, xr), OUT_EVAL_TOLERANCE);
    xr.dispose();

    const classes = new Set(lm.layers.map((l) => l.getClassName()));
    for (const c of classes) expect(STOCK_CLASSES).toContain(c);
    // Every parameter and BN buffer of the model is, bit for bit, a weight of the layer named by its module.
    const layerWeights = new Map(lm.weights.map((w) => [w.originalName, w]));
    const tfjsName: Record<string, string> = { weight: 'kernel', bias: 'bias' };
    const tfjsBnName: Record<string, string> = { weight: 'gamma', bias: 'beta', running_mean: 'moving_mean', running_var: 'moving_variance' };
    for (const e of model.params.list()) {
      const dot = e.name.lastIndexOf('.');
      const mod = e.name.slice(0, dot);
      const field = e.name.slice(dot + 1);
      const isBn = model.params.hasVariable(`${mod}.running_mean`);
      const w = layerWeights.get(`${mod}/${(isBn ? tfjsBnName : tfjsName)[field]}`);
      if (w === undefined) throw new Error(`no layer weight for ${e.name}`);
      const value = w.read();
      expect(value.shape).toEqual(e.variable.shape);
      expect(maxAbsDiff(value.dataSync(), e.variable.dataSync())).toBe(0);
    }
    expect(lm.countParams()).toBe(model.params.list().reduce((n, e) => n + e.variable.size, 0));
    expect(lm.getLayer('stage2.0.fuse_layers.0.1.2').getClassName()).toBe('UpSampling2D');
    expect(lm.getLayer('stage3.1.fuse_layers.2.0.0.2').getClassName()).toBe('Activation');

    x.dispose();
    lm.dispose();
    // The model keeps its own weights after the layers model is disposed.
    const again = randomImages(1, model.imageSize, 12);
    expect(modelPredict(model, again).every(Number.isFinite)).toBe(true);
    again.dispose();
    model.dispose();
  });

  it('matches model.predict for a 3×3 final conv, Bottleneck stages and 21 joints at another input size', () => {
    const config = parityConfig([
      'MODEL.NUM_JOINTS=21',
      'MODEL.EXTRA.FINAL_CONV_KERNEL=3',
      'MODEL.EXTRA.STAGE2.BLOCK=BOTTLENECK',
      'MODEL.EXTRA.STAGE3.BLOCK=BOTTLENECK',
      'MODEL.EXTRA.STAGE3.NUM_MODULES=1',
      'MODEL.EXTRA.STAGE4.NUM_MODULES=2',
    ]);
    const model = createPoseHRNet(config);
    const calib = randomImages(4, model.imageSize, 21);
    randomizeCalibrated(model, calib, 1000);
    calib.dispose();
    expect(model.params.hasVariable('final_layer.bias')).toBe(true);

    const x = randomImages(2, model.imageSize, 22);
    const expected = modelPredict(model, x);
    // The calibration keeps the output O(1), so the bound is a real one.
    const peak = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.5);
    const lm = buildLayersModel(model);
    expect(lm.outputs[0].shape).toEqual([null, 32, 24, 21]);
    expect(lm.getLayer('final_layer.pad').getClassName()).toBe('ZeroPadding2D');
    expect(lm.getLayer('stage2.0.branches.0.0.conv3').getClassName()).toBe('Conv2D');
    expectClose(layersPredict(lm, x), expected, OUT_EVAL_TOLERANCE);
    lm.dispose();
    x.dispose();

    // Another input size: the fully convolutional network maps 64×64 to 16×16 heatmaps.
    const lm64 = buildLayersModel(model, { inputSize: [64, 64] });
    const x64 = randomImages(1, [64, 64], 23);
    expect(lm64.outputs[0].shape).toEqual([null, 16, 16, 21]);
    expectClose(layersPredict(lm64, x64), modelPredict(model, x64), OUT_EVAL_TOLERANCE);
    x64.dispose();
    lm64.dispose();
    expect(() => buildLayersModel(model, { inputSize: [100, 64] })).toThrow(/multiples of 32, got \[100, 64\]/);
    model.dispose();
  });

  it('names the key when the weights and the network description disagree', () => {
    const model = createPoseHRNet(parityConfig());
    // A weight no module describes (as if a stage-3 module were in the weights but not in the network).
    model.params.add('stage3.2.branches.0.0.conv1.weight', 'parameter', tf.zeros([3, 3, 8, 8]));
    expect(() => buildLayersModel(model)).toThrow(
      /the model has stage3\.2\.branches\.0\.0\.conv1\.weight, which the network's description does not use/,
    );
    model.dispose();
  });
});

describe('exportModel', () => {
  it('writes model.json, shards and hrnet-meta.json that reload to the same outputs', async () => {
    const { model, config } = parityModel();
    const out = path.join(dir, 'parity');
    const result = await exportModel(model, out, config, { shardBytes: 1 << 20 });
    const shards = result.files.filter((f) => f.endsWith('.bin'));
    // 731,785 float32 weights = 2.79 MiB → three 1 MiB shards.
    expect(shards).toEqual(['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin']);
    expect(result.files).toEqual([MODEL_JSON_FILE, ...shards, META_JSON_FILE]);
    // 731,785 parameters + the 6,704 BatchNorm running statistics.
    expect(result.numWeights).toBe(model.params.list().reduce((n, e) => n + e.variable.size, 0));
    expect(result.numWeights).toBe(738489);
    expect(result.warnings).toEqual([]);
    for (const f of result.files) expect(fs.existsSync(path.join(out, f))).toBe(true);
    expect(fs.readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);

    const meta = JSON.parse(fs.readFileSync(path.join(out, META_JSON_FILE), 'utf8')) as HrnetExportMeta;
    expect(meta).toEqual(result.meta);
    expect(meta.format).toBe('hrnet-tfjs-export');
    expect(meta.inputSize).toEqual(config.MODEL.IMAGE_SIZE);
    expect(meta.heatmapSize).toEqual(config.MODEL.HEATMAP_SIZE);
    expect(meta.numJoints).toBe(17);
    expect(meta.sigma).toBe(config.MODEL.SIGMA);
    expect(meta.normalization).toMatchObject({ colorOrder: 'RGB', divisor: 255, mean: [...IMAGE_MEAN], std: [...IMAGE_STD] });
    expect(meta.keypoints.names).toEqual(COCO_META.keypointNames);
    expect(meta.keypoints.flipPairs).toEqual(COCO_META.flipPairs);
    expect(meta.keypoints.skeleton).toEqual(COCO_META.skeleton);
    expect(meta.keypoints.oksSigmas).toEqual(COCO_META.sigmas);
    expect(meta.decode).toMatchObject({ method: 'msra', postProcess: true, flipTest: true, shiftHeatmap: true });

    const json = JSON.parse(fs.readFileSync(path.join(out, MODEL_JSON_FILE), 'utf8')) as tf.io.ModelJSON;
    expect(json.format).toBe('layers-model');
    expect(json.userDefinedMetadata).toEqual({ hrnet: meta });

    // The files hold exactly the weights: the reloaded model equals the in-memory layers model.
    const loaded = await loadExport(out);
    const inMemory = buildLayersModel(model);
    const x = fixtureInput();
    expect(maxAbsDiff(layersPredict(loaded, x), layersPredict(inMemory, x))).toBe(0);
    expectClose(layersPredict(loaded, x), fixtureOutEval(), OUT_EVAL_TOLERANCE);
    x.dispose();
    inMemory.dispose();
    loaded.dispose();
    model.dispose();
  });

  it('records generic keypoint names, with a warning, when the dataset defines none for the joint count', () => {
    const { meta, warnings } = keypointMetaOfConfig(parityConfig(['MODEL.NUM_JOINTS=21']));
    expect(meta.keypointNames).toHaveLength(21);
    expect(meta.keypointNames[20]).toBe('keypoint_20');
    expect(meta.flipPairs).toEqual([]);
    expect(warnings.join('\n')).toMatch(/no keypoint names for 21 joints of dataset "coco"/);
  });

  it('refuses a model object without its config', async () => {
    const model = createPoseHRNet(parityConfig());
    await expect(exportModel(model, path.join(dir, 'none'))).rejects.toThrow(/pass the config/);
    model.dispose();
  });
});

describe('hrnet export', () => {
  it('exports a checkpoint given on the command line', async () => {
    const { model, config } = parityModel();
    const ckpt = path.join(dir, 'ckpt', 'model.ckpt');
    await saveModelCheckpoint(ckpt, model, config);
    const out = path.join(dir, 'cli');
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      await yargs(['export', '--checkpoint', path.dirname(ckpt), '--out', out, '--backend', TEST_BACKEND])
        .command(exportCommand)
        .strict()
        .parseAsync();
    } finally {
      spy.mockRestore();
    }
    expect(lines.join('\n')).toMatch(/input 96×128 \(W×H\), heatmaps 24×32, 17 joints, 738,489 weights/);
    expect(fs.readdirSync(out).sort()).toEqual([META_JSON_FILE, 'group1-shard1of1.bin', MODEL_JSON_FILE].sort());
    const loaded = await loadExport(out);
    const x = fixtureInput();
    expectClose(layersPredict(loaded, x), fixtureOutEval(), OUT_EVAL_TOLERANCE);
    expectClose(layersPredict(loaded, x), modelPredict(model, x), OUT_EVAL_TOLERANCE);
    x.dispose();
    loaded.dispose();
    model.dispose();
  });
});

describe('in a browser', () => {
  // The headless Chromium that `npm install` brings (no system browser), on the backends a page gets.
  let chromium: TestBrowser;
  let out: string;
  let input: Float32Array;
  let expected: Float32Array;
  beforeAll(async () => {
    chromium = await launchTestBrowser();
    const { model, config } = parityModel();
    out = path.join(dir, 'browser');
    await exportModel(model, out, config);
    const x = fixtureInput();
    input = (await x.data()) as Float32Array;
    expected = modelPredict(model, x);
    x.dispose();
    model.dispose();
  }, 120000);
  afterAll(async () => {
    await chromium?.close();
  });

  it('is the Chromium of the npm package, unpacked under the temporary folder', () => {
    expect(chromium.launch.executablePath).toBe(path.join(os.tmpdir(), `hrnet-tfjs-chromium-${chromium.launch.chromium.version}`, 'chromium'));
    expect(chromium.version).toMatch(/^HeadlessChrome\/147\./);
  });

  it.each<PageBackend>(['cpu', 'webgl', 'webgpu'])(
    'loads with stock TF.js on the %s backend and reproduces the official output',
    async (backend) => {
      const started = Date.now();
      const run = await runExportInChromium(chromium.browser, { modelDir: out, input, backend, timeoutMs: 100000 });
      expect(run.backend).toBe(backend);
      expect(run.shape).toEqual([2, 32, 24, 17]);
      const official = fixtureOutEval();
      console.log(
        `Chromium ${chromium.version} (${run.backend} backend, ${Date.now() - started} ms): vs PyTorch out_eval max abs ${maxAbsDiff(run.output, official).toExponential(2)}, ` +
          `rel L2 ${relL2(run.output, official).toExponential(2)}; vs Node model.predict max abs ${maxAbsDiff(run.output, expected).toExponential(2)}, ` +
          `rel L2 ${relL2(run.output, expected).toExponential(2)}`,
      );
      expectClose(run.output, official, OUT_EVAL_TOLERANCE);
      expectClose(run.output, expected, OUT_EVAL_TOLERANCE);
      // Heatmaps of a trained model peak near 1; these random weights give peaks near 28, so the
      // browser-vs-Node difference is measured against the peak: at most 1e-4 of it.
      const peak = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbsDiff(run.output, expected) / peak).toBeLessThanOrEqual(1e-4);
    },
    120000,
  );
});

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MPII_PREDS_FILE, RESULTS_FILE } from '../../src/cli/eval';
import { applyOverrides, configToYaml, loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import type { CocoKeypointResult, CocoKeypointsFile } from '../../src/data/coco-format';
import { evaluateCocoKeypoints } from '../../src/eval/coco-eval';
import { saveModelCheckpoint } from '../../src/io/checkpoint';
import { readPth } from '../../src/io/pth';
import { loadStateDict } from '../../src/io/state-dict';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';
import { DATA_DIR, PARITY_DIR } from '../helpers/fixtures';
import { runCli } from '../helpers/cli';

const COCO_GT = path.join(DATA_DIR, 'coco', 'test_coco.json');
const STAT_NAMES = ['AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl'];

let dir: string;
let ckptDir: string;
let cocoConfigFile: string;

function writeConfig(file: string, config: Config): string {
  fs.writeFileSync(file, configToYaml(config));
  return file;
}

beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-eval-'));
  const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
  const model = createPoseHRNet(config);
  loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')));
  ckptDir = path.join(dir, 'run');
  await saveModelCheckpoint(path.join(ckptDir, 'model_best.ckpt'), model, config);
  model.dispose();
  // The data of --config: the sample COCO images with their ground-truth boxes.
  cocoConfigFile = writeConfig(
    path.join(dir, 'coco.yaml'),
    applyOverrides(
      loadConfig(path.join(PARITY_DIR, 'config.yaml')),
      { DATA_DIR: '', 'DATASET.ROOT': path.join(DATA_DIR, 'coco'), 'DATASET.TEST_SET': 'test_coco.json', 'TEST.USE_GT_BBOX': true },
      'test',
    ),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));


function readResults(file: string): CocoKeypointResult[] {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CocoKeypointResult[];
}

describe('hrnet eval', () => {
  it('evaluates the test split of --config and writes the results beside the checkpoint', async () => {
    const out = await runCli(['eval', '--checkpoint', ckptDir, '--config', cocoConfigFile, '--json', '--backend', TEST_BACKEND]);
    const stats = JSON.parse(out) as Record<string, number>;
    expect(Object.keys(stats)).toEqual(STAT_NAMES);
    const results = readResults(path.join(ckptDir, RESULTS_FILE));
    const gt = JSON.parse(fs.readFileSync(COCO_GT, 'utf8')) as CocoKeypointsFile;
    const imageIds = new Set(gt.images.map((i) => i.id));
    // 12 annotated persons (2 of the 14 have no keypoints); OKS NMS may drop some.
    expect(results.length).toBeGreaterThan(0);
    expect(results.length).toBeLessThanOrEqual(12);
    for (const r of results) {
      expect(imageIds.has(r.image_id)).toBe(true);
      expect(r.category_id).toBe(1);
      expect(r.keypoints).toHaveLength(17 * 3);
      expect(Number.isFinite(r.score)).toBe(true);
    }
    // The printed statistics are pycocotools' statistics of the written results file.
    const again = evaluateCocoKeypoints(gt, results).stats as unknown as Record<string, number>;
    for (const k of STAT_NAMES) expect(Math.abs(stats[k] - again[k])).toBeLessThan(1e-12);
  });

  it('computes the same results on two worker threads as on this thread', async () => {
    const one = path.join(dir, 'threads1');
    const two = path.join(dir, 'threads2');
    const a = await runCli(['eval', '--checkpoint', ckptDir, '--config', cocoConfigFile, '--json', '--threads', '1', '--out', one, '--backend', TEST_BACKEND]);
    const b = await runCli(['eval', '--checkpoint', ckptDir, '--config', cocoConfigFile, '--json', '--threads', '2', '--out', two, '--backend', TEST_BACKEND]);
    expect(b).toBe(a);
    expect(fs.readFileSync(path.join(two, RESULTS_FILE), 'utf8')).toBe(fs.readFileSync(path.join(one, RESULTS_FILE), 'utf8'));
    await expect(runCli(['eval', '--checkpoint', ckptDir, '--config', cocoConfigFile, '--threads', '0', '--out', one, '--backend', TEST_BACKEND])).rejects.toThrow('--threads must be a positive integer');
  }, 60000);

  it('prints the official table and honours --set and --out', async () => {
    const outDir = path.join(dir, 'noflip');
    const lines = (
      await runCli(['eval', '--checkpoint', ckptDir, '--config', cocoConfigFile, '--set', 'TEST.FLIP_TEST=false', '--out', outDir, '--backend', TEST_BACKEND])
    ).split('\n');
    expect(lines[0]).toBe('| Arch | AP | Ap .5 | AP .75 | AP (M) | AP (L) | AR | AR .5 | AR .75 | AR (M) | AR (L) |');
    expect(lines[1]).toBe('|---'.repeat(11) + '|');
    expect(lines[2]).toMatch(/^\| pose_hrnet (\| -?\d+\.\d{3} ){10}\|$/);
    expect(lines[3]).toBe(`results: ${path.join(outDir, RESULTS_FILE)}`);
    // Without the flip test the keypoints differ from the flip-test run above.
    const flipped = readResults(path.join(ckptDir, RESULTS_FILE));
    const plain = readResults(path.join(outDir, RESULTS_FILE));
    const key = (r: CocoKeypointResult): string => `${r.image_id}:${r.center?.join(',')}`;
    const byKey = new Map(flipped.map((r) => [key(r), r]));
    const common = plain.filter((r) => byKey.has(key(r)));
    expect(common.length).toBeGreaterThan(0);
    expect(common.some((r) => r.keypoints.some((v, i) => v !== byKey.get(key(r))?.keypoints[i]))).toBe(true);
  });

  it('writes MPII predictions for eval-pckh and says why PCKh is not computed', async () => {
    const mpii = applyOverrides(
      loadConfig(path.join(PARITY_DIR, 'config.yaml')),
      { 'MODEL.NUM_JOINTS': 16, DATA_DIR: '', 'DATASET.DATASET': 'mpii', 'DATASET.ROOT': path.join(DATA_DIR, 'mpii'), 'DATASET.TEST_SET': 'test_mpii.json' },
      'test',
    );
    const model = createPoseHRNet(mpii, { seed: 1 });
    const ckpt = path.join(dir, 'mpii.ckpt');
    await saveModelCheckpoint(ckpt, model, mpii);
    model.dispose();
    const outDir = path.join(dir, 'mpii-out');
    const out = await runCli(['eval', '--checkpoint', ckpt, '--out', outDir, '--backend', TEST_BACKEND]);
    expect(out).toMatch(/PCKh needs the head boxes/);
    expect(out).toMatch(/hrnet eval-pckh/);
    const preds = JSON.parse(fs.readFileSync(path.join(outDir, MPII_PREDS_FILE), 'utf8')) as number[][][];
    expect(preds).toHaveLength(5);
    for (const p of preds) {
      expect(p).toHaveLength(16);
      for (const xy of p) expect(xy.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('names the annotation file whose keypoint count does not fit the checkpoint', async () => {
    const mpiiData = writeConfig(
      path.join(dir, 'mpii.yaml'),
      applyOverrides(
        loadConfig(path.join(PARITY_DIR, 'config.yaml')),
        { 'MODEL.NUM_JOINTS': 16, DATA_DIR: '', 'DATASET.DATASET': 'mpii', 'DATASET.ROOT': path.join(DATA_DIR, 'mpii'), 'DATASET.TEST_SET': 'test_mpii.json' },
        'test',
      ),
    );
    await expect(runCli(['eval', '--checkpoint', ckptDir, '--config', mpiiData, '--backend', TEST_BACKEND])).rejects.toThrow(/test_mpii\.json/);
    await expect(runCli(['eval', '--checkpoint', path.join(dir, 'none.ckpt'), '--backend', TEST_BACKEND])).rejects.toThrow(/none\.ckpt/);
  });
});

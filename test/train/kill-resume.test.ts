/**
 * A real training process killed with SIGKILL at seeded moments (mid-epoch, during validation, while the epoch is
 * committed, while the final state is written), each time resumed with `--resume`, ends with the same weights,
 * optimizer state and metrics log as a run that was never interrupted.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import seedrandom from 'seedrandom';
import { loadConfig } from '../../src/config/load';
import { renderSyntheticDataset } from '../../src/data/synthetic';
import { readCheckpoint, staleTempFiles } from '../../src/io/checkpoint';
import { train } from '../../src/train/trainer';
import { useTestBackend } from '../helpers/backend';
import { spawnTs } from '../helpers/spawn-ts';

const CONFIG_FILE = 'configs/synthetic/w16_128x96.yaml';
const TRAIN_PROCESS = path.join(__dirname, '..', 'helpers', 'train-process.ts');

let dir: string;
let overrides: string[];
beforeAll(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-kill-'));
  await renderSyntheticDataset({ outDir: path.join(dir, 'data'), train: 3, val: 1, seed: 5, imageSize: [96, 128], maxPersons: 2 });
  overrides = [
    `DATASET.ROOT=${path.join(dir, 'data')}`,
    'GPUS=[0]',
    'WORKERS=0',
    'PRINT_FREQ=1',
    'DEBUG.DEBUG=false',
    'TRAIN.BATCH_SIZE_PER_GPU=2',
    'TEST.BATCH_SIZE_PER_GPU=2',
    'TRAIN.END_EPOCH=3',
    'TRAIN.LR_STEP=[1]',
    'MODEL.IMAGE_SIZE=[64,64]',
    'MODEL.HEATMAP_SIZE=[16,16]',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[4,8]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[4,8,16]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[4,8,16,32]',
  ];
}, 120000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A moment to kill at: this many milliseconds after the first stderr line matching `after`. */
interface KillMoment {
  name: string;
  after: RegExp;
  delayMs: number;
}

/**
 * Runs the training process in `outDir` with `--resume`; kills it with SIGKILL at `moment` (when given).
 * @returns whether it was killed (false: it ended first) and its stderr
 */
function runTrainProcess(outDir: string, moment?: KillMoment): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnTs(TRAIN_PROCESS, [outDir, CONFIG_FILE, JSON.stringify(overrides)]);
    let stderr = '';
    let armed = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (moment && !armed && moment.after.test(stderr)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), moment.delayMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, stderr });
      else if (code === 0) resolve({ killed: false, stderr });
      else reject(new Error(`training process exited with ${code}:\n${stderr}`));
    });
  });
}

/** The metrics log without its timing fields (seconds, samples per second). */
function metricsLines(outDir: string): string[] {
  return fs
    .readFileSync(path.join(outDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const { seconds, samplesPerSecond, ...rest } = JSON.parse(line) as Record<string, unknown>;
      expect([typeof seconds, typeof samplesPerSecond]).toEqual(['number', 'number']);
      return JSON.stringify(rest);
    });
}

/** The optimizer state of a checkpoint's training state, as JSON with its typed arrays as plain lists. */
function optimizerState(file: string): string {
  const training = readCheckpoint(file).training as { optimizer: unknown };
  return JSON.stringify(training.optimizer, (_, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v));
}

function expectSameWeights(a: string, b: string): void {
  const x = readCheckpoint(a).stateDict;
  const y = readCheckpoint(b).stateDict;
  expect(Object.keys(y)).toEqual(Object.keys(x));
  for (const k of Object.keys(x)) expect(Buffer.from(y[k].data.buffer).equals(Buffer.from(x[k].data.buffer))).toBe(true);
}

describe('a training process killed with SIGKILL and resumed', () => {
  it('ends with the weights, optimizer state and metrics log of an uninterrupted run', async () => {
    const straight = path.join(dir, 'straight');
    const result = await train({ config: loadConfig(CONFIG_FILE, overrides), outDir: straight, log: () => undefined, progress: false });
    result.model.dispose();

    const rng = seedrandom('kill-resume');
    const jitter = (ms: number): number => Math.floor(rng() * ms);
    const moments: KillMoment[] = [
      { name: 'mid-epoch', after: /epoch 0 \[1\/\d+\]/, delayMs: jitter(200) },
      { name: 'in validation', after: /epoch 1 \[(\d+)\/\1\]/, delayMs: jitter(100) },
      { name: 'while the epoch is committed', after: /\| Arch \| AP \| Ap \.5/, delayMs: jitter(30) },
      { name: 'while the final state is written', after: /epoch 2: loss/, delayMs: jitter(20) },
    ];
    const killed = path.join(dir, 'killed');
    const log: string[] = [];
    for (const moment of moments) {
      const run = await runTrainProcess(killed, moment);
      log.push(`${moment.name} (+${moment.delayMs} ms): ${run.killed ? 'killed' : 'ended first'}`);
    }
    await runTrainProcess(killed);
    expect(log.filter((l) => l.endsWith('killed')).length).toBeGreaterThanOrEqual(3);

    expectSameWeights(path.join(straight, 'final_state.ckpt'), path.join(killed, 'final_state.ckpt'));
    expectSameWeights(path.join(straight, 'checkpoint.ckpt'), path.join(killed, 'checkpoint.ckpt'));
    expect(optimizerState(path.join(killed, 'checkpoint.ckpt'))).toEqual(optimizerState(path.join(straight, 'checkpoint.ckpt')));
    expect(metricsLines(killed)).toEqual(metricsLines(straight));
    expect(metricsLines(killed).map((l) => (JSON.parse(l) as { epoch: number }).epoch)).toEqual([0, 1, 2]);
    expect(staleTempFiles(killed)).toEqual([]);
  }, 240000);
});

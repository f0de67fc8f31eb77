/**
 * Data-parallel training: the batch split, and the gradients the replica threads return against
 * the same replica computations run on this thread.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { chunkSizes, removeStaleExchangeFolders, ReplicaPool, replicaStepInTurn, type ReplicaPoolOptions } from '../../src/train/replicas';
import { lossOfConfig } from '../../src/train/loss';
import { Adam } from '../../src/train/optim';
import { relL2 } from '../helpers/fixtures';
import { packedViews, readPackedFile, readState, runReplicaJob, writePackedFile, type ReplicaResult } from '../../src/train/replica-worker';
import { inferHeatmaps } from '../../src/eval/evaluate';
import { TEST_BACKEND, useTestBackend } from '../helpers/backend';

/** The folders replica processes exchange files through (in memory where Linux has /dev/shm). */
function exchangeFolders(): string[] {
  return [os.tmpdir(), '/dev/shm'].filter((d) => fs.existsSync(d)).flatMap((d) => fs.readdirSync(d).filter((f) => f.startsWith('hrnet-replicas-')).map((f) => path.join(d, f)));
}

/** The processes this process started that are still running. */
function childPids(): number[] {
  const out = spawnSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.trim() !== '').map(Number);
}

const config = () =>
  loadConfig('configs/synthetic/w16_128x96.yaml', [
    'GPUS=[0,1]',
    'MODEL.IMAGE_SIZE=[64,64]',
    'MODEL.HEATMAP_SIZE=[16,16]',
    'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,16]',
    'MODEL.EXTRA.STAGE3.NUM_CHANNELS=[8,16,32]',
    'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64]',
  ]);

function randomBatch(n: number, seed: number): { n: number; images: Float32Array; target: Float32Array; targetWeight: Float32Array } {
  return tf.tidy(() => ({
    n,
    images: tf.randomNormal([n, 64, 64, 3], 0, 1, 'float32', seed).dataSync() as Float32Array,
    target: tf.randomUniform([n, 16, 16, 17], 0, 1, 'float32', seed + 1).dataSync() as Float32Array,
    targetWeight: tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([n, 17], 0, 1, 'float32', seed + 2), 0.2), 'float32')).dataSync() as Float32Array,
  }));
}

describe('chunkSizes', () => {
  it('splits as torch scatter does: ceil-sized chunks, fewer replicas when the batch is small', () => {
    expect(chunkSizes(16, 2)).toEqual([8, 8]);
    expect(chunkSizes(5, 2)).toEqual([3, 2]);
    expect(chunkSizes(10, 4)).toEqual([3, 3, 3, 1]);
    expect(chunkSizes(2, 4)).toEqual([1, 1]);
  });
});

describe('packed files', () => {
  it('write and read packed views in one piece, and refuse a file of another size or views not packed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-packed-'));
    try {
      const file = path.join(dir, 'state.bin');
      const views = packedViews([3, 0, 2], { shared: false });
      views[0].set([1, 2, 3]);
      views[2].set([-4, 5.5]);
      writePackedFile(file, views);
      expect(fs.statSync(file).size).toBe(20);
      const back = packedViews([3, 0, 2], { shared: true });
      readPackedFile(file, back);
      expect(back.map((v) => Array.from(v))).toEqual([[1, 2, 3], [], [-4, 5.5]]);
      expect(() => readPackedFile(file, packedViews([3, 3], { shared: false }))).toThrow(/state\.bin: 20 bytes, expected 24 \(2 tensors\)/);
      expect(() => writePackedFile(file, [new Float32Array(2), new Float32Array(2)])).toThrow(/packed views must follow one another/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('exchange folders', () => {
  it('removes the folders of runs that ended without removing them, and no other', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-exchange-root-'));
    try {
      // A process that has ended: its pid names a run stopped by a signal.
      const ended = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid as number;
      const stale = path.join(root, `hrnet-replicas-${ended}-abc123`);
      const live = path.join(root, `hrnet-replicas-${process.pid}-def456`);
      const other = path.join(root, 'something-else');
      for (const d of [stale, live, other]) {
        fs.mkdirSync(d);
        fs.writeFileSync(path.join(d, 'state.bin'), 'x');
      }
      expect(removeStaleExchangeFolders(root)).toEqual([stale]);
      expect(fs.readdirSync(root).sort()).toEqual([path.basename(live), 'something-else'].sort());
      expect(removeStaleExchangeFolders(path.join(root, 'missing'))).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('ReplicaPool', () => {
  beforeAll(async () => {
    await useTestBackend();
  });

  it('returns the size-weighted mean of the replica gradients and replica 0 BatchNorm statistics, on 1 or 2 threads or in 2 processes', async () => {
    const cfg = config();
    const batch = randomBatch(5, 11);
    // The reference: each chunk's job on this thread, from the same initial state.
    const ref = createPoseHRNet(cfg, { seed: 4 });
    const state = await readState(ref);
    const sizes = chunkSizes(5, 2);
    const per = [64 * 64 * 3, 16 * 16 * 17, 17];
    let start = 0;
    const jobs: ReplicaResult[] = [];
    for (const [r, n] of sizes.entries()) {
      const job = {
        kind: 'train' as const,
        id: r,
        state: { values: state.values.map((v) => v.slice()), counters: [...state.counters] },
        n,
        images: batch.images.slice(start * per[0], (start + n) * per[0]),
        target: batch.target.slice(start * per[1], (start + n) * per[1]),
        targetWeight: batch.targetWeight.slice(start * per[2], (start + n) * per[2]),
        returnBuffers: r === 0,
      };
      start += n;
      jobs.push(await runReplicaJob(ref, cfg, job));
    }
    const expectedLoss = (3 / 5) * jobs[0].loss + (2 / 5) * jobs[1].loss;
    // Accumulated in float32, replica by replica.
    const expectedGrads = jobs[0].grads.map((g, i) => {
      const acc = new Float32Array(g.length);
      g.forEach((v, j) => (acc[j] += (3 / 5) * v));
      jobs[1].grads[i].forEach((v, j) => (acc[j] += (2 / 5) * v));
      return acc;
    });
    ref.dispose();

    const placements: ReplicaPoolOptions[] = [{ threads: 2 }, { threads: 1 }, { processes: [{}, {}] }];
    for (const placement of placements) {
      const model = createPoseHRNet(cfg, { seed: 4 });
      const foldersBefore = exchangeFolders();
      const pool = await ReplicaPool.create(cfg, placement);
      // Processes exchange states and gradients through files in a folder of their own.
      expect(exchangeFolders().length).toBe(foldersBefore.length + (placement.processes !== undefined ? 1 : 0));
      try {
        expect(pool.processes).toBe(placement.processes !== undefined);
        expect(pool.threads).toBe(placement.threads ?? 2);
        expect(pool.backends).toEqual(Array(pool.threads).fill(expect.stringMatching(new RegExp(`^${TEST_BACKEND} `))));
        const before = tf.memory().numTensors;
        const got = await pool.gradients(model, batch);
        expect(tf.memory().numTensors).toBe(before);
        expect(got.loss).toBeCloseTo(expectedLoss, 12);
        got.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(expectedGrads[i])));
        expect(got.output.length).toBe(5 * 16 * 16 * 17);
        // BatchNorm buffers and counters: replica 0's.
        const after = await readState(model, 'buffers');
        after.values.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(jobs[0].state?.values[i] ?? [])));
        expect(after.counters).toEqual(jobs[0].state?.counters);
      } finally {
        await pool.close();
        model.dispose();
      }
      expect(exchangeFolders()).toEqual(foldersBefore);
    }
  }, 120000);

  it('fails every job once a replica process is gone, saying which and how it ended', async () => {
    const cfg = config();
    const model = createPoseHRNet(cfg, { seed: 4 });
    const before = new Set(childPids());
    const pool = await ReplicaPool.create(cfg, { processes: [{}, {}] });
    try {
      const started = childPids().filter((pid) => !before.has(pid));
      expect(started).toHaveLength(2);
      process.kill(started[1], 'SIGKILL');
      // Until Node has reaped it, and then one turn of the event loop for its exit event.
      while (childPids().includes(started[1])) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setImmediate(resolve));
      const batch = randomBatch(2, 31);
      await expect(pool.gradients(model, batch)).rejects.toThrow(/^replica process \d exited with code 137/);
      await expect(pool.gradients(model, batch)).rejects.toThrow(/^replica process \d exited with code 137/);
    } finally {
      await pool.close();
      model.dispose();
    }
  }, 120000);

  it('computes eval-mode heatmaps split over the threads equal to this thread, with and without the flip test', async () => {
    const cfg = config();
    const model = createPoseHRNet(cfg, { seed: 6 });
    const pool = await ReplicaPool.create(cfg, { threads: 2 });
    try {
      await pool.loadWeights(model);
      const { images } = randomBatch(3, 21);
      const flip = { pairs: [[1, 2], [3, 4]] as [number, number][], shift: true };
      for (const f of [undefined, flip]) {
        const here = (await inferHeatmaps(model, images, 3, f)).slice();
        const there = await pool.heatmaps(images, 3, f);
        expect(Array.from(there)).toEqual(Array.from(here));
      }
    } finally {
      await pool.close();
      model.dispose();
    }
  }, 120000);

  it('the same step with the replicas in turn on this thread (WebGPU\'s way) gives the same weights, loss and replica 0 statistics', async () => {
    const cfg = config();
    const batch = randomBatch(5, 13);
    const viaPool = createPoseHRNet(cfg, { seed: 5 });
    const inTurn = createPoseHRNet(cfg, { seed: 5 });
    const optPool = new Adam(viaPool.params.parameters(), { lr: 1e-3 });
    const optTurn = new Adam(inTurn.params.parameters(), { lr: 1e-3 });
    const pool = await ReplicaPool.create(cfg, { threads: 1 });
    try {
      const a = await pool.step(viaPool, optPool, batch);
      const before = tf.memory().numTensors;
      const b = await replicaStepInTurn(inTurn, optTurn, batch, lossOfConfig(cfg), cfg);
      // Only the optimizer state created by the first step stays.
      expect(tf.memory().numTensors - before).toBe(2 * inTurn.params.parameters().length);
      expect(b.loss).toBeCloseTo(a.loss, 6);
      expect(relL2(b.output, a.output)).toBeLessThan(1e-6);
      const [sa, sb] = [await readState(viaPool), await readState(inTurn)];
      expect(sb.counters).toEqual(sa.counters);
      sa.values.forEach((v, i) => expect(relL2(sb.values[i], v)).toBeLessThan(1e-5));
    } finally {
      await pool.close();
      [optPool, optTurn].forEach((o) => o.dispose());
      [viaPool, inTurn].forEach((m) => m.dispose());
    }
  }, 120000);
});

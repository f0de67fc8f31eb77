/**
 * Micro-benchmark of the WASM convolution kernels on the shapes of HRNet-W32 at 256×192, batch 8:
 * forward Conv2D, the stock and the project's Conv2DBackpropInput, and the project's
 * Conv2DBackpropFilter (the stock backend has none). Prints GFLOP/s (2·N·oh·ow·kh·kw·Cin·Cout per call).
 *
 * Build and run: npx tsc bench/conv-grad.ts --outDir .tmp/bench --module commonjs --target es2022 \
 *   --esModuleInterop --skipLibCheck --strict --types node && node .tmp/bench/bench/conv-grad.js [reps]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/backend/fallback-kernels';

/** A benchmarked convolution: input [N, H, W, Cin] → filter k×k, stride, symmetric pad (k − 1) / 2. */
interface ConvCase {
  label: string;
  input: [number, number, number, number];
  k: number;
  stride: number;
  outChannels: number;
}

const CASES: ConvCase[] = [
  { label: 'stem conv1 3→64 k3 s2', input: [8, 256, 192, 3], k: 3, stride: 2, outChannels: 64 },
  { label: 'stem conv2 64→64 k3 s2', input: [8, 128, 96, 64], k: 3, stride: 2, outChannels: 64 },
  { label: 'layer1 1x1 256→64', input: [8, 64, 48, 256], k: 1, stride: 1, outChannels: 64 },
  { label: 'branch1 32→32 k3 s1', input: [8, 64, 48, 32], k: 3, stride: 1, outChannels: 32 },
  { label: 'branch4 256→256 k3 s1', input: [8, 8, 6, 256], k: 3, stride: 1, outChannels: 256 },
];

/** Mean milliseconds of `fn` over `reps` runs after one warm-up; every result is read back and freed. */
function timeMs(fn: () => tf.Tensor, reps: number): number {
  const warm = fn();
  warm.dataSync();
  warm.dispose();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) {
    const r = fn();
    r.dataSync();
    r.dispose();
  }
  return Number(process.hrtime.bigint() - t0) / 1e6 / reps;
}

async function main(): Promise<void> {
  const reps = Number(process.argv[2] ?? 3);
  await tf.setBackend('wasm');
  await tf.ready();
  const rows: string[] = [];
  const oldInput: number[] = [];
  // The stock backprop-input kernel first, before the project's kernels replace it.
  for (const c of CASES) {
    oldInput.push(
      tf.tidy(() => {
        const p = (c.k - 1) / 2;
        const pad: tf.backend_util.ExplicitPadding = [[0, 0], [p, p], [p, p], [0, 0]];
        const w = tf.randomNormal([c.k, c.k, c.input[3], c.outChannels]) as tf.Tensor4D;
        const y = tf.conv2d(tf.zeros(c.input) as tf.Tensor4D, w, c.stride, pad);
        const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
        return timeMs(() => tf.conv2dTranspose(dy, w, c.input, c.stride, pad), Math.max(1, Math.floor(reps / 2)));
      }),
    );
  }
  registerWasmTrainingKernels();
  CASES.forEach((c, i) => {
    tf.tidy(() => {
      const p = (c.k - 1) / 2;
      const pad: tf.backend_util.ExplicitPadding = [[0, 0], [p, p], [p, p], [0, 0]];
      const x = tf.randomNormal(c.input) as tf.Tensor4D;
      const w = tf.randomNormal([c.k, c.k, c.input[3], c.outChannels]) as tf.Tensor4D;
      const y = tf.conv2d(x, w, c.stride, pad);
      const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
      const gflop = (2 * y.size * c.k * c.k * c.input[3]) / 1e9;
      const fwd = timeMs(() => tf.conv2d(x, w, c.stride, pad), reps);
      const newInput = timeMs(() => tf.conv2dTranspose(dy, w, c.input, c.stride, pad), reps);
      const attrs = { strides: c.stride, pad, dataFormat: 'NHWC', filterShape: w.shape };
      const filter = timeMs(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor, reps);
      const rate = (ms: number): string => `${(gflop / (ms / 1e3)).toFixed(1).padStart(5)} GFLOP/s (${ms.toFixed(0).padStart(4)} ms)`;
      rows.push(
        `${c.label.padEnd(24)} ${gflop.toFixed(2)} GFLOP | forward ${rate(fwd)} | input old ${rate(oldInput[i])} new ${rate(newInput)} | filter ${rate(filter)}`,
      );
    });
  });
  console.log(rows.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

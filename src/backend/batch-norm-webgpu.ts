/**
 * Train-mode BatchNorm (+ ReLU) as kernels of TF.js's WebGPU backend: the same two kernels, with the same
 * inputs, outputs and values, as the compiled ones of the WASM backend (batch-norm-kernel.ts, batch_norm.c).
 *
 * In TF.js ops a train-mode BatchNorm is some twenty dispatches forward and fifteen backward, four of its
 * channel sums matrix products with a ones vector. TF.js computes a product with few outputs as a workgroup
 * reduction (256 threads and eight barriers an output), which a software Vulkan driver executes slowly and
 * which sums in an order of its own. Here the forward is four dispatches and the gradient three, with no
 * barrier: one thread per block of rows and channel sums the block (in runs of 48 rows, each run summed in
 * row order and added in order, as batch_norm.c does), threads sum the block partials of a channel in
 * order (the mean inside the programs that use it), and element-wise passes apply the results (the output
 * and x̂ in one). A variant of the forward also updates the running mean and variance, in its statistics
 * pass, where the ops take ten dispatches. The float32 operations are batch_norm.c's, in its
 * order, so the two backends compute the same BatchNorm: on a driver with IEEE division and square root
 * and no fused multiply-add (SwiftShader), to the bit (a test holds them to it). A GPU's shader compiler may
 * fuse a product and a sum, which changes the last bit of a few values.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, BATCH_NORM_TRAIN_RUNNING, BatchNormTrainAttrs, BatchNormTrainRunningAttrs, checkStatsShape, rowsAndChannels } from './batch-norm-kernel';
import { kernelInput } from './kernel-calls';
import { ElementwiseSpec, orderedSum, PerOutputSpec, programVariants, ProgramUniform, runElementwise, runPerOutput, WebGpuKernelBackend, withTemps } from './webgpu-program';

/** Rows a run sums before adding the run to its block's partial (batch_norm.c's RUN). */
const RUN = 48;
/** Sizes every program of the kernels receives as uniforms (one compiled pipeline serves every shape). */
const SIZE_UNIFORMS = 'rows : i32, channels : i32, block : i32, runLength : i32, eps : f32,';


/**
 * WGSL of one block's partial of a channel sum: \`part\` = the sum, over the rows of block \`blk\`, of \`term(r)\` (an
 * f32 expression of row r and channel \`ch\`), in runs of \`uniforms.runLength\` rows, each run from zero in row
 * order, the runs added in order.
 */
function blockPartial(term: (row: string) => string): string {
  return `
    var part = 0.0;
    let rowStart = blk * uniforms.block;
    for (var q0 = 0; q0 < uniforms.block; q0 = q0 + uniforms.runLength) {
      let q1 = min(q0 + uniforms.runLength, uniforms.block);
      var run = 0.0;
      ${orderedSum('run', 'rowStart + q0', 'rowStart + q1', term, 'r')}
      part = part + run;
    }`;
}

/** WGSL of \`total\`: the partials \`[blocks, channels]\` of buffer \`name\` (from row \`offset\`) of channel \`ch\`, summed in order. */
function totalOf(name: string, offset: string, total = 'total', v = 'b'): string {
  return `
    var ${total} = 0.0;
    ${orderedSum(total, '0', 'uniforms.rows / uniforms.block', (b) => `${name}[(${offset} + ${b}) * uniforms.channels + ch]`, v)}`;
}

/**
 * WGSL of \`mu\`, channel \`ch\`'s mean from the block partials of its sum in buffer \`name\`. Each program that needs
 * the mean computes it (a thread sums about √m partials, which stay in cache): the same additions in the same
 * order give the same value in every thread, and a program of its own would cost a dispatch per BatchNorm.
 */
function meanOf(name: string): string {
  return `${totalOf(name, '0', 'meanTotal', 'mb')} let mu = meanTotal / f32(uniforms.rows);`;
}

/** The output gradient through the ReLU: dy where out > 0, else dy times 0 (batch_norm.c's relu_grad). */
const reluGrad = (relu: boolean) => (relu ? 'Dy[i] * select(0.0, 1.0, Output[i] > 0.0)' : 'Dy[i]');

/** The sizes of a call: rows m, channels c, rows per block, ε. */
interface Sizes {
  m: number;
  c: number;
  block: number;
  eps: number;
}

/** The values of {@link SIZE_UNIFORMS} for a call. */
function sizeUniforms(sizes: Sizes): ProgramUniform[] {
  return [
    { type: 'int32', data: [sizes.m] },
    { type: 'int32', data: [sizes.c] },
    { type: 'int32', data: [sizes.block] },
    { type: 'int32', data: [sizes.block === sizes.m ? sizes.m : RUN] },
    { type: 'float32', data: [sizes.eps] },
  ];
}

/** Runs one program of the kernels (one output of `outputShape`) with the call's sizes as uniforms. */
function run(backend: WebGpuKernelBackend, spec: PerOutputSpec, inputs: tf.TensorInfo[], sizes: Sizes, outputShape: number[]): tf.TensorInfo {
  return runPerOutput(backend, spec, inputs, sizeUniforms(sizes), outputShape);
}

/** A program of the kernels, its uniforms the sizes. */
const sizedProgram = (key: string, inputs: string[], body: string, helpers?: string): PerOutputSpec => ({ key: `batchNorm_${key}`, inputs, uniforms: SIZE_UNIFORMS, body, helpers });

function sizesOf(kernel: string, x: tf.TensorInfo, attrs: BatchNormTrainAttrs): Sizes {
  return { ...rowsAndChannels(kernel, x, attrs.block), block: attrs.block, eps: attrs.eps ?? 1e-5 };
}

/** The running statistics a forward updates: PyTorch's running mean and variance [c], and its momentum. */
interface Running {
  mean: tf.TensorInfo;
  variance: tf.TensorInfo;
  momentum: number;
}

/**
 * WGSL of the running statistics' update from channel \`ch\`'s mean \`mu\` and biased variance \`v\`, each
 * product and sum a float32 operation in the order of the TF.js ops (BatchNorm2d.updateRunningStats).
 */
const RUNNING_UPDATE = `
  let keptMean = RunningMean[ch] * uniforms.keep;
  let addedMean = mu * uniforms.momentum;
  MeanNew[ch] = keptMean + addedMean;
  let unbiased = v * uniforms.factor;
  let keptVariance = RunningVariance[ch] * uniforms.keep;
  let addedVariance = unbiased * uniforms.momentum;
  VarianceNew[ch] = keptVariance + addedVariance;`;

/** The forward's block partials of Σ y [blocks, c]. */
const SUM = sizedProgram('sum', ['Y'], `let blk = index / uniforms.channels; let ch = index % uniforms.channels; ${blockPartial((r) => `Y[${r} * uniforms.channels + ch]`)} setOutputAtIndex(index, part);`);

/** The forward's block partials of Σ (y − μ)² [blocks, c], μ from the partials of Σ y. */
const SQUARES = sizedProgram(
  'squares',
  ['Y', 'Sums'],
  `let blk = index / uniforms.channels; let ch = index % uniforms.channels; ${meanOf('Sums')} ${blockPartial((r) => `sq(Y[${r} * uniforms.channels + ch] - mu)`)} setOutputAtIndex(index, part);`,
  'fn sq(v : f32) -> f32 { return v * v; }',
);

/** WGSL of stats [3, c]: mean, biased variance, α = γ / √(var + ε); one thread per value, `store` writes it. */
const statistics = (store: (value: string) => string) => `let row = index / uniforms.channels; let ch = index % uniforms.channels; ${totalOf('Part', '0')} ${meanOf('Sums')}
      let v = total / f32(uniforms.rows);
      let alpha = Gamma[ch] * (1.0 / sqrt(v + uniforms.eps));
      ${store('select(select(alpha, v, row == 1), mu, row == 0)')}`;

/** The statistics pass. */
const STATS = sizedProgram('stats', ['Part', 'Sums', 'Gamma'], statistics((value) => `setOutputAtIndex(index, ${value});`));

/** The statistics pass whose threads of the first row also update the running statistics. */
const STATS_RUNNING: ElementwiseSpec = {
  key: 'batchNorm_statsRunning',
  inputs: ['Part', 'Sums', 'Gamma', 'RunningMean', 'RunningVariance'],
  outputs: ['Stats', 'MeanNew', 'VarianceNew'],
  uniforms: `${SIZE_UNIFORMS} factor : f32, keep : f32, momentum : f32,`,
  body: `${statistics((value) => `Stats[index] = ${value};`)} if (row == 0) { ${RUNNING_UPDATE} }`,
};

/**
 * out = y·α + (β − μα), the shift rounded before the sum as batch_norm.c rounds it (then the ReLU, with `relu`);
 * x̂ = (y − μ)·(1/√(var + ε)).
 */
const outXhat = programVariants(
  (relu: boolean): ElementwiseSpec => ({
    key: `batchNorm_outXhat${relu ? '_relu' : ''}`,
    inputs: ['Y', 'Stats', 'Beta'],
    outputs: ['Out', 'Xhat'],
    uniforms: 'channels : i32, eps : f32,',
    body: `let ch = index % uniforms.channels;
          let mu = Stats[ch];
          let alpha = Stats[2 * uniforms.channels + ch];
          let shift = Beta[ch] - mu * alpha;
          let o = Y[index] * alpha + shift;
          Out[index] = ${relu ? 'max(o, 0.0)' : 'o'};
          let invStd = 1.0 / sqrt(Stats[uniforms.channels + ch] + uniforms.eps);
          Xhat[index] = (Y[index] - mu) * invStd;`,
  }),
);

/**
 * The forward: out, x̂ and stats [3, c] (μ, biased variance, α = γ / √(var + ε)); with \`running\`, also the
 * new running mean and variance, written by the statistics pass.
 */
function batchNormTrain(backend: WebGpuKernelBackend, kernel: string, inputs: tf.NamedTensorInfoMap, a: BatchNormTrainAttrs, running?: Running): tf.TensorInfo[] {
  const y = kernelInput(inputs, 'y', kernel);
  const gamma = kernelInput(inputs, 'gamma', kernel);
  const beta = kernelInput(inputs, 'beta', kernel);
  const s = sizesOf(kernel, y, a);
  const blocks = s.m / s.block;
  if (running !== undefined) {
    for (const [name, t] of [['mean', running.mean], ['variance', running.variance]] as const) {
      if (t.shape.length !== 1 || t.shape[0] !== s.c) throw new Error(`${kernel}: the running ${name} must have shape [${s.c}] (got [${t.shape}])`);
    }
  }
  return withTemps(backend, (temp) => {
    const sums = temp(run(backend, SUM, [y], s, [blocks, s.c]));
    const squares = temp(run(backend, SQUARES, [y, sums], s, [blocks, s.c]));
    let stats: tf.TensorInfo;
    let runningNew: tf.TensorInfo[] = [];
    if (running === undefined) {
      stats = temp(run(backend, STATS, [squares, sums, gamma], s, [3, s.c]));
    } else {
      const factor = s.m > 1 ? s.m / (s.m - 1) : 1;
      [stats, ...runningNew] = runElementwise(
        backend,
        STATS_RUNNING,
        [squares, sums, gamma, running.mean, running.variance],
        [3, s.c],
        [...sizeUniforms(s), ...[factor, 1 - running.momentum, running.momentum].map((x) => ({ type: 'float32' as const, data: [x] }))],
        [[3, s.c], [s.c], [s.c]],
      ).map(temp);
    }
    const [out, xhat] = runElementwise(
      backend,
      outXhat(a.relu),
      [y, stats, beta],
      y.shape,
      [
        { type: 'int32', data: [s.c] },
        { type: 'float32', data: [s.eps] },
      ],
    ).map(temp);
    return [out, xhat, stats, ...runningNew];
  });
}

function batchNormTrainWebGpu({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  return batchNormTrain(backend as unknown as WebGpuKernelBackend, BATCH_NORM_TRAIN, inputs, attrs as unknown as BatchNormTrainAttrs);
}

function batchNormTrainRunningWebGpu({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const a = attrs as unknown as BatchNormTrainRunningAttrs;
  const running = { mean: kernelInput(inputs, 'mean', BATCH_NORM_TRAIN_RUNNING), variance: kernelInput(inputs, 'variance', BATCH_NORM_TRAIN_RUNNING), momentum: a.momentum };
  return batchNormTrain(backend as unknown as WebGpuKernelBackend, BATCH_NORM_TRAIN_RUNNING, inputs, a, running);
}

/** The gradient's block partials [2, blocks, c]: of Σ g·x̂ (for dγ), then of Σ g (for dβ); g through the ReLU with `relu`. */
const gradSums = programVariants((relu: boolean) =>
  sizedProgram(
    `gradSums${relu ? '_relu' : ''}`,
    relu ? ['Dy', 'Xhat', 'Output'] : ['Dy', 'Xhat'],
    `let perQuantity = (uniforms.rows / uniforms.block) * uniforms.channels;
            let q = index / perQuantity; let blk = (index % perQuantity) / uniforms.channels; let ch = index % uniforms.channels;
            ${blockPartial((r) => `term(${r} * uniforms.channels + ch, q == 0)`)} setOutputAtIndex(index, part);`,
    `fn term(i : i32, withXhat : bool) -> f32 { let g = ${reluGrad(relu)}; return select(g, g * Xhat[i], withXhat); }`,
  ),
);

/** dγ and dβ [c] from the partials, one thread a channel. */
const GRAD_TOTALS: ElementwiseSpec = {
  key: 'batchNorm_gradTotals',
  inputs: ['Part'],
  outputs: ['DGamma', 'DBeta'],
  uniforms: 'rows : i32, channels : i32, block : i32,',
  body: `let ch = index; let blocks = uniforms.rows / uniforms.block;
          ${totalOf('Part', '0', 'dgamma', 'b')}
          ${totalOf('Part', 'blocks', 'dbeta', 'bb')}
          DGamma[index] = dgamma;
          DBeta[index] = dbeta;`,
};

/** The input's gradient, of the shape of dy. */
const dconv = programVariants((relu: boolean) =>
  sizedProgram(
    `dconv${relu ? '_relu' : ''}`,
    relu ? ['Dy', 'Xhat', 'Stats', 'DGamma', 'DBeta', 'Output'] : ['Dy', 'Xhat', 'Stats', 'DGamma', 'DBeta'],
    `let i = index; let ch = index % uniforms.channels; let rows = f32(uniforms.rows);
            let inner = (${reluGrad(relu)} - DBeta[ch] / rows) - Xhat[i] * (DGamma[ch] / rows);
            setOutputAtIndex(index, inner * Stats[2 * uniforms.channels + ch]);`,
  ),
);

function batchNormTrainGradWebGpu({ inputs, backend: b, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const backend = b as unknown as WebGpuKernelBackend;
  const a = attrs as unknown as BatchNormTrainAttrs;
  const dy = kernelInput(inputs, 'dy', BATCH_NORM_TRAIN_GRAD);
  const xhat = kernelInput(inputs, 'xhat', BATCH_NORM_TRAIN_GRAD);
  const stats = kernelInput(inputs, 'stats', BATCH_NORM_TRAIN_GRAD);
  const relu = a.relu;
  const output = relu ? [kernelInput(inputs, 'out', BATCH_NORM_TRAIN_GRAD)] : [];
  const s = sizesOf(BATCH_NORM_TRAIN_GRAD, dy, a);
  checkStatsShape(BATCH_NORM_TRAIN_GRAD, stats, s.c);
  const blocks = s.m / s.block;
  return withTemps(backend, (temp) => {
    const parts = temp(run(backend, gradSums(relu), [dy, xhat, ...output], s, [2, blocks, s.c]));
    const [dgamma, dbeta] = runElementwise(
      backend,
      GRAD_TOTALS,
      [parts],
      [s.c],
      [s.m, s.c, s.block].map((x) => ({ type: 'int32' as const, data: [x] })),
    ).map(temp);
    const dx = temp(run(backend, dconv(relu), [dy, xhat, stats, dgamma, dbeta, ...output], s, dy.shape));
    return [dx, dgamma, dbeta];
  });
}

/** Registers the three kernels for TF.js's WebGPU backend (`webgpu`). Idempotent. */
export function registerWebGpuBatchNormKernels(): void {
  if (tf.getKernel(BATCH_NORM_TRAIN_RUNNING, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: BATCH_NORM_TRAIN_RUNNING, backendName: 'webgpu', kernelFunc: batchNormTrainRunningWebGpu });
  }
  if (tf.getKernel(BATCH_NORM_TRAIN, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: BATCH_NORM_TRAIN, backendName: 'webgpu', kernelFunc: batchNormTrainWebGpu });
  }
  if (tf.getKernel(BATCH_NORM_TRAIN_GRAD, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: BATCH_NORM_TRAIN_GRAD, backendName: 'webgpu', kernelFunc: batchNormTrainGradWebGpu });
  }
}

/**
 * `PoseHRNet`: the official `PoseHighResolutionNet` — stem (two conv3×3/2 + BN + ReLU, 64 ch),
 * `layer1` (`MODEL.EXTRA.STAGE1`, officially 4 Bottlenecks of 64 planes → 256 ch), transitions and stages 2–4 built from
 * `MODEL.EXTRA.STAGE2…4`, and `final_layer` (conv with bias, kernel `FINAL_CONV_KERNEL`) producing
 * one heatmap per joint at stride 4.
 *
 * Images in: `[N, H, W, 3]` float32, normalised. Heatmaps out: `[N, H/4, W/4, NUM_JOINTS]`.
 * Every parameter is a `tf.Variable` named by its official state-dict key.
 */
import * as tf from '@tensorflow/tfjs';
import { BLOCK_EXPANSION, ResidualBlock, applySequence, describeSequence, makeBlockSequence } from './blocks';
import { NetworkGraph } from './graph';
import { HighResolutionModule } from './hr-module';
import { BatchNorm2d, Conv2d, ForwardOptions, Initializer, ParamStore, convBn, seededInitializer, zeroInitializer } from './nn';
import { TransitionLayer } from './transition';
import type { ConvInit, ModelExtra, StageConfig } from '../config/schema';

/** The part of the config the network is built from (`config.MODEL` satisfies it). */
export interface PoseHRNetSpec {
  NUM_JOINTS: number;
  /** How the random conv weights are drawn (default `normal`, the official init). */
  CONV_INIT?: ConvInit;
  /** `[width, height]` of the input. */
  IMAGE_SIZE: number[];
  EXTRA: ModelExtra;
}

/** Options of {@link createPoseHRNet}. */
export interface CreatePoseHRNetOptions {
  /** Seed of the initial weights (official init: conv normal(0, 0.001²), BN γ=1 β=0; see `MODEL.CONV_INIT`). */
  seed?: number;
  /**
   * Draw the official random initial weights (default). `false` leaves conv weights at zero, for a
   * model whose weights are loaded next (a checkpoint, an official `.pth`): building W48 that way
   * skips drawing 63 M random numbers.
   */
  initWeights?: boolean;
}

/** A stage: its modules in order, and the widths of what it outputs. */
interface Stage {
  modules: HighResolutionModule[];
  outChannels: number[];
}

/** Number of multiply-accumulates of one forward pass, per top-level module and in total. */
export interface MacCount {
  total: number;
  byTopModule: Record<string, number>;
}

export class PoseHRNet {
  readonly params = new ParamStore();
  readonly numJoints: number;
  /** `[width, height]` of the training input. */
  readonly imageSize: [number, number];
  /** `[width, height]` of the heatmaps (input / 4). */
  readonly heatmapSize: [number, number];
  readonly extra: ModelExtra;

  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly layer1: ResidualBlock[];
  private readonly transitions: TransitionLayer[] = [];
  private readonly stages: Stage[] = [];
  private readonly finalLayer: Conv2d;

  constructor(spec: PoseHRNetSpec, opts: CreatePoseHRNetOptions = {}) {
    this.numJoints = spec.NUM_JOINTS;
    this.imageSize = [spec.IMAGE_SIZE[0], spec.IMAGE_SIZE[1]];
    this.heatmapSize = [spec.IMAGE_SIZE[0] / 4, spec.IMAGE_SIZE[1] / 4];
    this.extra = spec.EXTRA;
    const init: Initializer = opts.initWeights === false ? zeroInitializer : seededInitializer(opts.seed ?? 0, spec.CONV_INIT);
    const store = this.params;

    this.conv1 = new Conv2d(store, 'conv1', { inChannels: 3, outChannels: 64, kernelSize: 3, stride: 2, padding: 1 }, init);
    this.bn1 = new BatchNorm2d(store, 'bn1', 64);
    this.conv2 = new Conv2d(store, 'conv2', { inChannels: 64, outChannels: 64, kernelSize: 3, stride: 2, padding: 1 }, init);
    this.bn2 = new BatchNorm2d(store, 'bn2', 64);
    const s1 = spec.EXTRA.STAGE1;
    const layer1 = makeBlockSequence(store, 'layer1', s1.BLOCK, 64, s1.NUM_CHANNELS[0], s1.NUM_BLOCKS[0], init);
    this.layer1 = layer1.blocks;

    let preChannels = [layer1.outChannels];
    const stageCfgs: StageConfig[] = [spec.EXTRA.STAGE2, spec.EXTRA.STAGE3, spec.EXTRA.STAGE4];
    stageCfgs.forEach((cfg, s) => {
      const k = s + 2;
      const channels = cfg.NUM_CHANNELS.map((c) => c * BLOCK_EXPANSION[cfg.BLOCK]);
      this.transitions.push(new TransitionLayer(store, `transition${k - 1}`, preChannels, channels, init));
      const stage = this.makeStage(`stage${k}`, cfg, channels, k !== 4, init);
      this.stages.push(stage);
      preChannels = stage.outChannels;
    });

    const fk = spec.EXTRA.FINAL_CONV_KERNEL;
    this.finalLayer = new Conv2d(
      store,
      'final_layer',
      { inChannels: preChannels[0], outChannels: spec.NUM_JOINTS, kernelSize: fk, padding: fk === 3 ? 1 : 0, bias: true },
      init,
    );
  }

  /** The official `_make_stage`: only the last module of the last stage drops the lower-resolution outputs. */
  private makeStage(name: string, cfg: StageConfig, inChannels: number[], multiScaleOutput: boolean, init: Initializer): Stage {
    const modules: HighResolutionModule[] = [];
    let channels = inChannels;
    for (let i = 0; i < cfg.NUM_MODULES; i++) {
      const m = new HighResolutionModule(
        this.params,
        `${name}.${i}`,
        {
          block: cfg.BLOCK,
          numBlocks: cfg.NUM_BLOCKS,
          inChannels: channels,
          numChannels: cfg.NUM_CHANNELS,
          multiScaleOutput: multiScaleOutput || i !== cfg.NUM_MODULES - 1,
        },
        init,
      );
      modules.push(m);
      channels = m.outChannels;
    }
    return { modules, outChannels: channels };
  }

  /**
   * The network's forward pass. Does not tidy: call inside `tf.tidy` or a gradient function.
   * @param x images `[N, H, W, 3]`, H and W divisible by 32
   * @returns heatmaps `[N, H/4, W/4, NUM_JOINTS]`
   */
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== 3) {
      throw new Error(`PoseHRNet expects NHWC images [N, H, W, 3], got shape [${x.shape.join(', ')}]`);
    }
    if (x.shape[1] % 32 !== 0 || x.shape[2] % 32 !== 0) {
      throw new Error(`PoseHRNet input height and width must be divisible by 32, got ${x.shape[1]}×${x.shape[2]}`);
    }
    let y = convBn(this.conv1, this.bn1, x, opts, true, true);
    y = convBn(this.conv2, this.bn2, y, opts, true);
    y = applySequence(this.layer1, y, opts);
    let ys: tf.Tensor4D[] = [y];
    this.stages.forEach((stage, s) => {
      ys = this.transitions[s].apply(ys, opts);
      for (const m of stage.modules) ys = m.apply(ys, opts);
    });
    return this.finalLayer.apply(ys[0], opts);
  }

  /**
   * The network's description of itself (see `./graph`): the eval-mode operations of
   * {@link forward}, in order, with the model's own weight variables (shared, not copied: the
   * description sees later weight changes and must not outlive the model). Exporters build their
   * formats from it. Images `[N, H, W, 3]` in, heatmaps `[N, H/4, W/4, NUM_JOINTS]` out.
   */
  describe(): NetworkGraph {
    const graph = new NetworkGraph(3);
    let y = graph.relu('bn1.relu', this.bn1.describe(graph, this.conv1.describe(graph, graph.input)));
    y = graph.relu('bn2.relu', this.bn2.describe(graph, this.conv2.describe(graph, y)));
    y = describeSequence(this.layer1, graph, y);
    let ys = [y];
    this.stages.forEach((stage, s) => {
      ys = this.transitions[s].describe(graph, ys);
      for (const m of stage.modules) ys = m.describe(graph, ys);
    });
    graph.setOutput(this.finalLayer.describe(graph, ys[0]));
    return graph;
  }

  /**
   * Eval-mode inference (BatchNorm with running statistics).
   * @param x images `[N, H, W, 3]` float32
   * @returns heatmaps `[N, H/4, W/4, NUM_JOINTS]`
   */
  predict(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.forward(x, { training: false }));
  }

  /** Number of trainable parameters. */
  countParameters(): number {
    return this.params.parameters().reduce((n, e) => n + e.variable.size, 0);
  }

  /**
   * Conv multiply-accumulates of one forward at batch 1 for an input of `imageSize` (default: the
   * configured size): Σ over convs of out_elems · in_ch · kh · kw (bias, BN, ReLU, upsampling and
   * additions not counted). Every conv's output is the input divided by its total stride (a divisor
   * of 32), so the count is exactly proportional to W·H: it is taken from a shape-only pass at
   * 32×32 and scaled.
   */
  countMacs(imageSize: [number, number] = this.imageSize): MacCount {
    const [w, h] = imageSize;
    if (w % 32 !== 0 || h % 32 !== 0) throw new Error(`input size ${w}×${h}: width and height must be multiples of 32`);
    const scale = (w * h) / (32 * 32);
    const byTopModule: Record<string, number> = {};
    let total = 0;
    tf.tidy(() => {
      const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
      this.forward(x, {
        training: false,
        dryRun: true,
        onConv: (conv, _inShape, outShape) => {
          const macs = outShape.reduce((a, b) => a * b, 1) * conv.inChannels * conv.kernelSize * conv.kernelSize * scale;
          const top = conv.name.split('.')[0];
          byTopModule[top] = (byTopModule[top] ?? 0) + macs;
          total += macs;
        },
      });
    });
    return { total, byTopModule };
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** Builds a `PoseHRNet` from a config (`config.MODEL` is used). */
export function createPoseHRNet(config: { MODEL: PoseHRNetSpec }, opts: CreatePoseHRNetOptions = {}): PoseHRNet {
  return new PoseHRNet(config.MODEL, opts);
}

/**
 * The experiment config: the layout, key names and defaults of the official HRNet
 * code (`lib/config/default.py` + `lib/config/models.py` + the experiment YAMLs),
 * plus a few documented project additions. Keys keep their official UPPER_CASE
 * names so an official experiment YAML reads the same here.
 *
 * Every key is written once, in {@link CONFIG_FIELDS}: its doc comment, how its value is
 * checked and its default. The {@link Config} type, {@link defaultConfig} and the checks of
 * `load.ts` all come from that table. Scalar keys are readonly; list keys are mutable arrays.
 *
 * Every size is `[width, height]`, as in the official configs.
 */

/** Residual blocks of a stage: `BasicBlock` (expansion 1) or `Bottleneck` (expansion 4). */
export const BLOCK_TYPES = ['BASIC', 'BOTTLENECK'] as const;
/** Residual block of a stage: `BasicBlock` (expansion 1) or `Bottleneck` (expansion 4). */
export type BlockType = (typeof BLOCK_TYPES)[number];

/** How the branches of a high-resolution module are fused; the official code only implements `SUM`. */
export const FUSE_METHODS = ['SUM'] as const;
/** How the branches of a high-resolution module are fused; the official code only implements `SUM`. */
export type FuseMethod = (typeof FUSE_METHODS)[number];

/** Optimizer names of the official `get_optimizer`. */
export const OPTIMIZER_NAMES = ['adam', 'sgd'] as const;
/** Optimizer names of the official `get_optimizer`. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Dataset kinds. `synthetic` renders data in COCO format; `custom` is a user's COCO-format keypoint dataset. */
export const DATASET_NAMES = ['coco', 'mpii', 'custom', 'synthetic'] as const;
/** Dataset kinds. `synthetic` renders data in COCO format; `custom` is a user's COCO-format keypoint dataset. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Heatmap decoding at test time: the official argmax + quarter-pixel shift, or DARK (distribution-aware). */
export const DECODE_METHODS = ['default', 'dark'] as const;
/** Heatmap decoding at test time: the official argmax + quarter-pixel shift, or DARK (distribution-aware). */
export type DecodeMethod = (typeof DECODE_METHODS)[number];

/** Target representations; the official code implements Gaussian heatmaps only. */
export const TARGET_TYPES = ['gaussian'] as const;
/** Target representation; the official code implements Gaussian heatmaps only. */
export type TargetType = (typeof TARGET_TYPES)[number];

/** The values of {@link ConvInit}. */
export const CONV_INITS = ['normal', 'kaiming'] as const;
/**
 * `MODEL.CONV_INIT`, how random convolution weights are drawn: `normal` is the official
 * `init_weights`, N(0, 0.001²) for every conv; `kaiming` draws the convs that BatchNorm follows
 * from He's normal with fan-out, N(0, 2 / (k²·out)), as torchvision's ResNets do, and keeps
 * N(0, 0.001²) for the output layer. With BatchNorm the scale of a weight does not change the
 * forward pass, but it sets the size of an optimizer step relative to the weight: from 0.001, each
 * Adam step of 1e-3 changes a weight by about its own size, and short runs from scratch learn far
 * more slowly.
 */
export type ConvInit = (typeof CONV_INITS)[number];

/** What a leaf key holds, as checked when a YAML file or an override sets it. */
export type ConfigField =
  | {
      readonly kind: 'number';
      /** Whole numbers only. */
      readonly integer?: boolean;
      /** Smallest allowed value. */
      readonly min?: number;
      /** `min` itself is not allowed. */
      readonly exclusiveMin?: boolean;
      /** `null` is allowed. */
      readonly nullable?: boolean;
      /** The only allowed values. */
      readonly oneOf?: readonly number[];
    }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'string' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | {
      readonly kind: 'numberList';
      readonly integer?: boolean;
      readonly min?: number;
      readonly exclusiveMin?: boolean;
      /** Required number of entries. */
      readonly length?: number;
    }
  | { readonly kind: 'stringList' }
  /** `[P, 2]` non-negative integer joint-index pairs. */
  | { readonly kind: 'indexPairs' }
  /** Device-id list; also accepts the official tuple string `(0,1,2,3)`. */
  | { readonly kind: 'gpus' };

/** The kinds whose values are lists: their keys are mutable arrays in {@link Config}, the others readonly. */
type ListKind = 'numberList' | 'stringList' | 'indexPairs' | 'gpus';

/** One key of {@link CONFIG_FIELDS}: how its value is checked, and its default (of type `T`). */
export type ConfigKey<T, F extends ConfigField = ConfigField> = F & { readonly default: T };

/** A section of {@link CONFIG_FIELDS}: keys and subsections. */
export interface ConfigSection {
  readonly [key: string]: ConfigKey<unknown> | ConfigSection;
}

/** The value type of a key, or the config type of a section. */
type ValueOf<N> = N extends { readonly default: infer T } ? T : ConfigOf<N>;
/** The keys of a section whose values are lists. */
type ListKeys<S> = { [K in keyof S]: S[K] extends { readonly kind: ListKind } ? K : never }[keyof S];

/**
 * The config type a section of {@link CONFIG_FIELDS} describes: each key's value type from its default, scalar keys
 * and subsections readonly, list keys mutable. The doc comment of each key is the one on its table entry.
 */
export type ConfigOf<S> = {
  readonly [K in keyof S as K extends ListKeys<S> ? never : K]: ValueOf<S[K]>;
} & {
  -readonly [K in keyof S as K extends ListKeys<S> ? K : never]: ValueOf<S[K]>;
};

// Key builders: the check of a kind of value, with the key's default.

/** The {@link ConfigField} of a kind. */
type FieldOf<K extends ConfigField['kind']> = Extract<ConfigField, { readonly kind: K }>;

/** An integer ≥ 1. */
function positiveInt(value: number): ConfigKey<number, FieldOf<'number'>> {
  return { kind: 'number', integer: true, min: 1, default: value };
}
/** An integer ≥ 0. */
function nonNegativeInt(value: number): ConfigKey<number, FieldOf<'number'>> {
  return { kind: 'number', integer: true, min: 0, default: value };
}
/** An integer ≥ 0, or `null`. */
function nullableNonNegativeInt(value: number | null): ConfigKey<number | null, FieldOf<'number'>> {
  return { kind: 'number', integer: true, min: 0, nullable: true, default: value };
}
/** A number ≥ 0. */
function nonNegative(value: number): ConfigKey<number, FieldOf<'number'>> {
  return { kind: 'number', min: 0, default: value };
}
/** A number > 0. */
function positive(value: number): ConfigKey<number, FieldOf<'number'>> {
  return { kind: 'number', min: 0, exclusiveMin: true, default: value };
}
/** Any finite number. */
function anyNumber(value: number): ConfigKey<number, FieldOf<'number'>> {
  return { kind: 'number', default: value };
}
/** One of `values` (integers). */
function numberOneOf<const V extends readonly number[]>(values: V, value: V[number]): ConfigKey<V[number], FieldOf<'number'>> {
  return { kind: 'number', integer: true, oneOf: values, default: value };
}
/** `true` or `false`. */
function bool(value: boolean): ConfigKey<boolean, FieldOf<'boolean'>> {
  return { kind: 'boolean', default: value };
}
/** A string; an empty YAML value reads as `''`. */
function str(value: string): ConfigKey<string, FieldOf<'string'>> {
  return { kind: 'string', default: value };
}
/** One of `values` (strings). */
function oneOf<const V extends readonly string[]>(values: V, value: V[number]): ConfigKey<V[number], FieldOf<'enum'>> {
  return { kind: 'enum', values, default: value };
}
/** A `[width, height]` of integers ≥ 1. */
function size(value: [number, number]): ConfigKey<[number, number], FieldOf<'numberList'>> {
  return { kind: 'numberList', integer: true, min: 1, length: 2, default: value };
}
/** A list of numbers; `check` bounds the entries. */
function numberList(
  value: number[],
  check: { integer?: boolean; min?: number; exclusiveMin?: boolean } = {},
): ConfigKey<number[], FieldOf<'numberList'>> {
  return { kind: 'numberList', ...check, default: value };
}
/** A list of strings. */
function stringList(value: string[]): ConfigKey<string[], FieldOf<'stringList'>> {
  return { kind: 'stringList', default: value };
}
/** A list of `[i, j]` pairs of joint indices (integers ≥ 0). */
function indexPairs(value: number[][]): ConfigKey<number[][], FieldOf<'indexPairs'>> {
  return { kind: 'indexPairs', default: value };
}
/** Device ids; also the official tuple string `(0,1,2,3)`. */
function gpus(value: number[]): ConfigKey<number[], FieldOf<'gpus'>> {
  return { kind: 'gpus', default: value };
}

/** The keys of one stage (`STAGE1` … `STAGE4`) of `MODEL.EXTRA`, with that stage's defaults. */
function stageKeys(modules: number, branches: number, block: BlockType, blocks: number[], channels: number[]) {
  return {
    /** Number of high-resolution modules stacked in this stage. */
    NUM_MODULES: positiveInt(modules),
    /** Number of parallel resolution branches; equals the lengths of NUM_BLOCKS and NUM_CHANNELS. */
    NUM_BRANCHES: positiveInt(branches),
    /** Residual block used in every branch. */
    BLOCK: oneOf(BLOCK_TYPES, block),
    /** Blocks per branch, `[NUM_BRANCHES]`. */
    NUM_BLOCKS: numberList(blocks, { integer: true, min: 1 }),
    /** Channels per branch before block expansion, `[NUM_BRANCHES]`, highest resolution first. */
    NUM_CHANNELS: numberList(channels, { integer: true, min: 1 }),
    /** Branch fusion; `SUM` only. */
    FUSE_METHOD: oneOf(FUSE_METHODS, 'SUM'),
  };
}

/**
 * Every key of the config, in the official layout and order: its doc comment, how its value is checked
 * ({@link ConfigField}) and its default — the official `default.py` values, with `MODEL.EXTRA` = HRNet-W32 and
 * the project additions at their neutral values. Frozen: take a config from {@link defaultConfig}.
 */
export const CONFIG_FIELDS = deepFreeze({
  /** Root folder of run outputs (checkpoints, pictures). */
  OUTPUT_DIR: str(''),
  /** Root folder of logs. */
  LOG_DIR: str(''),
  /** Prefix of DATASET.ROOT, MODEL.PRETRAINED and TEST.MODEL_FILE. */
  DATA_DIR: str(''),
  /** Device ids; a YAML string such as `(0,1,2,3)` is read as the list it spells. */
  GPUS: gpus([0]),
  /** Data-loading workers. */
  WORKERS: nonNegativeInt(4),
  /** Log every PRINT_FREQ iterations. */
  PRINT_FREQ: positiveInt(20),
  /** Resume automatically from the run's last checkpoint when it exists. */
  AUTO_RESUME: bool(false),
  /** Official key, no effect on TensorFlow.js. */
  PIN_MEMORY: bool(true),
  /** Official key (distributed rank), unused. */
  RANK: nonNegativeInt(0),
  /** `CUDNN`: kept so official YAMLs load; has no effect on TensorFlow.js. */
  CUDNN: {
    BENCHMARK: bool(true),
    DETERMINISTIC: bool(false),
    ENABLED: bool(true),
  },
  /** `MODEL`: network and target geometry. */
  MODEL: {
    /** Model name; `pose_hrnet` for HRNet. */
    NAME: str('pose_hrnet'),
    /** Initialise from `PRETRAINED` (when it is non-empty) after the random initialisation. */
    INIT_WEIGHTS: bool(true),
    /** Project key: how the random conv weights are drawn, `normal` (official, default) or `kaiming` ({@link ConvInit}). */
    CONV_INIT: oneOf(CONV_INITS, 'normal'),
    /** Path of pretrained (e.g. ImageNet) weights, relative to `DATA_DIR`; `''` = none. */
    PRETRAINED: str(''),
    /** Number of keypoints K (heatmap channels). */
    NUM_JOINTS: positiveInt(17),
    /** Official key, unused by HRNet. */
    TAG_PER_JOINT: bool(true),
    /** Target representation: `gaussian`. */
    TARGET_TYPE: oneOf(TARGET_TYPES, 'gaussian'),
    /** Network input `[width, height]` in pixels. */
    IMAGE_SIZE: size([256, 256]),
    /** Heatmap `[width, height]`; always IMAGE_SIZE / 4 (the network outputs at stride 4). */
    HEATMAP_SIZE: size([64, 64]),
    /** Standard deviation of the Gaussian targets, in heatmap pixels. */
    SIGMA: positive(2),
    /**
     * Project key (mmpose's `use_udp`): unbiased data processing (Huang et al., CVPR 2020) — the `(size − 1)` crop
     * affine and target grid, Gaussians at the exact heatmap position, DARK-UDP decoding (`TEST.DECODE` is then not
     * used, and `TEST.SHIFT_HEATMAP` must be false). Default false: the official processing.
     */
    USE_UDP: bool(false),
    /** `MODEL.EXTRA`: the HRNet architecture (official `POSE_HIGH_RESOLUTION_NET` keys); default HRNet-W32. */
    EXTRA: {
      /** State-dict prefixes loaded from `MODEL.PRETRAINED`; `['*']` loads every layer. */
      PRETRAINED_LAYERS: stringList(['*']),
      /** Kernel of the final heatmap conv: 1, or 3 with padding 1. */
      FINAL_CONV_KERNEL: numberOneOf([1, 3], 1),
      /**
       * `layer1`, the single-branch stage after the stem (the key of the HigherHRNet/HRNet-classification
       * configs). The official pose code hard-codes it to 4 Bottlenecks of 64 planes, the default here.
       */
      STAGE1: stageKeys(1, 1, 'BOTTLENECK', [4], [64]),
      STAGE2: stageKeys(1, 2, 'BASIC', [4, 4], [32, 64]),
      STAGE3: stageKeys(4, 3, 'BASIC', [4, 4, 4], [32, 64, 128]),
      STAGE4: stageKeys(3, 4, 'BASIC', [4, 4, 4, 4], [32, 64, 128, 256]),
    },
  },
  /** `LOSS`. */
  LOSS: {
    /** Online hard keypoint mining: average only the TOPK largest per-joint losses of each sample. */
    USE_OHKM: bool(false),
    /** Number of joints kept by OHKM. */
    TOPK: positiveInt(8),
    /** Multiply each joint's loss by its target weight (0 for invisible joints). */
    USE_TARGET_WEIGHT: bool(true),
    /** Multiply target weights by the dataset's per-joint weights (`joints_weight`). */
    USE_DIFFERENT_JOINTS_WEIGHT: bool(false),
  },
  /** `DATASET`: data source and training augmentation. */
  DATASET: {
    /** Dataset root folder, relative to `DATA_DIR`. */
    ROOT: str(''),
    /** Dataset kind. */
    DATASET: oneOf(DATASET_NAMES, 'mpii'),
    /**
     * Training split. `coco`: image set name (`annotations/person_keypoints_<set>.json`, `images/<set>/`);
     * `mpii`: `annot/<set>.json`; `custom`: the COCO-format annotation file, relative to ROOT.
     */
    TRAIN_SET: str('train'),
    /** Test split, same meaning as TRAIN_SET. */
    TEST_SET: str('valid'),
    /** Image file extension (`jpg`, `png`). */
    DATA_FORMAT: str('jpg'),
    /** Official key (joint-set remapping); unused. */
    HYBRID_JOINTS_TYPE: str(''),
    /** Official training-sample selection by keypoint spread (COCO `select_data`). */
    SELECT_DATA: bool(false),
    /** Random horizontal flip (probability 0.5). */
    FLIP: bool(true),
    /** Random scale: `s · clip(N(0,1)·SF + 1, 1 − SF, 1 + SF)`. */
    SCALE_FACTOR: nonNegative(0.25),
    /** Random rotation in degrees: `clip(N(0,1)·RF, −2RF, 2RF)`, applied with probability 0.6. */
    ROT_FACTOR: nonNegative(30),
    /** Probability of the half-body crop (≤ 0 disables it; the MPII configs use −1). */
    PROB_HALF_BODY: anyNumber(0.0),
    /** A half-body crop needs more than this many visible joints. */
    NUM_JOINTS_HALF_BODY: nonNegativeInt(8),
    /** Feed RGB (true) or BGR (false, OpenCV's order) to the network. */
    COLOR_RGB: bool(false),
    /**
     * Keypoint meta file (JSON or YAML: names, flip pairs, upper-body ids, joint weights, OKS sigmas,
     * skeleton) for datasets whose annotation categories lack it; `''` = none.
     */
    KEYPOINT_META: str(''),
    /** Left/right joint pairs swapped by a flip, `[P, 2]`, 0-based; empty = from the dataset or meta file. */
    FLIP_PAIRS: indexPairs([]),
    /** Joints of the upper body for the half-body crop, `[U]`, 0-based; empty = from the dataset or meta file. */
    UPPER_BODY_IDS: numberList([], { integer: true, min: 0 }),
    /** Per-joint loss weights, `[NUM_JOINTS]`; empty = from the dataset or meta file. */
    JOINTS_WEIGHT: numberList([], { min: 0 }),
    /** Per-joint OKS sigmas for COCO-style AP, `[NUM_JOINTS]`; empty = from the dataset or meta file. */
    OKS_SIGMAS: numberList([], { min: 0, exclusiveMin: true }),
    /** Keypoint names, `[NUM_JOINTS]`; empty = from the dataset or meta file. */
    KEYPOINT_NAMES: stringList([]),
    /** Limbs drawn in visualisations, `[L, 2]`, 0-based joint indices; empty = from the dataset or meta file. */
    SKELETON: indexPairs([]),
    /**
     * Largest share (0–1) of bad samples a split may hold: annotations that cannot be used (a box that is not
     * finite or has no area, keypoints that are not numbers) and images that are missing or cannot be decoded.
     * Bad samples up to this share are reported with their file and skipped; more refuses the split with the list.
     */
    MAX_BAD_SAMPLE_SHARE: nonNegative(0.05),
  },
  /** `TRAIN`: optimisation and schedule. */
  TRAIN: {
    /** Multiplicative LR decay at each LR_STEP epoch. */
    LR_FACTOR: positive(0.1),
    /** Epochs at which the LR is multiplied by LR_FACTOR, ascending. */
    LR_STEP: numberList([90, 110], { integer: true, min: 0 }),
    /** Base learning rate. */
    LR: positive(0.001),
    /** `adam` (no weight decay, as in the official code) or `sgd` (uses MOMENTUM, WD, NESTEROV). */
    OPTIMIZER: oneOf(OPTIMIZER_NAMES, 'adam'),
    /** SGD momentum. */
    MOMENTUM: nonNegative(0.9),
    /** SGD weight decay; the official Adam optimizer ignores it. */
    WD: nonNegative(0.0001),
    /** SGD Nesterov momentum. */
    NESTEROV: bool(false),
    /** Official key, unused. */
    GAMMA1: anyNumber(0.99),
    /** Official key, unused. */
    GAMMA2: anyNumber(0.0),
    /** First epoch (overridden by a resumed checkpoint). */
    BEGIN_EPOCH: nonNegativeInt(0),
    /** Training stops before this epoch. */
    END_EPOCH: nonNegativeInt(140),
    /** Official key, unused by the official training script (it resumes through AUTO_RESUME). */
    RESUME: bool(false),
    /** Official key, unused by the official training script. */
    CHECKPOINT: str(''),
    /** Batch size per device; the batch is BATCH_SIZE_PER_GPU × the number of GPUS. */
    BATCH_SIZE_PER_GPU: positiveInt(32),
    /** Shuffle the training set every epoch. */
    SHUFFLE: bool(true),
    /**
     * Project addition: seed of every random draw in the data path and of the weight initialisation.
     * `null` (the default, like the unseeded official code) draws a fresh seed per run.
     */
    SEED: nullableNonNegativeInt(null),
  },
  /** `TEST`: evaluation. */
  TEST: {
    /** Batch size per device at test time. */
    BATCH_SIZE_PER_GPU: positiveInt(32),
    /** Average with the prediction on the flipped image. */
    FLIP_TEST: bool(false),
    /** Quarter-pixel refinement toward the higher neighbour when decoding heatmaps. */
    POST_PROCESS: bool(false),
    /** Shift the flipped-back heatmaps one pixel right before averaging. */
    SHIFT_HEATMAP: bool(false),
    /** Evaluate on ground-truth boxes (true) or on the detections in COCO_BBOX_FILE (false). */
    USE_GT_BBOX: bool(false),
    /** Minimum detection score of a person box. */
    IMAGE_THRE: anyNumber(0.1),
    /** Official key, unused by the keypoint NMS. */
    NMS_THRE: anyNumber(0.6),
    /** Use soft OKS NMS instead of hard OKS NMS. */
    SOFT_NMS: bool(false),
    /** OKS threshold of the keypoint NMS. */
    OKS_THRE: anyNumber(0.5),
    /** Keypoints scoring above this count towards the instance rescoring. */
    IN_VIS_THRE: anyNumber(0.0),
    /** Person detections (COCO results JSON) used when USE_GT_BBOX is false. */
    COCO_BBOX_FILE: str(''),
    /** Official key, unused. */
    BBOX_THRE: anyNumber(1.0),
    /** Weights to evaluate, relative to `DATA_DIR`; `''` = the run's final state. */
    MODEL_FILE: str(''),
    /** Project addition: heatmap decoding without UDP, `default` (official quarter-pixel shift) or `dark`. */
    DECODE: oneOf(DECODE_METHODS, 'default'),
  },
  /** `DEBUG`: pictures written during training and validation. */
  DEBUG: {
    /** Master switch for the pictures below. */
    DEBUG: bool(false),
    SAVE_BATCH_IMAGES_GT: bool(false),
    SAVE_BATCH_IMAGES_PRED: bool(false),
    SAVE_HEATMAPS_GT: bool(false),
    SAVE_HEATMAPS_PRED: bool(false),
  },
});

/** The whole experiment config (official layout), as {@link CONFIG_FIELDS} describes it. */
export type Config = ConfigOf<typeof CONFIG_FIELDS>;
/** `CUDNN`: kept so official YAMLs load; has no effect on TensorFlow.js. */
export type CudnnConfig = Config['CUDNN'];
/** `MODEL`: network and target geometry. */
export type ModelConfig = Config['MODEL'];
/** `MODEL.EXTRA`: the HRNet architecture (official `POSE_HIGH_RESOLUTION_NET` keys). */
export type ModelExtra = ModelConfig['EXTRA'];
/** One stage (`STAGE1` … `STAGE4`) of `MODEL.EXTRA`. */
export type StageConfig = ModelExtra['STAGE2'];
/** `LOSS`. */
export type LossConfig = Config['LOSS'];
/** `DATASET`: data source and training augmentation. */
export type DatasetConfig = Config['DATASET'];
/** `TRAIN`: optimisation and schedule. */
export type TrainConfig = Config['TRAIN'];
/** `TEST`: evaluation. */
export type TestConfig = Config['TEST'];
/** `DEBUG`: pictures written during training and validation. */
export type DebugConfig = Config['DEBUG'];

/** Whether a node of {@link CONFIG_FIELDS} is a key (else it is a section). */
export function isConfigKey(node: ConfigKey<unknown> | ConfigSection): node is ConfigKey<unknown> {
  return typeof node.kind === 'string';
}

/** The defaults of a section, as fresh values. */
function defaultsOf(section: ConfigSection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(section)) {
    out[name] = isConfigKey(node) ? structuredClone(node.default) : defaultsOf(node);
  }
  return out;
}

/**
 * A fresh copy of the default config: the official `default.py` values, with
 * `MODEL.EXTRA` = HRNet-W32 and the project additions at their neutral values.
 */
export function defaultConfig(): Config {
  return defaultsOf(CONFIG_FIELDS) as unknown as Config;
}

/** Freezes `value` and everything it holds; returns it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

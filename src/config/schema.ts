/**
 * The experiment config: the layout, key names and defaults of the official HRNet
 * code (`lib/config/default.py` + `lib/config/models.py` + the experiment YAMLs),
 * plus a few documented project additions. Keys keep their official UPPER_CASE
 * names so an official experiment YAML reads the same here.
 *
 * Every size is `[width, height]`, as in the official configs.
 */

/** Residual block of a stage: `BasicBlock` (expansion 1) or `Bottleneck` (expansion 4). */
export type BlockType = 'BASIC' | 'BOTTLENECK';

/** How the branches of a high-resolution module are fused; the official code only implements `SUM`. */
export type FuseMethod = 'SUM';

/** Optimizer names of the official `get_optimizer`. */
export type OptimizerName = 'adam' | 'sgd';

/** Dataset kinds. `synthetic` renders data in COCO format; `custom` is a user's COCO-format keypoint dataset. */
export type DatasetName = 'coco' | 'mpii' | 'custom' | 'synthetic';

/** Heatmap decoding at test time: the official argmax + quarter-pixel shift, or DARK (distribution-aware). */
export type DecodeMethod = 'default' | 'dark';

/** Target representation; the official code implements Gaussian heatmaps only. */
export type TargetType = 'gaussian';

/**
 * `MODEL.CONV_INIT`, how random convolution weights are drawn: `normal` is the official
 * `init_weights`, N(0, 0.001²) for every conv; `kaiming` draws the convs that BatchNorm follows
 * from He's normal with fan-out, N(0, 2 / (k²·out)), as torchvision's ResNets do, and keeps
 * N(0, 0.001²) for the output layer. With BatchNorm the scale of a weight does not change the
 * forward pass, but it sets the size of an optimizer step relative to the weight: from 0.001, each
 * Adam step of 1e-3 changes a weight by about its own size, and short runs from scratch learn far
 * more slowly.
 */
export type ConvInit = 'normal' | 'kaiming';

/** One stage (`STAGE2`, `STAGE3`, `STAGE4`) of `MODEL.EXTRA`. */
export interface StageConfig {
  /** Number of high-resolution modules stacked in this stage. */
  readonly NUM_MODULES: number;
  /** Number of parallel resolution branches; equals the lengths of NUM_BLOCKS and NUM_CHANNELS. */
  readonly NUM_BRANCHES: number;
  /** Residual block used in every branch. */
  readonly BLOCK: BlockType;
  /** Blocks per branch, `[NUM_BRANCHES]`. */
  NUM_BLOCKS: number[];
  /** Channels per branch before block expansion, `[NUM_BRANCHES]`, highest resolution first. */
  NUM_CHANNELS: number[];
  /** Branch fusion; `SUM` only. */
  readonly FUSE_METHOD: FuseMethod;
}

/** `MODEL.EXTRA`: the HRNet architecture (official `POSE_HIGH_RESOLUTION_NET` keys). */
export interface ModelExtra {
  /** State-dict prefixes loaded from `MODEL.PRETRAINED`; `['*']` loads every layer. */
  PRETRAINED_LAYERS: string[];
  /** Kernel of the final heatmap conv: 1, or 3 with padding 1. */
  readonly FINAL_CONV_KERNEL: 1 | 3;
  /**
   * `layer1`, the single-branch stage after the stem (the key of the HigherHRNet/HRNet-classification
   * configs). The official pose code hard-codes it to 4 Bottlenecks of 64 planes, the default here.
   */
  readonly STAGE1: StageConfig;
  readonly STAGE2: StageConfig;
  readonly STAGE3: StageConfig;
  readonly STAGE4: StageConfig;
}

/** `CUDNN`: kept so official YAMLs load; has no effect on TensorFlow.js. */
export interface CudnnConfig {
  readonly BENCHMARK: boolean;
  readonly DETERMINISTIC: boolean;
  readonly ENABLED: boolean;
}

/** `MODEL`: network and target geometry. */
export interface ModelConfig {
  /** Model name; `pose_hrnet` for HRNet. */
  readonly NAME: string;
  /** Initialise from `PRETRAINED` (when it is non-empty) after the random initialisation. */
  readonly INIT_WEIGHTS: boolean;
  /** Project key: how the random conv weights are drawn, `normal` (official, default) or `kaiming` ({@link ConvInit}). */
  readonly CONV_INIT: ConvInit;
  /** Path of pretrained (e.g. ImageNet) weights, relative to `DATA_DIR`; `''` = none. */
  readonly PRETRAINED: string;
  /** Number of keypoints K (heatmap channels). */
  readonly NUM_JOINTS: number;
  /** Official key, unused by HRNet. */
  readonly TAG_PER_JOINT: boolean;
  /** Target representation: `gaussian`. */
  readonly TARGET_TYPE: TargetType;
  /** Network input `[width, height]` in pixels. */
  IMAGE_SIZE: [number, number];
  /** Heatmap `[width, height]`; always IMAGE_SIZE / 4 (the network outputs at stride 4). */
  HEATMAP_SIZE: [number, number];
  /** Standard deviation of the Gaussian targets, in heatmap pixels. */
  readonly SIGMA: number;
  /**
   * Project key (mmpose's `use_udp`): unbiased data processing (Huang et al., CVPR 2020) — the `(size − 1)` crop
   * affine and target grid, Gaussians at the exact heatmap position, DARK-UDP decoding (`TEST.DECODE` is then not
   * used, and `TEST.SHIFT_HEATMAP` must be false). Default false: the official processing.
   */
  readonly USE_UDP: boolean;
  /** Architecture. */
  readonly EXTRA: ModelExtra;
}

/** `LOSS`. */
export interface LossConfig {
  /** Online hard keypoint mining: average only the TOPK largest per-joint losses of each sample. */
  readonly USE_OHKM: boolean;
  /** Number of joints kept by OHKM. */
  readonly TOPK: number;
  /** Multiply each joint's loss by its target weight (0 for invisible joints). */
  readonly USE_TARGET_WEIGHT: boolean;
  /** Multiply target weights by the dataset's per-joint weights (`joints_weight`). */
  readonly USE_DIFFERENT_JOINTS_WEIGHT: boolean;
}

/** `DATASET`: data source and training augmentation. */
export interface DatasetConfig {
  /** Dataset root folder, relative to `DATA_DIR`. */
  readonly ROOT: string;
  /** Dataset kind. */
  readonly DATASET: DatasetName;
  /**
   * Training split. `coco`: image set name (`annotations/person_keypoints_<set>.json`, `images/<set>/`);
   * `mpii`: `annot/<set>.json`; `custom`: the COCO-format annotation file, relative to ROOT.
   */
  readonly TRAIN_SET: string;
  /** Test split, same meaning as TRAIN_SET. */
  readonly TEST_SET: string;
  /** Image file extension (`jpg`, `png`). */
  readonly DATA_FORMAT: string;
  /** Official key (joint-set remapping); unused. */
  readonly HYBRID_JOINTS_TYPE: string;
  /** Official training-sample selection by keypoint spread (COCO `select_data`). */
  readonly SELECT_DATA: boolean;
  /** Random horizontal flip (probability 0.5). */
  readonly FLIP: boolean;
  /** Random scale: `s · clip(N(0,1)·SF + 1, 1 − SF, 1 + SF)`. */
  readonly SCALE_FACTOR: number;
  /** Random rotation in degrees: `clip(N(0,1)·RF, −2RF, 2RF)`, applied with probability 0.6. */
  readonly ROT_FACTOR: number;
  /** Probability of the half-body crop (≤ 0 disables it; the MPII configs use −1). */
  readonly PROB_HALF_BODY: number;
  /** A half-body crop needs more than this many visible joints. */
  readonly NUM_JOINTS_HALF_BODY: number;
  /** Feed RGB (true) or BGR (false, OpenCV's order) to the network. */
  readonly COLOR_RGB: boolean;
  /**
   * Keypoint meta file (JSON or YAML: names, flip pairs, upper-body ids, joint weights, OKS sigmas,
   * skeleton) for datasets whose annotation categories lack it; `''` = none.
   */
  readonly KEYPOINT_META: string;
  /** Left/right joint pairs swapped by a flip, `[P, 2]`, 0-based; empty = from the dataset or meta file. */
  FLIP_PAIRS: number[][];
  /** Joints of the upper body for the half-body crop, `[U]`, 0-based; empty = from the dataset or meta file. */
  UPPER_BODY_IDS: number[];
  /** Per-joint loss weights, `[NUM_JOINTS]`; empty = from the dataset or meta file. */
  JOINTS_WEIGHT: number[];
  /** Per-joint OKS sigmas for COCO-style AP, `[NUM_JOINTS]`; empty = from the dataset or meta file. */
  OKS_SIGMAS: number[];
  /** Keypoint names, `[NUM_JOINTS]`; empty = from the dataset or meta file. */
  KEYPOINT_NAMES: string[];
  /** Limbs drawn in visualisations, `[L, 2]`, 0-based joint indices; empty = from the dataset or meta file. */
  SKELETON: number[][];
  /**
   * Largest share (0–1) of bad samples a split may hold: annotations that cannot be used (a box that is not
   * finite or has no area, keypoints that are not numbers) and images that are missing or cannot be decoded.
   * Bad samples up to this share are reported with their file and skipped; more refuses the split with the list.
   */
  readonly MAX_BAD_SAMPLE_SHARE: number;
}

/** `TRAIN`: optimisation and schedule. */
export interface TrainConfig {
  /** Multiplicative LR decay at each LR_STEP epoch. */
  readonly LR_FACTOR: number;
  /** Epochs at which the LR is multiplied by LR_FACTOR, ascending. */
  LR_STEP: number[];
  /** Base learning rate. */
  readonly LR: number;
  /** `adam` (no weight decay, as in the official code) or `sgd` (uses MOMENTUM, WD, NESTEROV). */
  readonly OPTIMIZER: OptimizerName;
  /** SGD momentum. */
  readonly MOMENTUM: number;
  /** SGD weight decay; the official Adam optimizer ignores it. */
  readonly WD: number;
  /** SGD Nesterov momentum. */
  readonly NESTEROV: boolean;
  /** Official key, unused. */
  readonly GAMMA1: number;
  /** Official key, unused. */
  readonly GAMMA2: number;
  /** First epoch (overridden by a resumed checkpoint). */
  readonly BEGIN_EPOCH: number;
  /** Training stops before this epoch. */
  readonly END_EPOCH: number;
  /** Official key, unused by the official training script (it resumes through AUTO_RESUME). */
  readonly RESUME: boolean;
  /** Official key, unused by the official training script. */
  readonly CHECKPOINT: string;
  /** Batch size per device; the batch is BATCH_SIZE_PER_GPU × the number of GPUS. */
  readonly BATCH_SIZE_PER_GPU: number;
  /** Shuffle the training set every epoch. */
  readonly SHUFFLE: boolean;
  /**
   * Project addition: seed of every random draw in the data path and of the weight initialisation.
   * `null` (the default, like the unseeded official code) draws a fresh seed per run.
   */
  readonly SEED: number | null;
}

/** `TEST`: evaluation. */
export interface TestConfig {
  /** Batch size per device at test time. */
  readonly BATCH_SIZE_PER_GPU: number;
  /** Average with the prediction on the flipped image. */
  readonly FLIP_TEST: boolean;
  /** Quarter-pixel refinement toward the higher neighbour when decoding heatmaps. */
  readonly POST_PROCESS: boolean;
  /** Shift the flipped-back heatmaps one pixel right before averaging. */
  readonly SHIFT_HEATMAP: boolean;
  /** Evaluate on ground-truth boxes (true) or on the detections in COCO_BBOX_FILE (false). */
  readonly USE_GT_BBOX: boolean;
  /** Minimum detection score of a person box. */
  readonly IMAGE_THRE: number;
  /** Official key, unused by the keypoint NMS. */
  readonly NMS_THRE: number;
  /** Use soft OKS NMS instead of hard OKS NMS. */
  readonly SOFT_NMS: boolean;
  /** OKS threshold of the keypoint NMS. */
  readonly OKS_THRE: number;
  /** Keypoints scoring above this count towards the instance rescoring. */
  readonly IN_VIS_THRE: number;
  /** Person detections (COCO results JSON) used when USE_GT_BBOX is false. */
  readonly COCO_BBOX_FILE: string;
  /** Official key, unused. */
  readonly BBOX_THRE: number;
  /** Weights to evaluate, relative to `DATA_DIR`; `''` = the run's final state. */
  readonly MODEL_FILE: string;
  /** Project addition: heatmap decoding without UDP, `default` (official quarter-pixel shift) or `dark`. */
  readonly DECODE: DecodeMethod;
}

/** `DEBUG`: pictures written during training and validation. */
export interface DebugConfig {
  /** Master switch for the pictures below. */
  readonly DEBUG: boolean;
  readonly SAVE_BATCH_IMAGES_GT: boolean;
  readonly SAVE_BATCH_IMAGES_PRED: boolean;
  readonly SAVE_HEATMAPS_GT: boolean;
  readonly SAVE_HEATMAPS_PRED: boolean;
}

/** The whole experiment config (official layout). */
export interface Config {
  /** Root folder of run outputs (checkpoints, pictures). */
  readonly OUTPUT_DIR: string;
  /** Root folder of logs. */
  readonly LOG_DIR: string;
  /** Prefix of DATASET.ROOT, MODEL.PRETRAINED and TEST.MODEL_FILE. */
  readonly DATA_DIR: string;
  /** Device ids; a YAML string such as `(0,1,2,3)` is read as the list it spells. */
  GPUS: number[];
  /** Data-loading workers. */
  readonly WORKERS: number;
  /** Log every PRINT_FREQ iterations. */
  readonly PRINT_FREQ: number;
  /** Resume automatically from the run's last checkpoint when it exists. */
  readonly AUTO_RESUME: boolean;
  /** Official key, no effect on TensorFlow.js. */
  readonly PIN_MEMORY: boolean;
  /** Official key (distributed rank), unused. */
  readonly RANK: number;
  readonly CUDNN: CudnnConfig;
  readonly MODEL: ModelConfig;
  readonly LOSS: LossConfig;
  readonly DATASET: DatasetConfig;
  readonly TRAIN: TrainConfig;
  readonly TEST: TestConfig;
  readonly DEBUG: DebugConfig;
}

/** HRNet-W32 stage layout, the `MODEL.EXTRA` default. */
function defaultModelExtra(): ModelExtra {
  return {
    PRETRAINED_LAYERS: ['*'],
    FINAL_CONV_KERNEL: 1,
    STAGE1: {
      NUM_MODULES: 1,
      NUM_BRANCHES: 1,
      BLOCK: 'BOTTLENECK',
      NUM_BLOCKS: [4],
      NUM_CHANNELS: [64],
      FUSE_METHOD: 'SUM',
    },
    STAGE2: {
      NUM_MODULES: 1,
      NUM_BRANCHES: 2,
      BLOCK: 'BASIC',
      NUM_BLOCKS: [4, 4],
      NUM_CHANNELS: [32, 64],
      FUSE_METHOD: 'SUM',
    },
    STAGE3: {
      NUM_MODULES: 4,
      NUM_BRANCHES: 3,
      BLOCK: 'BASIC',
      NUM_BLOCKS: [4, 4, 4],
      NUM_CHANNELS: [32, 64, 128],
      FUSE_METHOD: 'SUM',
    },
    STAGE4: {
      NUM_MODULES: 3,
      NUM_BRANCHES: 4,
      BLOCK: 'BASIC',
      NUM_BLOCKS: [4, 4, 4, 4],
      NUM_CHANNELS: [32, 64, 128, 256],
      FUSE_METHOD: 'SUM',
    },
  };
}

/**
 * A fresh copy of the default config: the official `default.py` values, with
 * `MODEL.EXTRA` = HRNet-W32 and the project additions at their neutral values.
 */
export function defaultConfig(): Config {
  return {
    OUTPUT_DIR: '',
    LOG_DIR: '',
    DATA_DIR: '',
    GPUS: [0],
    WORKERS: 4,
    PRINT_FREQ: 20,
    AUTO_RESUME: false,
    PIN_MEMORY: true,
    RANK: 0,
    CUDNN: { BENCHMARK: true, DETERMINISTIC: false, ENABLED: true },
    MODEL: {
      NAME: 'pose_hrnet',
      INIT_WEIGHTS: true,
      CONV_INIT: 'normal',
      PRETRAINED: '',
      NUM_JOINTS: 17,
      TAG_PER_JOINT: true,
      TARGET_TYPE: 'gaussian',
      IMAGE_SIZE: [256, 256],
      HEATMAP_SIZE: [64, 64],
      SIGMA: 2,
      USE_UDP: false,
      EXTRA: defaultModelExtra(),
    },
    LOSS: { USE_OHKM: false, TOPK: 8, USE_TARGET_WEIGHT: true, USE_DIFFERENT_JOINTS_WEIGHT: false },
    DATASET: {
      ROOT: '',
      DATASET: 'mpii',
      TRAIN_SET: 'train',
      TEST_SET: 'valid',
      DATA_FORMAT: 'jpg',
      HYBRID_JOINTS_TYPE: '',
      SELECT_DATA: false,
      FLIP: true,
      SCALE_FACTOR: 0.25,
      ROT_FACTOR: 30,
      PROB_HALF_BODY: 0.0,
      NUM_JOINTS_HALF_BODY: 8,
      COLOR_RGB: false,
      KEYPOINT_META: '',
      FLIP_PAIRS: [],
      UPPER_BODY_IDS: [],
      JOINTS_WEIGHT: [],
      OKS_SIGMAS: [],
      KEYPOINT_NAMES: [],
      SKELETON: [],
      MAX_BAD_SAMPLE_SHARE: 0.05,
    },
    TRAIN: {
      LR_FACTOR: 0.1,
      LR_STEP: [90, 110],
      LR: 0.001,
      OPTIMIZER: 'adam',
      MOMENTUM: 0.9,
      WD: 0.0001,
      NESTEROV: false,
      GAMMA1: 0.99,
      GAMMA2: 0.0,
      BEGIN_EPOCH: 0,
      END_EPOCH: 140,
      RESUME: false,
      CHECKPOINT: '',
      BATCH_SIZE_PER_GPU: 32,
      SHUFFLE: true,
      SEED: null,
    },
    TEST: {
      BATCH_SIZE_PER_GPU: 32,
      FLIP_TEST: false,
      POST_PROCESS: false,
      SHIFT_HEATMAP: false,
      USE_GT_BBOX: false,
      IMAGE_THRE: 0.1,
      NMS_THRE: 0.6,
      SOFT_NMS: false,
      OKS_THRE: 0.5,
      IN_VIS_THRE: 0.0,
      COCO_BBOX_FILE: '',
      BBOX_THRE: 1.0,
      MODEL_FILE: '',
      DECODE: 'default',
    },
    DEBUG: {
      DEBUG: false,
      SAVE_BATCH_IMAGES_GT: false,
      SAVE_BATCH_IMAGES_PRED: false,
      SAVE_HEATMAPS_GT: false,
      SAVE_HEATMAPS_PRED: false,
    },
  };
}

/** What a leaf key holds, as checked when a YAML file or an override sets it. */
export type ConfigField =
  | {
      kind: 'number';
      /** Whole numbers only. */
      integer?: boolean;
      /** Smallest allowed value. */
      min?: number;
      /** `min` itself is not allowed. */
      exclusiveMin?: boolean;
      /** `null` is allowed. */
      nullable?: boolean;
      /** The only allowed values. */
      oneOf?: readonly number[];
    }
  | { kind: 'boolean' }
  | { kind: 'string' }
  | { kind: 'enum'; values: readonly string[] }
  | {
      kind: 'numberList';
      integer?: boolean;
      min?: number;
      exclusiveMin?: boolean;
      /** Required number of entries. */
      length?: number;
    }
  | { kind: 'stringList' }
  /** `[P, 2]` non-negative integer joint-index pairs. */
  | { kind: 'indexPairs' }
  /** Device-id list; also accepts the official tuple string `(0,1,2,3)`. */
  | { kind: 'gpus' };

/** A tree of {@link ConfigField}s with exactly the shape of `T`. */
export type ConfigFieldTree<T> = {
  readonly [K in keyof T]-?: T[K] extends readonly unknown[]
    ? ConfigField
    : T[K] extends object
      ? ConfigFieldTree<T[K]>
      : ConfigField;
};

const positiveInt: ConfigField = { kind: 'number', integer: true, min: 1 };
const nonNegativeInt: ConfigField = { kind: 'number', integer: true, min: 0 };
const nonNegative: ConfigField = { kind: 'number', min: 0 };
const positive: ConfigField = { kind: 'number', min: 0, exclusiveMin: true };
const anyNumber: ConfigField = { kind: 'number' };
const bool: ConfigField = { kind: 'boolean' };
const str: ConfigField = { kind: 'string' };
const size: ConfigField = { kind: 'numberList', integer: true, min: 1, length: 2 };
const positiveIntList: ConfigField = { kind: 'numberList', integer: true, min: 1 };

const stageFields: ConfigFieldTree<StageConfig> = {
  NUM_MODULES: positiveInt,
  NUM_BRANCHES: positiveInt,
  BLOCK: { kind: 'enum', values: ['BASIC', 'BOTTLENECK'] },
  NUM_BLOCKS: positiveIntList,
  NUM_CHANNELS: positiveIntList,
  FUSE_METHOD: { kind: 'enum', values: ['SUM'] },
};

/** The type and range of every key of {@link Config}. */
export const CONFIG_FIELDS: ConfigFieldTree<Config> = {
  OUTPUT_DIR: str,
  LOG_DIR: str,
  DATA_DIR: str,
  GPUS: { kind: 'gpus' },
  WORKERS: nonNegativeInt,
  PRINT_FREQ: positiveInt,
  AUTO_RESUME: bool,
  PIN_MEMORY: bool,
  RANK: nonNegativeInt,
  CUDNN: { BENCHMARK: bool, DETERMINISTIC: bool, ENABLED: bool },
  MODEL: {
    NAME: str,
    INIT_WEIGHTS: bool,
    CONV_INIT: { kind: 'enum', values: ['normal', 'kaiming'] },
    PRETRAINED: str,
    NUM_JOINTS: positiveInt,
    TAG_PER_JOINT: bool,
    TARGET_TYPE: { kind: 'enum', values: ['gaussian'] },
    IMAGE_SIZE: size,
    HEATMAP_SIZE: size,
    SIGMA: positive,
    USE_UDP: bool,
    EXTRA: {
      PRETRAINED_LAYERS: { kind: 'stringList' },
      FINAL_CONV_KERNEL: { kind: 'number', integer: true, oneOf: [1, 3] },
      STAGE1: stageFields,
      STAGE2: stageFields,
      STAGE3: stageFields,
      STAGE4: stageFields,
    },
  },
  LOSS: { USE_OHKM: bool, TOPK: positiveInt, USE_TARGET_WEIGHT: bool, USE_DIFFERENT_JOINTS_WEIGHT: bool },
  DATASET: {
    ROOT: str,
    DATASET: { kind: 'enum', values: ['coco', 'mpii', 'custom', 'synthetic'] },
    TRAIN_SET: str,
    TEST_SET: str,
    DATA_FORMAT: str,
    HYBRID_JOINTS_TYPE: str,
    SELECT_DATA: bool,
    FLIP: bool,
    SCALE_FACTOR: nonNegative,
    ROT_FACTOR: nonNegative,
    PROB_HALF_BODY: anyNumber,
    NUM_JOINTS_HALF_BODY: nonNegativeInt,
    COLOR_RGB: bool,
    KEYPOINT_META: str,
    FLIP_PAIRS: { kind: 'indexPairs' },
    UPPER_BODY_IDS: { kind: 'numberList', integer: true, min: 0 },
    JOINTS_WEIGHT: { kind: 'numberList', min: 0 },
    OKS_SIGMAS: { kind: 'numberList', min: 0, exclusiveMin: true },
    KEYPOINT_NAMES: { kind: 'stringList' },
    SKELETON: { kind: 'indexPairs' },
    MAX_BAD_SAMPLE_SHARE: nonNegative,
  },
  TRAIN: {
    LR_FACTOR: positive,
    LR_STEP: { kind: 'numberList', integer: true, min: 0 },
    LR: positive,
    OPTIMIZER: { kind: 'enum', values: ['adam', 'sgd'] },
    MOMENTUM: nonNegative,
    WD: nonNegative,
    NESTEROV: bool,
    GAMMA1: anyNumber,
    GAMMA2: anyNumber,
    BEGIN_EPOCH: nonNegativeInt,
    END_EPOCH: nonNegativeInt,
    RESUME: bool,
    CHECKPOINT: str,
    BATCH_SIZE_PER_GPU: positiveInt,
    SHUFFLE: bool,
    SEED: { kind: 'number', integer: true, min: 0, nullable: true },
  },
  TEST: {
    BATCH_SIZE_PER_GPU: positiveInt,
    FLIP_TEST: bool,
    POST_PROCESS: bool,
    SHIFT_HEATMAP: bool,
    USE_GT_BBOX: bool,
    IMAGE_THRE: anyNumber,
    NMS_THRE: anyNumber,
    SOFT_NMS: bool,
    OKS_THRE: anyNumber,
    IN_VIS_THRE: anyNumber,
    COCO_BBOX_FILE: str,
    BBOX_THRE: anyNumber,
    MODEL_FILE: str,
    DECODE: { kind: 'enum', values: ['default', 'dark'] },
  },
  DEBUG: {
    DEBUG: bool,
    SAVE_BATCH_IMAGES_GT: bool,
    SAVE_BATCH_IMAGES_PRED: bool,
    SAVE_HEATMAPS_GT: bool,
    SAVE_HEATMAPS_PRED: bool,
  },
};

/**
 * The configs under `configs/` against the official code's config: a run moves to a cluster by
 * training the same YAML with the official code (README, "Beyond one machine"), whose yacs loader
 * refuses a key it does not know and whose network ignores an `EXTRA` key it does not read. The
 * configs that mirror official experiments (COCO, MPII) hold official keys and one project key,
 * `TEST.DECODE: default` (the official decoding; the line must go before the official code reads
 * the file); the others list their project-only keys here, so a new one cannot slip in unnoticed.
 *
 * Official keys: every key of `lib/config/default.py` of deep-high-resolution-net.pytorch, and the
 * `MODEL.EXTRA` keys its `lib/models/pose_hrnet.py` reads (`EXTRA` itself allows any key).
 */
import * as fs from 'fs';
import * as path from 'path';
import YAML from 'yaml';

/** Keys of the official `lib/config/default.py`, as dotted paths. */
const OFFICIAL_DEFAULT_KEYS = [
  'OUTPUT_DIR', 'LOG_DIR', 'DATA_DIR', 'GPUS', 'WORKERS', 'PRINT_FREQ', 'AUTO_RESUME', 'PIN_MEMORY', 'RANK',
  'CUDNN.BENCHMARK', 'CUDNN.DETERMINISTIC', 'CUDNN.ENABLED',
  'MODEL.NAME', 'MODEL.INIT_WEIGHTS', 'MODEL.PRETRAINED', 'MODEL.NUM_JOINTS', 'MODEL.TAG_PER_JOINT', 'MODEL.TARGET_TYPE',
  'MODEL.IMAGE_SIZE', 'MODEL.HEATMAP_SIZE', 'MODEL.SIGMA',
  'LOSS.USE_OHKM', 'LOSS.TOPK', 'LOSS.USE_TARGET_WEIGHT', 'LOSS.USE_DIFFERENT_JOINTS_WEIGHT',
  'DATASET.ROOT', 'DATASET.DATASET', 'DATASET.TRAIN_SET', 'DATASET.TEST_SET', 'DATASET.DATA_FORMAT',
  'DATASET.HYBRID_JOINTS_TYPE', 'DATASET.SELECT_DATA', 'DATASET.FLIP', 'DATASET.SCALE_FACTOR', 'DATASET.ROT_FACTOR',
  'DATASET.PROB_HALF_BODY', 'DATASET.NUM_JOINTS_HALF_BODY', 'DATASET.COLOR_RGB',
  'TRAIN.LR_FACTOR', 'TRAIN.LR_STEP', 'TRAIN.LR', 'TRAIN.OPTIMIZER', 'TRAIN.MOMENTUM', 'TRAIN.WD', 'TRAIN.NESTEROV',
  'TRAIN.GAMMA1', 'TRAIN.GAMMA2', 'TRAIN.BEGIN_EPOCH', 'TRAIN.END_EPOCH', 'TRAIN.RESUME', 'TRAIN.CHECKPOINT',
  'TRAIN.BATCH_SIZE_PER_GPU', 'TRAIN.SHUFFLE',
  'TEST.BATCH_SIZE_PER_GPU', 'TEST.FLIP_TEST', 'TEST.POST_PROCESS', 'TEST.SHIFT_HEATMAP', 'TEST.USE_GT_BBOX',
  'TEST.IMAGE_THRE', 'TEST.NMS_THRE', 'TEST.SOFT_NMS', 'TEST.OKS_THRE', 'TEST.IN_VIS_THRE', 'TEST.COCO_BBOX_FILE',
  'TEST.BBOX_THRE', 'TEST.MODEL_FILE',
  'DEBUG.DEBUG', 'DEBUG.SAVE_BATCH_IMAGES_GT', 'DEBUG.SAVE_BATCH_IMAGES_PRED', 'DEBUG.SAVE_HEATMAPS_GT',
  'DEBUG.SAVE_HEATMAPS_PRED',
];

/** `MODEL.EXTRA` keys the official `pose_hrnet.py` reads. */
const STAGE_KEYS = ['NUM_MODULES', 'NUM_BRANCHES', 'BLOCK', 'NUM_BLOCKS', 'NUM_CHANNELS', 'FUSE_METHOD'];
const OFFICIAL_EXTRA_KEYS = [
  'MODEL.EXTRA.PRETRAINED_LAYERS',
  'MODEL.EXTRA.FINAL_CONV_KERNEL',
  ...['STAGE2', 'STAGE3', 'STAGE4'].flatMap((s) => STAGE_KEYS.map((k) => `MODEL.EXTRA.${s}.${k}`)),
];

const OFFICIAL_KEYS = new Set([...OFFICIAL_DEFAULT_KEYS, ...OFFICIAL_EXTRA_KEYS]);

/**
 * The one project key the official experiments carry: `TEST.DECODE: default`, which names the
 * official decoding (yacs refuses the key: remove the line for the official code; nothing changes).
 */
const OFFICIAL_EXPERIMENT_PROJECT_KEYS = ['TEST.DECODE'];

/**
 * Project-only keys of the configs that are not official experiments, with what they change. A run
 * of such a config under the official code needs these keys removed, and loses what they do.
 */
const PROJECT_ONLY_KEYS: Record<string, string[]> = {
  // layer1 of 2 Bottlenecks of 32 planes (the official network hard-codes 4 of 64: another network),
  // He-normal initial conv weights, DARK decoding, a seeded data order.
  'synthetic/w16_128x96.yaml': [
    ...STAGE_KEYS.map((k) => `MODEL.EXTRA.STAGE1.${k}`),
    'MODEL.CONV_INIT',
    'TRAIN.SEED',
    'TEST.DECODE',
  ],
  // The keypoint meta of a custom dataset (the official code knows COCO and MPII only), a seeded
  // data order, the decoding.
  'custom/template.yaml': [
    'TRAIN.SEED',
    'TEST.DECODE',
    'DATASET.KEYPOINT_META',
    'DATASET.KEYPOINT_NAMES',
    'DATASET.FLIP_PAIRS',
    'DATASET.UPPER_BODY_IDS',
    'DATASET.JOINTS_WEIGHT',
    'DATASET.OKS_SIGMAS',
    'DATASET.SKELETON',
  ],
};

/** Configs that mirror an official experiment: only official keys. */
const OFFICIAL_EXPERIMENTS = /^(coco|mpii)\//;

const CONFIG_DIR = path.resolve(__dirname, '..', '..', 'configs');

/** Every `.yaml` under `configs/`, relative to it. */
function configFiles(dir = CONFIG_DIR): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return configFiles(full);
    return e.name.endsWith('.yaml') ? [path.relative(CONFIG_DIR, full)] : [];
  });
}

/** The dotted paths of every leaf of a parsed YAML mapping (sequences are leaves). */
function leafKeys(node: unknown, prefix = ''): string[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [prefix];
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k));
}

describe('configs/ against the official config keys', () => {
  const files = configFiles();

  it('finds the official experiments and the project configs', () => {
    expect(files.filter((f) => OFFICIAL_EXPERIMENTS.test(f)).length).toBeGreaterThanOrEqual(6);
    for (const f of Object.keys(PROJECT_ONLY_KEYS)) expect(files).toContain(f);
  });

  it.each(configFiles())('%s: official keys and exactly the listed project-only keys', (file) => {
    const keys = leafKeys(YAML.parse(fs.readFileSync(path.join(CONFIG_DIR, file), 'utf8')));
    const unofficial = keys.filter((k) => !OFFICIAL_KEYS.has(k));
    if (OFFICIAL_EXPERIMENTS.test(file)) {
      expect(unofficial).toEqual(OFFICIAL_EXPERIMENT_PROJECT_KEYS);
      expect(YAML.parse(fs.readFileSync(path.join(CONFIG_DIR, file), 'utf8')).TEST.DECODE).toBe('default');
    } else {
      expect(unofficial.sort()).toEqual([...(PROJECT_ONLY_KEYS[file] ?? [])].sort());
    }
  });
});

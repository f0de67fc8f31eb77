import { readFixtureJson } from '../helpers/fixtures';
import { CONFIG_FIELDS, Config, ModelExtra, defaultConfig } from '../../src/config/schema';

/** The official architecture record of `fixtures/arch/<name>.json` (the parts used here). */
interface ArchFixture {
  image_size_wh: [number, number];
  heatmap_size_wh: [number, number];
  num_joints: number;
  extra: Omit<ModelExtra, 'PRETRAINED_LAYERS'>;
}

/** Every dotted key path of a nested object, leaves only (arrays are leaves). */
function leafPaths(tree: object, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(tree)) {
    const here = prefix ? `${prefix}.${key}` : key;
    const isSection = value !== null && typeof value === 'object' && !Array.isArray(value) && !('kind' in value);
    if (isSection) out.push(...leafPaths(value as object, here));
    else out.push(here);
  }
  return out.sort();
}

describe('defaultConfig', () => {
  const c: Config = defaultConfig();

  it('has the top-level defaults of the official default.py', () => {
    expect(c.OUTPUT_DIR).toBe('');
    expect(c.LOG_DIR).toBe('');
    expect(c.DATA_DIR).toBe('');
    expect(c.GPUS).toEqual([0]);
    expect(c.WORKERS).toBe(4);
    expect(c.PRINT_FREQ).toBe(20);
    expect(c.AUTO_RESUME).toBe(false);
    expect(c.PIN_MEMORY).toBe(true);
    expect(c.RANK).toBe(0);
    expect(c.CUDNN).toEqual({ BENCHMARK: true, DETERMINISTIC: false, ENABLED: true });
  });

  it('has the MODEL defaults of the official default.py', () => {
    expect(c.MODEL.NAME).toBe('pose_hrnet');
    expect(c.MODEL.INIT_WEIGHTS).toBe(true);
    expect(c.MODEL.CONV_INIT).toBe('normal'); // project key: the official init
    expect(c.MODEL.PRETRAINED).toBe('');
    expect(c.MODEL.NUM_JOINTS).toBe(17);
    expect(c.MODEL.TAG_PER_JOINT).toBe(true);
    expect(c.MODEL.TARGET_TYPE).toBe('gaussian');
    expect(c.MODEL.IMAGE_SIZE).toEqual([256, 256]);
    expect(c.MODEL.HEATMAP_SIZE).toEqual([64, 64]);
    expect(c.MODEL.SIGMA).toBe(2);
  });

  it('defaults MODEL.EXTRA to the official HRNet-W32 architecture', () => {
    const w32 = readFixtureJson<ArchFixture>('arch/w32_256x192.json');
    const { PRETRAINED_LAYERS, STAGE1, ...architecture } = c.MODEL.EXTRA;
    expect(architecture).toEqual(w32.extra);
    // The official pose code hard-codes layer1 as 4 Bottlenecks of 64 planes.
    expect(STAGE1).toEqual({ NUM_MODULES: 1, NUM_BRANCHES: 1, BLOCK: 'BOTTLENECK', NUM_BLOCKS: [4], NUM_CHANNELS: [64], FUSE_METHOD: 'SUM' });
    expect(PRETRAINED_LAYERS).toEqual(['*']);
  });

  it('has the LOSS defaults of the official default.py', () => {
    expect(c.LOSS).toEqual({ USE_OHKM: false, TOPK: 8, USE_TARGET_WEIGHT: true, USE_DIFFERENT_JOINTS_WEIGHT: false });
  });

  it('has the DATASET defaults of the official default.py and empty keypoint meta', () => {
    const d = c.DATASET;
    expect([d.ROOT, d.DATASET, d.TRAIN_SET, d.TEST_SET, d.DATA_FORMAT, d.HYBRID_JOINTS_TYPE]).toEqual([
      '',
      'mpii',
      'train',
      'valid',
      'jpg',
      '',
    ]);
    expect(d.SELECT_DATA).toBe(false);
    expect(d.FLIP).toBe(true);
    expect(d.SCALE_FACTOR).toBe(0.25);
    expect(d.ROT_FACTOR).toBe(30);
    expect(d.PROB_HALF_BODY).toBe(0.0);
    expect(d.NUM_JOINTS_HALF_BODY).toBe(8);
    expect(d.COLOR_RGB).toBe(false);
    expect(d.KEYPOINT_META).toBe('');
    for (const list of [d.FLIP_PAIRS, d.UPPER_BODY_IDS, d.JOINTS_WEIGHT, d.OKS_SIGMAS, d.KEYPOINT_NAMES, d.SKELETON]) {
      expect(list).toEqual([]);
    }
  });

  it('has the TRAIN defaults of the official default.py, unseeded', () => {
    const t = c.TRAIN;
    expect(t.LR_FACTOR).toBe(0.1);
    expect(t.LR_STEP).toEqual([90, 110]);
    expect(t.LR).toBe(0.001);
    expect(t.OPTIMIZER).toBe('adam');
    expect(t.MOMENTUM).toBe(0.9);
    expect(t.WD).toBe(0.0001);
    expect(t.NESTEROV).toBe(false);
    expect(t.GAMMA1).toBe(0.99);
    expect(t.GAMMA2).toBe(0.0);
    expect(t.BEGIN_EPOCH).toBe(0);
    expect(t.END_EPOCH).toBe(140);
    expect(t.RESUME).toBe(false);
    expect(t.CHECKPOINT).toBe('');
    expect(t.BATCH_SIZE_PER_GPU).toBe(32);
    expect(t.SHUFFLE).toBe(true);
    expect(t.SEED).toBeNull();
  });

  it('has the TEST defaults of the official default.py and the official decoding', () => {
    const t = c.TEST;
    expect(t.BATCH_SIZE_PER_GPU).toBe(32);
    expect(t.FLIP_TEST).toBe(false);
    expect(t.POST_PROCESS).toBe(false);
    expect(t.SHIFT_HEATMAP).toBe(false);
    expect(t.USE_GT_BBOX).toBe(false);
    expect(t.IMAGE_THRE).toBe(0.1);
    expect(t.NMS_THRE).toBe(0.6);
    expect(t.SOFT_NMS).toBe(false);
    expect(t.OKS_THRE).toBe(0.5);
    expect(t.IN_VIS_THRE).toBe(0.0);
    expect(t.COCO_BBOX_FILE).toBe('');
    expect(t.BBOX_THRE).toBe(1.0);
    expect(t.MODEL_FILE).toBe('');
    expect(t.DECODE).toBe('default');
  });

  it('has every DEBUG switch off, as the official default.py', () => {
    expect(Object.values(c.DEBUG)).toEqual([false, false, false, false, false]);
    expect(Object.keys(c.DEBUG)).toEqual([
      'DEBUG',
      'SAVE_BATCH_IMAGES_GT',
      'SAVE_BATCH_IMAGES_PRED',
      'SAVE_HEATMAPS_GT',
      'SAVE_HEATMAPS_PRED',
    ]);
  });

  it('returns an independent copy on every call', () => {
    const a = defaultConfig();
    a.MODEL.EXTRA.STAGE2.NUM_CHANNELS.push(128);
    a.TRAIN.LR_STEP[0] = 1;
    const b = defaultConfig();
    expect(b.MODEL.EXTRA.STAGE2.NUM_CHANNELS).toEqual([32, 64]);
    expect(b.TRAIN.LR_STEP).toEqual([90, 110]);
  });
});

describe('CONFIG_FIELDS', () => {
  it('describes exactly the keys of the config', () => {
    expect(leafPaths(CONFIG_FIELDS)).toEqual(leafPaths(defaultConfig()));
  });

  it('keeps the official section order', () => {
    expect(Object.keys(CONFIG_FIELDS)).toEqual(Object.keys(defaultConfig()));
    const sections = ['CUDNN', 'MODEL', 'LOSS', 'DATASET', 'TRAIN', 'TEST', 'DEBUG'];
    expect(Object.keys(defaultConfig()).slice(-7)).toEqual(sections);
  });
});

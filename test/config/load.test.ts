import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { FIXTURES_DIR, PARITY_DIR, readFixtureJson } from '../helpers/fixtures';
import { ConfigError } from '../../src/config/errors';
import {
  applyOverrides,
  configToYaml,
  defaultConfig,
  loadConfig,
  parseConfig,
  validateConfig,
} from '../../src/config/load';
import { Config, ModelExtra, StageConfig } from '../../src/config/schema';

const CONFIGS_DIR = path.resolve(__dirname, '..', '..', 'configs');
const PARITY_CONFIG = path.join(PARITY_DIR, 'config.yaml');

/** The official architecture record of `fixtures/arch/<name>.json` (the parts used here). */
interface ArchFixture {
  config: string;
  image_size_wh: [number, number];
  heatmap_size_wh: [number, number];
  num_joints: number;
  extra: Omit<ModelExtra, 'PRETRAINED_LAYERS'>;
}

/** One entry of the parity fixture's `keys.json`. */
interface StateDictEntry {
  key: string;
  shape: number[];
}

/** One tensor of a fixture `manifest.json`. */
interface ManifestTensor {
  shape: number[];
}

/** Every `.yaml` file under `dir`, recursively, as paths relative to `dir`. */
function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.yaml'))
    .sort();
}

/** Every leaf of a parsed YAML mapping as `[dotted key, value]` (lists are leaves). */
function yamlLeaves(tree: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(tree)) {
    const here = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out.push(...yamlLeaves(value as Record<string, unknown>, here));
    } else {
      out.push([here, value]);
    }
  }
  return out;
}

/** The value at a dotted key of a config. */
function valueAt(config: Config, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

/** Asserts that every key set in the YAML file reads back with the same value (GPUS tuples as lists). */
function expectYamlValuesKept(file: string, config: Config): void {
  const raw = YAML.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const leaves = yamlLeaves(raw);
  expect(leaves.length).toBeGreaterThan(10);
  for (const [key, value] of leaves) {
    if (key === 'GPUS' && typeof value === 'string') {
      expect(config.GPUS).toEqual(
        value
          .replace(/[()]/g, '')
          .split(',')
          .filter((part) => part.trim() !== '')
          .map(Number),
      );
    } else {
      expect([key, valueAt(config, key)]).toEqual([key, value]);
    }
  }
}

/** Runs `fn`, expects a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('shipped configs', () => {
  const files = yamlFiles(CONFIGS_DIR);

  it('include the official COCO and MPII recipes and the custom template', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'coco/w32_256x192.yaml',
        'coco/w32_384x288.yaml',
        'coco/w48_256x192.yaml',
        'coco/w48_384x288.yaml',
        'mpii/w32_256x256.yaml',
        'mpii/w48_256x256.yaml',
        'custom/template.yaml',
      ]),
    );
  });

  it.each(files)('%s loads, validates and keeps every value it sets', (name) => {
    const file = path.join(CONFIGS_DIR, name);
    const config = loadConfig(file);
    expect(() => validateConfig(config, file)).not.toThrow();
    expectYamlValuesKept(file, config);
  });

  it.each([
    ['coco/w32_256x192.yaml', 'w32_256x192'],
    ['coco/w48_384x288.yaml', 'w48_384x288'],
  ])('%s has the architecture of the official experiment (fixtures/arch/%s.json)', (name, arch) => {
    const official = readFixtureJson<ArchFixture>(`arch/${arch}.json`);
    const config = loadConfig(path.join(CONFIGS_DIR, name));
    const { PRETRAINED_LAYERS, STAGE1, ...architecture } = config.MODEL.EXTRA;
    expect(architecture).toEqual(official.extra);
    // The official pose code hard-codes layer1 as 4 Bottlenecks of 64 planes.
    expect(STAGE1).toEqual({ NUM_MODULES: 1, NUM_BRANCHES: 1, BLOCK: 'BOTTLENECK', NUM_BLOCKS: [4], NUM_CHANNELS: [64], FUSE_METHOD: 'SUM' });
    expect(PRETRAINED_LAYERS).not.toContain('final_layer');
    expect(config.MODEL.IMAGE_SIZE).toEqual(official.image_size_wh);
    expect(config.MODEL.HEATMAP_SIZE).toEqual(official.heatmap_size_wh);
    expect(config.MODEL.NUM_JOINTS).toBe(official.num_joints);
  });

  const official = [
    { name: 'coco/w32_256x192.yaml', width: 32, size: [192, 256], sigma: 2, batch: 32, joints: 17 },
    { name: 'coco/w32_384x288.yaml', width: 32, size: [288, 384], sigma: 3, batch: 32, joints: 17 },
    { name: 'coco/w48_256x192.yaml', width: 48, size: [192, 256], sigma: 2, batch: 32, joints: 17 },
    { name: 'coco/w48_384x288.yaml', width: 48, size: [288, 384], sigma: 3, batch: 24, joints: 17 },
    { name: 'mpii/w32_256x256.yaml', width: 32, size: [256, 256], sigma: 2, batch: 32, joints: 16 },
    { name: 'mpii/w48_256x256.yaml', width: 48, size: [256, 256], sigma: 2, batch: 32, joints: 16 },
  ];

  it.each(official)('$name follows the official Adam recipe', ({ name, width, size, sigma, batch, joints }) => {
    const c = loadConfig(path.join(CONFIGS_DIR, name));
    const stages: StageConfig[] = [c.MODEL.EXTRA.STAGE2, c.MODEL.EXTRA.STAGE3, c.MODEL.EXTRA.STAGE4];
    const channels = [width, 2 * width, 4 * width, 8 * width];
    expect(stages.map((s) => s.NUM_CHANNELS)).toEqual([channels.slice(0, 2), channels.slice(0, 3), channels]);
    expect(stages.map((s) => s.NUM_MODULES)).toEqual([1, 4, 3]);
    expect(c.MODEL.IMAGE_SIZE).toEqual(size);
    expect(c.MODEL.HEATMAP_SIZE).toEqual(size.map((v) => v / 4));
    expect(c.MODEL.SIGMA).toBe(sigma);
    expect(c.MODEL.NUM_JOINTS).toBe(joints);
    expect(c.MODEL.PRETRAINED).toContain(`hrnet_w${width}-`);
    expect(c.TRAIN.OPTIMIZER).toBe('adam');
    expect(c.TRAIN.LR).toBe(0.001);
    expect(c.TRAIN.LR_FACTOR).toBe(0.1);
    expect(c.TRAIN.LR_STEP).toEqual([170, 200]);
    expect(c.TRAIN.END_EPOCH).toBe(210);
    expect(c.TRAIN.BATCH_SIZE_PER_GPU).toBe(batch);
    expect(c.TEST.BATCH_SIZE_PER_GPU).toBe(batch);
    expect(c.GPUS).toEqual([0, 1, 2, 3]);
    expect([c.TEST.FLIP_TEST, c.TEST.POST_PROCESS, c.TEST.SHIFT_HEATMAP]).toEqual([true, true, true]);
    expect(c.DATASET.COLOR_RGB).toBe(true);
    expect(c.LOSS.USE_TARGET_WEIGHT).toBe(true);
    if (c.DATASET.DATASET === 'coco') {
      expect(c.DATASET.ROOT).toBe('data/coco/');
      expect([c.DATASET.TRAIN_SET, c.DATASET.TEST_SET]).toEqual(['train2017', 'val2017']);
      expect([c.DATASET.SCALE_FACTOR, c.DATASET.ROT_FACTOR, c.DATASET.PROB_HALF_BODY]).toEqual([0.35, 45, 0.3]);
      expect(c.TEST.USE_GT_BBOX).toBe(false);
      expect(c.TEST.COCO_BBOX_FILE).toBe(
        'data/coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json',
      );
      expect([c.TEST.IN_VIS_THRE, c.TEST.OKS_THRE, c.TEST.IMAGE_THRE]).toEqual([0.2, 0.9, 0.0]);
    } else {
      expect(c.DATASET.DATASET).toBe('mpii');
      expect(c.DATASET.ROOT).toBe('data/mpii/');
      expect([c.DATASET.TRAIN_SET, c.DATASET.TEST_SET]).toEqual(['train', 'valid']);
      expect([c.DATASET.SCALE_FACTOR, c.DATASET.ROT_FACTOR, c.DATASET.PROB_HALF_BODY]).toEqual([0.25, 30, -1]);
    }
  });

  it('state that the Adam recipe applies no weight decay', () => {
    for (const { name } of official) {
      expect(fs.readFileSync(path.join(CONFIGS_DIR, name), 'utf8')).toMatch(/Adam[^\n]*no weight decay/);
    }
  });

  it('custom template describes a 21-keypoint COCO-format dataset with consistent meta', () => {
    const c = loadConfig(path.join(CONFIGS_DIR, 'custom', 'template.yaml'));
    expect(c.DATASET.DATASET).toBe('custom');
    expect(c.MODEL.NUM_JOINTS).toBe(21);
    expect(c.DATASET.KEYPOINT_NAMES).toHaveLength(c.MODEL.NUM_JOINTS);
    expect(c.DATASET.SKELETON.length).toBeGreaterThan(0);
    expect(c.DATASET.TRAIN_SET).toMatch(/\.json$/);
    expect(c.DATASET.TEST_SET).toMatch(/\.json$/);
  });
});

describe('the parity fixture config (official experiment YAML)', () => {
  const config = loadConfig(PARITY_CONFIG);

  it('loads with official-only keys (CUDNN, AUTO_RESUME, BBOX_THRE, MODEL_FILE) and keeps every value', () => {
    expect(config.CUDNN.BENCHMARK).toBe(true);
    expect(config.AUTO_RESUME).toBe(true);
    expectYamlValuesKept(PARITY_CONFIG, config);
  });

  it('describes the network of the fixture state dict', () => {
    const keys = readFixtureJson<StateDictEntry[]>('parity/w8_coco_128x96/keys.json');
    const shapeOf = new Map(keys.map((entry) => [entry.key, entry.shape]));
    const distinct = (pattern: RegExp): number =>
      new Set(keys.map((entry) => pattern.exec(entry.key)?.[1]).filter((m) => m !== undefined)).size;
    for (const s of [2, 3, 4] as const) {
      const stage = config.MODEL.EXTRA[`STAGE${s}`];
      expect(stage.NUM_MODULES).toBe(distinct(new RegExp(`^stage${s}\\.(\\d+)\\.`)));
      expect(stage.NUM_BRANCHES).toBe(distinct(new RegExp(`^stage${s}\\.0\\.branches\\.(\\d+)\\.`)));
      for (let b = 0; b < stage.NUM_BRANCHES; b++) {
        expect(stage.NUM_BLOCKS[b]).toBe(distinct(new RegExp(`^stage${s}\\.0\\.branches\\.${b}\\.(\\d+)\\.`)));
        expect(stage.NUM_CHANNELS[b]).toBe(shapeOf.get(`stage${s}.0.branches.${b}.0.conv1.weight`)?.[0]);
      }
    }
    expect(config.MODEL.EXTRA.STAGE3.NUM_MODULES).toBe(2);
    const finalLayer = shapeOf.get('final_layer.weight');
    expect(finalLayer?.[0]).toBe(config.MODEL.NUM_JOINTS);
    expect(finalLayer?.[2]).toBe(config.MODEL.EXTRA.FINAL_CONV_KERNEL);
  });

  it('has the input and heatmap sizes of the fixture tensors ([width, height])', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(PARITY_DIR, 'manifest.json'), 'utf8')) as {
      tensors: Record<string, ManifestTensor>;
    };
    const [, , h, w] = manifest.tensors.x.shape;
    const [, k, hh, hw] = manifest.tensors.out_eval.shape;
    expect(config.MODEL.IMAGE_SIZE).toEqual([w, h]);
    expect(config.MODEL.HEATMAP_SIZE).toEqual([hw, hh]);
    expect(config.MODEL.NUM_JOINTS).toBe(k);
  });

  it('reads the official GPUS tuple string as a list', () => {
    expect(config.GPUS).toEqual([0, 1, 2, 3]);
  });
});

describe('parseConfig', () => {
  it('gives the defaults for an empty document and keys left out', () => {
    expect(parseConfig('', 'empty.yaml')).toEqual(defaultConfig());
    const c = parseConfig('TRAIN:\n  LR: 0.01\n', 'lr.yaml');
    expect(c).toEqual(applyOverrides(defaultConfig(), ['TRAIN.LR=0.01']));
    expect(c.TRAIN.LR_STEP).toEqual(defaultConfig().TRAIN.LR_STEP);
  });

  it('accepts integers where floats are expected and YAML 1.2 exponents', () => {
    const c = parseConfig('MODEL:\n  SIGMA: 3\nTRAIN:\n  LR: 1e-3\n  WD: 0\n', 's.yaml');
    expect(c.MODEL.SIGMA).toBe(3);
    expect(c.TRAIN.LR).toBe(0.001);
    expect(c.TRAIN.WD).toBe(0);
  });

  it('accepts GPUS as a list, a tuple string or a single id', () => {
    expect(parseConfig('GPUS: [0, 1]\n', 'g.yaml').GPUS).toEqual([0, 1]);
    expect(parseConfig("GPUS: '(0,)'\n", 'g.yaml').GPUS).toEqual([0]);
    expect(parseConfig('GPUS: 2\n', 'g.yaml').GPUS).toEqual([2]);
  });

  it('applies overrides after the file and validates the result once', () => {
    const c = parseConfig('MODEL:\n  SIGMA: 3\n', 'o.yaml', [
      'MODEL.IMAGE_SIZE=[192,256]',
      'MODEL.HEATMAP_SIZE=[48,64]',
      'MODEL.SIGMA=2.5',
    ]);
    expect(c.MODEL.IMAGE_SIZE).toEqual([192, 256]);
    expect(c.MODEL.HEATMAP_SIZE).toEqual([48, 64]);
    expect(c.MODEL.SIGMA).toBe(2.5);
  });
});

describe('applyOverrides', () => {
  const base = loadConfig(PARITY_CONFIG);

  it('parses KEY=VALUE numbers, booleans, lists, strings and null', () => {
    const c = applyOverrides(base, [
      'TRAIN.LR=0.0005',
      'TEST.FLIP_TEST=false',
      'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[16,32]',
      'DATASET.ROOT=data/other/',
      'MODEL.PRETRAINED=',
      'TRAIN.SEED=7',
      'TRAIN.OPTIMIZER=sgd',
      'DATASET.FLIP_PAIRS=[[1,2],[3,4]]',
    ]);
    expect(c.TRAIN.LR).toBe(0.0005);
    expect(c.TEST.FLIP_TEST).toBe(false);
    expect(c.MODEL.EXTRA.STAGE2.NUM_CHANNELS).toEqual([16, 32]);
    expect(c.DATASET.ROOT).toBe('data/other/');
    expect(c.MODEL.PRETRAINED).toBe('');
    expect(c.TRAIN.SEED).toBe(7);
    expect(c.TRAIN.OPTIMIZER).toBe('sgd');
    expect(c.DATASET.FLIP_PAIRS).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(applyOverrides(c, ['TRAIN.SEED=null']).TRAIN.SEED).toBeNull();
  });

  it('accepts nested and dotted override objects', () => {
    const c = applyOverrides(base, {
      TRAIN: { LR: 0.002, LR_STEP: [10, 20] },
      'TEST.DECODE': 'dark',
      MODEL: { 'EXTRA.FINAL_CONV_KERNEL': 3, EXTRA: { STAGE4: { NUM_MODULES: 2 } } },
    });
    expect(c.TRAIN.LR).toBe(0.002);
    expect(c.TRAIN.LR_STEP).toEqual([10, 20]);
    expect(c.TEST.DECODE).toBe('dark');
    expect(c.MODEL.EXTRA.FINAL_CONV_KERNEL).toBe(3);
    expect(c.MODEL.EXTRA.STAGE4.NUM_MODULES).toBe(2);
    expect(c.MODEL.EXTRA.STAGE4.NUM_CHANNELS).toEqual(base.MODEL.EXTRA.STAGE4.NUM_CHANNELS);
  });

  it('leaves its input unchanged', () => {
    const before = structuredClone(base);
    applyOverrides(base, ['TRAIN.LR=0.5', 'MODEL.EXTRA.STAGE2.NUM_CHANNELS=[4,8]']);
    expect(base).toEqual(before);
  });

  it('passes loadConfig overrides through', () => {
    const c = loadConfig(PARITY_CONFIG, ['MODEL.EXTRA.STAGE3.NUM_MODULES=1', 'TEST.USE_GT_BBOX=false']);
    expect(c.MODEL.EXTRA.STAGE3.NUM_MODULES).toBe(1);
    expect(c.TEST.USE_GT_BBOX).toBe(false);
  });

  it('names the source and the closest key for an unknown override key', () => {
    const err = configError(() => applyOverrides(base, ['TRAIN.LRR=0.1'], 'command line'));
    expect(err.file).toBe('command line');
    expect(err.key).toBe('TRAIN.LRR');
    expect(err.message).toBe('command line: unknown key TRAIN.LRR — did you mean LR?');
  });

  it('rejects an override without =', () => {
    const err = configError(() => applyOverrides(base, ['TRAIN.LR'], 'command line'));
    expect(err.message).toContain('"TRAIN.LR": expected KEY=VALUE');
  });

  it('type-checks override values', () => {
    const err = configError(() => applyOverrides(base, ['TEST.FLIP_TEST=maybe'], 'command line'));
    expect(err.key).toBe('TEST.FLIP_TEST');
    expect(err.message).toBe('command line: TEST.FLIP_TEST: expected a boolean (true or false), got "maybe"');
  });
});

describe('errors', () => {
  it('an unknown key names the file, the full key and the closest key of its section', () => {
    const yaml = 'MODEL:\n  EXTRA:\n    STAGE2:\n      NUM_CHANELS: [32, 64]\n';
    const err = configError(() => parseConfig(yaml, 'exp.yaml'));
    expect(err.file).toBe('exp.yaml');
    expect(err.key).toBe('MODEL.EXTRA.STAGE2.NUM_CHANELS');
    expect(err.message).toBe('exp.yaml: unknown key MODEL.EXTRA.STAGE2.NUM_CHANELS — did you mean NUM_CHANNELS?');
  });

  it('an unknown section is matched against the top-level keys', () => {
    const err = configError(() => parseConfig('TRIAN:\n  LR: 0.1\n', 'exp.yaml'));
    expect(err.message).toBe('exp.yaml: unknown key TRIAN — did you mean TRAIN?');
  });

  it('an unknown key without a plausible match lists the valid keys of its section', () => {
    const err = configError(() => parseConfig('LOSS:\n  HARD_KEYPOINT_MINING_RATIO: 0.5\n', 'exp.yaml'));
    expect(err.key).toBe('LOSS.HARD_KEYPOINT_MINING_RATIO');
    expect(err.message).toContain('valid keys in LOSS: USE_OHKM, TOPK, USE_TARGET_WEIGHT, USE_DIFFERENT_JOINTS_WEIGHT');
  });

  it('a wrong type names the key, the expected type and the value', () => {
    const err = configError(() => parseConfig('TRAIN:\n  LR: fast\n', 'exp.yaml'));
    expect(err.key).toBe('TRAIN.LR');
    expect(err.message).toBe('exp.yaml: TRAIN.LR: expected a number, got "fast"');
  });

  it('an out-of-range or non-integer value says what is allowed', () => {
    expect(configError(() => parseConfig('TRAIN:\n  LR: -1\n', 'e.yaml')).message).toBe(
      'e.yaml: TRAIN.LR: expected a number > 0, got -1',
    );
    expect(configError(() => parseConfig('MODEL:\n  NUM_JOINTS: 16.5\n', 'e.yaml')).message).toBe(
      'e.yaml: MODEL.NUM_JOINTS: expected an integer ≥ 1, got 16.5',
    );
  });

  it('a section given as a scalar is reported', () => {
    const err = configError(() => parseConfig('TRAIN: 3\n', 'e.yaml'));
    expect(err.key).toBe('TRAIN');
    expect(err.message).toContain('TRAIN: expected a mapping of keys');
  });

  it('enumerations list their values and suggest a near miss', () => {
    const optimizer = configError(() => parseConfig('TRAIN:\n  OPTIMIZER: rmsprop\n', 'e.yaml'));
    expect(optimizer.key).toBe('TRAIN.OPTIMIZER');
    expect(optimizer.message).toBe('e.yaml: TRAIN.OPTIMIZER: expected one of adam, sgd, got "rmsprop"');
    const block = configError(() => parseConfig('MODEL:\n  EXTRA:\n    STAGE3:\n      BLOCK: basic\n', 'e.yaml'));
    expect(block.key).toBe('MODEL.EXTRA.STAGE3.BLOCK');
    expect(block.message).toContain('expected one of BASIC, BOTTLENECK (did you mean BASIC?), got "basic"');
    const dataset = configError(() => parseConfig('DATASET:\n  DATASET: crowdpose\n', 'e.yaml'));
    expect(dataset.message).toContain('DATASET.DATASET: expected one of coco, mpii, custom, synthetic');
    const init = configError(() => parseConfig('MODEL:\n  CONV_INIT: he\n', 'e.yaml'));
    expect(init.message).toBe('e.yaml: MODEL.CONV_INIT: expected one of normal, kaiming, got "he"');
  });

  it('FINAL_CONV_KERNEL must be 1 or 3', () => {
    const err = configError(() => parseConfig('MODEL:\n  EXTRA:\n    FINAL_CONV_KERNEL: 5\n', 'e.yaml'));
    expect(err.key).toBe('MODEL.EXTRA.FINAL_CONV_KERNEL');
    expect(err.message).toBe('e.yaml: MODEL.EXTRA.FINAL_CONV_KERNEL: expected one of 1, 3, got 5');
  });

  it('fixed-length lists are checked', () => {
    const err = configError(() => parseConfig('MODEL:\n  IMAGE_SIZE: [192]\n', 'e.yaml'));
    expect(err.key).toBe('MODEL.IMAGE_SIZE');
    expect(err.message).toBe('e.yaml: MODEL.IMAGE_SIZE: expected a list of 2 integers ≥ 1, got [192]');
  });

  it('a missing file names the path', () => {
    const missing = path.join(FIXTURES_DIR, 'no-such-dir', 'missing.yaml');
    const err = configError(() => loadConfig(missing));
    expect(err.file).toBe(missing);
    expect(err.message).toContain(`config file not found: ${missing}`);
  });

  it('malformed YAML names the file and the line', () => {
    const duplicate = configError(() => parseConfig('TRAIN:\n  LR: 0.001\n  LR: 0.002\n', 'bad.yaml'));
    expect(duplicate.line).toBe(3);
    expect(duplicate.message).toMatch(/^bad\.yaml:3: malformed YAML: /);
    const nested = configError(() => parseConfig('TRAIN:\n  LR: 0.001\n  OPTIMIZER: adam: sgd\n', 'bad.yaml'));
    expect(nested.line).toBe(3);
    expect(nested.file).toBe('bad.yaml');
  });

  it('a YAML alias bomb is refused with the file named first', () => {
    const rows = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) {
      rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const err = configError(() => parseConfig(rows.join('\n') + '\n', 'bomb.yaml'));
    expect(err.file).toBe('bomb.yaml');
    expect(err.message).toMatch(/^bomb\.yaml: YAML aliases \(\*name\) expand to too many nodes/);
  });

  it('a top level that is not a mapping is reported', () => {
    const err = configError(() => parseConfig('- 1\n- 2\n', 'list.yaml'));
    expect(err.message).toContain('list.yaml: expected a mapping of config sections');
  });

  it('GPUS that are not device ids are reported', () => {
    const err = configError(() => parseConfig('GPUS: all\n', 'e.yaml'));
    expect(err.key).toBe('GPUS');
    expect(err.message).toContain('GPUS: expected a non-empty list of device ids');
  });
});

describe('semantic checks', () => {
  const base = loadConfig(PARITY_CONFIG);
  const check = (overrides: string[]): ConfigError => configError(() => applyOverrides(base, overrides, 'exp.yaml'));

  it('NUM_BLOCKS and NUM_CHANNELS have one entry per branch', () => {
    const blocks = check(['MODEL.EXTRA.STAGE3.NUM_BLOCKS=[2,2]']);
    expect(blocks.key).toBe('MODEL.EXTRA.STAGE3.NUM_BLOCKS');
    expect(blocks.message).toContain('expected 3 entries (one per branch, NUM_BRANCHES = 3), got 2');
    const channels = check(['MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16,32,64,128]']);
    expect(channels.key).toBe('MODEL.EXTRA.STAGE4.NUM_CHANNELS');
    expect(channels.message).toContain('expected 4 entries');
  });

  it('branch counts do not decrease from stage to stage', () => {
    const err = check([
      'MODEL.EXTRA.STAGE4.NUM_BRANCHES=2',
      'MODEL.EXTRA.STAGE4.NUM_BLOCKS=[2,2]',
      'MODEL.EXTRA.STAGE4.NUM_CHANNELS=[8,16]',
    ]);
    expect(err.key).toBe('MODEL.EXTRA.STAGE4.NUM_BRANCHES');
    expect(err.message).toContain('2 is fewer than the 3 branches of STAGE3');
  });

  it('STAGE1 is one module of one branch (layer1), with one block count and one width', () => {
    const modules = check(['MODEL.EXTRA.STAGE1.NUM_MODULES=2']);
    expect(modules.key).toBe('MODEL.EXTRA.STAGE1.NUM_MODULES');
    expect(modules.message).toContain('must be 1');
    expect(check(['MODEL.EXTRA.STAGE1.NUM_CHANNELS=[32,64]']).key).toBe('MODEL.EXTRA.STAGE1.NUM_CHANNELS');
    expect(applyOverrides(base, ['MODEL.EXTRA.STAGE1.BLOCK=BASIC', 'MODEL.EXTRA.STAGE1.NUM_BLOCKS=[2]', 'MODEL.EXTRA.STAGE1.NUM_CHANNELS=[32]']).MODEL.EXTRA.STAGE1).toEqual({
      NUM_MODULES: 1,
      NUM_BRANCHES: 1,
      BLOCK: 'BASIC',
      NUM_BLOCKS: [2],
      NUM_CHANNELS: [32],
      FUSE_METHOD: 'SUM',
    });
  });

  it('counts are positive integers', () => {
    expect(check(['MODEL.EXTRA.STAGE2.NUM_MODULES=0']).key).toBe('MODEL.EXTRA.STAGE2.NUM_MODULES');
    const channels = check(['MODEL.EXTRA.STAGE2.NUM_CHANNELS=[8,0]']);
    expect(channels.key).toBe('MODEL.EXTRA.STAGE2.NUM_CHANNELS');
    expect(channels.message).toContain('expected a list of integers ≥ 1');
  });

  it('IMAGE_SIZE must be divisible by 32 and says why', () => {
    const err = check(['MODEL.IMAGE_SIZE=[100,128]', 'MODEL.HEATMAP_SIZE=[25,32]']);
    expect(err.key).toBe('MODEL.IMAGE_SIZE');
    expect(err.message).toContain('divisible by 32');
    expect(err.message).toContain('stride 32');
  });

  it('HEATMAP_SIZE must be IMAGE_SIZE / 4 and the error gives the expected value', () => {
    const err = check(['MODEL.HEATMAP_SIZE=[48,64]']);
    expect(err.key).toBe('MODEL.HEATMAP_SIZE');
    expect(err.message).toBe(
      'exp.yaml: MODEL.HEATMAP_SIZE: expected [24, 32] ' +
        '(IMAGE_SIZE [96, 128] / 4: the network outputs heatmaps at stride 4), got [48, 64]',
    );
  });

  it('LR_STEP must be ascending', () => {
    const err = check(['TRAIN.LR_STEP=[200,170]']);
    expect(err.key).toBe('TRAIN.LR_STEP');
    expect(err.message).toBe('exp.yaml: TRAIN.LR_STEP: expected strictly ascending epochs, got [200,170]');
  });

  it('END_EPOCH is not before BEGIN_EPOCH', () => {
    expect(check(['TRAIN.BEGIN_EPOCH=5', 'TRAIN.END_EPOCH=4']).key).toBe('TRAIN.END_EPOCH');
  });

  it('OHKM keeps at most NUM_JOINTS joints', () => {
    expect(check(['LOSS.USE_OHKM=true', 'LOSS.TOPK=18']).key).toBe('LOSS.TOPK');
    expect(applyOverrides(base, ['LOSS.USE_OHKM=true', 'LOSS.TOPK=17']).LOSS.TOPK).toBe(17);
  });

  it('keypoint meta fits NUM_JOINTS', () => {
    const sigmas = check(['DATASET.OKS_SIGMAS=[0.1,0.2]']);
    expect(sigmas.key).toBe('DATASET.OKS_SIGMAS');
    expect(sigmas.message).toContain('expected 17 entries (one per joint, MODEL.NUM_JOINTS = 17) or none, got 2');
    const pairs = check(['DATASET.FLIP_PAIRS=[[1,2],[3,17]]']);
    expect(pairs.key).toBe('DATASET.FLIP_PAIRS');
    expect(pairs.message).toContain('joint index 17 is out of range');
    expect(check(['DATASET.FLIP_PAIRS=[[1,2,3]]']).message).toContain('expected a list of [i, j] pairs');
    expect(check(['DATASET.SKELETON=[[0,20]]']).key).toBe('DATASET.SKELETON');
    expect(check(['DATASET.UPPER_BODY_IDS=[0,1,99]']).key).toBe('DATASET.UPPER_BODY_IDS');
  });

  it('validateConfig rejects missing and unknown keys of a hand-built config', () => {
    const { DEBUG: _debug, ...withoutDebug } = defaultConfig();
    const missing = configError(() => validateConfig(withoutDebug as unknown as Config, 'checkpoint'));
    expect(missing.message).toBe('checkpoint: DEBUG: missing key');
    const extra = { ...defaultConfig(), TRAIN: { ...defaultConfig().TRAIN, LR_SCHEDULE: 'step' } };
    expect(configError(() => validateConfig(extra as unknown as Config, 'checkpoint')).key).toBe('TRAIN.LR_SCHEDULE');
  });
});

describe('configToYaml', () => {
  const cases: [string, Config][] = [
    ['defaults', defaultConfig()],
    ['parity config', loadConfig(PARITY_CONFIG)],
    ...yamlFiles(CONFIGS_DIR).map((name): [string, Config] => [name, loadConfig(path.join(CONFIGS_DIR, name))]),
    [
      'seeded config with keypoint meta',
      applyOverrides(defaultConfig(), {
        'TRAIN.SEED': 3,
        'MODEL.NUM_JOINTS': 3,
        DATASET: {
          DATASET: 'custom',
          FLIP_PAIRS: [[1, 2]],
          KEYPOINT_NAMES: ['nose', 'left eye', 'right: eye'],
          OKS_SIGMAS: [0.025, 0.025, 0.035],
          SKELETON: [
            [0, 1],
            [0, 2],
          ],
          ROOT: '',
        },
      }),
    ],
  ];

  it.each(cases)('round-trips %s', (_name, config) => {
    const text = configToYaml(config);
    expect(parseConfig(text, 'roundtrip.yaml')).toEqual(config);
  });

  it('writes the official layout with short lists in flow style', () => {
    const text = configToYaml(loadConfig(PARITY_CONFIG));
    expect(text).toContain('IMAGE_SIZE: [96, 128]');
    expect(text).toMatch(/^MODEL:$/m);
    expect(text).toMatch(/^ {4}STAGE3:\n {6}NUM_MODULES: 2$/m);
  });
});

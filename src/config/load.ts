/**
 * Reading experiment configs: YAML (official experiment layout) merged onto the
 * defaults, `KEY=VALUE` overrides, type and range checks per key, and the
 * whole-config checks the model builder and trainer rely on.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { ConfigError, closestKey } from './errors';
import { CONFIG_FIELDS, Config, ConfigField, ConfigSection, defaultConfig, isConfigKey } from './schema';

export { defaultConfig } from './schema';

/**
 * Overrides applied after the YAML file: `KEY=VALUE` strings (`TRAIN.LR=0.0005`,
 * `TEST.FLIP_TEST=false`, `MODEL.EXTRA.STAGE2.NUM_CHANNELS=[16,32]`; values are read
 * as YAML scalars or flow sequences), or an object with nested and/or dotted keys
 * (`{ TRAIN: { LR: 0.0005 } }`, `{ 'TEST.FLIP_TEST': false }`).
 */
export type ConfigOverrides = readonly string[] | Readonly<Record<string, unknown>>;

/** A mutable view of a config section while it is being built. */
type Tree = Record<string, unknown>;

const ROOT_FIELDS: ConfigSection = CONFIG_FIELDS;
const STAGES = ['STAGE1', 'STAGE2', 'STAGE3', 'STAGE4'] as const;
/** Stride of the network output (stem: two stride-2 convs). */
const OUTPUT_STRIDE = 4;

function isPlainObject(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A short rendering of a value found in a config, for error messages. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null (an empty value)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  }
  if (typeof value === 'object') return `a mapping {${Object.keys(value).join(', ')}}`;
  return String(value);
}

/** Joins key segments: `['MODEL', 'EXTRA']` → `MODEL.EXTRA`. */
function dotted(keys: readonly string[]): string {
  return keys.join('.');
}

/** `an integer ≥ 1`, `a number > 0`, `one of 1, 3` ... for a number field. */
function numberWording(field: {
  integer?: boolean;
  min?: number;
  exclusiveMin?: boolean;
  oneOf?: readonly number[];
}): string {
  if (field.oneOf) return `one of ${field.oneOf.join(', ')}`;
  const base = field.integer ? 'an integer' : 'a number';
  if (field.min === undefined) return base;
  return `${base} ${field.exclusiveMin ? '>' : '≥'} ${field.min}`;
}

function inRange(value: number, field: { min?: number; exclusiveMin?: boolean }): boolean {
  if (field.min === undefined) return true;
  return field.exclusiveMin ? value > field.min : value >= field.min;
}

/** Reads the official tuple string `(0,1,2,3)` (or `0,1`) as device ids; `undefined` if it is not one. */
function parseDeviceTuple(text: string): number[] | undefined {
  const inner = text.trim().replace(/^[([]\s*/, '').replace(/\s*[)\]]$/, '');
  const parts = inner.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0 || !parts.every((part) => /^\d+$/.test(part))) return undefined;
  return parts.map(Number);
}

/**
 * Checks one value against its field description and returns it in its
 * canonical form (GPUS strings become lists, a null string becomes `''`).
 * Throws a {@link ConfigError} naming `file`, `key`, the expected type and the value.
 */
function checkField(value: unknown, field: ConfigField, key: string, file: string): unknown {
  const fail = (expected: string): never => {
    throw new ConfigError({ file, key }, `${key}: expected ${expected}, got ${describe(value)}`);
  };
  switch (field.kind) {
    case 'number': {
      if (value === null && field.nullable) return null;
      if (typeof value !== 'number' || Number.isNaN(value)) {
        return fail(`${field.integer ? 'an integer' : 'a number'}${field.nullable ? ' or null' : ''}`);
      }
      if (!Number.isFinite(value) || (field.integer && !Number.isInteger(value)) || !inRange(value, field)) {
        return fail(numberWording(field));
      }
      if (field.oneOf && !field.oneOf.includes(value)) return fail(numberWording(field));
      return value;
    }
    case 'boolean':
      return typeof value === 'boolean' ? value : fail('a boolean (true or false)');
    case 'string':
      if (value === null) return '';
      return typeof value === 'string' ? value : fail('a string (quote values that YAML reads as numbers)');
    case 'enum': {
      if (typeof value === 'string' && field.values.includes(value)) return value;
      const suggestion = typeof value === 'string' ? closestKey(value, field.values) : undefined;
      return fail(`one of ${field.values.join(', ')}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
    }
    case 'numberList': {
      const entries = numberWording(field).replace(/^an? (integer|number)/, '$1s');
      const expected =
        field.length === undefined ? `a list of ${entries}` : `a list of ${field.length} ${entries}`;
      if (!Array.isArray(value)) return fail(expected);
      if (field.length !== undefined && value.length !== field.length) return fail(expected);
      for (const item of value) {
        const ok =
          typeof item === 'number' &&
          Number.isFinite(item) &&
          (!field.integer || Number.isInteger(item)) &&
          inRange(item, field);
        if (!ok) return fail(expected);
      }
      return [...value];
    }
    case 'stringList':
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return fail('a list of strings');
      return [...value];
    case 'indexPairs': {
      const expected = 'a list of [i, j] pairs of joint indices (integers ≥ 0)';
      if (!Array.isArray(value)) return fail(expected);
      for (const pair of value) {
        const ok =
          Array.isArray(pair) &&
          pair.length === 2 &&
          pair.every((index) => typeof index === 'number' && Number.isInteger(index) && index >= 0);
        if (!ok) return fail(expected);
      }
      return value.map((pair: number[]) => [...pair]);
    }
    case 'gpus': {
      const expected = 'a non-empty list of device ids such as [0, 1] or (0,1,2,3)';
      if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? [value] : fail(expected);
      if (typeof value === 'string') return parseDeviceTuple(value) ?? fail(expected);
      if (
        !Array.isArray(value) ||
        value.length === 0 ||
        !value.every((id) => typeof id === 'number' && Number.isInteger(id) && id >= 0)
      ) {
        return fail(expected);
      }
      return [...value];
    }
  }
}

/** The unknown-key error, with the closest valid key of the same section when one is plausible. */
function unknownKey(keys: readonly string[], fields: ConfigSection, file: string): ConfigError {
  const key = dotted(keys);
  const name = keys[keys.length - 1];
  const valid = Object.keys(fields);
  const suggestion = closestKey(name, valid);
  const section = keys.length > 1 ? `in ${dotted(keys.slice(0, -1))}` : 'at the top level';
  const hint = suggestion ? ` — did you mean ${suggestion}?` : `; valid keys ${section}: ${valid.join(', ')}`;
  return new ConfigError({ file, key }, `unknown key ${key}${hint}`);
}

/**
 * Merges `source` (a parsed YAML mapping) into `target` key by key, checking
 * every key and value against `fields`. Lists replace lists wholesale, as yacs does.
 */
function mergeInto(target: Tree, source: Tree, fields: ConfigSection, keys: readonly string[], file: string): void {
  for (const [name, value] of Object.entries(source)) {
    const here = [...keys, name];
    const field = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
    if (field === undefined) throw unknownKey(here, fields, file);
    if (isConfigKey(field)) {
      target[name] = checkField(value, field, dotted(here), file);
    } else {
      if (!isPlainObject(value)) {
        throw new ConfigError(
          { file, key: dotted(here) },
          `${dotted(here)}: expected a mapping of keys (${Object.keys(field).join(', ')}), got ${describe(value)}`,
        );
      }
      mergeInto(target[name] as Tree, value, field, here, file);
    }
  }
}

/** Checks that `tree` has exactly the keys of `fields`, each with a valid value. */
function checkComplete(tree: Tree, fields: ConfigSection, keys: readonly string[], file: string): void {
  for (const name of Object.keys(tree)) {
    if (!Object.prototype.hasOwnProperty.call(fields, name)) throw unknownKey([...keys, name], fields, file);
  }
  for (const [name, field] of Object.entries(fields)) {
    const here = [...keys, name];
    if (!(name in tree)) throw new ConfigError({ file, key: dotted(here) }, `${dotted(here)}: missing key`);
    const value = tree[name];
    if (isConfigKey(field)) {
      checkField(value, field, dotted(here), file);
    } else if (isPlainObject(value)) {
      checkComplete(value, field, here, file);
    } else {
      throw new ConfigError({ file, key: dotted(here) }, `${dotted(here)}: expected a mapping, got ${describe(value)}`);
    }
  }
}

/** Reads the VALUE of a `KEY=VALUE` override as YAML (`0.5`, `false`, `[16,32]`); unparsable text stays a string. */
function parseOverrideValue(raw: string): unknown {
  const text = raw.trim();
  if (text === '') return '';
  const doc = YAML.parseDocument(text);
  return doc.errors.length > 0 ? text : doc.toJS();
}

/** Turns `['MODEL', 'SIGMA']` + `3` into `{ MODEL: { SIGMA: 3 } }`. */
function nest(keys: readonly string[], value: unknown): Tree {
  let tree: unknown = value;
  for (let i = keys.length - 1; i >= 0; i--) tree = { [keys[i]]: tree };
  return tree as Tree;
}

function splitKey(key: string, source: string): string[] {
  const keys = key.split('.').map((part) => part.trim());
  if (keys.some((part) => part === '')) {
    throw new ConfigError({ file: source, key }, `override key "${key}": expected dotted key names such as TRAIN.LR`);
  }
  return keys;
}

/** Expands dotted keys of an override object at every level: `{ 'A.B': 1 }` → `{ A: { B: 1 } }`. */
function expandDotted(source: Readonly<Record<string, unknown>>, origin: string): Tree[] {
  const parts: Tree[] = [];
  for (const [key, value] of Object.entries(source)) {
    const keys = splitKey(key, origin);
    if (isPlainObject(value)) {
      for (const inner of expandDotted(value, origin)) parts.push(nest(keys, inner));
    } else {
      parts.push(nest(keys, value));
    }
  }
  return parts;
}

/** Merges overrides into `tree` in order, without the whole-config checks. */
function mergeOverrides(tree: Tree, overrides: ConfigOverrides, source: string): void {
  if (Array.isArray(overrides)) {
    for (const item of overrides as readonly unknown[]) {
      if (typeof item !== 'string') {
        throw new ConfigError({ file: source }, `override ${describe(item)}: expected a KEY=VALUE string`);
      }
      const eq = item.indexOf('=');
      if (eq <= 0) {
        throw new ConfigError({ file: source }, `override "${item}": expected KEY=VALUE, e.g. TRAIN.LR=0.0005`);
      }
      const keys = splitKey(item.slice(0, eq), source);
      mergeInto(tree, nest(keys, parseOverrideValue(item.slice(eq + 1))), ROOT_FIELDS, [], source);
    }
  } else {
    for (const part of expandDotted(overrides as Readonly<Record<string, unknown>>, source)) {
      mergeInto(tree, part, ROOT_FIELDS, [], source);
    }
  }
}

/** Throws the error of a whole-config check about `key`. */
function rejectKey(file: string, key: string, message: string): never {
  throw new ConfigError({ file, key }, `${key}: ${message}`);
}

/** Checks the joint-index and per-joint lists of `DATASET` against `MODEL.NUM_JOINTS`. */
function checkKeypointMeta(config: Config, file: string): void {
  const k = config.MODEL.NUM_JOINTS;
  const d = config.DATASET;
  const perJoint = { JOINTS_WEIGHT: d.JOINTS_WEIGHT, OKS_SIGMAS: d.OKS_SIGMAS, KEYPOINT_NAMES: d.KEYPOINT_NAMES };
  for (const [name, list] of Object.entries(perJoint)) {
    if (list.length !== 0 && list.length !== k) {
      const expected = `expected ${k} entries (one per joint, MODEL.NUM_JOINTS = ${k}) or none`;
      rejectKey(file, `DATASET.${name}`, `${expected}, got ${list.length}`);
    }
  }
  const indexLists = { FLIP_PAIRS: d.FLIP_PAIRS.flat(), UPPER_BODY_IDS: d.UPPER_BODY_IDS, SKELETON: d.SKELETON.flat() };
  for (const [name, indices] of Object.entries(indexLists)) {
    const bad = indices.find((index) => index >= k);
    if (bad !== undefined) {
      const why = `indices are 0-based and MODEL.NUM_JOINTS = ${k}`;
      rejectKey(file, `DATASET.${name}`, `joint index ${bad} is out of range: ${why}`);
    }
  }
}

/**
 * Whole-config checks, run before anything is built: every key present with a
 * valid value, consistent stage layouts (as the official `_check_branches`, for
 * every stage), branch counts that never decrease, input sizes the network can
 * process exactly, heatmaps at stride 4, an ascending LR schedule, and keypoint
 * meta that fits NUM_JOINTS. Throws a {@link ConfigError} naming `file` and the key.
 */
export function validateConfig(config: Config, file: string): void {
  checkComplete(config as unknown as Tree, ROOT_FIELDS, [], file);

  const extra = config.MODEL.EXTRA;
  for (const [field, value] of [['NUM_MODULES', extra.STAGE1.NUM_MODULES], ['NUM_BRANCHES', extra.STAGE1.NUM_BRANCHES]] as const) {
    if (value !== 1) rejectKey(file, `MODEL.EXTRA.STAGE1.${field}`, `must be 1: STAGE1 is layer1, one sequence of blocks at one resolution (got ${value})`);
  }
  let previous: { name: string; branches: number } | undefined;
  for (const name of STAGES) {
    const stage = extra[name];
    const key = `MODEL.EXTRA.${name}`;
    const n = stage.NUM_BRANCHES;
    for (const list of ['NUM_BLOCKS', 'NUM_CHANNELS'] as const) {
      if (stage[list].length !== n) {
        const found = `got ${stage[list].length}: ${describe(stage[list])}`;
        rejectKey(file, `${key}.${list}`, `expected ${n} entries (one per branch, NUM_BRANCHES = ${n}), ${found}`);
      }
    }
    if (previous && n < previous.branches) {
      rejectKey(
        file,
        `${key}.NUM_BRANCHES`,
        `${n} is fewer than the ${previous.branches} branches of ${previous.name}; ` +
          'a transition can add branches but not remove them',
      );
    }
    previous = { name, branches: n };
  }

  const [width, height] = config.MODEL.IMAGE_SIZE;
  const branches = extra.STAGE4.NUM_BRANCHES;
  const multiple = OUTPUT_STRIDE * 2 ** (branches - 1);
  if (width % multiple !== 0 || height % multiple !== 0) {
    rejectKey(
      file,
      'MODEL.IMAGE_SIZE',
      `[${width}, ${height}] must have width and height divisible by ${multiple}: the lowest-resolution branch ` +
        `(${branches} branches) runs at stride ${multiple} and is upsampled by exact powers of 2 to meet the others`,
    );
  }
  const [hmWidth, hmHeight] = config.MODEL.HEATMAP_SIZE;
  if (hmWidth * OUTPUT_STRIDE !== width || hmHeight * OUTPUT_STRIDE !== height) {
    rejectKey(
      file,
      'MODEL.HEATMAP_SIZE',
      `expected [${width / OUTPUT_STRIDE}, ${height / OUTPUT_STRIDE}] ` +
        `(IMAGE_SIZE [${width}, ${height}] / ${OUTPUT_STRIDE}: ` +
        `the network outputs heatmaps at stride ${OUTPUT_STRIDE}), got [${hmWidth}, ${hmHeight}]`,
    );
  }

  const steps = config.TRAIN.LR_STEP;
  if (steps.some((step, i) => i > 0 && step <= steps[i - 1])) {
    rejectKey(file, 'TRAIN.LR_STEP', `expected strictly ascending epochs, got ${describe(steps)}`);
  }
  if (config.TRAIN.END_EPOCH < config.TRAIN.BEGIN_EPOCH) {
    const { BEGIN_EPOCH, END_EPOCH } = config.TRAIN;
    rejectKey(file, 'TRAIN.END_EPOCH', `expected at least TRAIN.BEGIN_EPOCH (${BEGIN_EPOCH}), got ${END_EPOCH}`);
  }
  if (config.LOSS.USE_OHKM && config.LOSS.TOPK > config.MODEL.NUM_JOINTS) {
    const k = config.MODEL.NUM_JOINTS;
    rejectKey(file, 'LOSS.TOPK', `expected at most MODEL.NUM_JOINTS (${k}) with USE_OHKM, got ${config.LOSS.TOPK}`);
  }
  if (config.MODEL.USE_UDP && config.TEST.SHIFT_HEATMAP) {
    rejectKey(
      file,
      'TEST.SHIFT_HEATMAP',
      'must be false with MODEL.USE_UDP: true (UDP\'s (size − 1) grid maps flipped heatmaps back exactly, with no one-column shift)',
    );
  }
  checkKeypointMeta(config, file);
}

/**
 * A copy of `config` with `overrides` applied and the whole result validated.
 * `source` names where the overrides come from in error messages (e.g. `command line`).
 */
export function applyOverrides(config: Config, overrides: ConfigOverrides, source = 'overrides'): Config {
  const tree = structuredClone(config) as unknown as Tree;
  mergeOverrides(tree, overrides, source);
  const result = tree as unknown as Config;
  validateConfig(result, source);
  return result;
}

/**
 * Parses a config from YAML text: the defaults, then the YAML keys, then the
 * overrides, then {@link validateConfig}. `sourceName` (usually the file path)
 * names the source in error messages; an empty document gives the defaults.
 */
export function parseConfig(yamlText: string, sourceName: string, overrides?: ConfigOverrides): Config {
  const doc = YAML.parseDocument(yamlText, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const line = error.linePos?.[0].line;
    throw new ConfigError({ file: sourceName, line }, `malformed YAML: ${error.message.trimEnd()}`);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // The YAML library refuses alias expansions that would grow the document without bound ("billion laughs").
    throw new ConfigError(
      { file: sourceName },
      `YAML aliases (*name) expand to too many nodes (${(err as Error).message}); expected a config without ` +
        'nested aliases: write the values out',
    );
  }
  const tree = defaultConfig() as unknown as Tree;
  if (data !== null && data !== undefined) {
    if (!isPlainObject(data)) {
      throw new ConfigError(
        { file: sourceName },
        `expected a mapping of config sections (MODEL, TRAIN, ...) at the top level, got ${describe(data)}`,
      );
    }
    mergeInto(tree, data, ROOT_FIELDS, [], sourceName);
  }
  if (overrides) mergeOverrides(tree, overrides, 'overrides');
  const config = tree as unknown as Config;
  validateConfig(config, sourceName);
  return config;
}

/**
 * Loads a YAML config file (official experiment layout) synchronously, merged
 * onto {@link defaultConfig}, with optional overrides, validated.
 */
export function loadConfig(file: string, overrides?: ConfigOverrides): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const resolved = path.resolve(file);
    if (code === 'ENOENT') throw new ConfigError({ file }, `config file not found: ${resolved}`);
    if (code === 'EISDIR') throw new ConfigError({ file }, `${resolved} is a directory, expected a YAML config file`);
    throw new ConfigError({ file }, `cannot read config file ${resolved}: ${(err as Error).message}`);
  }
  return parseConfig(text, file, overrides);
}

/**
 * The config as YAML in the official layout; lists of scalars are written in
 * flow style (`IMAGE_SIZE: [192, 256]`). `parseConfig(configToYaml(c), ...)`
 * deep-equals `c`.
 */
export function configToYaml(config: Config): string {
  const doc = new YAML.Document(config);
  YAML.visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => YAML.isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

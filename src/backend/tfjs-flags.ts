/**
 * TF.js flags from the environment: `HRNET_TFJS_FLAGS="FLAG1:value,FLAG2:value"`, the syntax of TF.js's own
 * `?tfjsflags=` URL parameter in browsers, which Node has no equivalent of. The flags choose between kernel
 * variants and tune the backends, e.g. `WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false` (the tiled matrix-product
 * program for a convolution's input gradient on WebGPU instead of the direct one) or
 * `WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE:30` (dispatches per submit). A value is `true`/`false`, a number, else
 * a string, as TF.js reads its URL flags (which take `1e-3` for a string); a flag TF.js does not know, or a
 * value of another type than the flag's current one, is an error that names the variable.
 */
import * as tf from '@tensorflow/tfjs';

/** The environment variable. */
export const TFJS_FLAGS_VARIABLE = 'HRNET_TFJS_FLAGS';

/** A flag's value, as TF.js types them. */
export type TfjsFlagValue = boolean | number | string;

/** One flag to set. */
export interface TfjsFlagSetting {
  name: string;
  value: TfjsFlagValue;
}

/** `true`/`false` (any case), a finite number as JavaScript writes one (`30`, `-2`, `1e-3`), else the text. */
function parseValue(text: string): TfjsFlagValue {
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : text;
}

/**
 * Parses `FLAG1:value,FLAG2:value` (spaces around the items are ignored; empty text: no flags).
 * @param source what to name in errors (the variable)
 */
export function parseTfjsFlags(text: string, source = TFJS_FLAGS_VARIABLE): TfjsFlagSetting[] {
  const settings: TfjsFlagSetting[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    const name = colon < 0 ? '' : item.slice(0, colon).trim();
    const value = colon < 0 ? '' : item.slice(colon + 1).trim();
    if (name === '' || value === '') {
      throw new Error(`${source}: '${item}' is not FLAG:value (e.g. ${source}=WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false)`);
    }
    if (settings.some((s) => s.name === name)) throw new Error(`${source}: ${name} is given twice`);
    settings.push({ name, value: parseValue(value) });
  }
  return settings;
}

/** The flags TF.js has registered (core and the backends imported so far). */
export function registeredTfjsFlags(): string[] {
  const registry = (tf.env() as unknown as { flagRegistry?: Record<string, unknown> }).flagRegistry ?? {};
  return Object.keys(registry).sort();
}

/** The flag's current value where it can be evaluated synchronously (some backends' flags are async). */
function currentValue(name: string): TfjsFlagValue | undefined {
  try {
    return tf.env().get(name);
  } catch {
    return undefined;
  }
}

/** What {@link applyTfjsFlags} did: the flags set, as `FLAG=value`, and those TF.js has not registered (yet). */
export interface AppliedTfjsFlags {
  applied: string[];
  unregistered: TfjsFlagSetting[];
}

/**
 * Sets the flags TF.js has registered, after checking each value's type against the flag's current value,
 * and returns the others: a backend's flags are registered when its package loads, so a caller applies
 * once before initialising the backend (flags read at initialisation) and once after.
 */
export function applyTfjsFlags(settings: readonly TfjsFlagSetting[], source = TFJS_FLAGS_VARIABLE): AppliedTfjsFlags {
  const known = new Set(registeredTfjsFlags());
  const now = settings.filter((s) => known.has(s.name));
  for (const { name, value } of now) {
    const current = currentValue(name);
    if (current !== undefined && typeof current !== typeof value) {
      throw new Error(`${source}: ${name} takes a ${typeof current} (now ${String(current)}); got '${String(value)}'`);
    }
  }
  for (const { name, value } of now) tf.env().set(name, value);
  return { applied: now.map(({ name, value }) => `${name}=${String(value)}`), unregistered: settings.filter((s) => !known.has(s.name)) };
}

/** The error for a flag TF.js does not know, with the flags it does. */
export function unknownTfjsFlagError(name: string, backend: string, source = TFJS_FLAGS_VARIABLE): Error {
  const known = registeredTfjsFlags();
  const prefix = name.split('_')[0];
  const close = known.filter((k) => k.startsWith(`${prefix}_`));
  const list = close.length > 0 ? close : known;
  return new Error(`${source}: TF.js has no flag ${name} with the ${backend} backend loaded; its flags${close.length > 0 ? ` starting with ${prefix}_` : ''}: ${list.join(', ')}`);
}

/** The settings of `HRNET_TFJS_FLAGS` (none where it is unset). */
export function tfjsFlagsFromEnv(env: NodeJS.ProcessEnv = process.env): TfjsFlagSetting[] {
  return parseTfjsFlags(env[TFJS_FLAGS_VARIABLE] ?? '');
}

/**
 * Field rules for the entries of annotation and box files, written as data (one table per kind of entry) and
 * checked by {@link firstFieldFault}, so that every refusal can name the field and what it expects.
 */

/** What one field of an entry must hold. */
export type FieldRule =
  /** A finite number. */
  | { kind: 'number' }
  /** A string. */
  | { kind: 'string' }
  /**
   * A list of `length` finite numbers (at least `minLength` when `length` is not set); entries at positions
   * `nonNegative` must be ≥ 0.
   */
  | { kind: 'numbers'; length?: number; minLength?: number; nonNegative?: readonly number[]; describe: string };

/** The rules of an entry, by field name; `optional` fields may be absent. */
export interface RecordSchema {
  readonly required: Readonly<Record<string, FieldRule>>;
  readonly optional?: Readonly<Record<string, FieldRule>>;
}

/** The first field of an entry that breaks its rule. */
export interface FieldFault {
  /** Field name, with the list position when one value is at fault (`bbox[2]`). */
  field: string;
  /** What the field must hold and what it holds. */
  reason: string;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function ruleFault(name: string, rule: FieldRule, value: unknown): FieldFault | null {
  switch (rule.kind) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : { field: name, reason: `expected a finite number, got ${show(value)}` };
    case 'string':
      return typeof value === 'string' ? null : { field: name, reason: `expected a string, got ${show(value)}` };
    case 'numbers': {
      if (!Array.isArray(value)) return { field: name, reason: `expected ${rule.describe}, got ${show(value)}` };
      if ((rule.length !== undefined && value.length !== rule.length) || (rule.minLength !== undefined && value.length < rule.minLength)) {
        return { field: name, reason: `expected ${rule.describe}, got ${value.length} values` };
      }
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          return { field: `${name}[${i}]`, reason: `expected a finite number (${rule.describe}), got ${show(v)}` };
        }
      }
      for (const i of rule.nonNegative ?? []) {
        if ((value[i] as number) < 0) return { field: `${name}[${i}]`, reason: `expected a value >= 0 (${rule.describe}), got ${value[i]}` };
      }
      return null;
    }
  }
}

/**
 * The first fault of `entry` against `schema`: a required field that is missing or breaks its rule, or an
 * optional field that is present and breaks its rule; null when the entry fits.
 * @param entry a parsed JSON value
 */
export function firstFieldFault(entry: unknown, schema: RecordSchema): FieldFault | null {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return { field: '(entry)', reason: `expected an object, got ${show(entry)}` };
  }
  const rec = entry as Record<string, unknown>;
  for (const name in schema.required) {
    const fault = ruleFault(name, schema.required[name], rec[name]);
    if (fault !== null) return fault;
  }
  if (schema.optional !== undefined) {
    for (const name in schema.optional) {
      if (rec[name] === undefined) continue;
      const fault = ruleFault(name, schema.optional[name], rec[name]);
      if (fault !== null) return fault;
    }
  }
  return null;
}

/** A COCO ground-truth annotation with K keypoints: box `[x, y, w, h]` (w, h ≥ 0), keypoints `[3K]`. */
export function cocoAnnotationSchema(numJoints: number): RecordSchema {
  return {
    required: {
      image_id: { kind: 'number' },
      bbox: { kind: 'numbers', length: 4, nonNegative: [2, 3], describe: 'a box [x, y, w, h] with w, h >= 0' },
      keypoints: { kind: 'numbers', length: numJoints * 3, describe: `${numJoints} × [x, y, v] keypoint values` },
    },
    optional: { area: { kind: 'number' } },
  };
}

/** A COCO person detection: `image_id`, box `[x, y, w, h]` (w, h ≥ 0), `score`. */
export const COCO_DETECTION_SCHEMA: RecordSchema = {
  required: {
    image_id: { kind: 'number' },
    bbox: { kind: 'numbers', minLength: 4, nonNegative: [2, 3], describe: 'a box [x, y, w, h] with w, h >= 0' },
    score: { kind: 'number' },
  },
};

/** An official MPII entry: `center` `[2]`, `scale` > 0 checked by the reader, joints checked by the reader. */
export const MPII_ENTRY_SCHEMA: RecordSchema = {
  required: {
    image: { kind: 'string' },
    center: { kind: 'numbers', length: 2, describe: 'a center [x, y]' },
    scale: { kind: 'number' },
  },
};

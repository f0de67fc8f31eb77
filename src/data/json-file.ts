/**
 * Reading JSON files (annotation, box, results and meta files) with errors that name the file and, for malformed
 * JSON, the line and column of the first fault. `JSON.parse` does the parsing; only when it fails is the text
 * scanned again by `jsonc-parser` (strict JSON: no comments, no trailing commas) to locate the fault, because
 * Node 20's `JSON.parse` messages do not always carry a position.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';

/**
 * Reads a whole file as text; errors name the file and the fault.
 * @param file path of the file
 * @param what what the file is, for messages (e.g. `annotation file`)
 */
export function readTextFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${what} not found: ${path.resolve(file)}`);
    if (code === 'EISDIR') throw new Error(`${what} ${path.resolve(file)} is a directory, expected a JSON file`);
    throw new Error(`cannot read ${what} ${path.resolve(file)}: ${(err as Error).message}`);
  }
}

/**
 * Parses JSON text; a syntax error names `file`, and the line and column of the fault (or says the text ends
 * early).
 * @param text the JSON text
 * @param file the file it came from, for messages
 * @param what what the file is, for messages
 */
export function parseJsonText(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const fault = firstJsonFault(text);
    let where = '';
    if (fault !== null && fault.offset >= text.length) {
      where = ' at the end of the file (truncated?)';
    } else if (fault !== null) {
      const before = text.slice(0, fault.offset);
      const line = before.split('\n').length;
      const column = fault.offset - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column} (character ${fault.offset})`;
    }
    throw new Error(`${what} ${path.resolve(file)}: malformed JSON${where}: ${message}`);
  }
}

/**
 * Reads and parses a JSON file; errors name the file, and for malformed JSON the line and column.
 * @param file path of the file
 * @param what what the file is, for messages (e.g. `annotation file`)
 */
export function readJsonFile(file: string, what: string): unknown {
  return parseJsonText(readTextFile(file, what), file, what);
}

/**
 * Reads and parses a JSON file whose values under the keys `dropKeys` are not needed (e.g. COCO's `segmentation`
 * polygons, most of a train2017 annotation file): those values are cut from the bytes before parsing (each
 * becomes `0`), so they are never built. Errors as {@link readJsonFile}; malformed JSON is reported from the
 * whole text.
 * @param file path of the file
 * @param what what the file is, for messages
 * @param dropKeys object keys whose values are replaced by `0`
 */
export function readJsonFileWithout(file: string, what: string, dropKeys: readonly string[]): unknown {
  let bytes: Buffer | null;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return readJsonFile(file, what); // reports the read error
  }
  const kept = withoutKeyValues(bytes, dropKeys);
  let text: string | null = kept.toString('utf8');
  if (kept !== bytes) bytes = null; // the whole file is no longer needed while parsing
  try {
    return JSON.parse(text);
  } catch {
    text = null;
    return readJsonFile(file, what); // locates the fault in the file as written
  }
}

/**
 * `bytes` with the value after every object key in `keys` replaced by `0` (the bytes themselves when no key
 * occurs). A key is found as the bytes `"KEY":` whose quote is not escaped: in valid JSON that can only start an
 * object key. The value is skipped by bracket depth, strings (with their escapes) included.
 */
export function withoutKeyValues(bytes: Buffer, keys: readonly string[]): Buffer {
  const patterns = keys.map((k) => Buffer.from(`"${k}":`));
  const chunks: Buffer[] = [];
  let from = 0;
  let pos = 0;
  for (;;) {
    let next = -1;
    let len = 0;
    for (const p of patterns) {
      const at = bytes.indexOf(p, pos);
      if (at !== -1 && (next === -1 || at < next)) {
        next = at;
        len = p.length;
      }
    }
    if (next === -1) break;
    let slashes = 0;
    while (next - 1 - slashes >= 0 && bytes[next - 1 - slashes] === 0x5c) slashes++;
    const valueStart = next + len;
    if (slashes % 2 === 1) {
      pos = valueStart;
      continue;
    }
    const valueEnd = skipJsonValue(bytes, valueStart);
    chunks.push(bytes.subarray(from, valueStart), ZERO);
    from = valueEnd;
    pos = valueEnd;
  }
  if (chunks.length === 0) return bytes;
  chunks.push(bytes.subarray(from));
  return Buffer.concat(chunks);
}

const ZERO = Buffer.from('0');

/** End offset of the JSON value starting at `start` (after whitespace); the text's end when it is cut short. */
function skipJsonValue(b: Buffer, start: number): number {
  const n = b.length;
  let i = start;
  while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  let depth = 0;
  while (i < n) {
    const c = b[i];
    if (c === 0x22) {
      i++;
      while (i < n && b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1;
      i++;
      if (depth === 0) return i;
      continue;
    }
    if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      if (depth === 0) return i; // the end of the enclosing container: the value was empty
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) return i;
    i++;
  }
  return n;
}

/** The first syntax fault of a JSON text: its offset and `jsonc-parser`'s name for it (e.g. `ValueExpected`). */
interface JsonFault {
  offset: number;
  code: string;
}

function firstJsonFault(text: string): JsonFault | null {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length === 0) return null;
  const first = errors.reduce((a, b) => (b.offset < a.offset ? b : a));
  return { offset: Math.min(first.offset, text.length), code: printParseErrorCode(first.error) };
}

/**
 * Offset of the first JSON syntax error in `text` (used only to locate an error that `JSON.parse` reported);
 * `text.length` for truncated input, −1 when the text is valid.
 */
export function jsonErrorOffset(text: string): number {
  const fault = firstJsonFault(text);
  return fault === null ? -1 : fault.offset;
}

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

/**
 * Errors raised while reading and validating an experiment config, and the
 * "did you mean" helper used by their messages.
 */

/** Where a config problem was found. */
export interface ConfigErrorLocation {
  /** The YAML file (or override source such as `command line`) the problem comes from. */
  file: string;
  /** Dotted config key, e.g. `MODEL.EXTRA.STAGE2.NUM_CHANNELS`; absent for file-level problems. */
  key?: string;
  /** 1-based line in `file`, when known (malformed YAML). */
  line?: number;
}

/**
 * A config the user has to fix. The message always starts with the file (and
 * line, when known) and names the key and what was expected.
 */
export class ConfigError extends Error {
  /** The YAML file (or override source) the problem comes from. */
  readonly file: string;
  /** Dotted config key the problem is about; absent for file-level problems. */
  readonly key: string | undefined;
  /** 1-based line in `file`, when known. */
  readonly line: number | undefined;

  constructor(location: ConfigErrorLocation, message: string) {
    const where = location.line === undefined ? location.file : `${location.file}:${location.line}`;
    super(`${where}: ${message}`);
    this.name = 'ConfigError';
    this.file = location.file;
    this.key = location.key;
    this.line = location.line;
  }
}

/**
 * Optimal-string-alignment edit distance (insertions, deletions, substitutions
 * and swaps of two neighbouring characters each cost 1), case-insensitive.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toUpperCase();
  const t = b.toUpperCase();
  const rows = s.length + 1;
  const cols = t.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, d[i - 2][j - 2] + 1);
      }
      d[i][j] = best;
    }
  }
  return d[rows - 1][cols - 1];
}

/**
 * The candidate closest to `name` by {@link editDistance}, or `undefined` when
 * none is close enough to be a plausible typo (more than max(2, ⌈len/2⌉) edits).
 * Ties go to the earlier candidate.
 */
export function closestKey(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(2, Math.ceil(name.length / 2));
  return bestDistance <= limit ? best : undefined;
}

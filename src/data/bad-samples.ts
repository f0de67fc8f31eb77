/**
 * Bad samples: entries of an annotation or box file that cannot be used (a box that is not finite or has no area,
 * keypoints that are not numbers) and images that are missing or cannot be decoded. Each is reported with its file
 * and skipped; a split where more than `DATASET.MAX_BAD_SAMPLE_SHARE` of the samples are bad is refused with the
 * list.
 */

/** One bad sample. */
export interface BadSample {
  /** The annotation, box or image file at fault. */
  file: string;
  /** Which entry: e.g. `annotation 1234 (annotations[17], image 42)`, or `sample 12`. */
  record: string;
  /** The field at fault (`bbox[2]`), or `image` for an image that cannot be read. */
  field: string;
  /** What the field must hold and what it holds. */
  reason: string;
}

/** `FILE: RECORD: field "FIELD": REASON` — one line naming the file, the entry and the field. */
export function formatBadSample(bad: BadSample): string {
  return `${bad.file}: ${bad.record}: field "${bad.field}": ${bad.reason}`;
}

/** Bad samples listed in a refusal; the rest are counted. */
export const LISTED_BAD_SAMPLES = 20;

/**
 * Reports the bad samples of a split and refuses the split when they are more than `maxShare` of it.
 * @param bad the bad samples found
 * @param total samples of the split, bad ones included
 * @param maxShare `DATASET.MAX_BAD_SAMPLE_SHARE`
 * @param what the split, for messages (e.g. `annotation file /data/train.json`)
 * @param warn receives one line per bad sample (up to {@link LISTED_BAD_SAMPLES}) when the split is accepted
 * @throws when `bad.length > maxShare · total`; the first line names `what`, the share and the key to change
 */
export function checkBadShare(bad: readonly BadSample[], total: number, maxShare: number, what: string, warn: (message: string) => void): void {
  if (bad.length === 0) return;
  const listed = bad.slice(0, LISTED_BAD_SAMPLES).map((b) => `  ${formatBadSample(b)}`);
  const more = bad.length > LISTED_BAD_SAMPLES ? [`  ... and ${bad.length - LISTED_BAD_SAMPLES} more`] : [];
  const share = total > 0 ? bad.length / total : 1;
  if (share > maxShare) {
    throw new Error(
      [
        `${what}: ${bad.length} of ${total} samples are bad (${(100 * share).toFixed(1)}%, more than ` +
          `DATASET.MAX_BAD_SAMPLE_SHARE = ${maxShare}); fix them, or raise DATASET.MAX_BAD_SAMPLE_SHARE to skip them:`,
        ...listed,
        ...more,
      ].join('\n'),
    );
  }
  for (const line of listed) warn(`skipping bad sample: ${line.trim()}`);
  if (more.length > 0) warn(`skipping bad samples: ${bad.length - LISTED_BAD_SAMPLES} more in ${what}`);
}

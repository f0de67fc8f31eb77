/**
 * Writing pictures to disk without ever leaving a half-written file behind.
 */
import { promises as fs } from 'fs';
import * as path from 'path';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Writes a PNG atomically: creates the parent folders, writes a temporary file beside the target, then renames it
 * over the target, so a reader sees either the old picture or the new one.
 * @param filePath destination, e.g. `output/coco/w32/val_0_pred.png`
 * @param png encoded PNG bytes (checked for the PNG signature)
 */
export async function savePng(filePath: string, png: Uint8Array): Promise<void> {
  if (png.length < PNG_SIGNATURE.length || !PNG_SIGNATURE.equals(Buffer.from(png.subarray(0, PNG_SIGNATURE.length)))) {
    throw new Error(`savePng ${filePath}: the buffer is not a PNG (no PNG signature)`);
  }
  const dir = path.dirname(filePath);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(filePath)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  try {
    await fs.writeFile(tmp, png);
    await fs.rename(tmp, filePath);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new Error(`savePng ${filePath}: ${(err as Error).message}`);
  }
}

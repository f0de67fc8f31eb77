/**
 * Helpers for the picture tests: decode a PNG to pixels, read a pixel, keep pictures for a human to look at, and
 * person crops of the shared COCO sample with their ground-truth keypoints (cut by the training pipeline's crop).
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { DATA_DIR } from './fixtures';
import { RgbImage, decodeImage, warpAffine } from '../../src/data/image';
import { affineTransform, getAffineTransform } from '../../src/codec/affine';
import { xywh2cs } from '../../src/data/transforms';

/** A decoded PNG. */
export interface DecodedPng {
  /** `[height, width, channels]` bytes. */
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Decodes PNG bytes (throws unless they are a PNG). */
export async function decodePng(png: Buffer): Promise<DecodedPng> {
  const meta = await sharp(png).metadata();
  if (meta.format !== 'png') throw new Error(`expected a PNG, got ${meta.format}`);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
}

/** `[r, g, b]` of pixel `(x, y)` (integer pixel indices). */
export function pixelAt(img: DecodedPng, x: number, y: number): [number, number, number] {
  const o = (Math.floor(y) * img.width + Math.floor(x)) * img.channels;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

/** Largest channel difference between two colours. */
export function colorDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

/** Writes the picture to `$HRNET_VIZ_DIR/<name>` when that variable is set, so it can be looked at. */
export function keepPicture(name: string, png: Buffer): void {
  const dir = process.env.HRNET_VIZ_DIR;
  if (dir === undefined || dir === '') return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), png);
}

/** A person crop of the COCO sample and its ground truth in crop pixels. */
export interface CocoPersonCrop {
  image: RgbImage;
  /** `[K, 3]` `x, y, v` in crop pixels; v as in the annotation (0 = not labelled). */
  joints: number[][];
  /** Source image file. */
  file: string;
}

interface CocoFile {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; bbox: [number, number, number, number]; keypoints: number[]; num_keypoints: number }[];
}

/**
 * Person crops of `data/coco/test_coco.json` (annotations with keypoints, in file order) as the pipeline makes
 * them without augmentation: box → center/scale (`xywh2cs`), `getAffineTransform`, `warpAffine`; the keypoints
 * go through the same matrix.
 */
export async function cocoPersonCrops(count: number, outW = 192, outH = 256): Promise<CocoPersonCrop[]> {
  const dir = path.join(DATA_DIR, 'coco');
  const coco = JSON.parse(fs.readFileSync(path.join(dir, 'test_coco.json'), 'utf8')) as CocoFile;
  const decoded = new Map<number, RgbImage>();
  const crops: CocoPersonCrop[] = [];
  for (const ann of coco.annotations.filter((a) => a.num_keypoints > 0).slice(0, count)) {
    const file = coco.images.find((im) => im.id === ann.image_id)?.file_name ?? '';
    let img = decoded.get(ann.image_id);
    if (img === undefined) {
      img = await decodeImage(path.join(dir, file));
      decoded.set(ann.image_id, img);
    }
    const { center, scale } = xywh2cs(...ann.bbox, outW / outH);
    const trans = getAffineTransform(center, scale, 0, [outW, outH]);
    const joints: number[][] = [];
    for (let k = 0; k < ann.keypoints.length / 3; k++) {
      const [px, py, v] = ann.keypoints.slice(k * 3, k * 3 + 3);
      joints.push([...affineTransform([px, py], trans), v]);
    }
    crops.push({ image: { data: warpAffine(img, trans, outW, outH), width: outW, height: outH }, joints, file });
  }
  return crops;
}

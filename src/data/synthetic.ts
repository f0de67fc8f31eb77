/**
 * The embedded synthetic keypoint dataset: images of human-like figures rendered from SVG (sharp/librsvg), saved
 * as JPEG, with COCO person-keypoint annotations — the default training set of the project, read through the
 * regular COCO path.
 *
 * Layout written under `outDir` (the official COCO layout, image files named `%012d.jpg` after the image id):
 * ```
 * annotations/person_keypoints_<trainSet>.json   images/<trainSet>/000000000001.jpg …
 * annotations/person_keypoints_<valSet>.json     images/<valSet>/000000000001.jpg …
 * ```
 * Image and annotation ids start at 1 in each split. Each image is drawn from its own generator,
 * `seedrandom("<seed>/<split>/<index>")`, so a seed fixes every file byte for byte and a split's images do not
 * depend on the size of the other split. The figures, annotation conventions and the area estimate are described
 * in `synthetic/figure.ts` and `synthetic/scene.ts`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import type { CocoCategory, CocoKeypointsFile } from './coco-format';
import { COCO_META } from './keypoint-meta';
import { randInt } from './synthetic/random';
import { type Scene, composeScene } from './synthetic/scene';

/** Options of {@link renderSyntheticDataset}. */
export interface SyntheticDatasetOptions {
  /** Output folder (created when missing; existing files of the same names are replaced). */
  outDir: string;
  /** Number of training images. */
  train: number;
  /** Number of validation images. */
  val: number;
  /** Seed of every random draw. */
  seed: string | number;
  /** Fixed image size `[width, height]`; by default each image draws its own, 320–480 × 240–360 (multiples of 8). */
  imageSize?: [number, number];
  /** Most figures in one image, 1–4 (default 4). */
  maxPersons?: number;
  /** Name of the training split (default `train`). */
  trainSet?: string;
  /** Name of the validation split (default `val`). */
  valSet?: string;
  /** JPEG quality 1–100 (default 90). */
  jpegQuality?: number;
  /** Images rendered at the same time (default: the number of CPUs, at most 4). Does not change the output. */
  concurrency?: number;
  /** Called after each written image with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** What one split holds. */
export interface SyntheticSplitSummary {
  /** Split name, e.g. `train`. */
  name: string;
  images: number;
  /** Person annotations (one per figure). */
  annotations: number;
  /** Path of the annotation file. */
  annotationFile: string;
  /** Folder of the split's images. */
  imageDir: string;
  /** `[3]` keypoint counts with `v = 0, 1, 2` over all annotations. */
  keypointVisibility: [number, number, number];
  /** `personsPerImage[n]` = images holding `n` figures. */
  personsPerImage: number[];
}

/** Result of {@link renderSyntheticDataset}. */
export interface SyntheticSummary {
  outDir: string;
  seed: string;
  splits: SyntheticSplitSummary[];
  /** Wall time in seconds. */
  seconds: number;
  imagesPerSecond: number;
}

/** A synthetic split's annotation file: a COCO person-keypoints file with an `info` header. */
export interface SyntheticCocoFile extends CocoKeypointsFile {
  info: { description: string; version: string; seed: string; split: string };
}

/** The `person` category with the 17 COCO keypoint names and COCO's 1-based skeleton. */
export function personCategory(): CocoCategory {
  return {
    id: 1,
    name: 'person',
    supercategory: 'person',
    keypoints: [...COCO_META.keypointNames],
    skeleton: COCO_META.skeleton.map(([a, b]): [number, number] => [a + 1, b + 1]),
  };
}

/** File name of image `id`: `%012d.jpg`, as the official COCO loader builds it. */
export function syntheticImageFileName(id: number): string {
  return `${String(id).padStart(12, '0')}.jpg`;
}

/**
 * The scene of image `index` (0-based) of split `split`: its own generator `seedrandom("<seed>/<split>/<index>")`
 * draws the size (unless `imageSize` is given), then the scene.
 * @param imageSize fixed `[width, height]`, or undefined for a random size
 * @param maxPersons most figures in the image (default 4)
 */
export function syntheticScene(seed: string | number, split: string, index: number, imageSize?: [number, number], maxPersons?: number): Scene {
  const rng = seedrandom(`${seed}/${split}/${index}`);
  const [width, height] = imageSize ?? [8 * randInt(rng, 40, 60), 8 * randInt(rng, 30, 45)];
  return composeScene(rng, { width, height, maxPersons });
}

/**
 * Rasterises a scene (librsvg through sharp), adds its pixel noise and encodes it as JPEG.
 * @param quality JPEG quality 1–100
 * @returns the JPEG bytes
 */
export async function rasterizeScene(scene: Scene, quality = 90): Promise<Buffer> {
  const svg = sharp(Buffer.from(scene.svg));
  if (scene.noiseSigma <= 0) return svg.removeAlpha().jpeg({ quality }).toBuffer();
  const { data, info } = await svg.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  addPixelNoise(data, scene.noiseSigma, scene.noiseSeed);
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .jpeg({ quality })
    .toBuffer();
}

/** Length of the shared noise table (a power of two). */
const NOISE_TABLE_SIZE = 1 << 20;
let noiseTable: Int16Array | null = null;

/**
 * The shared pixel-noise table, made once from `seedrandom.alea('hrnet-synthetic-noise')`: `[2^20]` values, each
 * the sum of two uniform bytes minus 255 (a triangular distribution, mean 0, standard deviation 255·√(1/6) ≈ 104.1).
 */
function getNoiseTable(): Int16Array {
  if (noiseTable === null) {
    const rng = seedrandom.alea('hrnet-synthetic-noise');
    const table = new Int16Array(NOISE_TABLE_SIZE);
    for (let i = 0; i < NOISE_TABLE_SIZE; i += 2) {
      const r = rng.int32();
      table[i] = (r & 255) + ((r >>> 8) & 255) - 255;
      table[i + 1] = ((r >>> 16) & 255) + ((r >>> 24) & 255) - 255;
    }
    noiseTable = table;
  }
  return noiseTable;
}

/**
 * Adds zero-mean noise of standard deviation `sigma` to every byte of `pixels` (saturating), read from the shared
 * noise table from the offset `seed mod 2^20` on, wrapping around.
 * @param pixels `[H, W, C]` 8-bit image, modified in place
 * @param seed any 32-bit unsigned integer
 */
export function addPixelNoise(pixels: Uint8Array, sigma: number, seed: number): void {
  const table = getNoiseTable();
  const mask = NOISE_TABLE_SIZE - 1;
  const k = sigma / (255 * Math.sqrt(1 / 6));
  let j = seed & mask;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i] + k * table[j] + 0.5;
    pixels[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    j = (j + 1) & mask;
  }
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) throw new Error(`synthetic dataset: option "${name}" must be an integer ≥ 0, got ${value}`);
}

function checkOptions(opts: SyntheticDatasetOptions): void {
  checkCount(opts.train, 'train');
  checkCount(opts.val, 'val');
  if (typeof opts.outDir !== 'string' || opts.outDir === '') throw new Error('synthetic dataset: option "outDir" must be a folder path');
  if (opts.imageSize !== undefined) {
    const [w, h] = opts.imageSize;
    if (!(Number.isInteger(w) && Number.isInteger(h) && w >= 32 && h >= 32 && w <= 8192 && h <= 8192)) {
      throw new Error(`synthetic dataset: option "imageSize" must be [width, height], integers in 32–8192, got ${JSON.stringify(opts.imageSize)}`);
    }
  }
  const m = opts.maxPersons;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1 && m <= 4)) throw new Error(`synthetic dataset: option "maxPersons" must be an integer in 1–4, got ${m}`);
  const q = opts.jpegQuality;
  if (q !== undefined && !(Number.isInteger(q) && q >= 1 && q <= 100)) throw new Error(`synthetic dataset: option "jpegQuality" must be an integer in 1–100, got ${q}`);
  const names = [opts.trainSet ?? 'train', opts.valSet ?? 'val'];
  for (const name of names) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`synthetic dataset: split name must use letters, digits, "_", "-" or ".", got "${name}"`);
  }
  if (names[0] === names[1]) throw new Error(`synthetic dataset: "trainSet" and "valSet" must differ, both are "${names[0]}"`);
}

/** Writes `text` to `file` through a temporary file and a rename. */
function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Renders a split: `count` images into `images/<name>/` and `annotations/person_keypoints_<name>.json`.
 * @param tick called after each written image
 */
async function renderSplit(
  opts: SyntheticDatasetOptions,
  name: string,
  count: number,
  concurrency: number,
  tick: () => void,
): Promise<SyntheticSplitSummary> {
  const seed = String(opts.seed);
  const imageDir = path.join(opts.outDir, 'images', name);
  const annotationFile = path.join(opts.outDir, 'annotations', `person_keypoints_${name}.json`);
  fs.mkdirSync(imageDir, { recursive: true });
  fs.mkdirSync(path.dirname(annotationFile), { recursive: true });
  const quality = opts.jpegQuality ?? 90;

  const scenes: Scene[] = new Array<Scene>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const scene = syntheticScene(seed, name, index, opts.imageSize, opts.maxPersons);
      const jpeg = await rasterizeScene(scene, quality);
      await fs.promises.writeFile(path.join(imageDir, syntheticImageFileName(index + 1)), jpeg);
      // Keep only what the annotation file needs.
      scenes[index] = { ...scene, svg: '' };
      tick();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, count)) }, worker));

  const file: SyntheticCocoFile = {
    info: { description: 'hrnet-tfjs synthetic figures', version: '1', seed, split: name },
    images: [],
    annotations: [],
    categories: [personCategory()],
  };
  const visibility: [number, number, number] = [0, 0, 0];
  const personsPerImage: number[] = [];
  scenes.forEach((scene, index) => {
    const imageId = index + 1;
    file.images.push({ id: imageId, file_name: syntheticImageFileName(imageId), width: scene.width, height: scene.height });
    personsPerImage[scene.persons.length] = (personsPerImage[scene.persons.length] ?? 0) + 1;
    for (const p of scene.persons) {
      file.annotations.push({
        id: file.annotations.length + 1,
        image_id: imageId,
        category_id: 1,
        keypoints: p.keypoints,
        num_keypoints: p.numKeypoints,
        area: p.area,
        bbox: p.bbox,
        iscrowd: 0,
      });
      for (let k = 2; k < p.keypoints.length; k += 3) visibility[p.keypoints[k]]++;
    }
  });
  writeFileAtomic(annotationFile, JSON.stringify(file));
  return {
    name,
    images: count,
    annotations: file.annotations.length,
    annotationFile,
    imageDir,
    keypointVisibility: visibility,
    personsPerImage: Array.from(personsPerImage, (n) => n ?? 0),
  };
}

/**
 * Renders the synthetic dataset: `train` + `val` images with their COCO person-keypoint files (layout in the
 * module comment). The same options give byte-identical files.
 */
export async function renderSyntheticDataset(opts: SyntheticDatasetOptions): Promise<SyntheticSummary> {
  checkOptions(opts);
  const start = process.hrtime.bigint();
  const total = opts.train + opts.val;
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? Math.min(4, os.availableParallelism())));
  let done = 0;
  const tick = () => {
    done++;
    opts.onProgress?.(done, total);
  };
  const splits = [
    await renderSplit(opts, opts.trainSet ?? 'train', opts.train, concurrency, tick),
    await renderSplit(opts, opts.valSet ?? 'val', opts.val, concurrency, tick),
  ];
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { outDir: opts.outDir, seed: String(opts.seed), splits, seconds, imagesPerSecond: seconds > 0 ? total / seconds : 0 };
}

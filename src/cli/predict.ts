/**
 * `hrnet predict --checkpoint CKPT --image IMG [--boxes BOXES.json] --out DIR [--flip] [--threshold T]`:
 * keypoints of the people in one image, top-down as the official test: each person box becomes a
 * center and scale (`_xywh2cs`, input aspect ratio, ×1.25), is cropped with the affine of
 * the config's codec (`get_affine_transform`, or UDP's), run through the network (with the flip test when asked),
 * and the heatmaps are decoded by the same codec back to image pixels — the path the demo page runs
 * (`src/demo/estimate-poses.ts`). Writes `DIR/<stem>.json` and `DIR/<stem>.png`.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { checkedOnWebGpu } from '../backend/webgpu-errors';
import { codecOf } from '../codec/codecs';
import type { CodecSpec } from '../codec/heatmap-codec';
import type { Config } from '../config/schema';
import { readJsonFile } from '../data/dataset';
import { decodeImage, RgbImage } from '../data/image';
import type { KeypointMeta } from '../data/keypoint-meta';
import { keypointMetaOfConfig } from '../data/keypoint-meta-of-config';
import { estimatePoses } from '../demo/estimate-poses';
import { rescorePerson } from '../eval/rescore';
import { writeFileAtomic, loadModelFromCheckpoint } from '../io/checkpoint';
import type { PoseHRNet } from '../model/pose-hrnet';
import { renderPredictions } from '../viz/predictions';
import { savePng } from '../viz/save-png';
import { GlobalArgs, startBackend, withBackend } from './common';

/** Arguments of `hrnet predict`. */
export interface PredictArgs extends GlobalArgs {
  /** Checkpoint file or run directory. */
  checkpoint: string;
  /** Image file (JPEG, PNG, …). */
  image: string;
  /** Person boxes file; without it the whole image is one box. */
  boxes?: string;
  /** Output directory. */
  out: string;
  /** Flip test (default `TEST.FLIP_TEST` of the checkpoint's config). */
  flip?: boolean;
  /** Keypoints scoring below this are not drawn (default `TEST.IN_VIS_THRE`, or 0.2 when that is 0). */
  threshold?: number;
}

/** A person box. */
export interface PersonBox {
  /** `[x, y, w, h]` in image pixels. */
  bbox: [number, number, number, number];
  /** Detector score (1 when the file gives none). */
  score: number;
}

/** One predicted person, as written to the JSON output. */
export interface PredictedPerson {
  /** The input box `[x, y, w, h]`. */
  bbox: [number, number, number, number];
  /** Box score × mean of the keypoint scores above `TEST.IN_VIS_THRE` (the official rescoring). */
  score: number;
  /** The input box score. */
  box_score: number;
  /** Crop center `[x, y]` in image pixels. */
  center: [number, number];
  /** Crop scale `[sx, sy]` in units of 200 px. */
  scale: [number, number];
  /** `[K][3]`: x, y in image pixels, heatmap maximum. */
  keypoints: [number, number, number][];
}

/** The JSON file written by `hrnet predict`. */
export interface PredictionFile {
  image: string;
  width: number;
  height: number;
  keypoint_names: string[];
  persons: PredictedPerson[];
}

/** Options of {@link predictPersons}. */
export interface PredictPersonsOptions {
  /** Run the mirrored crops too and average (official flip test). */
  flipTest: boolean;
  /** Crop, decoding and flip test: the codec of the checkpoint's config (`codecOf(config).spec`). */
  codec: CodecSpec;
  /** `DATASET.COLOR_RGB`: false feeds BGR, as the network was trained. */
  colorRgb: boolean;
  /** `TEST.IN_VIS_THRE`: keypoint scores above it enter the person score. */
  inVisThre: number;
  /** Crops per forward pass. */
  batchSize: number;
  /** Left/right joint pairs (0-based) for the flip test. */
  flipPairs: readonly [number, number][];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Reads a boxes file: a JSON list of `{bbox: [x, y, w, h], score?}`, or of COCO detections
 * `{image_id, category_id, bbox, score}` (then only the entries of `imageId` are kept when the file
 * holds several images). Boxes with a non-positive width or height are dropped.
 * @param imageId id of the image (COCO file names `000000196141.jpg` → 196141), to pick its detections
 * @returns `[B]` boxes in file order
 * @throws an error naming the file and the entry that is malformed
 */
export function readBoxesFile(file: string, imageId?: number): PersonBox[] {
  const data = readJsonFile(file, 'boxes file');
  const list = isRecord(data) && Array.isArray(data.boxes) ? data.boxes : data;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON list of {bbox: [x, y, w, h], score?}`);
  const entries = list.map((e: unknown, i) => {
    const bbox = isRecord(e) ? e.bbox : undefined;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new Error(`${file}: entry ${i}: "bbox" must be [x, y, w, h], four finite numbers`);
    }
    const rec = e as Record<string, unknown>;
    const score = rec.score === undefined ? 1 : rec.score;
    if (typeof score !== 'number' || !Number.isFinite(score)) throw new Error(`${file}: entry ${i}: "score" must be a number`);
    const id = rec.image_id;
    return { bbox: bbox as [number, number, number, number], score, imageId: typeof id === 'number' ? id : undefined };
  });
  const ids = new Set(entries.map((e) => e.imageId).filter((id) => id !== undefined));
  let chosen = entries;
  if (ids.size > 1) {
    if (imageId === undefined || !ids.has(imageId)) {
      throw new Error(
        `${file} holds detections of ${ids.size} images and none has image_id ${imageId ?? '(no number in the image name)'}; ` +
          'give the boxes of this image only',
      );
    }
    chosen = entries.filter((e) => e.imageId === imageId);
  }
  return chosen.filter((e) => e.bbox[2] > 0 && e.bbox[3] > 0).map((e) => ({ bbox: e.bbox, score: e.score }));
}

/** The COCO image id in a file name such as `000000196141.jpg`, if the stem is a number. */
export function imageIdOfFile(file: string): number | undefined {
  const stem = path.basename(file, path.extname(file));
  return /^\d+$/.test(stem) ? Number(stem) : undefined;
}

/**
 * Keypoints of the person in each box: the top-down path of the demo page ({@link estimatePoses}) run on the
 * model's eval forward, `batchSize` crops per pass, then each person rescored as the official evaluation does.
 * @param image `data` `[H, W, 3]`
 * @param boxes `[B]` person boxes in image pixels
 * @returns `[B]` persons, keypoints `[K][3]` in image pixels
 */
export async function predictPersons(model: PoseHRNet, image: RgbImage, boxes: readonly PersonBox[], opts: PredictPersonsOptions): Promise<PredictedPerson[]> {
  const poses = await estimatePoses(
    image,
    boxes.map((box) => box.bbox),
    (x) => model.forward(x, { training: false }),
    { inputSize: model.imageSize, numJoints: model.numJoints, flipPairs: opts.flipPairs },
    { flipTest: opts.flipTest, codec: opts.codec, colorRgb: opts.colorRgb, batchSize: opts.batchSize },
  );
  return poses.map((pose, i) => ({
    bbox: pose.bbox,
    score: rescorePerson(pose.keypoints.map((keypoint) => keypoint[2]), boxes[i].score, opts.inVisThre),
    box_score: boxes[i].score,
    center: pose.center,
    scale: pose.scale,
    keypoints: pose.keypoints,
  }));
}

/** What {@link runPredict} wrote. */
export interface PredictOutput {
  jsonFile: string;
  pngFile: string;
  prediction: PredictionFile;
}

/** The whole command: loads the checkpoint and image, predicts, writes the JSON and the picture. */
export async function runPredict(args: PredictArgs): Promise<PredictOutput> {
  if (!fs.existsSync(args.image)) throw new Error(`image not found: ${path.resolve(args.image)}`);
  await startBackend(args);
  const { model, config } = loadModelFromCheckpoint(args.checkpoint);
  try {
    return await predictWithModel(model, config, args);
  } finally {
    model.dispose();
  }
}

async function predictWithModel(model: PoseHRNet, config: Config, args: PredictArgs): Promise<PredictOutput> {
  const image = await decodeImage(args.image);
  const { meta, warnings } = keypointMetaOfConfig(config);
  for (const w of warnings) console.error(`warning: ${w}`);
  const boxes: PersonBox[] = args.boxes
    ? readBoxesFile(args.boxes, imageIdOfFile(args.image)).filter((b) => b.score >= config.TEST.IMAGE_THRE)
    : [{ bbox: [0, 0, image.width, image.height], score: 1 }];
  const persons = await checkedOnWebGpu(`the prediction on ${path.basename(args.image)}`, () =>
    predictPersons(model, image, boxes, {
      flipTest: args.flip ?? config.TEST.FLIP_TEST,
      codec: codecOf(config).spec,
      colorRgb: config.DATASET.COLOR_RGB,
      inVisThre: config.TEST.IN_VIS_THRE,
      batchSize: config.TEST.BATCH_SIZE_PER_GPU,
      flipPairs: meta.flipPairs,
    }),
  );
  const prediction: PredictionFile = {
    image: path.resolve(args.image),
    width: image.width,
    height: image.height,
    keypoint_names: [...meta.keypointNames],
    persons,
  };
  const stem = path.basename(args.image, path.extname(args.image));
  const jsonFile = path.join(args.out, `${stem}.json`);
  const pngFile = path.join(args.out, `${stem}.png`);
  writeFileAtomic(jsonFile, JSON.stringify(prediction, null, 1));
  await savePng(pngFile, await renderPicture(image, persons, meta, args.threshold ?? defaultThreshold(config)));
  return { jsonFile, pngFile, prediction };
}

/** Keypoint drawing threshold: `TEST.IN_VIS_THRE`, or 0.2 when it is 0. */
function defaultThreshold(config: Config): number {
  return config.TEST.IN_VIS_THRE > 0 ? config.TEST.IN_VIS_THRE : 0.2;
}

function renderPicture(image: RgbImage, persons: readonly PredictedPerson[], meta: KeypointMeta, threshold: number): Promise<Buffer> {
  return renderPredictions(
    image,
    persons.map((p) => ({ keypoints: p.keypoints, score: p.score, box: p.bbox })),
    meta,
    { scoreThreshold: threshold },
  );
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'keypoints of the people in an image (top-down: one crop per person box)',
  builder: (y: Argv) =>
    withBackend(y)
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint file or run directory' })
      .option('image', { type: 'string', demandOption: true, describe: 'image file' })
      .option('boxes', {
        type: 'string',
        describe: 'person boxes: JSON list of {bbox: [x, y, w, h], score?} or COCO detections (default: the whole image)',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory for <image>.json and <image>.png' })
      .option('flip', { type: 'boolean', describe: 'flip test (default TEST.FLIP_TEST of the checkpoint; --no-flip turns it off)' })
      .option('threshold', { type: 'number', describe: 'do not draw keypoints scoring below this (default TEST.IN_VIS_THRE or 0.2)' })
      .epilog(
        'Writes OUT/<image stem>.json {image, width, height, keypoint_names, persons: [{bbox, score, box_score, center, scale, ' +
          'keypoints: [[x, y, score] × K]}]} in image pixels, and OUT/<image stem>.png with the skeletons drawn.',
      ) as unknown as Argv<PredictArgs>,
  handler: async (args) => {
    const { jsonFile, pngFile, prediction } = await runPredict(args);
    console.log(`${prediction.persons.length} person${prediction.persons.length === 1 ? '' : 's'}: ${jsonFile}, ${pngFile}`);
  },
};

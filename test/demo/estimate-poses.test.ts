/**
 * The demo page's pose path ({@link estimatePoses}, run in Node here on the project model's eval forward) gives
 * exactly the keypoints of `hrnet predict`'s {@link predictPersons}: the same crop, flip test and decoding.
 */
import * as path from 'path';
import { predictPersons, PredictPersonsOptions } from '../../src/cli/predict';
import { loadConfig } from '../../src/config/load';
import { decodeImage, RgbImage } from '../../src/data/image';
import { COCO_META } from '../../src/data/keypoint-meta';
import { estimatePoses, PoseDecodeSettings } from '../../src/demo/estimate-poses';
import { codecSpecOf } from '../../src/codec/codecs';
import type { CodecSpec } from '../../src/codec/heatmap-codec';
import type { Config } from '../../src/config/schema';
import { readPth } from '../../src/io/pth';
import { loadStateDict } from '../../src/io/state-dict';
import { createPoseHRNet, PoseHRNet } from '../../src/model/pose-hrnet';
import { useTestBackend } from '../helpers/backend';
import { DATA_DIR, PARITY_DIR } from '../helpers/fixtures';

let model: PoseHRNet;
let image: RgbImage;
let config: Config;

beforeAll(async () => {
  await useTestBackend();
  config = loadConfig(path.join(PARITY_DIR, 'config.yaml'));
  model = createPoseHRNet(config);
  loadStateDict(model, readPth(path.join(PARITY_DIR, 'weights.pth')));
  image = await decodeImage(path.join(DATA_DIR, 'coco', '000000196141.jpg'));
});
afterAll(() => model.dispose());

/** The whole image and two person boxes of the detector file. */
const BOXES: [number, number, number, number][] = [
  [0, 0, 640, 429],
  [290.2, 70.5, 140.3, 330.8],
  [10, 120.25, 90.5, 200],
];

describe('estimatePoses', () => {
  it.each<[string, Partial<CodecSpec>, Partial<Omit<PoseDecodeSettings, 'codec'>>]>([
    ['flip test, quarter-pixel decoding', { name: 'msra', shiftHeatmap: true }, { flipTest: true }],
    ['flip test, DARK decoding', { name: 'dark', shiftHeatmap: true }, { flipTest: true }],
    ['flip test, UDP', { name: 'udp', shiftHeatmap: false }, { flipTest: true }],
    ['no flip test, BGR input, plain argmax', { name: 'msra', postProcess: false }, { flipTest: false, colorRgb: false }],
  ])('equals hrnet predict (%s)', async (_, codecOver, over) => {
    const settings: PoseDecodeSettings = { flipTest: true, colorRgb: true, ...over, codec: { ...codecSpecOf(config), ...codecOver } };
    const opts: PredictPersonsOptions = {
      flipTest: settings.flipTest,
      colorRgb: settings.colorRgb,
      codec: settings.codec,
      inVisThre: 0.2,
      batchSize: 8,
      flipPairs: COCO_META.flipPairs,
    };
    const expected = await predictPersons(
      model,
      image,
      BOXES.map((bbox) => ({ bbox, score: 1 })),
      opts,
    );
    const poses = await estimatePoses(image, BOXES, (x) => model.forward(x, { training: false }), {
      inputSize: model.imageSize,
      numJoints: model.numJoints,
      flipPairs: COCO_META.flipPairs,
    }, settings);
    expect(poses).toHaveLength(BOXES.length);
    poses.forEach((pose, i) => {
      expect(pose.bbox).toEqual(expected[i].bbox);
      expect(pose.center).toEqual(expected[i].center);
      expect(pose.scale).toEqual(expected[i].scale);
      expect(pose.keypoints).toEqual(expected[i].keypoints);
    });
  });

  it('returns nothing for no boxes and names a predictor with the wrong joint count', async () => {
    const network = { inputSize: model.imageSize, numJoints: 16, flipPairs: [] };
    const settings: PoseDecodeSettings = { flipTest: false, colorRgb: true, codec: codecSpecOf(config) };
    const predict = (x: Parameters<PoseHRNet['predict']>[0]) => model.forward(x, { training: false });
    expect(await estimatePoses(image, [], predict, network, settings)).toEqual([]);
    await expect(estimatePoses(image, [BOXES[0]], predict, network, settings)).rejects.toThrow(/returned 17 heatmaps, expected numJoints = 16/);
  });
});

/**
 * What the demo page of an export knows besides the model: the network's shape, the crop and decoding settings
 * `hrnet predict` takes from the checkpoint's config, and the keypoint meta it draws with. Written into the page
 * as JSON by the page writer (`src/io/demo-page.ts`), read by the page script (`browser/main.ts`), which
 * publishes its results as `window.hrnetDemo` ({@link DemoPageGlobal}).
 */
import type { KeypointMeta } from '../data/keypoint-meta';
import type { EstimatedPose, PoseDecodeSettings, PoseNetworkShape } from './estimate-poses';

/** The files of a demo page, beside the export's `model.json`. */
export const DEMO_FILES = {
  /** The page. */
  page: 'index.html',
  /** The project's crop, flip and decoding code bundled for browsers. */
  script: 'hrnet-demo.js',
  /** Stock TF.js (cpu and WebGL backends). */
  tfjs: 'tf.min.js',
  /** Stock TF.js WebGPU backend. */
  tfjsWebgpu: 'tf-backend-webgpu.min.js',
} as const;

/** `id` of the `<script type="application/json">` element that holds the {@link DemoPageSettings}. */
export const DEMO_SETTINGS_ELEMENT_ID = 'hrnet-demo-settings';

/** Everything the page script reads from its settings element. */
export interface DemoPageSettings {
  /** Heading of the page, e.g. the checkpoint's model, dataset and input size. */
  title: string;
  /** The exported layers model, relative to the page (`model.json`). */
  modelFile: string;
  network: PoseNetworkShape;
  decode: PoseDecodeSettings;
  /** Keypoint names, skeleton and colours to draw with. */
  keypoints: KeypointMeta;
  /** Keypoints scoring below this are not drawn (as `hrnet predict` draws: `TEST.IN_VIS_THRE`, or 0.2 when it is 0). */
  drawThreshold: number;
}

/** The last result of the page, for scripts driving it (`window.hrnetDemo.result`). */
export interface DemoPageResult {
  /** TF.js backend the model ran on. */
  backend: string;
  /** Milliseconds from the decoded picture to decoded keypoints (crop, network, flip test, decoding). */
  milliseconds: number;
  /** `[width, height]` of the picture. */
  imageSize: [number, number];
  persons: EstimatedPose[];
}

/** `window.hrnetDemo`: the last result and the last error message. */
export interface DemoPageGlobal {
  result: DemoPageResult | null;
  error: string | null;
}

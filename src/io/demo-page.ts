/**
 * The demo page of an export: `index.html` beside `model.json`, with everything it loads in the same folder —
 * stock TF.js (`tf.min.js`, `tf-backend-webgpu.min.js`, copied from node_modules) and the project's crop, flip
 * test, decoding and skeleton drawing bundled for browsers (`hrnet-demo.js`, built by `npm run build` from
 * `src/web/demo-page.ts`). Served by any static file server, it runs with no network and no server code.
 */
import * as fs from 'fs';
import * as path from 'path';
import { codecSpecOf } from '../codec/codecs';
import type { Config } from '../config/schema';
import type { KeypointMeta } from '../data/keypoint-meta';
import { DEMO_FILES, DemoPageSettings } from '../demo/demo-settings';
import { demoPageHtml } from '../demo/page-html';
import { writeFileAtomic } from './checkpoint';
import { MODEL_JSON_FILE } from './export';

const PACKAGE_NAME = 'hrnet-tfjs';

/** The root folder of this package (where its `package.json` is), from this file's place in `src/` or `dist/`. */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`demo page: the ${PACKAGE_NAME} package.json was not found above ${__dirname}`);
  }
}

/** Where `npm run build` writes the page script: `dist/demo/hrnet-demo.js` of this package. */
export function demoScriptPath(): string {
  return path.join(packageRoot(), 'dist', 'demo', DEMO_FILES.script);
}

/** A file of an installed TF.js package's `dist` folder. */
function tfjsDistFile(pkg: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist', file);
}

/** Options of {@link writeDemoPage}. */
export interface WriteDemoPageOptions {
  /** The checkpoint's config: `TEST.FLIP_TEST`, `SHIFT_HEATMAP`, `POST_PROCESS`, `DECODE`, `IN_VIS_THRE`, `DATASET.COLOR_RGB`. */
  config: Config;
  /** Keypoint names, flip pairs, skeleton and colours (the export's: `keypointMetaOfConfig`). */
  keypointMeta: KeypointMeta;
  /** `[width, height]` of the exported model's input. */
  inputSize: [number, number];
  /** Heading of the page (default: `MODEL.NAME`, `DATASET.DATASET`). */
  title?: string;
  /** The bundled page script to copy (default {@link demoScriptPath}). */
  script?: string;
}

/**
 * The settings a demo page embeds: what `hrnet predict` reads from the checkpoint's config.
 * @param inputSize `[width, height]` of the exported model's input
 */
export function demoPageSettings(config: Config, keypointMeta: KeypointMeta, inputSize: [number, number], title?: string): DemoPageSettings {
  if (keypointMeta.keypointNames.length !== config.MODEL.NUM_JOINTS) {
    throw new Error(`demo page: the keypoint meta has ${keypointMeta.keypointNames.length} names but MODEL.NUM_JOINTS is ${config.MODEL.NUM_JOINTS}`);
  }
  return {
    title: title ?? `${config.MODEL.NAME} · ${config.DATASET.DATASET}`,
    modelFile: MODEL_JSON_FILE,
    network: { inputSize: [inputSize[0], inputSize[1]], numJoints: config.MODEL.NUM_JOINTS, flipPairs: keypointMeta.flipPairs },
    decode: {
      flipTest: config.TEST.FLIP_TEST,
      codec: codecSpecOf(config),
      colorRgb: config.DATASET.COLOR_RGB,
    },
    keypoints: keypointMeta,
    // As `hrnet predict` draws: TEST.IN_VIS_THRE, or 0.2 when it is 0.
    drawThreshold: config.TEST.IN_VIS_THRE > 0 ? config.TEST.IN_VIS_THRE : 0.2,
  };
}

/**
 * Writes the demo page and the scripts it loads into an export folder.
 * @param dir the export folder (holding `model.json`)
 * @returns the file names written in `dir`
 * @throws if `dir` holds no `model.json`, or the page script was not built (`npm run build` builds it)
 */
export function writeDemoPage(dir: string, opts: WriteDemoPageOptions): string[] {
  if (!fs.existsSync(path.join(dir, MODEL_JSON_FILE))) {
    throw new Error(`demo page: ${path.join(dir, MODEL_JSON_FILE)} not found; export the model into ${dir} first`);
  }
  const script = opts.script ?? demoScriptPath();
  if (!fs.existsSync(script)) throw new Error(`demo page: the page script ${script} is missing; run npm run build to build it`);
  const copies: [string, string][] = [
    [tfjsDistFile('@tensorflow/tfjs', 'tf.min.js'), DEMO_FILES.tfjs],
    [tfjsDistFile('@tensorflow/tfjs-backend-webgpu', 'tf-backend-webgpu.min.js'), DEMO_FILES.tfjsWebgpu],
    [script, DEMO_FILES.script],
  ];
  for (const [from, name] of copies) writeFileAtomic(path.join(dir, name), fs.readFileSync(from));
  const settings = demoPageSettings(opts.config, opts.keypointMeta, opts.inputSize, opts.title);
  writeFileAtomic(path.join(dir, DEMO_FILES.page), demoPageHtml(settings));
  return [DEMO_FILES.page, ...copies.map(([, name]) => name)];
}

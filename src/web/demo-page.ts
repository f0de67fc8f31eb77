/**
 * The script of an export's demo page (bundled for browsers into `hrnet-demo.js`, with the global `tf` of the
 * stock TF.js script as `@tensorflow/tfjs`). It loads `model.json` with `tf.loadLayersModel`, and for a picked
 * image or each camera frame: the whole picture as one person box → {@link estimatePoses} (the crop, flip test
 * and decoding of `hrnet predict`) → the skeleton of `hrnet predict`'s picture ({@link predictionsSvg}) over the
 * picture, the keypoint table, the backend and the time taken.
 *
 * State for scripts driving the page: `document.body.dataset.state` is `loading`, `ready`, `running`, `done` or
 * `error`; `window.hrnetDemo` holds the last result ({@link DemoPageResult}).
 */
import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../data/image';
import { rgbCss } from '../viz/svg';
import { skeletonPalette } from '../viz/skeleton';
import { predictionsSvg } from '../viz/predictions-svg';
import { DEMO_SETTINGS_ELEMENT_ID, DemoPageGlobal, DemoPageResult, DemoPageSettings } from '../demo/demo-settings';
import { EstimatedPose, estimatePoses } from '../demo/estimate-poses';

const demo: DemoPageGlobal = { result: null, error: null };
(window as unknown as { hrnetDemo: DemoPageGlobal }).hrnetDemo = demo;

function element<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id}`);
  return e as T;
}

const statusLine = element<HTMLParagraphElement>('status');
const view = element<HTMLCanvasElement>('view');
const overlay = document.getElementById('overlay') as unknown as SVGSVGElement;
const fileInput = element<HTMLInputElement>('file');
const cameraButton = element<HTMLButtonElement>('camera');
const backendSelect = element<HTMLSelectElement>('backend');
const video = element<HTMLVideoElement>('video');
const table = element<HTMLTableElement>('keypoints');

function setState(state: 'loading' | 'ready' | 'running' | 'done' | 'error', message: string): void {
  document.body.dataset.state = state;
  statusLine.textContent = message;
}

function readSettings(): DemoPageSettings {
  const text = document.getElementById(DEMO_SETTINGS_ELEMENT_ID)?.textContent;
  if (!text) throw new Error(`the page has no #${DEMO_SETTINGS_ELEMENT_ID} settings`);
  return JSON.parse(text) as DemoPageSettings;
}

/**
 * The pixels of a picture drawn on `view` at its own size.
 * @returns `data` `[H, W, 3]` RGB
 */
function drawAndRead(source: CanvasImageSource, width: number, height: number): RgbImage {
  view.width = width;
  view.height = height;
  const ctx = view.getContext('2d', { willReadFrequently: true });
  if (ctx === null) throw new Error('no 2D canvas');
  ctx.drawImage(source, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
    rgb[o] = rgba[i];
    rgb[o + 1] = rgba[i + 1];
    rgb[o + 2] = rgba[i + 2];
  }
  return { data: rgb, width, height };
}

function showKeypoints(settings: DemoPageSettings, persons: readonly EstimatedPose[]): void {
  const palette = skeletonPalette(settings.keypoints);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const person of persons) {
    person.keypoints.forEach(([x, y, score], k) => {
      const row = body.insertRow();
      const name = row.insertCell();
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = rgbCss(palette.joints[k]);
      name.append(swatch, settings.keypoints.keypointNames[k]);
      for (const v of [x.toFixed(2), y.toFixed(2), score.toFixed(3)]) row.insertCell().textContent = v;
      if (score < settings.drawThreshold) row.style.opacity = '0.45';
    });
  }
  table.hidden = persons.length === 0;
}

/** Runs the model on one picture and draws the result. */
async function estimateAndDraw(
  settings: DemoPageSettings,
  model: tf.LayersModel,
  source: CanvasImageSource,
  width: number,
  height: number,
): Promise<DemoPageResult> {
  const image = drawAndRead(source, width, height);
  const started = performance.now();
  // As `hrnet predict` without boxes: the whole picture is one person box.
  const persons = await estimatePoses(
    image,
    [[0, 0, width, height]],
    (x) => model.predict(x) as tf.Tensor4D,
    settings.network,
    settings.decode,
  );
  const milliseconds = performance.now() - started;
  overlay.setAttribute('viewBox', `0 0 ${width} ${height}`);
  overlay.innerHTML = predictionsSvg(
    width,
    height,
    persons.map((p) => ({ keypoints: p.keypoints, score: 1 })),
    settings.keypoints,
    { scoreThreshold: settings.drawThreshold },
  );
  showKeypoints(settings, persons);
  return { backend: tf.getBackend(), milliseconds, imageSize: [width, height], persons };
}

function describe(result: DemoPageResult, what: string): string {
  const n = result.persons.length;
  return `${what} ${result.imageSize[0]}×${result.imageSize[1]}: ${n} person${n === 1 ? '' : 's'} in ${result.milliseconds.toFixed(0)} ms on TF.js ${tf.version.tfjs} (${result.backend})`;
}

/** Picture files: decoded by the browser (with its EXIF orientation), no colour conversion (as `hrnet predict`). */
async function onFile(settings: DemoPageSettings, model: tf.LayersModel, file: File): Promise<void> {
  setState('running', `running on ${file.name}…`);
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    demo.result = await estimateAndDraw(settings, model, bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
  setState('done', describe(demo.result, file.name));
}

/** Camera frames, one after another, until the button is pressed again. */
async function runCamera(settings: DemoPageSettings, model: tf.LayersModel): Promise<void> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera here (it needs https or localhost)');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
  video.srcObject = stream;
  await video.play();
  let running = true;
  cameraButton.textContent = 'Stop the camera';
  cameraButton.onclick = () => {
    running = false;
  };
  try {
    while (running) {
      demo.result = await estimateAndDraw(settings, model, video, video.videoWidth, video.videoHeight);
      setState('done', describe(demo.result, 'camera'));
      await new Promise((r) => requestAnimationFrame(r));
    }
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
    cameraButton.textContent = 'Use the camera';
    cameraButton.onclick = () => void guarded(() => runCamera(settings, model));
  }
}

/** Runs `task`, showing its error in the status line. */
async function guarded(task: () => Promise<void>): Promise<void> {
  try {
    await task();
  } catch (err) {
    demo.error = err instanceof Error ? err.message : String(err);
    setState('error', `error: ${demo.error}`);
  }
}

async function start(): Promise<void> {
  const settings = readSettings();
  const requested = new URLSearchParams(location.search).get('backend');
  if (requested) {
    backendSelect.value = requested;
    if (!(await tf.setBackend(requested))) throw new Error(`TF.js backend ${requested} does not start in this browser`);
  }
  await tf.ready();
  backendSelect.onchange = () => {
    const url = new URL(location.href);
    if (backendSelect.value) url.searchParams.set('backend', backendSelect.value);
    else url.searchParams.delete('backend');
    location.href = url.href;
  };
  setState('loading', `loading ${settings.modelFile} on ${tf.getBackend()}…`);
  const model = await tf.loadLayersModel(settings.modelFile);
  // One warm-up run on a blank picture, so that the time shown for a picture does not include compiling the
  // backend's kernels (the flip test's included).
  const [w, h] = settings.network.inputSize;
  const blank: RgbImage = { data: new Uint8Array(w * h * 3), width: w, height: h };
  await estimatePoses(blank, [[0, 0, w, h]], (x) => model.predict(x) as tf.Tensor4D, settings.network, settings.decode);
  fileInput.onchange = () => {
    const file = fileInput.files?.[0];
    if (file) void guarded(() => onFile(settings, model, file));
  };
  cameraButton.onclick = () => void guarded(() => runCamera(settings, model));
  setState('ready', `ready: TF.js ${tf.version.tfjs} on ${tf.getBackend()}; choose an image or use the camera`);
}

void guarded(start);

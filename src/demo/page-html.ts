/**
 * The markup of an export's demo page (`index.html`): an image picker, a camera button, a backend choice, the
 * picture with the skeleton drawn over it, the keypoint table, and the page settings as JSON. The behaviour is
 * in the bundled page script (`browser/main.ts`); the page loads only files that lie beside it.
 */
import { DEMO_FILES, DEMO_SETTINGS_ELEMENT_ID, DemoPageSettings } from './demo-settings';

/** `text` with the five HTML special characters escaped. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** JSON that cannot end its `<script>` element early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/</g, '\\u003c');
}

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, "Open Sans", "DejaVu Sans", sans-serif; }
body { margin: 0 auto; max-width: 960px; padding: 16px 20px 32px; }
h1 { font-size: 1.4rem; margin: 0 0 2px; }
.sub { margin: 0 0 14px; opacity: 0.75; font-size: 0.9rem; }
.controls { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 10px; }
.button, button, select { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #8888; background: #8881; cursor: pointer; }
.button input { display: none; }
#status { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.85rem; margin: 6px 0 12px; min-height: 1.2em; }
.result { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
#stage { position: relative; width: min(100%, 560px); line-height: 0; background: #8882; }
#view { display: block; width: 100%; height: auto; }
#overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; pointer-events: none; }
table { border-collapse: collapse; font-size: 0.8rem; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
td, th { padding: 2px 10px; text-align: right; border-bottom: 1px solid #8883; }
td:first-child, th:first-child { text-align: left; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; margin-right: 6px; vertical-align: -1px; }
footer { margin-top: 18px; font-size: 0.8rem; opacity: 0.7; }
`;

/**
 * The whole `index.html` of a demo page.
 * @param settings what the page script needs (embedded as JSON)
 */
export function demoPageHtml(settings: DemoPageSettings): string {
  const [w, h] = settings.network.inputSize;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HRNet keypoints · ${escapeHtml(settings.title)}</title>
<style>${STYLE}</style>
<script type="application/json" id="${DEMO_SETTINGS_ELEMENT_ID}">${scriptJson(settings)}</script>
<!-- Stock TF.js (cpu, WebGL) and its WebGPU backend, copied beside this page: no network needed. -->
<script src="${DEMO_FILES.tfjs}"></script>
<script src="${DEMO_FILES.tfjsWebgpu}"></script>
<script src="${DEMO_FILES.script}" defer></script>
</head>
<body data-state="loading">
<h1>HRNet keypoints</h1>
<p class="sub">${escapeHtml(settings.title)} · input ${w}×${h} · ${settings.network.numJoints} keypoints · decoding ${escapeHtml(settings.decode.codec.name)}${settings.decode.flipTest ? ' with flip test' : ''}</p>
<div class="controls">
  <label class="button">Choose an image<input type="file" id="file" accept="image/*"></label>
  <button type="button" id="camera">Use the camera</button>
  <label>Backend <select id="backend">
    <option value="">TF.js's choice</option>
    <option value="webgpu">webgpu</option>
    <option value="webgl">webgl</option>
    <option value="cpu">cpu</option>
  </select></label>
</div>
<p id="status">loading TF.js…</p>
<div class="result">
<div id="stage"><canvas id="view" width="0" height="0"></canvas><svg id="overlay" xmlns="http://www.w3.org/2000/svg"></svg></div>
<table id="keypoints" hidden><thead><tr><th>keypoint</th><th>x</th><th>y</th><th>score</th></tr></thead><tbody></tbody></table>
</div>
<video id="video" playsinline muted hidden></video>
<footer>The whole image is one person box, as <code>hrnet predict</code> without <code>--boxes</code>. Everything runs in this page:
<code>${escapeHtml(settings.modelFile)}</code> with stock TF.js, and the project's own crop, flip test and decoding in <code>${DEMO_FILES.script}</code>.
Serve this folder over http (any static file server, e.g. <code>python3 -m http.server</code> in it); browsers do not load models from <code>file://</code>.</footer>
</body>
</html>
`;
}

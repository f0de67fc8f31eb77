/**
 * Runs an exported model in headless Chromium with stock TF.js: a local HTTP server on 127.0.0.1
 * serves `index.html`, the TF.js bundle from node_modules, the export directory under `/model/`
 * and the input tensor; the page POSTs the model output (or its error) back.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';

/** Where Debian's Chromium is; `.ci/run` installs it (`apt-get install -y chromium`). */
export const CHROMIUM = '/usr/bin/chromium';
const PAGE = path.join(__dirname, 'index.html');
const TFJS_BUNDLE = path.resolve(__dirname, '..', '..', 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js');

/** What the page reported. */
export interface BrowserRun {
  /** Output values, row-major in `shape`. */
  output: Float32Array;
  shape: number[];
  /** TF.js backend the page ran on. */
  backend: string;
}

/** Options of {@link runInChromium}. */
export interface RunInChromiumOptions {
  /** Directory of the export (`model.json`, shards, `hrnet-meta.json`). */
  modelDir: string;
  /** Input `[N, H, W, 3]` float32, row-major. */
  input: Float32Array;
  /** TF.js backend the page selects (default: TF.js's own choice). */
  backend?: string;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
};

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The file a GET path maps to, or null (only the page, the bundle, the input and the export directory are served). */
function fileFor(urlPath: string, modelDir: string): string | null {
  if (urlPath === '/' || urlPath === '/index.html') return PAGE;
  if (urlPath === '/tf.min.js') return TFJS_BUNDLE;
  if (urlPath.startsWith('/model/')) {
    const name = path.basename(decodeURIComponent(urlPath.slice('/model/'.length)));
    return path.join(modelDir, name);
  }
  return null;
}

/**
 * Serves the page and the export, starts Chromium on it and resolves with what the page POSTs.
 * Rejects with the page's error, Chromium's exit, or a timeout (with Chromium's stderr).
 */
export async function runInChromium(opts: RunInChromiumOptions): Promise<BrowserRun> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: the browser export test needs Debian's Chromium; .ci/run installs it (apt-get install -y chromium)`);
  }
  if (!fs.existsSync(TFJS_BUNDLE)) throw new Error(`TF.js bundle not found at ${TFJS_BUNDLE}`);
  const inputBytes = Buffer.from(opts.input.buffer, opts.input.byteOffset, opts.input.byteLength);
  let settle: { resolve: (r: BrowserRun) => void; reject: (e: Error) => void } | null = null;
  const done = new Promise<BrowserRun>((resolve, reject) => (settle = { resolve, reject }));
  const finish = (r: BrowserRun | Error) => {
    if (settle === null) return;
    const s = settle;
    settle = null;
    if (r instanceof Error) s.reject(r);
    else s.resolve(r);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const urlPath = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      if (req.method === 'POST') {
        const body = await readBody(req);
        res.writeHead(204).end();
        if (urlPath === '/result') {
          const bytes = new Uint8Array(body);
          const output = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
          const shape = String(req.headers['x-shape'] ?? '').split(',').map(Number);
          finish({ output, shape, backend: String(req.headers['x-backend'] ?? '') });
        } else {
          finish(new Error(`the page failed: ${body.toString('utf8')}`));
        }
        return;
      }
      if (urlPath === '/input.bin') {
        res.writeHead(200, { 'content-type': CONTENT_TYPES['.bin'] }).end(inputBytes);
        return;
      }
      const file = fileFor(urlPath, opts.modelDir);
      if (file === null || !fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
    })().catch((e: unknown) => {
      res.writeHead(500).end();
      finish(e as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const query = opts.backend ? `?backend=${encodeURIComponent(opts.backend)}` : '';
  const url = `http://127.0.0.1:${port}/index.html${query}`;

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    url,
  ];
  let stderr = '';
  // Its own process group, so stopping it also ends the renderer and GPU processes it started.
  const chromium: ChildProcess = spawn(CHROMIUM, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  chromium.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  chromium.on('error', (e) => finish(new Error(`cannot start ${CHROMIUM}: ${e.message}`)));
  chromium.on('exit', (code, signal) => finish(new Error(`Chromium exited (code ${code}, signal ${signal}) before the page reported:\n${stderr}`)));
  const timer = setTimeout(
    () => finish(new Error(`no result from the page within ${opts.timeoutMs} ms; Chromium stderr:\n${stderr}`)),
    opts.timeoutMs,
  );

  try {
    return await done;
  } finally {
    clearTimeout(timer);
    if (chromium.pid !== undefined && chromium.exitCode === null && chromium.signalCode === null) {
      const exited = new Promise<void>((resolve) => chromium.once('exit', () => resolve()));
      try {
        process.kill(-chromium.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (grace = setTimeout(resolve, 5000)))]);
      clearTimeout(grace);
    }
    chromium.stderr?.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

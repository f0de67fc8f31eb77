/**
 * Runs an exported model in headless Chromium with stock TF.js: a local server on 127.0.0.1 serves
 * `index.html`, the TF.js bundles from node_modules, the export folder under `/model/` and the input
 * tensor; the page's `runExport(backend)` loads the model on that TF.js backend and returns the output.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser } from 'puppeteer-core';
import { openPage } from './chromium';
import { serveStatic } from './static-server';

const PAGE = path.join(__dirname, 'index.html');

/** A file of a TF.js package's `dist` folder, from node_modules. */
export function tfjsBundle(pkg: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist', file);
}

/** The stock bundles a page loads: TF.js (cpu and WebGL backends) and its WebGPU backend. */
export const TFJS_BUNDLES: Readonly<Record<string, string>> = {
  'tf.min.js': tfjsBundle('@tensorflow/tfjs', 'tf.min.js'),
  'tf-backend-webgpu.min.js': tfjsBundle('@tensorflow/tfjs-backend-webgpu', 'tf-backend-webgpu.min.js'),
};

/** TF.js backends a web page gets from the stock bundles. */
export type PageBackend = 'cpu' | 'webgl' | 'webgpu';

/** What the page returned. */
export interface BrowserRun {
  /** Output values, row-major in `shape`. */
  output: Float32Array;
  shape: number[];
  /** TF.js backend the page ran on. */
  backend: string;
}

/** Options of {@link runExportInChromium}. */
export interface RunExportOptions {
  /** Folder of the export (`model.json`, shards, `hrnet-meta.json`). */
  modelDir: string;
  /** Input `[N, H, W, 3]` float32, row-major. */
  input: Float32Array;
  /** TF.js backend the page selects. */
  backend: PageBackend;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
}

/**
 * Serves the page and the export, opens the page in `browser` and returns what `runExport` computed.
 * @throws the page's error (with its console log) or a timeout
 */
export async function runExportInChromium(browser: Browser, opts: RunExportOptions): Promise<BrowserRun> {
  const inputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-browser-input-'));
  const inputFile = path.join(inputDir, 'input.bin');
  fs.writeFileSync(inputFile, new Uint8Array(opts.input.buffer, opts.input.byteOffset, opts.input.byteLength));
  const server = await serveStatic([
    { prefix: '/index.html', file: PAGE },
    { prefix: '/input.bin', file: inputFile },
    { prefix: '/model/', dir: opts.modelDir },
    ...Object.entries(TFJS_BUNDLES).map(([name, file]) => ({ prefix: `/tfjs/${name}`, file })),
  ]);
  const { page, log } = await openPage(browser);
  try {
    page.setDefaultTimeout(opts.timeoutMs);
    await page.goto(`${server.origin}/index.html`);
    const run = page.evaluate((backend: string) => (globalThis as unknown as PageGlobals).runExport(backend), opts.backend);
    // After a timeout, closing the page rejects `run`; that rejection is expected, not unhandled.
    run.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result from the page within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    try {
      const r = await Promise.race([run, timeout]);
      return { output: Float32Array.from(r.data), shape: r.shape, backend: r.backend };
    } catch (err) {
      throw new Error(`${(err as Error).message}\npage log:\n${log.join('\n')}`);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await page.close();
    await server.close();
    fs.rmSync(inputDir, { recursive: true, force: true });
  }
}

/** What `index.html` defines. */
interface PageGlobals {
  runExport(backend: string): Promise<{ backend: string; shape: number[]; data: number[] }>;
}

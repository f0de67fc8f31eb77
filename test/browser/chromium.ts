/**
 * The headless Chromium of the tests: the one `npm install` brings (`@sparticuz/chromium`, unpacked by
 * `headlessChromiumLaunch`), driven by `puppeteer-core`. No system browser is looked for.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import { HeadlessChromiumLaunch, headlessChromiumLaunch } from '../../src/backend/npm-chromium';

/** A running browser and what it was started from. */
export interface TestBrowser {
  browser: Browser;
  launch: HeadlessChromiumLaunch;
  /** `HeadlessChrome/<version>` as the browser reports it. */
  version: string;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Options of {@link launchTestBrowser}. */
export interface TestBrowserOptions {
  /** Give pages Chromium's fake camera (a moving test pattern) without asking for permission. */
  fakeCamera?: boolean;
}

/** Chromium's test camera: a generated video device, granted without a prompt. */
const FAKE_CAMERA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/** Starts the npm package's headless Chromium with a fresh profile (WebGL and WebGPU on SwiftShader). */
export async function launchTestBrowser(opts: TestBrowserOptions = {}): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-chromium-profile-'));
  try {
    const launch = await headlessChromiumLaunch({ userDataDir: profile });
    const browser = await puppeteer.launch({
      executablePath: launch.executablePath,
      headless: 'shell',
      args: [...launch.args, ...(opts.fakeCamera ? FAKE_CAMERA_FLAGS : [])],
      env: { ...process.env, ...launch.env },
      // The suite's timeouts bound every wait; puppeteer's own 30 s would cut a slow SwiftShader run short.
      protocolTimeout: 300000,
    });
    const version = await browser.version();
    return {
      browser,
      launch,
      version,
      close: async () => {
        try {
          await browser.close();
        } finally {
          fs.rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A new page whose console errors and uncaught exceptions are kept, to name them when a test fails.
 * @returns the page and the messages it logged so far (the array grows)
 */
export async function openPage(browser: Browser): Promise<{ page: Page; log: string[] }> {
  const page = await browser.newPage();
  const log: string[] = [];
  page.on('console', (m) => void log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => void log.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  return { page, log };
}

#!/usr/bin/env node
/**
 * A screenshot of an export's demo page on one image, as the README shows it: serves the export folder on
 * 127.0.0.1, opens `index.html` in the npm package's headless Chromium (`npm run build` first), picks the image,
 * waits for the keypoints and saves the page as PNG. Prints the page's status line and keypoints.
 *
 * Usage: node scripts/screenshot-demo-page.js EXPORT_DIR IMAGE OUT.png [BACKEND]   (BACKEND: webgl, cpu, webgpu)
 */
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');
const { headlessChromiumLaunch } = require('../dist/backend/npm-chromium');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.json': 'application/json' };

/** Serves the files of `dir` (no sub-folders) on a free port of 127.0.0.1. */
async function serveFolder(dir) {
  const server = http.createServer((req, res) => {
    const name = path.basename(decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname)) || 'index.html';
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function main() {
  const [dir, image, out, backend = 'webgl'] = process.argv.slice(2);
  if (!dir || !image || !out) throw new Error('usage: node scripts/screenshot-demo-page.js EXPORT_DIR IMAGE OUT.png [BACKEND]');
  if (!fs.existsSync(path.join(dir, 'index.html'))) throw new Error(`${dir}/index.html not found: export with --demo first`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-chromium-profile-'));
  const server = await serveFolder(dir);
  let browser;
  try {
    const launch = await headlessChromiumLaunch({ userDataDir: profile });
    browser = await puppeteer.launch({
      executablePath: launch.executablePath,
      headless: 'shell',
      args: launch.args,
      env: { ...process.env, ...launch.env },
      protocolTimeout: 300000,
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(300000);
    await page.setViewport({ width: 900, height: 900 });
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html?backend=${backend}`);
    await page.waitForFunction("['ready', 'error'].includes(document.body.dataset.state)");
    await (await page.$('#file')).uploadFile(path.resolve(image));
    await page.waitForFunction("['done', 'error'].includes(document.body.dataset.state)");
    console.log(await page.$eval('#status', (e) => e.textContent));
    const result = await page.evaluate('window.hrnetDemo.result');
    if (result) console.log(JSON.stringify(result.persons.map((p) => p.keypoints)));
    await page.screenshot({ path: out, fullPage: true });
    console.log(`screenshot: ${out}`);
  } finally {
    await browser?.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exitCode = 1;
});

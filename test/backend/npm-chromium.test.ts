/**
 * The fontconfig file of the unpacked `@sparticuz/chromium`: it names the folder it is in (the package's
 * fonts and a cache there), also where an earlier unpack left one naming its staging folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureFontConfig, unpackNpmChromium } from '../../src/backend/npm-chromium';

it('writes a font config naming its own folder, and rewrites one naming another', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-fontconf-'));
  try {
    const file = path.join(dir, 'hrnet-fonts.conf');
    expect(ensureFontConfig(dir)).toBe(true);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain(`<dir>${path.join(dir, 'fonts')}</dir>`);
    expect(text).toContain(`<cachedir>${path.join(dir, 'fonts-cache')}</cachedir>`);
    expect(ensureFontConfig(dir)).toBe(false);
    // As an unpack into a staging folder, renamed afterwards, left it.
    fs.writeFileSync(file, text.split(dir).join(`${dir}.partial-abc123`));
    expect(ensureFontConfig(dir)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('unpacks the package with a font config that names the unpacked folder', async () => {
  const chromium = await unpackNpmChromium();
  const text = fs.readFileSync(chromium.fontConfig, 'utf8');
  expect(text).toContain(`<dir>${path.join(chromium.dir, 'fonts')}</dir>`);
  expect(fs.existsSync(path.join(chromium.dir, 'fonts'))).toBe(true);
  expect(text).not.toContain('.partial-');
}, 120000);

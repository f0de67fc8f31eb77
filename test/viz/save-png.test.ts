import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodePng } from '../../src/viz/raster';
import { savePng } from '../../src/viz/save-png';

describe('savePng', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'viz-save-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('creates parent folders, writes the bytes, leaves no temporary file', async () => {
    const png = await encodePng({ data: new Uint8Array([1, 2, 3, 4, 5, 6]), width: 2, height: 1 });
    const target = path.join(dir, 'a', 'b', 'pic.png');
    await savePng(target, png);
    expect(fs.readFileSync(target).equals(png)).toBe(true);
    const png2 = await encodePng({ data: new Uint8Array([9, 9, 9]), width: 1, height: 1 });
    await savePng(target, png2);
    expect(fs.readFileSync(target).equals(png2)).toBe(true);
    expect(fs.readdirSync(path.dirname(target))).toEqual(['pic.png']);
  });

  test('refuses bytes that are not a PNG, naming the file', async () => {
    const target = path.join(dir, 'bad.png');
    await expect(savePng(target, Buffer.from('not a png at all'))).rejects.toThrow(/bad\.png.*not a PNG/);
    expect(fs.existsSync(target)).toBe(false);
  });
});

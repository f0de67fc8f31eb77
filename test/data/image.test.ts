import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { composeFlip, decodeImage, normalizeImage, RgbImage, warpAffine } from '../../src/data/image';
import { DATA_DIR, FixtureArray, PIPELINE_DIR, readFixtureJson } from '../helpers/fixtures';
import { closeMismatches, FLOAT32_TOLERANCE } from '../helpers/pipeline-cases';

interface WarpInputs {
  source: string;
  flip_source_horizontally: boolean;
  center: FixtureArray;
  scale: FixtureArray;
  rot: number;
  /** `[width, height]`. */
  output_size: [number, number];
  /** 2×3 float64, source → crop. */
  trans: FixtureArray;
}

interface WarpExpected {
  png: string;
  shape_hwc: [number, number, number];
  crop_rgb_sha256: string;
  crop_channel_means: [number, number, number];
}

interface WarpFixture {
  cases: { name: string; inputs: WarpInputs; expected: WarpExpected }[];
  source_image: {
    file_name: string;
    decoded_shape_hwc: [number, number, number];
    decoded_rgb_sha256: string;
    decoded_rgb_channel_means: [number, number, number];
    decoded_rgb_sum: number;
    decoded_rgb_samples: { y: number; x: number; rgb: [number, number, number] }[];
  };
}

/** README tolerance for the PNG crops (0..255 scale). */
const PNG_TOLERANCE = { meanAbs: 1.0, maxAbs: 8 };

const fixture = readFixtureJson<WarpFixture>('pipeline/warp_affine.json');
const sourcePath = path.join(DATA_DIR, 'coco', fixture.source_image.file_name);

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Mean and max of |a − b| over all values. */
function absDiffStats(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** The image mirrored left-right (`img[:, ::-1]`). */
function mirror(img: RgbImage): RgbImage {
  const { width, height } = img;
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + (width - 1 - x)) * 3;
      const d = (y * width + x) * 3;
      data[d] = img.data[s];
      data[d + 1] = img.data[s + 1];
      data[d + 2] = img.data[s + 2];
    }
  }
  return { data, width, height };
}

let tmpDir: string;
let source: RgbImage;

beforeAll(async () => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-image-'));
  source = await decodeImage(sourcePath);
});

afterAll(() => {
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

describe('decodeImage', () => {
  it('decodes the fixture photo to the shape, channel means, pixel sum and sample pixels OpenCV recorded', () => {
    const ref = fixture.source_image;
    expect([source.height, source.width, 3]).toEqual(ref.decoded_shape_hwc);
    expect(source.data.length).toBe(source.width * source.height * 3);
    const sums = [0, 0, 0];
    for (let i = 0; i < source.data.length; i++) sums[i % 3] += source.data[i];
    const pixels = source.width * source.height;
    sums.forEach((s, c) => expect(Math.abs(s / pixels - ref.decoded_rgb_channel_means[c])).toBeLessThan(1e-9));
    expect(sums[0] + sums[1] + sums[2]).toBe(ref.decoded_rgb_sum);
    for (const { x, y, rgb } of ref.decoded_rgb_samples) {
      const o = (y * source.width + x) * 3;
      expect([source.data[o], source.data[o + 1], source.data[o + 2]]).toEqual(rgb);
    }
  });

  it('is bit-identical to the libjpeg-turbo decode of cv2.imread (embedded ICC profile ignored)', () => {
    expect(sha256(source.data)).toBe(fixture.source_image.decoded_rgb_sha256);
  });

  it('turns a greyscale JPEG into three equal channels', async () => {
    const grey = new Uint8Array(24 * 16);
    for (let i = 0; i < grey.length; i++) grey[i] = (i * 7) % 256;
    const file = path.join(tmpDir, 'grey.jpg');
    await sharp(grey, { raw: { width: 24, height: 16, channels: 1 } }).toColourspace('b-w').jpeg().toFile(file);
    expect((await sharp(file).metadata()).channels).toBe(1);
    const img = await decodeImage(file);
    expect([img.width, img.height, img.data.length]).toEqual([24, 16, 24 * 16 * 3]);
    let unequal = 0;
    for (let i = 0; i < img.data.length; i += 3) {
      if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) unequal++;
    }
    expect(unequal).toBe(0);
  });

  it('drops the alpha channel of an RGBA PNG without compositing', async () => {
    const rgba = new Uint8Array(5 * 3 * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37 + 11) % 256;
    const file = path.join(tmpDir, 'rgba.png');
    await sharp(rgba, { raw: { width: 5, height: 3, channels: 4 } }).png().toFile(file);
    const img = await decodeImage(file);
    const expected = new Uint8Array(5 * 3 * 3);
    for (let p = 0; p < 15; p++) expected.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
    expect([img.width, img.height]).toEqual([5, 3]);
    expect(Array.from(img.data)).toEqual(Array.from(expected));
  });

  it('names the file when it is missing', async () => {
    const missing = path.join(tmpDir, 'no-such-image.jpg');
    await expect(decodeImage(missing)).rejects.toThrow(missing);
  });

  it('names the file when it is a corrupt JPEG', async () => {
    const corrupt = path.join(tmpDir, 'corrupt.jpg');
    fs.writeFileSync(corrupt, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]));
    await expect(decodeImage(corrupt)).rejects.toThrow(corrupt);
  });
});

describe('warpAffine against cv2.warpAffine crops (pipeline/warp_affine.json)', () => {
  it('has the 7 cases, one of them flipped', () => {
    expect(fixture.cases).toHaveLength(7);
    expect(fixture.cases.filter((c) => c.inputs.flip_source_horizontally)).toHaveLength(1);
  });

  for (const { name, inputs, expected } of fixture.cases) {
    it(`${name}: crop within the PNG tolerance and bit-identical to OpenCV`, async () => {
      expect(inputs.source).toBe(fixture.source_image.file_name);
      const [w, h] = inputs.output_size;
      expect(expected.shape_hwc).toEqual([h, w, 3]);
      const trans = Float64Array.from(inputs.trans.data);
      const matrix = inputs.flip_source_horizontally ? composeFlip(trans, source.width) : trans;
      const crop = warpAffine(source, matrix, w, h);

      const png = await sharp(path.join(PIPELINE_DIR, expected.png)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([png.info.height, png.info.width, png.info.channels]).toEqual(expected.shape_hwc);
      const stats = absDiffStats(crop, new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length));
      expect(stats.mean).toBeLessThanOrEqual(PNG_TOLERANCE.meanAbs);
      expect(stats.max).toBeLessThanOrEqual(PNG_TOLERANCE.maxAbs);
      // The fixed-point emulation reproduces OpenCV exactly on the identically decoded source.
      expect(sha256(crop)).toBe(expected.crop_rgb_sha256);
    });
  }

  it('composeFlip on the source equals the crop of the mirrored source, value for value', () => {
    const c = fixture.cases.find((k) => k.inputs.flip_source_horizontally);
    if (c === undefined) throw new Error('warp_affine.json: no case with flip_source_horizontally');
    const [w, h] = c.inputs.output_size;
    const trans = Float64Array.from(c.inputs.trans.data);
    const viaMatrix = warpAffine(source, composeFlip(trans, source.width), w, h);
    const viaMirror = warpAffine(mirror(source), trans, w, h);
    expect(absDiffStats(viaMatrix, viaMirror).max).toBe(0);
  });
});

describe('warpAffine fixed point and arguments', () => {
  /** 2×2 source whose rows are both `[left, right]` (grey values). */
  function twoByTwo(left: number, right: number): RgbImage {
    const data = new Uint8Array(12);
    for (let y = 0; y < 2; y++) {
      data.fill(left, y * 6, y * 6 + 3);
      data.fill(right, y * 6 + 3, y * 6 + 6);
    }
    return { data, width: 2, height: 2 };
  }

  it('quantises the sampling point to 1/32 px and rounds the 15-bit blend as OpenCV does', () => {
    // Crop pixel 0 samples x = 1/64: 16/1024 px, plus the 16/1024 rounding offset → fx = 1/32.
    // (255·(1·32·32) + 2^14) >> 15 = 277504 >> 15 = 8, where an exact bilinear gives 255/64 ≈ 3.98 → 4.
    const out = warpAffine(twoByTwo(0, 255), [1, 0, -1 / 64, 0, 1, 0], 1, 1);
    expect(Array.from(out)).toEqual([8, 8, 8]);
    // Half-way between 0 and 100: (100·(16·32·32) + 2^14) >> 15 = 1654784 >> 15 = 50 (50.5 truncated).
    const mid = warpAffine(twoByTwo(0, 100), [1, 0, -0.5, 0, 1, 0], 1, 1);
    expect(Array.from(mid)).toEqual([50, 50, 50]);
  });

  it('blends border neighbours with 0 and leaves pixels wholly outside at 0', () => {
    // Crop x = 0 samples source x = −0.5 (half of pixel 0 with 0 outside); x = 1 samples 0.5; x = 2 samples 1.5
    // (right half outside); x = 3 samples 2.5 (both neighbours outside).
    const out = warpAffine(twoByTwo(200, 100), [1, 0, 0.5, 0, 1, 0], 4, 1);
    expect(Array.from(out)).toEqual([100, 100, 100, 150, 150, 150, 50, 50, 50, 0, 0, 0]);
  });

  it('writes into `out` and overwrites every value', () => {
    const out = new Uint8Array(4 * 3 * 3).fill(7);
    const ret = warpAffine(twoByTwo(10, 10), [1, 0, 0, 0, 1, 0], 4, 3, out);
    expect(ret).toBe(out);
    // Pixels with a source neighbour blend 10 with 0 or are 10; the rest are border 0: none keeps the fill.
    expect(Array.from(out).filter((v) => v === 7)).toHaveLength(0);
    expect(Array.from(out.subarray(0, 3))).toEqual([10, 10, 10]);
  });

  it('rejects inconsistent arguments with a message naming the argument', () => {
    const img = twoByTwo(0, 0);
    expect(() => warpAffine({ ...img, data: img.data.subarray(0, 9) }, [1, 0, 0, 0, 1, 0], 2, 2)).toThrow(/src\.data/);
    expect(() => warpAffine(img, [1, 0, 0, 0, 1], 2, 2)).toThrow(/trans/);
    expect(() => warpAffine(img, [1, 0, 0, 0, 1, 0], 2, 0)).toThrow(/outW\/outH/);
    expect(() => warpAffine(img, [1, 0, 0, 0, 1, 0], 2, 2, new Uint8Array(5))).toThrow(/out has 5 bytes/);
  });
});

describe('normalizeImage', () => {
  it('computes (v/255 − mean)/std per RGB channel', () => {
    const rgb = Uint8Array.from([0, 128, 255, 255, 0, 51]);
    const out = new Float32Array(6);
    normalizeImage(rgb, out);
    const expected = [
      (0 - 0.485) / 0.229, // -2.1179039…
      (128 / 255 - 0.456) / 0.224, // 0.2051820…
      (1 - 0.406) / 0.225, // 2.64
      (1 - 0.485) / 0.229, // 2.2489082…
      (0 - 0.456) / 0.224, // -2.0357142…
      (0.2 - 0.406) / 0.225, // -0.9155555…
    ];
    expect(closeMismatches(out, expected, FLOAT32_TOLERANCE)).toEqual([]);
  });

  it('writes at the offset and nowhere else', () => {
    const out = new Float32Array(10).fill(Number.NaN);
    normalizeImage(Uint8Array.from([255, 255, 255]), out, 4);
    expect(closeMismatches(out.subarray(4, 7), [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225], FLOAT32_TOLERANCE)).toEqual([]);
    expect(Array.from(out.subarray(0, 4)).every(Number.isNaN)).toBe(true);
    expect(Array.from(out.subarray(7)).every(Number.isNaN)).toBe(true);
  });

  it('rejects a buffer that is not RGB or does not fit', () => {
    expect(() => normalizeImage(new Uint8Array(4), new Float32Array(4))).toThrow(/multiple of 3/);
    expect(() => normalizeImage(new Uint8Array(6), new Float32Array(6), 3)).toThrow(/cannot hold 6 values at offset 3/);
  });
});

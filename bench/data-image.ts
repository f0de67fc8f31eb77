/**
 * Micro-benchmark of the image stage of the data pipeline on the COCO photo of the warp fixtures (640×425):
 * JPEG decode, the fixed-point affine crop at 256×192 and 384×288 (upright and rotated), a sharp/libvips
 * `affine` of the same matrix for comparison, and the input normalisation. Prints µs per call (best of 5 runs).
 *
 * The sharp row is a lower bound of a libvips crop: libvips renders the bounding box of the whole transformed
 * image (sharp does not expose the output area), and the crop would still have to be cut out of it.
 *
 * Build and run: npx tsc bench/data-image.ts --outDir .tmp/bench --module commonjs --target es2022 \
 *   --esModuleInterop --skipLibCheck --strict --types node && node .tmp/bench/bench/data-image.js [reps]
 */
import * as path from 'path';
import sharp from 'sharp';
import { decodeImage, normalizeImage, RgbImage, warpAffine } from '../src/data/image';
import { getAffineTransform, type Vec2 } from '../src/codec/affine';

const SHARED_DIR = process.env.HRNET_SHARED ?? path.resolve(__dirname, '..', '..', '..', '..', 'shared');
const SOURCE = path.join(SHARED_DIR, 'data', 'coco', '000000000785.jpg');

/** A benchmarked crop: the person box of the warp fixtures at a network input size. */
interface CropCase {
  label: string;
  /** `[width, height]`. */
  size: Vec2;
  rot: number;
}

const CENTER: Vec2 = [390.14, 218.07];
const SCALE: Vec2 = [1.6250625, 2.16675];
const CASES: CropCase[] = [
  { label: 'crop 256×192 rot 0', size: [192, 256], rot: 0 },
  { label: 'crop 256×192 rot 30', size: [192, 256], rot: 30 },
  { label: 'crop 384×288 rot 10', size: [288, 384], rot: 10 },
];

/** Best-of-5 mean microseconds per call of a synchronous `fn` run `reps` times (after a warm-up). */
function timeSyncUs(fn: () => void, reps: number): number {
  for (let i = 0; i < reps; i++) fn();
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / reps);
  }
  return best;
}

/** Best-of-5 mean microseconds per call of an asynchronous `fn` awaited `reps` times in sequence. */
async function timeAsyncUs(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / reps);
  }
  return best;
}

/** The same matrix through libvips: `affine` of the raw RGB source with bilinear interpolation. */
function sharpAffine(src: RgbImage, t: Float64Array): Promise<Buffer> {
  return sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } })
    .affine(
      [
        [t[0], t[1]],
        [t[3], t[4]],
      ],
      { odx: t[2], ody: t[5], interpolator: sharp.interpolators.bilinear, background: { r: 0, g: 0, b: 0 } },
    )
    .raw()
    .toBuffer();
}

async function main(): Promise<void> {
  const reps = Number(process.argv[2] ?? 50);
  const rows: string[] = [];
  const fmt = (label: string, us: number): string => `${label.padEnd(34)} ${us.toFixed(0).padStart(7)} µs`;

  const src = await decodeImage(SOURCE);
  rows.push(fmt(`decode ${src.width}×${src.height} JPEG`, await timeAsyncUs(() => decodeImage(SOURCE), Math.max(1, reps / 5))));
  for (const c of CASES) {
    const t = getAffineTransform(CENTER, SCALE, c.rot, c.size);
    const out = new Uint8Array(c.size[0] * c.size[1] * 3);
    rows.push(fmt(`warpAffine ${c.label}`, timeSyncUs(() => warpAffine(src, t, c.size[0], c.size[1], out), reps)));
    rows.push(fmt(`sharp affine ${c.label}`, await timeAsyncUs(() => sharpAffine(src, t), Math.max(1, reps / 5))));
  }
  const crop = new Uint8Array(256 * 192 * 3);
  const input = new Float32Array(crop.length);
  rows.push(fmt('normalizeImage 256×192', timeSyncUs(() => normalizeImage(crop, input), reps)));
  console.log(rows.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

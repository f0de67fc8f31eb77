/** Colours of the synthetic renderer: random clothing and scenery colours, skin tones, shading. */
import type { UniformRng } from '../transforms';
import { pick, uniform } from './random';

/** An RGB colour, 0–255 per channel. */
export type RgbColor = [number, number, number];

/** HSL (hue in degrees, saturation and lightness in [0, 1]) → RGB 0–255. */
export function hslToRgb(h: number, s: number, l: number): RgbColor {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** `#rrggbb` of an RGB colour. */
export function hex(c: RgbColor): string {
  return '#' + c.map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0')).join('');
}

/** The colour scaled toward black by `factor` (0.6 = 40 % darker). */
export function shade(c: RgbColor, factor: number): RgbColor {
  return [c[0] * factor, c[1] * factor, c[2] * factor];
}

/** Any colour: uniform hue, saturation in `[sLo, sHi]`, lightness in `[lLo, lHi]`. */
export function randomColor(rng: UniformRng, sLo = 0, sHi = 1, lLo = 0.1, lHi = 0.9): RgbColor {
  return hslToRgb(uniform(rng, 0, 360), uniform(rng, sLo, sHi), uniform(rng, lLo, lHi));
}

const SKIN_TONES: RgbColor[] = [
  [255, 224, 196],
  [241, 194, 160],
  [224, 172, 130],
  [198, 134, 96],
  [160, 105, 70],
  [120, 78, 50],
  [88, 57, 38],
  [255, 205, 170],
];

/** A skin tone from a fixed palette, jittered by ±8 per channel. */
export function randomSkin(rng: UniformRng): RgbColor {
  const base = pick(rng, SKIN_TONES);
  return [base[0] + uniform(rng, -8, 8), base[1] + uniform(rng, -8, 8), base[2] + uniform(rng, -8, 8)];
}

/** A hair colour: black, browns, blond, grey or (rarely) a dyed hue. */
export function randomHair(rng: UniformRng): RgbColor {
  const u = rng();
  if (u < 0.35) return hslToRgb(uniform(rng, 0, 40), uniform(rng, 0, 0.3), uniform(rng, 0.04, 0.15));
  if (u < 0.7) return hslToRgb(uniform(rng, 15, 35), uniform(rng, 0.3, 0.6), uniform(rng, 0.15, 0.35));
  if (u < 0.85) return hslToRgb(uniform(rng, 35, 50), uniform(rng, 0.4, 0.7), uniform(rng, 0.45, 0.7));
  if (u < 0.95) return hslToRgb(0, 0, uniform(rng, 0.5, 0.85));
  return randomColor(rng, 0.5, 0.9, 0.3, 0.6);
}

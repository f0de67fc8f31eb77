/**
 * Random draws of the synthetic renderer, all from one uniform stream (a `seedrandom` generator), so that a seed
 * fixes every picture and annotation.
 */
import { type UniformRng, standardNormal } from '../transforms';

/** Uniform on `[lo, hi)`. */
export function uniform(rng: UniformRng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Integer uniform on `[lo, hi]` (both ends included). */
export function randInt(rng: UniformRng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** True with probability `p`. */
export function chance(rng: UniformRng, p: number): boolean {
  return rng() < p;
}

/** One element of `items`, uniformly. */
export function pick<T>(rng: UniformRng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/**
 * Index drawn with probability proportional to `weights[i]`.
 * @param weights `[n]` non-negative weights, not all 0
 */
export function weightedIndex(rng: UniformRng, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let u = rng() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** Normal `N(mean, sd²)` clipped to `[lo, hi]`. */
export function normalClipped(rng: UniformRng, mean: number, sd: number, lo: number, hi: number): number {
  const v = mean + sd * standardNormal(rng);
  return v < lo ? lo : v > hi ? hi : v;
}

/** −1 or +1 with equal probability. */
export function randSign(rng: UniformRng): number {
  return rng() < 0.5 ? -1 : 1;
}

/** Degrees → radians. */
export const DEG = Math.PI / 180;

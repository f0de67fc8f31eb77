/**
 * Axis ticks for the plots: "nice" values (1, 2, 5 × 10ⁿ) on linear axes, powers of ten (with 2 and 5 between
 * when the range is short) on logarithmic ones, and labels short enough to sit under a tick.
 */

/** The ticks of one axis and the range the axis spans. */
export interface AxisTicks {
  /** Axis start (≤ the smallest data value). */
  min: number;
  /** Axis end (≥ the largest data value). */
  max: number;
  /** `[T]` tick values, ascending, inside `[min, max]`. */
  values: number[];
  /** `[T]` tick labels, of `value / 10^exponent`. */
  labels: string[];
  /** Common power of ten factored out of the labels (0: none); show it as `×1e<exponent>` by the axis. */
  exponent: number;
}

/** The nice step (1, 2, 2.5 or 5 × 10ⁿ) nearest to `rough` on a log scale. */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const exp = Math.floor(Math.log10(rough));
  const base = 10 ** exp;
  const f = rough / base;
  // boundaries at the geometric means of neighbouring steps
  const mult = f < Math.SQRT2 ? 1 : f < Math.sqrt(5) ? 2 : f < Math.sqrt(12.5) ? 2.5 : f < Math.sqrt(50) ? 5 : 10;
  return mult * base;
}

/** Decimals needed to tell apart ticks `step` apart (0 for whole steps). */
function decimalsFor(step: number): number {
  if (step >= 1 && Number.isInteger(step)) return 0;
  let d = 0;
  while (d < 10 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-9 * 10 ** d) d++;
  return d;
}

/**
 * A tick label: fixed-point with the decimals the step needs; exponent form (`2e-4`) for very small or large
 * magnitudes; `0` for values within rounding error of zero.
 * @param value the tick value
 * @param step distance between neighbouring ticks (for the number of decimals)
 */
export function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step * 1e-9) return '0';
  const mag = Math.abs(value);
  if (mag >= 1e6 || (mag < 1e-3 && step < 1e-3)) {
    const s = value.toExponential(decimalsFor(value / 10 ** Math.floor(Math.log10(mag)))).replace('e+', 'e');
    return s.replace(/\.?0+e/, 'e');
  }
  return value.toFixed(decimalsFor(step));
}

/**
 * Linear axis over `[lo, hi]` (the caller adds any margin): ticks at the multiples of a nice step inside the
 * range, about `target` of them. With `integer`, steps are whole numbers (epochs). A single value gets a range
 * around it (±1 for whole numbers or zero, else ±10 %).
 * @param lo axis start (smallest data value, less any margin)
 * @param hi axis end
 * @param target wished number of ticks (default 6)
 */
export function linearTicks(lo: number, hi: number, target = 6, integer = false): AxisTicks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const half = integer || lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= half;
    hi += half;
  }
  let step = niceStep((hi - lo) / Math.max(1, target - 1));
  if (integer && !Number.isInteger(step)) step = step < 1 ? 1 : Math.floor(step); // 2.5 → 2
  const min = lo;
  const max = hi;
  const first = Math.ceil(lo / step - 1e-9) * step;
  const values: number[] = [];
  for (let i = 0; first + i * step <= max + step * 1e-9; i++) values.push(Number((first + i * step).toPrecision(12)));
  // very small or large values: one power of ten for the whole axis instead of exponents in every label
  const largest = Math.max(Math.abs(min), Math.abs(max));
  const exponent = step < 1e-3 || largest >= 1e6 ? Math.floor(Math.log10(largest)) : 0;
  const unit = 10 ** exponent;
  const labels = values.map((v) => formatTick(Number((v / unit).toPrecision(12)), Number((step / unit).toPrecision(12))));
  return { min, max, values, labels, exponent };
}

/**
 * Logarithmic axis (base 10) over positive values: `[lo / 1.25, hi · 1.25]`, so lines at the extremes stay off the
 * frame; ticks at the powers of ten inside, with 2× and 5× between when the data span fewer than three decades.
 * Labels are plain numbers between 0.01 and 10⁴, else all in exponent form (`1e-3`, `2e-4`).
 * @param lo smallest positive data value
 * @param hi largest data value
 */
export function logTicks(lo: number, hi: number): AxisTicks {
  if (!(lo > 0) || !Number.isFinite(lo)) lo = hi > 0 && Number.isFinite(hi) ? hi / 10 : 1;
  if (!(hi >= lo) || !Number.isFinite(hi)) hi = lo;
  const min = lo / 1.25;
  const max = hi * 1.25;
  const e0 = Math.floor(Math.log10(min));
  const e1 = Math.floor(Math.log10(max));
  const mults = Math.log10(hi / lo) < 3 ? [1, 2, 5] : [1];
  const values: number[] = [];
  for (let e = e0; e <= e1; e++) {
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= min && v <= max) values.push(v);
    }
  }
  const exponentForm = values.some((v) => v < 0.01 || v >= 1e4);
  const labels = values.map((v) => {
    const e = Math.floor(Math.log10(v) + 1e-9);
    if (!exponentForm) return formatTick(v, 10 ** Math.min(0, e));
    return `${Math.round(v / 10 ** e)}e${e}`;
  });
  return { min, max, values, labels, exponent: 0 };
}

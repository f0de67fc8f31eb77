import { formatTick, linearTicks, logTicks, niceStep } from '../../src/viz/ticks';

describe('ticks', () => {
  test('niceStep picks the nearest of 1, 2, 2.5, 5 × 10^n', () => {
    expect(niceStep(0.013)).toBeCloseTo(0.01, 12);
    expect(niceStep(0.016)).toBeCloseTo(0.02, 12);
    expect(niceStep(3.3)).toBe(2.5);
    expect(niceStep(3.6)).toBe(5);
    expect(niceStep(2.2)).toBe(2);
    expect(niceStep(70)).toBe(50);
    expect(niceStep(72)).toBe(100);
    expect(niceStep(1)).toBe(1);
  });

  test('linearTicks: evenly spaced labelled ticks inside the range', () => {
    const t = linearTicks(0.0312, 0.1183, 6);
    expect([t.min, t.max]).toEqual([0.0312, 0.1183]);
    expect(t.values).toEqual([0.04, 0.06, 0.08, 0.1]);
    expect(t.labels).toEqual(['0.04', '0.06', '0.08', '0.10']);
    expect(t.exponent).toBe(0);
    const wide = linearTicks(-3.7, 41.2, 6);
    const steps = wide.values.slice(1).map((v, i) => v - wide.values[i]);
    for (const s of steps) expect(s).toBeCloseTo(steps[0], 12);
    expect(wide.values[0]).toBeGreaterThanOrEqual(-3.7);
    expect(wide.values[wide.values.length - 1]).toBeLessThanOrEqual(41.2);
    expect(wide.values.length).toBeGreaterThanOrEqual(4);
    expect(wide.values.length).toBeLessThanOrEqual(8);
  });

  test('tiny or huge values share one power of ten instead of exponents in every label', () => {
    const loss = linearTicks(0.00045, 0.0016);
    expect(loss.exponent).toBe(-3);
    expect(loss.labels).toEqual(['0.50', '0.75', '1.00', '1.25', '1.50']);
    expect(loss.values[0]).toBeCloseTo(0.0005, 15);
    const big = linearTicks(0, 3.2e6);
    expect(big.exponent).toBe(6);
    expect(big.labels).toEqual(['0', '0.5', '1.0', '1.5', '2.0', '2.5', '3.0']);
    expect(linearTicks(0, 0.8).exponent).toBe(0);
  });

  test('integer ticks for epochs; a single value gets a range around it', () => {
    const e = linearTicks(0, 3, 8, true);
    expect(e.values).toEqual([0, 1, 2, 3]);
    expect(linearTicks(0, 19, 6, true).values).toEqual([0, 5, 10, 15]);
    expect(e.labels).toEqual(['0', '1', '2', '3']);
    const big = linearTicks(0, 139, 6, true);
    for (const v of big.values) expect(Number.isInteger(v)).toBe(true);
    const one = linearTicks(0.5, 0.5);
    expect(one.min).toBeLessThan(0.5);
    expect(one.max).toBeGreaterThan(0.5);
  });

  test('logTicks: decades, with 2 and 5 between on short ranges, exponent labels for small values', () => {
    const lr = logTicks(1e-5, 1e-3);
    // a margin keeps lines at the extremes off the frame
    expect(lr.min).toBeLessThan(1e-5);
    expect(lr.max).toBeGreaterThan(1e-3);
    expect(lr.labels).toEqual(['1e-5', '2e-5', '5e-5', '1e-4', '2e-4', '5e-4', '1e-3']);
    const wide = logTicks(0.02, 3000);
    expect(wide.labels).toEqual(['0.1', '1', '10', '100', '1000']);
    expect(logTicks(0.05, 2).labels).toEqual(['0.05', '0.1', '0.2', '0.5', '1', '2']);
  });

  test('formatTick uses the decimals the step needs', () => {
    expect(formatTick(0.7, 0.05)).toBe('0.70');
    expect(formatTick(12, 2)).toBe('12');
    expect(formatTick(1e-17, 0.1)).toBe('0');
    expect(formatTick(0.00025, 0.00005)).toBe('2.5e-4');
  });
});

import { capsuleShape, containsPoint, ellipseShape, geometryBounds, num, polygonShape, unionBounds } from '../../../src/data/synthetic/shapes';

describe('synthetic shapes', () => {
  it('capsule: distance to the segment ≤ radius (outline included)', () => {
    const { geometry, svg } = capsuleShape([10, 10], [30, 10], 4, { fill: '#fff', stroke: '#000', strokeWidth: 2 });
    expect(geometry).toEqual({ kind: 'capsule', a: [10, 10], b: [30, 10], r: 5 });
    expect(containsPoint(geometry, [20, 14.9])).toBe(true);
    expect(containsPoint(geometry, [20, 15.1])).toBe(false);
    expect(containsPoint(geometry, [34.9, 10])).toBe(true); // round end
    expect(containsPoint(geometry, [34, 14])).toBe(false); // outside the round end's corner
    expect(geometryBounds(geometry)).toEqual({ x0: 5, y0: 5, x1: 35, y1: 15 });
    expect(svg).toMatch(/^<path d="M.*Z" fill="#fff" stroke="#000" stroke-width="2" stroke-linejoin="round"\/>$/);
  });

  it('ellipse: rotation turns the axes (clockwise on screen) and the bounds with them', () => {
    const { geometry, svg } = ellipseShape([50, 40], 20, 5, Math.PI / 2, { fill: 'red' });
    // Rotated by 90°, the long axis is vertical.
    expect(containsPoint(geometry, [50, 59])).toBe(true);
    expect(containsPoint(geometry, [69, 40])).toBe(false);
    const b = geometryBounds(geometry);
    expect(b.x0).toBeCloseTo(45, 10);
    expect(b.x1).toBeCloseTo(55, 10);
    expect(b.y0).toBeCloseTo(20, 10);
    expect(b.y1).toBeCloseTo(60, 10);
    expect(svg).toBe('<ellipse cx="50" cy="40" rx="20" ry="5" transform="rotate(90 50 40)" fill="red"/>');
    const diag = ellipseShape([0, 0], 10, 2, Math.PI / 4, { fill: 'red' }).geometry;
    expect(containsPoint(diag, [6, 6])).toBe(true);
    expect(containsPoint(diag, [6, -6])).toBe(false);
  });

  it('polygon: even–odd inside test, also for a concave outline', () => {
    const { geometry, svg } = polygonShape([[0, 0], [10, 0], [10, 10], [5, 3], [0, 10]], { fill: 'blue', opacity: 0.5 });
    expect(containsPoint(geometry, [2, 2])).toBe(true);
    expect(containsPoint(geometry, [5, 8])).toBe(false); // in the notch
    expect(containsPoint(geometry, [9, 8])).toBe(true);
    expect(geometryBounds(geometry)).toEqual({ x0: 0, y0: 0, x1: 10, y1: 10 });
    expect(svg).toBe('<path d="M0 0L10 0L10 10L5 3L0 10Z" fill="blue" fill-opacity="0.5"/>');
  });

  it('unionBounds and num', () => {
    expect(unionBounds([{ x0: 0, y0: 5, x1: 3, y1: 6 }, { x0: -1, y0: 7, x1: 2, y1: 9 }])).toEqual({ x0: -1, y0: 5, x1: 3, y1: 9 });
    expect(num(1.23456)).toBe('1.23');
    expect(num(-0.004)).toBe('0');
    expect(num(2)).toBe('2');
  });
});

import { describe, expect, it } from 'vitest';
import { convexHull, facePolygon, fillPolygon, mouthMask, mouthMaskRect, pointInPolygon, renderPolygon, trainingPolygon } from '../../src/canonical/masks.js';

function area(poly: Float32Array): number {
  let a = 0;
  const n = poly.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    a += poly[2 * i]! * poly[2 * j + 1]! - poly[2 * j]! * poly[2 * i + 1]!;
  }
  return Math.abs(a) / 2;
}

/** Canonical landmarks with the polygon points at plausible template positions. */
function canonical(): Float32Array {
  const c = new Float32Array(468 * 3).fill(128);
  const set = (i: number, x: number, y: number): void => {
    c[3 * i] = x;
    c[3 * i + 1] = y;
  };
  set(234, 44, 84);
  set(454, 213, 84);
  set(6, 128, 52);
  set(1, 127, 91);
  set(149, 90, 182);
  set(152, 128, 193);
  set(378, 166, 182);
  return c;
}

describe('mouth mask (001 appendix)', () => {
  it('is the rectangle [0.08, 0.28, 0.92, 0.95] of the crop', () => {
    expect(mouthMaskRect(256)).toEqual({ x0: 0.08 * 256, y0: 0.28 * 256, x1: 0.92 * 256, y1: 0.95 * 256 });
    const m = mouthMask(100);
    expect(m[28 * 100 + 8]).toBe(255);
    expect(m[27 * 100 + 50]).toBe(0);
    expect(m[94 * 100 + 91]).toBe(255);
    expect(m[95 * 100 + 50]).toBe(0);
    expect(m.reduce((a, b) => a + (b ? 1 : 0), 0)).toBe(84 * 67);
  });
});

describe('polygon masks', () => {
  it('builds the convex hull and drops interior points', () => {
    const h = convexHull([0, 0, 10, 0, 10, 10, 0, 10, 5, 5, 2, 7]);
    expect(h.length).toBe(8);
    expect(area(h)).toBe(100);
  });

  it('fills a polygon with about its area', () => {
    const tri = Float32Array.from([10, 10, 90, 10, 50, 90]);
    const m = fillPolygon(tri, 100, 100);
    const filled = m.reduce((a, b) => a + (b ? 1 : 0), 0);
    expect(Math.abs(filled - area(tri)) / area(tri)).toBeLessThan(0.03);
    expect(m[50 * 100 + 50]).toBe(255);
    expect(m[85 * 100 + 20]).toBe(0);
  });

  it('training polygon: ear level, mid-nose, nose tip and the chin shifted down; the render polygon sits inside it', () => {
    const c = canonical();
    const train = trainingPolygon(c, 256);
    const render = renderPolygon(c, 256);
    expect(pointInPolygon(train, 128, 150)).toBe(true); // the mouth
    expect(pointInPolygon(train, 128, 40)).toBe(false); // between the eyes
    // chin shifted down by 0.06 * 256
    const maxY = Math.max(...Array.from(train).filter((_, i) => i % 2));
    expect(maxY).toBeCloseTo(193 + 0.06 * 256, 3);
    expect(area(render)).toBeLessThan(area(train));
    for (let i = 0; i < render.length; i += 2) expect(pointInPolygon(train, render[i]!, render[i + 1]!)).toBe(true);
    // the nose tip is on or inside the hull at any pose; a custom shift/shrink is honoured
    const plain = facePolygon(c, 256, { chinShift: 0, shrink: 1 });
    expect(Math.max(...Array.from(plain).filter((_, i) => i % 2))).toBeCloseTo(193, 3);
  });
});

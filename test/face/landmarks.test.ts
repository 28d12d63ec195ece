import { describe, expect, it } from 'vitest';
import * as L from '../../src/face/landmarks.js';

describe('468-point mesh index sets', () => {
  const sets = {
    FACE_OVAL: L.FACE_OVAL,
    JAW: L.JAW,
    LIPS_OUTER: L.LIPS_OUTER,
    LIPS_INNER: L.LIPS_INNER,
    RIGHT_EYE: L.RIGHT_EYE,
    LEFT_EYE: L.LEFT_EYE,
    RIGHT_EYEBROW: L.RIGHT_EYEBROW,
    LEFT_EYEBROW: L.LEFT_EYEBROW,
    NOSE_BRIDGE: L.NOSE_BRIDGE,
  };

  it.each(Object.entries(sets))('%s holds distinct valid indices', (_name, set) => {
    expect(new Set(set).size).toBe(set.length);
    for (const i of set) {
      expect(Number.isInteger(i)).toBe(true);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(L.MESH_POINT_COUNT);
    }
    expect(Object.isFrozen(set)).toBe(true);
  });

  it('has the expected sizes and relations', () => {
    expect(L.FACE_OVAL).toHaveLength(36);
    expect(L.LIPS).toHaveLength(40);
    expect(L.EYES).toHaveLength(32);
    for (const i of L.JAW) expect(L.FACE_OVAL).toContain(i);
    for (const i of L.EYE_CORNERS) expect(L.EYES).toContain(i);
    for (const i of [...L.MOUTH_CORNERS, ...L.MOUTH_OPENING]) expect(L.LIPS).toContain(i);
    // eyes, lips and jaw never share a point
    const lipsJaw = new Set([...L.LIPS, ...L.JAW]);
    for (const i of L.EYES) expect(lipsJaw.has(i)).toBe(false);
  });

  it('measures eye distance, bounds and centroids', () => {
    const lm = new Float32Array(468 * 3);
    lm.set([10, 20, 0], 3 * 33);
    lm.set([30, 20, 0], 3 * 133);
    lm.set([60, 20, 0], 3 * 362);
    lm.set([80, 24, 0], 3 * 263);
    expect(L.interocularDistance(lm)).toBeCloseTo(Math.hypot(50, 2), 5);
    expect(L.centroid(lm, [33, 133])).toEqual([20, 20]);
    expect(L.landmarkBounds(lm)).toEqual({ x: 0, y: 0, width: 80, height: 24 });
  });
});

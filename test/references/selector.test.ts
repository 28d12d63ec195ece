import { describe, expect, it } from 'vitest';
import { ReferenceSelector, maskReferenceToMouth, type ReferenceCandidate } from '../../src/references/index.js';

/** Frames in 4 well-separated shape clusters (mouth shapes) with small noise, 30 frames each. */
function clustered(): ReferenceCandidate[] {
  const out: ReferenceCandidate[] = [];
  let s = 7;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.5;
  for (let f = 0; f < 120; f++) {
    const c = Math.floor(f / 30);
    const landmarks = [c * 10 + r(), r(), 0, r(), c * 10 + r(), 0];
    out.push({ frame: f, landmarks, pose: { yaw: 0, pitch: 0, roll: 0 } });
  }
  return out;
}

describe('ReferenceSelector', () => {
  it('picks one frame per cluster (k-means over landmarks)', () => {
    const refs = new ReferenceSelector({ k: 4, exclusionFrames: 0 }).select(clustered());
    expect(refs).toHaveLength(4);
    expect(new Set(refs.map((f) => Math.floor(f / 30))).size).toBe(4);
  });

  it('is deterministic for a seed', () => {
    const a = new ReferenceSelector({ k: 6, seed: 3 }).select(clustered());
    const b = new ReferenceSelector({ k: 6, seed: 3 }).select(clustered());
    expect(a).toEqual(b);
  });

  it('never picks a target frame or its neighbours', () => {
    const targets = [40, 41, 42, 43, 44, 45, 100];
    const refs = new ReferenceSelector({ k: 10, exclusionFrames: 5 }).select(clustered(), targets);
    expect(refs).toHaveLength(10);
    for (const f of refs) {
      for (const t of targets) expect(Math.abs(f - t)).toBeGreaterThan(5);
    }
    const ranged = new ReferenceSelector({ k: 10, exclusionFrames: 5 }).select(clustered(), [{ start: 0, end: 60 }]);
    for (const f of ranged) expect(f).toBeGreaterThan(65);
  });

  it('uses head rotation as a feature', () => {
    // Identical landmarks, two poses: both poses must be represented.
    const c: ReferenceCandidate[] = Array.from({ length: 40 }, (_, f) => ({
      frame: f,
      landmarks: [0, 0, 0],
      pose: { yaw: f < 20 ? -20 : 20, pitch: 0, roll: 0 },
    }));
    const refs = new ReferenceSelector({ k: 2, exclusionFrames: 0 }).select(c);
    expect(refs.some((f) => f < 20) && refs.some((f) => f >= 20)).toBe(true);
  });

  it('errors when the exclusion leaves nothing, returns all when few remain', () => {
    expect(() => new ReferenceSelector({ exclusionFrames: 200 }).select(clustered(), [60])).toThrow(/No reference candidates/);
    expect(new ReferenceSelector({ k: 10, exclusionFrames: 0 }).select(clustered().slice(0, 3))).toEqual([0, 1, 2]);
  });

  it('masks references to the mouth region only', () => {
    const size = 100;
    const crop = { data: new Uint8Array(size * size * 3).fill(200), width: size, height: size };
    const m = maskReferenceToMouth(crop);
    const at = (x: number, y: number) => m.data[(y * size + x) * 3];
    expect(at(50, 60)).toBe(200); // inside [0.08, 0.28, 0.92, 0.95]
    expect(at(50, 10)).toBe(0); // eyes/forehead: removed
    expect(at(3, 60)).toBe(0); // left of the rectangle
    expect(crop.data[0]).toBe(200); // input untouched
  });
});

import { describe, expect, it } from 'vitest';
import { PITCH_OFFSET_DEGREES, headPose } from '../../src/face/pose.js';

/** A synthetic rigid head: only the points the pose reads, in a head frame (x right, y down, z into the head). */
function head(): Map<number, [number, number, number]> {
  const p = new Map<number, [number, number, number]>();
  const sym = (r: number, l: number, x: number, y: number, z: number): void => {
    p.set(r, [-x, y, z]);
    p.set(l, [x, y, z]);
  };
  sym(33, 263, 45, 0, 10);
  sym(133, 362, 15, 0, 8);
  sym(127, 356, 70, -10, 60);
  sym(234, 454, 75, 10, 80);
  // orbitale -> ear level tilted "up" by the documented offset, so a frontal head reads pitch 0
  const t = (PITCH_OFFSET_DEGREES * Math.PI) / 180;
  const d = 80;
  sym(230, 450, 35, 10 - d * Math.sin(t), 80 - d * Math.cos(t));
  return p;
}

function render(yaw: number, pitch: number, roll: number): Float32Array {
  const r = (deg: number): number => (deg * Math.PI) / 180;
  // R = Ry(yaw) Rx(pitch) Rz(roll), with the signs of the documented convention
  const [cy, sy] = [Math.cos(r(-yaw)), Math.sin(r(-yaw))];
  const [cp, sp] = [Math.cos(r(pitch)), Math.sin(r(pitch))];
  const [cr, sr] = [Math.cos(r(roll)), Math.sin(r(roll))];
  const lm = new Float32Array(468 * 3);
  for (const [i, [x, y, z]] of head()) {
    // roll about z (clockwise on screen with y down)
    const x1 = cr * x - sr * y;
    const y1 = sr * x + cr * y;
    // pitch about x: positive tilts the face up (its forward axis -z towards -y)
    const y2 = cp * y1 + sp * z;
    const z2 = -sp * y1 + cp * z;
    // yaw about y
    const x3 = cy * x1 + sy * z2;
    const z3 = -sy * x1 + cy * z2;
    lm.set([500 + x3, 400 + y2, z3], 3 * i);
  }
  return lm;
}

describe('headPose', () => {
  it('reads zero for a frontal head', () => {
    const p = headPose(render(0, 0, 0));
    expect(p.yaw).toBeCloseTo(0, 6);
    expect(p.pitch).toBeCloseTo(0, 6);
    expect(p.roll).toBeCloseTo(0, 6);
  });

  it.each([
    [20, 0, 0],
    [0, 15, 0],
    [0, 0, -10],
    [25, -10, 8],
  ])('recovers yaw %d, pitch %d, roll %d', (yaw, pitch, roll) => {
    const p = headPose(render(yaw, pitch, roll));
    expect(p.yaw).toBeCloseTo(yaw, 4);
    expect(p.pitch).toBeCloseTo(pitch, 4);
    expect(p.roll).toBeCloseTo(roll, 4);
  });
});

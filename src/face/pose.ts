/**
 * Head pose from the 468-point mesh (x, y in pixels, z relative depth on the x scale, larger z
 * further from the camera). The head frame uses rigid points only (nothing on the lips or jaw,
 * which move with speech):
 * - x axis: the mean right-to-left vector of symmetric pairs (eye corners, face edge at the
 *   temples and at the ears);
 * - z axis (into the head): from the point below each eye (orbitale, 230/450) back to the face
 *   edge level with the ears (234/454), a Frankfurt-plane-like line, made orthogonal to x;
 * - y = z cross x (down).
 * Angles (degrees), for an unmirrored image with y pointing down:
 * - yaw > 0 when the face turns towards the image's right (the subject's left);
 * - pitch > 0 when the face tilts up;
 * - roll > 0 when the eye line turns clockwise on screen.
 * FaceMesh depths put that line about 12 degrees "up" on faces looking straight at the camera
 * (median over the six sample clips: 9 to 15 degrees), so the frame is turned back 12 degrees
 * about its x axis before the angles are read.
 * Expect a few degrees of per-person bias; differences between frames are what it is good for.
 */
export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

const PAIRS: readonly [number, number][] = [
  [33, 263],
  [133, 362],
  [127, 356],
  [234, 454],
];
const ORBITALE = [230, 450] as const;
const EAR_LEVEL = [234, 454] as const;
/** See the module comment. */
export const PITCH_OFFSET_DEGREES = 12;
const PITCH_OFFSET_RADIANS = (PITCH_OFFSET_DEGREES * Math.PI) / 180;

const DEG = 180 / Math.PI;

/** Yaw, pitch, roll in degrees from one frame's landmarks. */
export function headPose(landmarks: ArrayLike<number>): HeadPose {
  const P = (i: number, k: number): number => landmarks[3 * i + k]!;
  let xx = 0;
  let xy = 0;
  let xz = 0;
  for (const [r, l] of PAIRS) {
    xx += P(l, 0) - P(r, 0);
    xy += P(l, 1) - P(r, 1);
    xz += P(l, 2) - P(r, 2);
  }
  let n = Math.hypot(xx, xy, xz) || 1;
  xx /= n;
  xy /= n;
  xz /= n;
  let zx = 0;
  let zy = 0;
  let zz = 0;
  for (let k = 0; k < 2; k++) {
    zx += (P(EAR_LEVEL[k]!, 0) - P(ORBITALE[k]!, 0)) / 2;
    zy += (P(EAR_LEVEL[k]!, 1) - P(ORBITALE[k]!, 1)) / 2;
    zz += (P(EAR_LEVEL[k]!, 2) - P(ORBITALE[k]!, 2)) / 2;
  }
  const dot = zx * xx + zy * xy + zz * xz;
  zx -= dot * xx;
  zy -= dot * xy;
  zz -= dot * xz;
  n = Math.hypot(zx, zy, zz) || 1;
  zx /= n;
  zy /= n;
  zz /= n;
  // y = z cross x (points down)
  const yx = zy * xz - zz * xy;
  const yy = zz * xx - zx * xz;
  const yz = zx * xy - zy * xx;
  // Undo the line's tilt: rotate the frame about x by the offset (an exact rotation, so the
  // Euler angles stay consistent when roll and yaw are present too).
  const c = Math.cos(PITCH_OFFSET_RADIANS);
  const s = Math.sin(PITCH_OFFSET_RADIANS);
  const hz = [c * zx - s * yx, c * zy - s * yy, c * zz - s * yz] as const;
  const hyy = c * yy + s * zy;
  // R = Ry(yaw) Rx(pitch) Rz(roll), columns x, y, z of the head frame.
  const yaw = Math.atan2(-hz[0], hz[2]) * DEG;
  const pitch = Math.asin(Math.max(-1, Math.min(1, hz[1]))) * DEG;
  const roll = Math.atan2(xy, hyy) * DEG;
  return { yaw, pitch, roll };
}

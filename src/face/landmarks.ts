/**
 * Named index sets of the 468-point MediaPipe face mesh (the FaceMesh model's output order).
 * "Right" and "left" are the subject's: the right eye is on the image's left in an unmirrored
 * video. Sets follow MediaPipe's face_mesh_connections where one exists.
 */

export const MESH_POINT_COUNT = 468;

const freeze = (a: number[]): readonly number[] => Object.freeze(a);

/** Closed outline of the face, clockwise from the top of the forehead (36 points). */
export const FACE_OVAL = freeze([
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136,
  172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
]);

/**
 * The jaw line: the lower face oval from one jaw angle (58, level with the mouth) round the
 * chin to the other (288). These move with the mouth; the canonical crop never depends on them.
 */
export const JAW = freeze([58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288]);

/** Outer lip contour, starting at the right mouth corner (20 points). */
export const LIPS_OUTER = freeze([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]);
/** Inner lip contour, starting at the right inner corner (20 points). */
export const LIPS_INNER = freeze([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191]);
/** Every lip landmark (outer + inner contours). */
export const LIPS = freeze([...LIPS_OUTER, ...LIPS_INNER]);
export const MOUTH_CORNERS = freeze([61, 291]);
/** Upper and lower inner-lip midpoints: their distance is the mouth opening. */
export const MOUTH_OPENING = freeze([13, 14]);

/** Eye contours (16 points each): outer corner, lower lid, inner corner, upper lid. */
export const RIGHT_EYE = freeze([33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]);
export const LEFT_EYE = freeze([263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]);
export const EYES = freeze([...RIGHT_EYE, ...LEFT_EYE]);
/** Eye corners: right outer, right inner, left inner, left outer. They do not move when the eyes blink. */
export const EYE_CORNERS = freeze([33, 133, 362, 263]);

export const RIGHT_EYEBROW = freeze([46, 53, 52, 65, 55, 70, 63, 105, 66, 107]);
export const LEFT_EYEBROW = freeze([276, 283, 282, 295, 285, 300, 293, 334, 296, 336]);

/** Midway between the eyes (MediaPipe `midwayBetweenEyes`). */
export const MIDWAY_BETWEEN_EYES = 168;
/** The nose bridge from its top (between the eyes) down to just above the tip. */
export const NOSE_BRIDGE = freeze([168, 6, 197, 195, 5]);
export const NOSE_TIP = 1;
export const NOSE_BOTTOM = 2;
/**
 * The base of the nose: its bottom centre and the two alar bases. Rigid with the upper jaw, so
 * it does not move with speech, and it sits just above the mouth, so it follows the mouth's
 * position under head pitch and yaw better than the eyes do.
 */
export const NOSE_BASE = freeze([2, 98, 327]);
/** The face edge level with the ears (right, left). */
export const FACE_EDGE_AT_EARS = freeze([234, 454]);
export const CHIN = 152;
export const FOREHEAD_TOP = 10;

/** Mean of the given landmarks' x and y (landmarks packed x, y, z). */
export function centroid(landmarks: ArrayLike<number>, indices: readonly number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of indices) {
    x += landmarks[3 * i]!;
    y += landmarks[3 * i + 1]!;
  }
  return [x / indices.length, y / indices.length];
}

/** Distance between the two eye centres (each the mean of its two corners), in the landmarks' units. */
export function interocularDistance(landmarks: ArrayLike<number>): number {
  const rx = (landmarks[3 * 33]! + landmarks[3 * 133]!) / 2;
  const ry = (landmarks[3 * 33 + 1]! + landmarks[3 * 133 + 1]!) / 2;
  const lx = (landmarks[3 * 362]! + landmarks[3 * 263]!) / 2;
  const ly = (landmarks[3 * 362 + 1]! + landmarks[3 * 263 + 1]!) / 2;
  return Math.hypot(lx - rx, ly - ry);
}

/** Axis-aligned bounds of all landmarks (x, y only). */
export function landmarkBounds(landmarks: ArrayLike<number>, count = landmarks.length / 3): { x: number; y: number; width: number; height: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < count; i++) {
    const x = landmarks[3 * i]!;
    const y = landmarks[3 * i + 1]!;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

import type { Affine } from '../face/image.js';

/** A 2-D similarity: x' = scale * R(rotation) * x + (tx, ty). */
export interface Similarity {
  scale: number;
  /** Radians, counter-clockwise in a y-up frame (clockwise on screen, where y points down). */
  rotation: number;
  tx: number;
  ty: number;
}

/**
 * Least-squares similarity (Procrustes / Umeyama in 2-D: rotation, uniform scale, translation;
 * no skew, no reflection) mapping `src` onto `dst`. Points are packed [x0, y0, x1, y1, ...];
 * optional per-point weights. Exact for point sets related by a similarity.
 */
export function fitSimilarity(src: ArrayLike<number>, dst: ArrayLike<number>, weights?: ArrayLike<number>): Similarity {
  const n = src.length / 2;
  if (n < 2 || dst.length !== src.length) throw new RangeError('fitSimilarity needs two equal lists of at least 2 points');
  let sw = 0;
  let sx = 0;
  let sy = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    sw += w;
    sx += w * src[2 * i]!;
    sy += w * src[2 * i + 1]!;
    dx += w * dst[2 * i]!;
    dy += w * dst[2 * i + 1]!;
  }
  sx /= sw;
  sy /= sw;
  dx /= sw;
  dy /= sw;
  let a = 0;
  let b = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    const px = src[2 * i]! - sx;
    const py = src[2 * i + 1]! - sy;
    const qx = dst[2 * i]! - dx;
    const qy = dst[2 * i + 1]! - dy;
    a += w * (px * qx + py * qy);
    b += w * (px * qy - py * qx);
    norm += w * (px * px + py * py);
  }
  if (!(norm > 0)) throw new RangeError('fitSimilarity: source points are all the same');
  const c = a / norm; // scale * cos
  const s = b / norm; // scale * sin
  return { scale: Math.hypot(c, s), rotation: Math.atan2(s, c), tx: dx - (c * sx - s * sy), ty: dy - (s * sx + c * sy) };
}

/** The similarity as a 2x3 affine [a, b, c, d, e, f]. */
export function similarityToAffine(t: Similarity): Affine {
  const c = t.scale * Math.cos(t.rotation);
  const s = t.scale * Math.sin(t.rotation);
  return [c, -s, t.tx, s, c, t.ty];
}

/** Inverse of a similarity. */
export function invertSimilarity(t: Similarity): Similarity {
  const k = 1 / t.scale;
  const c = Math.cos(-t.rotation) * k;
  const s = Math.sin(-t.rotation) * k;
  return { scale: k, rotation: -t.rotation, tx: -(c * t.tx - s * t.ty), ty: -(s * t.tx + c * t.ty) };
}

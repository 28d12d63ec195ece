import { FaceCanonicalizer } from '../../src/canonical/canonicalizer.js';
import { MOUTH_MASK_RECT } from '../../src/canonical/masks.js';
import { EYE_CORNERS, EYES, JAW, LIPS } from '../../src/face/landmarks.js';
import { oneEuroSmooth } from '../../src/face/smoothing.js';
import { FaceTracker, type FaceTrackingResult } from '../../src/face/tracker.js';
import { videoPath } from '../helpers/data.js';
import { TEST_MODEL_CACHE } from './helpers.js';

export interface ClipQuality {
  clip: string;
  result: FaceTrackingResult;
  /** Main-track frames / all frames. */
  coverage: number;
  /** Mean over eye landmarks and axes of the per-coordinate std in canonical crop pixels. */
  eyeStd: { raw: number; gaussian: number; oneEuro: number; cornersGaussian: number };
  /** Frames where a lip or jaw landmark falls outside the mouth rectangle, or an eye landmark inside it. */
  rectangleViolations: number;
  maxEyeY: number;
  lipJawBounds: { x0: number; y0: number; x1: number; y1: number };
}

/** Per-coordinate standard deviation over frames, averaged over the given landmarks and both axes. */
export function landmarkStd(frames: Float32Array[], indices: readonly number[]): number {
  let sum = 0;
  for (const i of indices) {
    for (let k = 0; k < 2; k++) {
      let m = 0;
      for (const f of frames) m += f[3 * i + k]!;
      m /= frames.length;
      let q = 0;
      for (const f of frames) q += (f[3 * i + k]! - m) ** 2;
      sum += Math.sqrt(q / frames.length);
    }
  }
  return sum / (indices.length * 2);
}

/** One tracking pass over every frame of a clip (Gaussian smoothing, raw kept), and its numbers. */
export async function measureClip(clip: string): Promise<ClipQuality> {
  const tracker = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE, keepRaw: true });
  const result = await tracker.track(videoPath(clip));
  const main = result.mainTrack;
  const canon = new FaceCanonicalizer();
  const S = canon.size;
  const inCanon = (lm: Float32Array): Float32Array => canon.toCanonical(lm, canon.transform(lm));
  const faces = main?.faces ?? [];
  const smooth = faces.map((f) => inCanon(f.landmarks));
  const raw = faces.map((f) => inCanon(f.raw!));
  const euro = oneEuroSmooth(
    faces.map((f) => f.raw!),
    faces.map((f) => f.timestamp),
    undefined,
    faces.map((f) => (f.box.width + f.box.height) / 2),
  ).map(inCanon);
  let violations = 0;
  let maxEyeY = -Infinity;
  const b = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  const R = MOUTH_MASK_RECT;
  for (const c of smooth) {
    let bad = false;
    for (const i of [...LIPS, ...JAW]) {
      const x = c[3 * i]! / S;
      const y = c[3 * i + 1]! / S;
      b.x0 = Math.min(b.x0, x);
      b.x1 = Math.max(b.x1, x);
      b.y0 = Math.min(b.y0, y);
      b.y1 = Math.max(b.y1, y);
      if (!(x > R.x1 && x < R.x2 && y > R.y1 && y < R.y2)) bad = true;
    }
    for (const i of EYES) {
      const x = c[3 * i]! / S;
      const y = c[3 * i + 1]! / S;
      maxEyeY = Math.max(maxEyeY, y);
      if (x > R.x1 && x < R.x2 && y > R.y1 && y < R.y2) bad = true;
    }
    if (bad) violations++;
  }
  const q: ClipQuality = {
    clip,
    result,
    coverage: result.frameCount ? faces.length / result.frameCount : 0,
    eyeStd: {
      raw: landmarkStd(raw, EYES),
      gaussian: landmarkStd(smooth, EYES),
      oneEuro: landmarkStd(euro, EYES),
      cornersGaussian: landmarkStd(smooth, EYE_CORNERS),
    },
    rectangleViolations: violations,
    maxEyeY,
    lipJawBounds: b,
  };
  console.log(
    `[face quality] ${clip}: ${result.frameCount} frames, ${result.tracks.length} track(s), coverage ${(100 * q.coverage).toFixed(1)}%, ` +
      `eye std px raw ${q.eyeStd.raw.toFixed(2)} gaussian ${q.eyeStd.gaussian.toFixed(2)} one-euro ${q.eyeStd.oneEuro.toFixed(2)} ` +
      `(corners ${q.eyeStd.cornersGaussian.toFixed(2)}), max eye y ${maxEyeY.toFixed(3)}, lips+jaw x [${b.x0.toFixed(3)}, ${b.x1.toFixed(3)}] ` +
      `y [${b.y0.toFixed(3)}, ${b.y1.toFixed(3)}], rectangle violations ${violations}`,
  );
  return q;
}

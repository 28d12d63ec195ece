/**
 * Features of the personalized model: the audio side (a log-mel window, normalised per
 * recording and pooled) and the visual side (the mouth shape: lip and jaw landmarks in canonical
 * coordinates).
 */
import type { MelSpectrogram } from '../../audio/mel.js';
import { JAW, LIPS, NOSE_BASE, centroid } from '../../face/landmarks.js';

/** Per-band mean and standard deviation of a recording's log-mel spectrogram. */
export interface MelBandStats {
  mean: Float32Array;
  std: Float32Array;
}

/**
 * Per-band statistics of a whole recording. Normalising each recording by its own statistics
 * puts a different voice (TTS, another speaker) in the same space as the fitted speaker's.
 * Frames at digital silence are left out, so long pauses do not drag the means down.
 */
export function melBandStats(mel: MelSpectrogram): MelBandStats {
  const { nMels, nFrames, data } = mel;
  const energy = new Float32Array(nFrames);
  for (let m = 0; m < nMels; m++) for (let k = 0; k < nFrames; k++) energy[k] = energy[k]! + data[m * nFrames + k]! / nMels;
  const sorted = Float32Array.from(energy).sort();
  const floor = sorted[Math.floor(sorted.length * 0.1)] ?? mel.silence;
  const keep: number[] = [];
  for (let k = 0; k < nFrames; k++) if (energy[k]! > floor || nFrames < 10) keep.push(k);
  const mean = new Float32Array(nMels);
  const std = new Float32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    let s = 0;
    let s2 = 0;
    for (const k of keep) {
      const v = data[m * nFrames + k]!;
      s += v;
      s2 += v * v;
    }
    const n = Math.max(1, keep.length);
    mean[m] = s / n;
    std[m] = Math.sqrt(Math.max(1e-6, s2 / n - (s / n) ** 2));
  }
  return { mean, std };
}

export interface AudioFeatureLayout {
  melBands: number;
  windowFrames: number;
  /** Bands averaged together (80 -> 20 with 4). */
  bandPool: number;
  /** Window frames averaged together (24 -> 12 with 2). */
  framePool: number;
}

/** 80 x 24 paper windows pooled to 20 x 12 = 240 features: fewer weights to fit from a short clip. */
export const DEFAULT_AUDIO_LAYOUT: AudioFeatureLayout = Object.freeze({ melBands: 80, windowFrames: 24, bandPool: 4, framePool: 2 });

/**
 * The candidate poolings the fit chooses among by cross-validation when no `layout` is given:
 * the default 20 x 12, and 4 broad bands x 12 or x 6 frames (48 and 24 features), which win on
 * footage too short or too noisy for 240 weights per output. The extra two cost O(d²) of
 * statistics each, a few percent of the fit.
 */
export const DEFAULT_AUDIO_LAYOUTS: readonly AudioFeatureLayout[] = Object.freeze([
  DEFAULT_AUDIO_LAYOUT,
  Object.freeze({ melBands: 80, windowFrames: 24, bandPool: 20, framePool: 2 }),
  Object.freeze({ melBands: 80, windowFrames: 24, bandPool: 20, framePool: 4 }),
]);

/**
 * Where the mouth hangs from: the mean (x, y) of the `NOSE_BASE` points of canonical
 * landmarks (468 x 3). The personalized model pastes a chosen mouth at the same offset from
 * the target frame's anchor as it had from its own source frame's.
 */
export function mouthAnchor(canonicalLandmarks: ArrayLike<number>): [number, number] {
  return centroid(canonicalLandmarks, NOSE_BASE);
}

export function audioFeatureSize(l: AudioFeatureLayout): number {
  return (l.melBands / l.bandPool) * (l.windowFrames / l.framePool);
}

/** Normalised, pooled features of one band-major window. */
export function audioFeature(window: ArrayLike<number>, stats: MelBandStats, l: AudioFeatureLayout, out?: Float64Array): Float64Array {
  const B = l.melBands / l.bandPool;
  const F = l.windowFrames / l.framePool;
  const f = out ?? new Float64Array(B * F);
  f.fill(0);
  const scale = 1 / (l.bandPool * l.framePool);
  for (let m = 0; m < l.melBands; m++) {
    const mu = stats.mean[m]!;
    const inv = 1 / stats.std[m]!;
    const row = Math.floor(m / l.bandPool) * F;
    for (let k = 0; k < l.windowFrames; k++) {
      const idx = row + Math.floor(k / l.framePool);
      f[idx] = f[idx]! + (window[m * l.windowFrames + k]! - mu) * inv * scale;
    }
  }
  return f;
}

/** The landmark points whose canonical positions make the mouth shape: lips and jaw. */
export const MOUTH_SHAPE_POINTS: readonly number[] = Object.freeze([...LIPS, ...JAW]);

/** x, y of the mouth-shape points from canonical landmarks (x, y, z per point). */
export function mouthShape(canonical: ArrayLike<number>, out?: Float64Array): Float64Array {
  const f = out ?? new Float64Array(MOUTH_SHAPE_POINTS.length * 2);
  MOUTH_SHAPE_POINTS.forEach((p, i) => {
    f[2 * i] = canonical[3 * p]!;
    f[2 * i + 1] = canonical[3 * p + 1]!;
  });
  return f;
}

/** Inner-lip gap (points 13, 14) in canonical pixels, from a mouth-shape vector. */
export function shapeOpening(shape: ArrayLike<number>): number {
  const u = MOUTH_SHAPE_POINTS.indexOf(13);
  const l = MOUTH_SHAPE_POINTS.indexOf(14);
  return Math.hypot(shape[2 * l]! - shape[2 * u]!, shape[2 * l + 1]! - shape[2 * u + 1]!);
}

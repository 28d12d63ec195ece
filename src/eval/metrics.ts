/**
 * Quality metrics for lip-sync (001 s7, 003 s5). Pure functions on plain arrays so each can be
 * checked on synthetic cases with known answers (test/eval/metrics.test.ts).
 *
 * Images are RGB24 row-major (`{ data, width, height }`); landmarks are the face stack's flat
 * [x0, y0, z0, x1, ...] arrays of 468 MediaPipe points in pixels.
 */
import { AvdubError, ErrorCode } from '../errors.js';
import type { RgbImage } from '../face/image.js';
import { MOUTH_OPENING, interocularDistance } from '../face/landmarks.js';

export type { RgbImage };

/** A pixel rectangle [x0, y0) to [x1, y1). */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function fullRect(img: RgbImage): Rect {
  return { x0: 0, y0: 0, x1: img.width, y1: img.height };
}

function sameSize(a: RgbImage, b: RgbImage): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
}

/** Peak signal-to-noise ratio in dB over a region (all three channels); Infinity when identical. */
export function psnr(a: RgbImage, b: RgbImage, region: Rect = fullRect(a)): number {
  sameSize(a, b);
  let se = 0;
  let n = 0;
  for (let y = region.y0; y < region.y1; y++) {
    for (let i = (y * a.width + region.x0) * 3, end = (y * a.width + region.x1) * 3; i < end; i++) {
      const d = a.data[i]! - b.data[i]!;
      se += d * d;
      n++;
    }
  }
  if (n === 0) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Empty region for PSNR');
  const mse = se / n;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** BT.601 luma of a region as float, row-major (w x h). */
export function luma(img: RgbImage, region: Rect = fullRect(img)): { data: Float64Array; width: number; height: number } {
  const w = region.x1 - region.x0;
  const h = region.y1 - region.y0;
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = ((y + region.y0) * img.width + x + region.x0) * 3;
      out[y * w + x] = 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
    }
  }
  return { data: out, width: w, height: h };
}

/**
 * Mean structural similarity of the luma over a region (Wang et al. 2004: 11x11 Gaussian
 * window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255; "valid" windows only). 1 when identical.
 */
export function ssim(a: RgbImage, b: RgbImage, region: Rect = fullRect(a)): number {
  sameSize(a, b);
  const A = luma(a, region);
  const B = luma(b, region);
  const { width: w, height: h } = A;
  const R = 5;
  if (w < 2 * R + 1 || h < 2 * R + 1) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Region too small for SSIM (needs 11x11)');
  const g = new Float64Array(2 * R + 1);
  let gs = 0;
  for (let i = -R; i <= R; i++) gs += g[i + R] = Math.exp(-(i * i) / (2 * 1.5 * 1.5));
  for (let i = 0; i < g.length; i++) g[i]! /= gs;
  // Separable Gaussian filtering of a, b, a², b², ab.
  const blur = (src: Float64Array): Float64Array => {
    const tmp = new Float64Array(w * h);
    const out = new Float64Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = R; x < w - R; x++) {
        let s = 0;
        for (let k = -R; k <= R; k++) s += g[k + R]! * src[y * w + x + k]!;
        tmp[y * w + x] = s;
      }
    }
    for (let y = R; y < h - R; y++) {
      for (let x = R; x < w - R; x++) {
        let s = 0;
        for (let k = -R; k <= R; k++) s += g[k + R]! * tmp[(y + k) * w + x]!;
        out[y * w + x] = s;
      }
    }
    return out;
  };
  const prod = (p: Float64Array, q: Float64Array): Float64Array => p.map((v, i) => v * q[i]!);
  const mA = blur(A.data);
  const mB = blur(B.data);
  const sAA = blur(prod(A.data, A.data));
  const sBB = blur(prod(B.data, B.data));
  const sAB = blur(prod(A.data, B.data));
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let sum = 0;
  let n = 0;
  for (let y = R; y < h - R; y++) {
    for (let x = R; x < w - R; x++) {
      const i = y * w + x;
      const ma = mA[i]!;
      const mb = mB[i]!;
      const va = sAA[i]! - ma * ma;
      const vb = sBB[i]! - mb * mb;
      const cov = sAB[i]! - ma * mb;
      sum += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      n++;
    }
  }
  return sum / n;
}

/** Variance of the 4-neighbour Laplacian of the luma: a standard focus/sharpness measure. */
export function laplacianVariance(img: RgbImage, region: Rect = fullRect(img)): number {
  const { data, width: w, height: h } = luma(img, region);
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const l = data[i - 1]! + data[i + 1]! + data[i - w]! + data[i + w]! - 4 * data[i]!;
      s += l;
      s2 += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = s / n;
  return s2 / n - mean * mean;
}

/** Sharpness of `generated` relative to `source` over the same region (1 = as sharp). */
export function sharpnessRatio(generated: RgbImage, source: RgbImage, region?: Rect): number {
  const ref = laplacianVariance(source, region);
  return ref > 0 ? laplacianVariance(generated, region) / ref : Number.NaN;
}

/**
 * Landmark distance (LMD): the mean Euclidean distance between corresponding points of two
 * landmark sets (x, y only), divided by the reference's inter-ocular distance so it does not
 * depend on the face's size in pixels.
 */
export function lmd(predicted: ArrayLike<number>, reference: ArrayLike<number>, indices: readonly number[]): number {
  const iod = interocularDistance(reference);
  if (!(iod > 0)) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Reference landmarks have no inter-ocular distance');
  let s = 0;
  for (const k of indices) {
    s += Math.hypot(predicted[3 * k]! - reference[3 * k]!, predicted[3 * k + 1]! - reference[3 * k + 1]!);
  }
  return s / indices.length / iod;
}

/** Inner-lip gap (upper to lower lip centre) over the inter-ocular distance. */
export function mouthOpening(landmarks: ArrayLike<number>): number {
  const [u, l] = MOUTH_OPENING as readonly [number, number];
  const gap = Math.hypot(landmarks[3 * l]! - landmarks[3 * u]!, landmarks[3 * l + 1]! - landmarks[3 * u + 1]!);
  return gap / interocularDistance(landmarks);
}

/** Pearson correlation; NaN when either series is constant or empty. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  if (n < 2) return Number.NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}

/**
 * The audio-visual offset: the lag (in frames) of `generated` against `reference` that
 * maximises their correlation, searched in [-maxLag, maxLag]. A positive offset means the
 * generated mouth moves later than the reference (generated[t + offset] ~ reference[t]).
 */
export function bestOffset(
  generated: ArrayLike<number>,
  reference: ArrayLike<number>,
  maxLag = 10,
): { offset: number; correlation: number } {
  let best = { offset: 0, correlation: -Infinity };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const g: number[] = [];
    const r: number[] = [];
    for (let t = 0; t < reference.length; t++) {
      const u = t + lag;
      if (u >= 0 && u < generated.length) {
        g.push(generated[u]!);
        r.push(reference[t]!);
      }
    }
    const c = pearson(g, r);
    // Prefer the smallest |lag| among ties so a flat plateau does not invent an offset.
    if (c > best.correlation + 1e-12 || (Math.abs(c - best.correlation) <= 1e-12 && Math.abs(lag) < Math.abs(best.offset))) {
      best = { offset: lag, correlation: c };
    }
  }
  return best;
}

/**
 * Temporal jitter of landmarks: the mean distance of each point from the midpoint of its
 * neighbours in time (a discrete second difference), over the inter-ocular distance. Smooth
 * motion scores ~0; frame-to-frame flicker scores high. Constant-velocity motion scores 0.
 */
export function landmarkJitter(sequence: ArrayLike<number>[], indices: readonly number[]): number {
  if (sequence.length < 3) return 0;
  let s = 0;
  let n = 0;
  for (let t = 1; t < sequence.length - 1; t++) {
    const p = sequence[t - 1]!;
    const c = sequence[t]!;
    const q = sequence[t + 1]!;
    const iod = interocularDistance(c);
    for (const k of indices) {
      const dx = c[3 * k]! - (p[3 * k]! + q[3 * k]!) / 2;
      const dy = c[3 * k + 1]! - (p[3 * k + 1]! + q[3 * k + 1]!) / 2;
      s += Math.hypot(dx, dy) / iod;
      n++;
    }
  }
  return s / n;
}

/**
 * Pixels (not channel values) that differ between the original and the output frame where
 * `mask` is 0, i.e. outside the render mask's support. Must be 0 for avdub's renderer.
 * `mask` is one byte per pixel, or a predicate on (x, y).
 */
export function changedPixelsOutside(
  original: RgbImage,
  output: RgbImage,
  mask: Uint8Array | ((x: number, y: number) => boolean),
): number {
  sameSize(original, output);
  let n = 0;
  const inside = typeof mask === 'function' ? mask : (x: number, y: number) => mask[y * original.width + x]! !== 0;
  for (let y = 0; y < original.height; y++) {
    for (let x = 0; x < original.width; x++) {
      if (inside(x, y)) continue;
      const i = (y * original.width + x) * 3;
      if (original.data[i] !== output.data[i] || original.data[i + 1] !== output.data[i + 1] || original.data[i + 2] !== output.data[i + 2]) n++;
    }
  }
  return n;
}

/** A phoneme with its time span, as TTS providers report them (IPA or espeak mnemonics). */
export interface TimedPhoneme {
  text: string;
  start: number;
  end: number;
}

/** Bilabials close the lips completely; open vowels open them widest. */
export const BILABIAL_PHONEMES: readonly string[] = Object.freeze(['p', 'b', 'm']);
export const OPEN_VOWEL_PHONEMES: readonly string[] = Object.freeze(['a', 'A', 'a:', 'A:', 'aa', 'ɑ', 'ɑː', 'aː', 'æ', 'a#', 'aI', 'aU', 'aɪ', 'aʊ', 'ɐ']);

/** A phoneme as TTS engines report it, without IPA/espeak stress and emphasis marks (ˈɑː -> ɑː). */
export function normalizePhoneme(text: string): string {
  return text.replace(/[ˈˌ'",%=]/g, '');
}

/**
 * Viseme consistency: for each bilabial phoneme, is the mouth (at the frame nearest the
 * phoneme's midpoint) among the most closed, and for each open vowel among the most open?
 * "Closed"/"open" are relative to this clip: below the 25th / above the 50th percentile of
 * its opening. Returns the fraction of checked phonemes that agree, per class.
 */
export function visemeConsistency(
  openings: ArrayLike<number>,
  timestamps: ArrayLike<number>,
  phonemes: readonly TimedPhoneme[],
): { bilabialClosed: number; openVowelOpen: number; checked: number } {
  const sorted = Array.from(openings).sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const closedBelow = q(0.25);
  const openAbove = q(0.5);
  const nearest = (t: number): number => {
    let best = 0;
    for (let i = 1; i < timestamps.length; i++) if (Math.abs(timestamps[i]! - t) < Math.abs(timestamps[best]! - t)) best = i;
    return best;
  };
  let bil = 0;
  let bilOk = 0;
  let vow = 0;
  let vowOk = 0;
  for (const p of phonemes) {
    const o = openings[nearest((p.start + p.end) / 2)]!;
    const text = normalizePhoneme(p.text);
    if (BILABIAL_PHONEMES.includes(text)) {
      bil++;
      if (o <= closedBelow) bilOk++;
    } else if (OPEN_VOWEL_PHONEMES.includes(text)) {
      vow++;
      if (o >= openAbove) vowOk++;
    }
  }
  return {
    bilabialClosed: bil ? bilOk / bil : Number.NaN,
    openVowelOpen: vow ? vowOk / vow : Number.NaN,
    checked: bil + vow,
  };
}

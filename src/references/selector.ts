import { mouthMask } from '../canonical/masks.js';
import { AvdubError, ErrorCode } from '../errors.js';
import type { RgbImage } from '../face/image.js';
import { is } from '../util/validate.js';

/** One candidate frame: its index, its landmarks (canonical coordinates) and head rotation. */
export interface ReferenceCandidate {
  frame: number;
  /** Flat [x0, y0, (z0,) x1, ...]: only the x, y of `landmarkIndices` are used. */
  landmarks: ArrayLike<number>;
  /** Head rotation in degrees. */
  pose: { yaw: number; pitch: number; roll: number };
}

export interface ReferenceSelectorOptions {
  /** References to pick. @default 10 (001 s3.1.4: K-means with 10 clusters) */
  k?: number;
  /** Landmark point indices used as features; undefined: all points. */
  landmarkIndices?: readonly number[];
  /** Coordinates per landmark point in `landmarks` (3 for the face stack's x, y, z). @default 3 */
  stride?: number;
  /** Canonical pixels one degree of head rotation counts for in the feature distance. @default 2 */
  rotationWeight?: number;
  /** Frames on each side of a target frame that may not be references (001 s3.1.4: no leak). @default 12 */
  exclusionFrames?: number;
  /** Seed of the k-means++ initialisation: the same seed gives the same references. @default 1 */
  seed?: number;
  /** Lloyd iterations at most. @default 50 */
  maxIterations?: number;
}

export const defaultReferenceSelectorOptions = {
  k: 10,
  stride: 3,
  rotationWeight: 2,
  exclusionFrames: 12,
  seed: 1,
  maxIterations: 50,
};

/**
 * Chooses diverse reference frames (001 s3.1.4): K-means (k-means++ seeding) over landmark
 * positions plus head rotation, and the frame nearest each cluster centre. Frames within
 * `exclusionFrames` of any target frame are never chosen, so a reference is never the target or
 * one of its neighbours. Deterministic for a given seed.
 */
export class ReferenceSelector {
  readonly options: typeof defaultReferenceSelectorOptions & Pick<ReferenceSelectorOptions, 'landmarkIndices'>;

  constructor(options: ReferenceSelectorOptions = {}) {
    this.options = { ...defaultReferenceSelectorOptions, ...stripUndefined(options) };
    is.integer('k', this.options.k, 1, 1000);
    is.integer('exclusionFrames', this.options.exclusionFrames, 0);
    is.number('rotationWeight', this.options.rotationWeight, 0);
  }

  /**
   * @param targets frame indices that will be generated (their neighbourhoods are excluded)
   * @returns chosen frame indices, in increasing order (fewer than k if fewer candidates remain)
   */
  select(candidates: readonly ReferenceCandidate[], targets: Iterable<number> | { start: number; end: number }[] = []): number[] {
    const { k, exclusionFrames: w } = this.options;
    const banned = (frame: number): boolean => {
      for (const r of ranges) if (frame >= r.start - w && frame <= r.end + w) return true;
      return false;
    };
    const ranges = toRanges(targets);
    const pool = candidates.filter((c) => !banned(c.frame));
    if (pool.length === 0) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `No reference candidates remain outside the ${w}-frame exclusion window of the targets`);
    }
    const feats = pool.map((c) => this.feature(c));
    const dim = feats[0]!.length;
    if (pool.length <= k) return pool.map((c) => c.frame).sort((a, b) => a - b);
    const rand = mulberry32(this.options.seed);
    // k-means++ seeding.
    const centres: Float64Array[] = [Float64Array.from(feats[Math.floor(rand() * feats.length)]!)];
    const d2 = feats.map((f) => dist2(f, centres[0]!));
    while (centres.length < k) {
      const total = d2.reduce((a, b) => a + b, 0);
      let r = rand() * total;
      let pick = 0;
      for (; pick < feats.length - 1; pick++) if ((r -= d2[pick]!) <= 0) break;
      centres.push(Float64Array.from(feats[pick]!));
      for (let i = 0; i < feats.length; i++) d2[i] = Math.min(d2[i]!, dist2(feats[i]!, centres.at(-1)!));
    }
    // Lloyd iterations.
    const assign = new Int32Array(feats.length).fill(-1);
    for (let it = 0; it < this.options.maxIterations; it++) {
      let changed = 0;
      feats.forEach((f, i) => {
        let best = 0;
        let bd = Infinity;
        centres.forEach((c, j) => {
          const d = dist2(f, c);
          if (d < bd) {
            bd = d;
            best = j;
          }
        });
        if (assign[i] !== best) {
          assign[i] = best;
          changed++;
        }
      });
      if (changed === 0) break;
      centres.forEach((c, j) => {
        const sum = new Float64Array(dim);
        let n = 0;
        feats.forEach((f, i) => {
          if (assign[i] !== j) return;
          for (let q = 0; q < dim; q++) sum[q] = sum[q]! + f[q]!;
          n++;
        });
        if (n > 0) for (let q = 0; q < dim; q++) c[q] = sum[q]! / n;
      });
    }
    // The frame nearest each centre (distinct frames).
    const chosen = new Set<number>();
    for (const c of centres) {
      let best = -1;
      let bd = Infinity;
      feats.forEach((f, i) => {
        const d = dist2(f, c);
        if (d < bd && !chosen.has(i)) {
          bd = d;
          best = i;
        }
      });
      if (best >= 0) chosen.add(best);
    }
    return [...chosen].map((i) => pool[i]!.frame).sort((a, b) => a - b);
  }

  private feature(c: ReferenceCandidate): Float64Array {
    const { stride, rotationWeight } = this.options;
    const n = Math.floor(c.landmarks.length / stride);
    const idx = this.options.landmarkIndices ?? [...Array(n).keys()];
    const f = new Float64Array(idx.length * 2 + 3);
    idx.forEach((p, i) => {
      f[2 * i] = c.landmarks[p * stride]!;
      f[2 * i + 1] = c.landmarks[p * stride + 1]!;
    });
    f[idx.length * 2] = c.pose.yaw * rotationWeight;
    f[idx.length * 2 + 1] = c.pose.pitch * rotationWeight;
    f[idx.length * 2 + 2] = c.pose.roll * rotationWeight;
    return f;
  }
}

/**
 * Keeps only the mouth region of a canonical crop (001 s3.1.4: "leaving only lip pixel region
 * in the reference frames"): pixels outside the mouth rectangle become `fill`.
 */
export function maskReferenceToMouth(crop: RgbImage, fill = 0): RgbImage {
  if (crop.width !== crop.height) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a square canonical crop');
  const mask = mouthMask(crop.width);
  const out = new Uint8Array(crop.data);
  for (let p = 0; p < mask.length; p++) if (mask[p] === 0) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = fill;
  return { data: out, width: crop.width, height: crop.height };
}

function toRanges(targets: Iterable<number> | { start: number; end: number }[]): { start: number; end: number }[] {
  const arr = Array.isArray(targets) ? targets : [...targets];
  if (arr.length > 0 && typeof arr[0] === 'object') return arr as { start: number; end: number }[];
  // Collapse frame indices into runs so the exclusion test stays cheap on long videos.
  const sorted = (arr as number[]).slice().sort((a, b) => a - b);
  const out: { start: number; end: number }[] = [];
  for (const f of sorted) {
    const last = out.at(-1);
    if (last && f <= last.end + 1) last.end = Math.max(last.end, f);
    else out.push({ start: f, end: f });
  }
  return out;
}

function dist2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

/** A small seeded PRNG (mulberry32): references must not depend on Math.random. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

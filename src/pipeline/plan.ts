/**
 * Which frames are lip-synced: the main track is split into runs (consecutive frames with the
 * face, inside one shot, without a jump of the face), very short runs are left alone, and the
 * mouth fades in and out over a few frames at each run's edges.
 */
import type { FaceImage } from '../face/image.js';
import { yuvCoefficients } from '../media/yuv.js';
import { interocularDistance } from '../face/landmarks.js';
import type { MainFace } from './analysis.js';

/**
 * Shot-cut detector: the mean absolute difference between consecutive frames' coarse luma
 * grids (block means), in 0-255 levels. A talking head moving in one shot changes the block
 * means by a few levels; a cut changes them by tens.
 */
export class CutDetector {
  private prev?: Float32Array;
  private readonly grid: number;

  constructor(
    readonly threshold: number,
    grid = 24,
  ) {
    this.grid = grid;
  }

  /**
   * The difference to the previous frame (NaN for the first). An I420 frame is read from its
   * Y plane, rescaled to 0-255 (its own matrix's luma, against BT.601's from RGB: the same
   * within a few levels, far below the threshold).
   */
  push(frame: FaceImage): number {
    const g = this.grid;
    const { width: w, height: h, data } = frame;
    const yuv = 'yuv' in frame ? yuvCoefficients(frame.yuv) : undefined;
    const cur = new Float32Array(g * g);
    // Sample each block on a 6 x 6 lattice: cheap on 4K, stable against noise.
    const S = 6;
    for (let by = 0; by < g; by++) {
      const y0 = Math.floor((by * h) / g);
      const y1 = Math.max(y0 + 1, Math.floor(((by + 1) * h) / g));
      for (let bx = 0; bx < g; bx++) {
        const x0 = Math.floor((bx * w) / g);
        const x1 = Math.max(x0 + 1, Math.floor(((bx + 1) * w) / g));
        let s = 0;
        let n = 0;
        for (let j = 0; j < S; j++) {
          const y = Math.min(h - 1, y0 + Math.floor(((j + 0.5) * (y1 - y0)) / S));
          for (let i = 0; i < S; i++) {
            const x = Math.min(w - 1, x0 + Math.floor(((i + 0.5) * (x1 - x0)) / S));
            if (yuv) s += data[y * w + x]!;
            else {
              const o = (y * w + x) * 3;
              s += 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
            }
            n++;
          }
        }
        cur[by * g + bx] = yuv ? (s / n - yuv.yOff) * yuv.yScale : s / n;
      }
    }
    const prev = this.prev;
    this.prev = cur;
    if (!prev) return Number.NaN;
    let d = 0;
    for (let i = 0; i < cur.length; i++) d += Math.abs(cur[i]! - prev[i]!);
    return d / cur.length;
  }

  /** True when `difference` (from `push`) marks a cut. */
  isCut(difference: number): boolean {
    return difference > this.threshold;
  }
}

export interface RunPlanOptions {
  /** Runs shorter than this pass through untouched. */
  minRunFrames: number;
  /** Frames of fade at each run edge that borders untouched frames. */
  fadeFrames: number;
  /** The face centre moving more than this many eye distances between two frames splits a run. */
  maxJump: number;
  frameCount: number;
}

/** A stretch of consecutive main-track frames that is lip-synced as one sequence. */
export interface RenderRun {
  /** First and last frame index (inclusive). */
  start: number;
  end: number;
  /** Mask opacity per frame of the run: ramps at the edges (cross-fade), 1 inside. */
  opacity: Float32Array;
  /** Why the run starts and ends where it does. */
  startReason: 'video-start' | 'track-start' | 'gap' | 'cut' | 'jump';
  endReason: 'video-end' | 'track-end' | 'gap' | 'cut' | 'jump';
}

export interface RunPlan {
  runs: RenderRun[];
  /** Main-track frames left untouched because their run was too short. */
  shortRunFrames: number;
  shortRuns: number;
  /** Runs split at shot cuts / face jumps. */
  splitsAtCuts: number;
  splitsAtJumps: number;
}

function eyeCentre(l: ArrayLike<number>): [number, number] {
  // 33/133 and 362/263: eye corners.
  return [(l[3 * 33]! + l[3 * 133]! + l[3 * 362]! + l[3 * 263]!) / 4, (l[3 * 33 + 1]! + l[3 * 133 + 1]! + l[3 * 362 + 1]! + l[3 * 263 + 1]!) / 4];
}

export function planRuns(main: readonly MainFace[], cuts: readonly number[], o: RunPlanOptions): RunPlan {
  const cutSet = new Set(cuts);
  type Span = { start: number; end: number; startReason: RenderRun['startReason']; endReason: RenderRun['endReason'] };
  const spans: Span[] = [];
  let splitsAtCuts = 0;
  let splitsAtJumps = 0;
  let cur: Span | undefined;
  for (let i = 0; i < main.length; i++) {
    const f = main[i]!;
    const prev = i > 0 ? main[i - 1]! : undefined;
    let reason: RenderRun['startReason'] | undefined;
    if (!prev) reason = f.index === 0 ? 'video-start' : 'track-start';
    else if (f.index !== prev.index + 1) reason = 'gap';
    else if (cutSet.has(f.index)) reason = 'cut';
    else {
      const pl = prev.landmarks;
      const [ax, ay] = eyeCentre(pl);
      const [bx, by] = eyeCentre(f.landmarks);
      const iod = Math.max(1, interocularDistance(pl));
      if (Math.hypot(bx - ax, by - ay) > o.maxJump * iod) reason = 'jump';
    }
    if (reason) {
      if (cur) {
        cur.endReason = reason === 'video-start' || reason === 'track-start' ? 'track-end' : reason;
        spans.push(cur);
      }
      if (reason === 'cut') splitsAtCuts++;
      if (reason === 'jump') splitsAtJumps++;
      cur = { start: f.index, end: f.index, startReason: reason, endReason: 'track-end' };
    } else cur!.end = f.index;
  }
  if (cur) {
    cur.endReason = cur.end === o.frameCount - 1 ? 'video-end' : 'track-end';
    spans.push(cur);
  }
  const runs: RenderRun[] = [];
  let shortRunFrames = 0;
  let shortRuns = 0;
  for (const s of spans) {
    const n = s.end - s.start + 1;
    if (n < o.minRunFrames) {
      shortRunFrames += n;
      shortRuns++;
      continue;
    }
    const F = o.fadeFrames;
    const fadeIn = s.startReason !== 'video-start';
    const fadeOut = s.endReason !== 'video-end';
    const opacity = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      let a = 1;
      if (F > 0 && fadeIn) a = Math.min(a, (k + 1) / (F + 1));
      if (F > 0 && fadeOut) a = Math.min(a, (n - k) / (F + 1));
      opacity[k] = a;
    }
    runs.push({ start: s.start, end: s.end, opacity, startReason: s.startReason, endReason: s.endReason });
  }
  return { runs, shortRunFrames, shortRuns, splitsAtCuts, splitsAtJumps };
}

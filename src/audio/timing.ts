import os from 'node:os';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import type { AudioData } from '../media/audio.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import { ProgressMeter, type OperationOptions } from '../util/progress.js';
import { is } from '../util/validate.js';
import { checkAudio, resample, toMono } from './resample.js';
import { timeStretch, type StretchEngine } from './stretch.js';

/**
 * TimingAligner: fits one synthesized clip per segment into the original timeline and renders
 * one track of exactly the video's duration (design.md "Timing").
 *
 * Per segment, in timeline order (the full algorithm is in docs/audio.md):
 * 1. The clip is trimmed of leading/trailing near-silence (never below `trimThresholdDb`
 *    under its loudest 10 ms, and `trimKeepMs` is kept), so TTS padding does not eat the slot.
 * 2. Room: its slot, plus silence borrowed from the pause after it, then from the pause before
 *    it (what the previous segment left), each side at most `maxBorrowMs`, keeping `minGapMs`
 *    between segments.
 * 3. Fit: a clip shorter than its slot starts on the slot and is slowed down towards the slot
 *    length (never below `maxSlowdown`); a longer one borrows first (natural speed), then is
 *    sped up to fill its room exactly, never beyond `maxSpeedup`.
 * 4. What still does not fit overflows: it is never cut, it pushes the next segments later,
 *    and is reported (`overflowMs`). If speech would run past the end of the track, segments
 *    are pulled earlier into any earlier silence; only if the whole track cannot hold the speech
 *    at `maxSpeedup` is the end cut, and that is reported as `truncatedMs` and a warning
 *    (or thrown, with `onOverflow: 'throw'`).
 */

export interface TimingSegment {
  id: string;
  /** Original slot, seconds. */
  start: number;
  end: number;
}

export interface TimingAlignerOptions {
  /** Largest speed-up factor (1.25 = 25% faster). @default 1.25 */
  maxSpeedup: number;
  /** Smallest slow-down factor (0.9 = 10% slower). @default 0.9 */
  maxSlowdown: number;
  /** Slow clips shorter than their slot down towards the slot length (bounded by maxSlowdown). @default true */
  slowDownToFill: boolean;
  /** Most silence a segment may borrow on each side, ms. @default 1000 */
  maxBorrowMs: number;
  /** Silence kept between two segments when borrowing, ms. @default 100 */
  minGapMs: number;
  /** Trim leading/trailing near-silence of each clip. @default true */
  trimSilence: boolean;
  /** Trim threshold relative to the clip's loudest 10 ms, dB. @default -50 */
  trimThresholdDb: number;
  /** Silence kept at each trimmed edge, ms. @default 20 */
  trimKeepMs: number;
  /** Output rate; 0 takes the first clip's rate. @default 0 */
  sampleRate: number;
  /** Time-stretch engine (see `timeStretch`). @default 'rubberband' */
  engine: StretchEngine;
  /** Concurrent ffmpeg stretch processes. @default min(4, cores) */
  concurrency: number;
  /** 'report': impossible cases are reported in the result; 'throw': they throw E_TIMING_OVERFLOW. @default 'report' */
  onOverflow: 'report' | 'throw';
}

export const defaultTimingAlignerOptions: TimingAlignerOptions = {
  maxSpeedup: 1.25,
  maxSlowdown: 0.9,
  slowDownToFill: true,
  maxBorrowMs: 1000,
  minGapMs: 100,
  trimSilence: true,
  trimThresholdDb: -50,
  trimKeepMs: 20,
  sampleRate: 0,
  engine: 'rubberband',
  concurrency: Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length)),
  onOverflow: 'report',
};

/** Custom stretcher (tests, other engines): must return exactly round(frames / factor) frames. */
export type Stretcher = (audio: AudioData, factor: number, options: { signal?: AbortSignal }) => Promise<AudioData>;

export interface PlannedSegment {
  id: string;
  /** Index in the input array. */
  index: number;
  slotStart: number;
  slotEnd: number;
  /** Clip duration after trimming, seconds. */
  clipDuration: number;
  /** Speed factor applied: > 1 faster, < 1 slower, 1 untouched. */
  factor: number;
  /** Where the speech is placed, seconds (placedEnd - placedStart = clipDuration / factor). */
  placedStart: number;
  placedEnd: number;
  /** placedStart - slot start, ms (negative: earlier). */
  shiftMs: number;
  /** Silence used before the slot start / after the slot end, ms. */
  borrowedBeforeMs: number;
  borrowedAfterMs: number;
  /** How far the speech runs beyond the room it was allowed (slot + borrowable silence), ms. 0: it fits. */
  overflowMs: number;
  /** Speech cut because it ran past the end of the track (only in impossible cases), ms. */
  truncatedMs: number;
  /** Silence trimmed from the clip's start and end, ms. */
  trimmedStartMs: number;
  trimmedEndMs: number;
}

export interface TimingPlan {
  sampleRate: number;
  /** Output length in samples: round(duration * sampleRate). */
  length: number;
  segments: PlannedSegment[];
  warnings: string[];
}

export interface AlignResult extends TimingPlan {
  /** Mono track of exactly `length` samples. */
  track: AudioData & { channels: 1 };
}

export interface AlignInput {
  segments: (TimingSegment & { clip: AudioData })[];
  /** Track duration in seconds (the video's). */
  duration: number;
}

export interface PlanInput {
  segments: (TimingSegment & { clipDuration: number })[];
  duration: number;
  /** Sample grid the plan is rounded to. @default 48000 */
  sampleRate?: number;
}

export interface AlignOptions extends OperationOptions {
  /** Replaces the ffmpeg stretch (for tests or another engine). */
  stretcher?: Stretcher;
}

interface Work {
  id: string;
  index: number;
  s: number; // slot start, samples
  e: number; // slot end
  n: number; // clip samples (after trim)
  trimStart: number;
  trimEnd: number;
}

export class TimingAligner {
  readonly options: Readonly<TimingAlignerOptions>;

  constructor(options?: DeepPartial<TimingAlignerOptions>) {
    const o = mergeOptions(defaultTimingAlignerOptions, options as Partial<TimingAlignerOptions>);
    is.number('maxSpeedup', o.maxSpeedup, 1, 2);
    is.number('maxSlowdown', o.maxSlowdown, 0.5, 1);
    is.boolean('slowDownToFill', o.slowDownToFill);
    is.number('maxBorrowMs', o.maxBorrowMs, 0);
    is.number('minGapMs', o.minGapMs, 0, 10000);
    is.boolean('trimSilence', o.trimSilence);
    is.number('trimThresholdDb', o.trimThresholdDb, -200, 0);
    is.number('trimKeepMs', o.trimKeepMs, 0, 10000);
    if (o.sampleRate !== 0) is.integer('sampleRate', o.sampleRate, 1000, 384000);
    is.oneOf('engine', o.engine, ['rubberband', 'atempo'] as const);
    is.integer('concurrency', o.concurrency, 1, 64);
    is.oneOf('onOverflow', o.onOverflow, ['report', 'throw'] as const);
    this.options = Object.freeze(o);
  }

  /** Plans placements from clip durations alone (no audio, no ffmpeg). */
  plan(input: PlanInput): TimingPlan {
    const sr = input.sampleRate ?? 48000;
    is.integer('sampleRate', sr, 1000, 384000);
    const segs = this.checkSegments(input.segments, input.duration);
    const work: Work[] = segs.map((s, index) => {
      is.number(`segments[${index}].clipDuration`, s.clipDuration, 0);
      return {
        id: s.id,
        index,
        s: Math.round(s.start * sr),
        e: Math.round(s.end * sr),
        n: Math.round(s.clipDuration * sr),
        trimStart: 0,
        trimEnd: 0,
      };
    });
    return this.layout(work, Math.round(input.duration * sr), sr);
  }

  /** Fits, stretches and mixes the clips into one track of exactly `duration` seconds. */
  async align(input: AlignInput, options: AlignOptions = {}): Promise<AlignResult> {
    const o = this.options;
    const segs = this.checkSegments(input.segments, input.duration);
    segs.forEach((s, i) => checkAudio(`segments[${i}].clip`, s.clip));
    throwIfAborted(options.signal);
    const sr = o.sampleRate || segs[0]?.clip.sampleRate || 48000;
    const length = Math.round(input.duration * sr);

    // Mono at the track rate, trimmed.
    const clips: Float32Array[] = [];
    const work: Work[] = segs.map((s, index) => {
      const mono = resample(toMono(s.clip), sr).samples;
      const [a, b] = o.trimSilence ? trimBounds(mono, sr, o.trimThresholdDb, o.trimKeepMs) : [0, mono.length];
      clips.push(mono.subarray(a, b));
      return {
        id: s.id,
        index,
        s: Math.round(s.start * sr),
        e: Math.round(s.end * sr),
        n: b - a,
        trimStart: a,
        trimEnd: mono.length - b,
      };
    });
    const plan = this.layout(work, length, sr);

    // Stretch (in parallel ffmpeg children) and mix.
    const stretcher: Stretcher =
      options.stretcher ??
      (async (audio, factor, opts) => (await timeStretch(audio, factor, { engine: o.engine, signal: opts.signal })).audio);
    const track = new Float32Array(length);
    const meter = new ProgressMeter('align', plan.segments.length, options.onProgress);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.segments.length) {
        const p = plan.segments[next++]!;
        throwIfAborted(options.signal);
        const clip = clips[p.index]!;
        let out: Float32Array;
        if (p.factor === 1) {
          out = clip;
        } else {
          const r = await stretcher({ samples: clip, sampleRate: sr, channels: 1 }, p.factor, { signal: options.signal });
          out = r.samples;
          const want = Math.round(clip.length / p.factor);
          if (out.length !== want) {
            // A custom stretcher that misses by a few samples: pad or drop at the (silent) end.
            const fixed = new Float32Array(want);
            fixed.set(out.subarray(0, want));
            out = fixed;
          }
        }
        const at = Math.round(p.placedStart * sr);
        const from = Math.max(0, -at);
        const to = Math.min(out.length, length - at);
        for (let i = from; i < to; i++) track[at + i] = track[at + i]! + out[i]!;
        meter.tick(++done);
      }
    };
    const n = Math.min(this.options.concurrency, plan.segments.length);
    await Promise.all(Array.from({ length: n }, worker));
    throwIfAborted(options.signal);
    return { ...plan, track: { samples: track, sampleRate: sr, channels: 1 } };
  }

  private checkSegments<T extends TimingSegment>(segments: T[], duration: number): T[] {
    is.number('duration', duration, 0);
    if (!Array.isArray(segments)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected an array for segments', { details: { option: 'segments' } });
    }
    const ids = new Set<string>();
    segments.forEach((s, i) => {
      is.string(`segments[${i}].id`, s?.id);
      is.number(`segments[${i}].start`, s.start, 0);
      is.number(`segments[${i}].end`, s.end, s.start);
      if (ids.has(s.id)) {
        throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Duplicate segment id ${JSON.stringify(s.id)}`, {
          details: { option: `segments[${i}].id` },
        });
      }
      ids.add(s.id);
    });
    return segments;
  }

  /** The placement algorithm, on integer sample positions. */
  private layout(input: Work[], length: number, sr: number): TimingPlan {
    const o = this.options;
    const warnings: string[] = [];
    const work = [...input].sort((a, b) => a.s - b.s || a.e - b.e);
    const minGap = Math.round((o.minGapMs / 1000) * sr);
    const maxBorrow = Number.isFinite(o.maxBorrowMs) ? Math.round((o.maxBorrowMs / 1000) * sr) : Infinity;
    const count = work.length;
    for (const w of work) {
      if (w.e > length) {
        warnings.push(`Segment ${w.id} ends after the track (${(w.e / sr).toFixed(3)} s > ${(length / sr).toFixed(3)} s); its slot is clipped`);
        w.e = length;
        w.s = Math.min(w.s, length);
      }
    }
    for (let i = 1; i < count; i++) {
      if (work[i]!.s < work[i - 1]!.e) {
        warnings.push(`Segments ${work[i - 1]!.id} and ${work[i]!.id} overlap; treated as adjacent`);
      }
    }

    // Room: right gap first (onset stays on time), then what the previous segment left of the left gap.
    const need = work.map((w) => Math.max(0, w.n - (w.e - w.s)));
    const gapAfter = (i: number): number => {
      const w = work[i]!;
      if (i === count - 1) return Math.max(0, length - w.e);
      return Math.max(0, work[i + 1]!.s - w.e - minGap);
    };
    const gapBefore0 = count > 0 ? Math.max(0, work[0]!.s) : 0;
    const right = new Array<number>(count).fill(0);
    const left = new Array<number>(count).fill(0);
    for (let i = 0; i < count; i++) right[i] = Math.min(need[i]!, gapAfter(i), maxBorrow);
    for (let i = 0; i < count; i++) {
      const avail = i === 0 ? gapBefore0 : gapAfter(i - 1) - right[i - 1]!;
      left[i] = Math.min(Math.max(0, need[i]! - right[i]!), Math.max(0, avail), maxBorrow);
    }

    // Forward pass: factor and placement; overflow pushes the next segments later.
    const placed: { start: number; len: number; factor: number; roomStart: number; roomEnd: number }[] = [];
    let prevEnd = -Infinity;
    for (let i = 0; i < count; i++) {
      const w = work[i]!;
      const roomStart = w.s - left[i]!;
      const roomEnd = w.e + right[i]!;
      // Keep minGapMs after the previous segment, except where the original slots themselves
      // were closer (adjacent slots stay adjacent); after an overflow the gap is kept.
      const afterPrev = i === 0 ? 0 : prevEnd > w.s ? prevEnd + minGap : Math.min(prevEnd + minGap, w.s);
      const earliest = Math.max(roomStart, afterPrev);
      const preferred = Math.max(earliest, w.s);
      let factor = 1;
      let len = w.n;
      let start: number;
      if (w.n === 0) {
        start = preferred;
      } else if (preferred + w.n <= w.e) {
        // Shorter than its slot: start on time, optionally slow down towards the slot end.
        start = preferred;
        if (o.slowDownToFill) {
          const f = Math.max(o.maxSlowdown, w.n / (w.e - preferred));
          if (f < 0.995) {
            factor = f;
            len = Math.round(w.n / f);
          }
        }
      } else if (earliest + w.n <= roomEnd) {
        // Fits at natural speed with borrowed silence: as late as possible but not after the slot start.
        start = Math.min(preferred, roomEnd - w.n);
      } else {
        const avail = Math.max(1, roomEnd - earliest);
        factor = Math.min(o.maxSpeedup, w.n / avail);
        len = Math.round(w.n / factor);
        start = earliest;
      }
      placed.push({ start, len, factor, roomStart, roomEnd });
      prevEnd = start + len;
    }

    // Backward pass: speech past the end of the track moves earlier into earlier silence.
    if (count > 0 && placed[count - 1]!.start + placed[count - 1]!.len > length) {
      let limit = length;
      for (let i = count - 1; i >= 0; i--) {
        const p = placed[i]!;
        if (p.start + p.len <= limit) break;
        p.start = limit - p.len;
        limit = p.start; // emergency: the minimum gap is given up here
      }
      if (placed[0]!.start < 0) {
        // Impossible: the speech at maxSpeedup is longer than the track. Re-place from 0; the end is cut.
        let end = 0;
        for (const p of placed) {
          p.start = Math.max(p.start, end);
          end = p.start + p.len;
        }
      }
    }

    const segments: PlannedSegment[] = placed.map((p, i) => {
      const w = work[i]!;
      const end = p.start + p.len;
      const overflow = Math.max(0, end - p.roomEnd) + Math.max(0, p.roomStart - p.start);
      const truncated = Math.max(0, end - Math.max(length, p.start)) + Math.max(0, -p.start);
      const ms = (x: number): number => Math.round((x / sr) * 1e6) / 1e3;
      if (overflow > 0) {
        warnings.push(
          `Segment ${w.id} does not fit: it needs ${ms(overflow)} ms more than its slot and the neighbouring silence ` +
            `at ${p.factor.toFixed(3)}x (maxSpeedup ${o.maxSpeedup})`,
        );
      }
      if (truncated > 0) {
        warnings.push(`Segment ${w.id}: ${ms(truncated)} ms of speech run past the end of the track and are cut`);
      }
      return {
        id: w.id,
        index: w.index,
        slotStart: w.s / sr,
        slotEnd: w.e / sr,
        clipDuration: w.n / sr,
        factor: p.factor,
        placedStart: p.start / sr,
        placedEnd: end / sr,
        shiftMs: ms(p.start - w.s),
        borrowedBeforeMs: ms(Math.max(0, w.s - p.start)),
        borrowedAfterMs: ms(Math.max(0, end - w.e)),
        overflowMs: ms(overflow),
        truncatedMs: ms(truncated),
        trimmedStartMs: ms(w.trimStart),
        trimmedEndMs: ms(w.trimEnd),
      };
    });
    if (o.onOverflow === 'throw' && segments.some((s) => s.overflowMs > 0 || s.truncatedMs > 0)) {
      throw new AvdubError(ErrorCode.TIMING_OVERFLOW, `Speech does not fit the timeline: ${warnings.join('; ')}`, {
        details: { segments: segments.filter((s) => s.overflowMs > 0 || s.truncatedMs > 0) },
      });
    }
    segments.sort((a, b) => a.index - b.index);
    return { sampleRate: sr, length, segments, warnings };
  }
}

/** [first, last) sample of a clip once near-silent edges are trimmed (keeping `keepMs`). */
export function trimBounds(x: Float32Array, sampleRate: number, thresholdDb: number, keepMs: number): [number, number] {
  const hop = Math.max(1, Math.round(sampleRate / 100));
  const frames = Math.ceil(x.length / hop);
  if (frames === 0) return [0, 0];
  const energy = new Float64Array(frames);
  let peak = 0;
  for (let f = 0; f < frames; f++) {
    let acc = 0;
    const end = Math.min(x.length, (f + 1) * hop);
    for (let i = f * hop; i < end; i++) acc += x[i]! * x[i]!;
    energy[f] = acc / hop;
    if (energy[f]! > peak) peak = energy[f]!;
  }
  if (peak === 0) return [0, 0];
  const thr = peak * 10 ** (thresholdDb / 10);
  let a = 0;
  while (a < frames && energy[a]! < thr) a++;
  let b = frames;
  while (b > a && energy[b - 1]! < thr) b--;
  const keep = Math.round((keepMs / 1000) * sampleRate);
  return [Math.max(0, a * hop - keep), Math.min(x.length, b * hop + keep)];
}

import { createRequire } from 'node:module';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import type { AudioData } from '../media/audio.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import { is } from '../util/validate.js';
import { checkAudio, toMonoAt } from './resample.js';

/**
 * Voice activity detection: splits a track into speech and silence.
 *
 * Per 10 ms frame (32 ms analysis window: 512 samples at 16 kHz, a power of two as meyda
 * requires) meyda gives the RMS energy, the spectral flatness and the amplitude spectrum, from
 * which the share of energy in the speech band (300-4000 Hz) is taken. The clip's own noise
 * floor and speech level (energy percentiles) make the energy threshold adaptive, so no
 * absolute level has to be tuned per recording:
 * - a frame well above the floor (energy score >= `energyScore`) is speech;
 * - a quieter frame (score >= `weakEnergyScore`) is speech only when its spectrum agrees: it
 *   looks voiced (flatness < `maxFlatness` and >= `minBandRatio` of its energy in the speech
 *   band), or its speech-band energy stands `minBandSnrDb` above that band's own floor (this
 *   is what keeps weak speech under broadband noise);
 * - frames more than `absoluteFloorDb` below full scale are never speech.
 * Decisions are then smoothed: a 5-frame median, gaps shorter than `minSilenceMs` are closed,
 * bursts shorter than `minSpeechMs` dropped, and speech is padded by `padMs` on each side.
 * Accuracy on the sample clips is in docs/audio.md.
 */

export interface VadOptions {
  /** Analysis rate; input is resampled. @default 16000 */
  sampleRate: number;
  /** Analysis window in samples (power of two, meyda's constraint). @default 512 */
  frameSize: number;
  /** Frame step in ms. @default 10 */
  hopMs: number;
  /** Energy score (0 = noise floor, 1 = speech level) above which a frame is speech. @default 0.4 */
  energyScore: number;
  /** Lower energy score that is speech when the spectrum also says so. @default 0.25 */
  weakEnergyScore: number;
  /** Spectral flatness below which a frame counts as tonal (voiced). @default 0.3 */
  maxFlatness: number;
  /** Minimum share of the energy in 300-4000 Hz for a weak frame to count as voice. @default 0.6 */
  minBandRatio: number;
  /** ...or whose speech-band energy is this far above the band's own floor (robust to broadband noise). @default 6 */
  minBandSnrDb: number;
  /** Floor and speech level are these energy percentiles of the clip. @default [10, 95] */
  percentiles: [number, number];
  /** When speech level - floor is below this (a clip of only speech or only noise), only voiced-looking frames are speech. @default 12 */
  minDynamicRangeDb: number;
  /** Frames below this level (dBFS RMS) are silence whatever their shape. @default -60 */
  absoluteFloorDb: number;
  /** Pauses shorter than this are bridged. @default 200 */
  minSilenceMs: number;
  /** Speech bursts shorter than this are dropped. @default 60 */
  minSpeechMs: number;
  /** Speech is extended by this much on each side (onsets and decays are quiet). @default 20 */
  padMs: number;
}

export const defaultVadOptions: VadOptions = {
  sampleRate: 16000,
  frameSize: 512,
  hopMs: 10,
  energyScore: 0.4,
  weakEnergyScore: 0.25,
  maxFlatness: 0.3,
  minBandRatio: 0.6,
  minBandSnrDb: 6,
  percentiles: [10, 95],
  minDynamicRangeDb: 12,
  absoluteFloorDb: -60,
  minSilenceMs: 200,
  minSpeechMs: 60,
  padMs: 20,
};

export interface VadSegment {
  /** Seconds. */
  start: number;
  end: number;
  speech: boolean;
}

export interface VadFrameFeatures {
  /** RMS energy in dBFS. */
  energyDb: Float32Array;
  spectralFlatness: Float32Array;
  /** Share of the spectrum's energy in 300-4000 Hz. */
  bandRatio: Float32Array;
  /** Energy in 300-4000 Hz, dB (relative; compared with its own floor). */
  bandDb: Float32Array;
}

export interface VadResult {
  /** Alternating speech and silence segments covering [0, duration]. */
  segments: VadSegment[];
  /** Just the speech segments. */
  speech: VadSegment[];
  /** Per-frame decision (1 = speech); frame k is centred at k / frameRate seconds. */
  frames: Uint8Array;
  frameRate: number;
  duration: number;
  /** The adaptive levels used, dBFS. */
  noiseFloorDb: number;
  speechLevelDb: number;
  features: VadFrameFeatures;
}

interface MeydaLike {
  bufferSize: number;
  sampleRate: number;
  windowingFunction: string;
  extract(features: string[], signal: Float32Array): Record<string, unknown> | null;
}

const require = createRequire(import.meta.url);
let meyda: MeydaLike | undefined;
function loadMeyda(): MeydaLike {
  if (!meyda) {
    try {
      const mod = require('meyda') as MeydaLike & { default?: MeydaLike };
      meyda = typeof mod.extract === 'function' ? mod : mod.default!;
    } catch (cause) {
      throw new AvdubError(ErrorCode.MODEL_LOAD, 'Voice activity detection needs the "meyda" package: npm install meyda', {
        cause,
      });
    }
  }
  return meyda;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Voice activity detector; one instance per configuration, reusable. */
export class VoiceActivityDetector {
  readonly options: Readonly<VadOptions>;

  constructor(options?: DeepPartial<VadOptions>) {
    const o = mergeOptions(defaultVadOptions, options as Partial<VadOptions>);
    is.integer('sampleRate', o.sampleRate, 4000, 192000);
    is.integer('frameSize', o.frameSize, 64, 8192);
    if ((o.frameSize & (o.frameSize - 1)) !== 0) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a power of two for frameSize but received ${o.frameSize}`, {
        details: { option: 'frameSize' },
      });
    }
    is.number('hopMs', o.hopMs, 1, 100);
    is.number('energyScore', o.energyScore, 0, 1);
    is.number('weakEnergyScore', o.weakEnergyScore, 0, o.energyScore);
    is.number('maxFlatness', o.maxFlatness, 0, 1);
    is.number('minBandRatio', o.minBandRatio, 0, 1);
    is.number('minBandSnrDb', o.minBandSnrDb, 0, 100);
    if (!Array.isArray(o.percentiles) || o.percentiles.length !== 2) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected [floor, speech] percentiles for percentiles', {
        details: { option: 'percentiles' },
      });
    }
    is.number('percentiles[0]', o.percentiles[0], 0, 100);
    is.number('percentiles[1]', o.percentiles[1], o.percentiles[0], 100);
    is.number('minDynamicRangeDb', o.minDynamicRangeDb, 0, 100);
    is.number('absoluteFloorDb', o.absoluteFloorDb, -200, 0);
    is.number('minSilenceMs', o.minSilenceMs, 0, 10000);
    is.number('minSpeechMs', o.minSpeechMs, 0, 10000);
    is.number('padMs', o.padMs, 0, 1000);
    this.options = Object.freeze(o);
  }

  /** Per-frame features (meyda), frame k centred at k * hop. */
  features(x: Float32Array, signal?: AbortSignal): VadFrameFeatures {
    return this.featuresFrom((start, dst) => dst.set(x.subarray(start, start + dst.length)), x.length, signal);
  }

  /**
   * {@link features} of a signal of `n` samples (at `sampleRate`) read in chunks:
   * `read(start, dst)` fills dst with samples [start, start + dst.length) (always inside [0, n)).
   * Memory: one chunk of ~10 s plus the per-frame features (16 bytes per frame).
   */
  featuresFrom(read: (start: number, dst: Float32Array) => void, n: number, signal?: AbortSignal): VadFrameFeatures {
    const o = this.options;
    const m = loadMeyda();
    const N = o.frameSize;
    const hop = Math.max(1, Math.round((o.hopMs / 1000) * o.sampleRate));
    const nFrames = n === 0 ? 0 : 1 + Math.floor(n / hop);
    const energyDb = new Float32Array(nFrames);
    const spectralFlatness = new Float32Array(nFrames);
    const bandRatio = new Float32Array(nFrames);
    const bandDb = new Float32Array(nFrames);
    const frame = new Float32Array(N);
    const binHz = o.sampleRate / N;
    const b0 = Math.max(1, Math.round(300 / binHz));
    const b1 = Math.min(N / 2 - 1, Math.round(4000 / binHz));
    // meyda is configured through its module object; set it for every call (others may share it).
    m.bufferSize = N;
    m.sampleRate = o.sampleRate;
    m.windowingFunction = 'hanning';
    const half = N >> 1;
    // Samples [c0, c0 + chunkLen) of the signal (chunkLen <= chunk.length), read 1024 frames at a time.
    const BLOCK = 1024;
    const chunk = new Float32Array((BLOCK - 1) * hop + N);
    let c0 = 0;
    let chunkLen = 0;
    for (let k = 0; k < nFrames; k++) {
      if ((k & (BLOCK - 1)) === 0) {
        throwIfAborted(signal);
        c0 = Math.max(0, k * hop - half);
        chunkLen = Math.max(0, Math.min(n, Math.min(nFrames, k + BLOCK) * hop - hop - half + N) - c0);
        if (chunkLen > 0) read(c0, chunk.subarray(0, chunkLen));
      }
      const start = k * hop - half;
      if (start >= 0 && start + N <= n) {
        frame.set(chunk.subarray(start - c0, start - c0 + N));
      } else {
        frame.fill(0);
        const lo = Math.max(0, start);
        const hi = Math.min(n, start + N);
        if (hi > lo) frame.set(chunk.subarray(lo - c0, hi - c0), lo - start);
      }
      const f = m.extract(['rms', 'spectralFlatness', 'amplitudeSpectrum'], frame) ?? {};
      const rms = Number(f.rms) || 0;
      // meyda windows with Hann before the RMS; 0.612 = RMS of the Hann window, back to signal RMS.
      energyDb[k] = 20 * Math.log10(rms / 0.6124 + 1e-10);
      const flat = Number(f.spectralFlatness);
      spectralFlatness[k] = Number.isFinite(flat) ? flat : 1;
      const amp = f.amplitudeSpectrum as ArrayLike<number> | undefined;
      let inBand = 0;
      let total = 0;
      if (amp) {
        for (let b = 1; b < amp.length; b++) {
          const p = amp[b]! * amp[b]!;
          total += p;
          if (b >= b0 && b <= b1) inBand += p;
        }
      }
      bandRatio[k] = total > 0 ? inBand / total : 0;
      bandDb[k] = 10 * Math.log10(inBand + 1e-12);
    }
    return { energyDb, spectralFlatness, bandRatio, bandDb };
  }

  /** Detects speech in `audio` (any rate, any channel count: averaged to mono). */
  detect(audio: AudioData, options: { signal?: AbortSignal } = {}): VadResult {
    checkAudio('audio', audio);
    const o = this.options;
    const x = toMonoAt(audio, o.sampleRate);
    return this.decide(this.features(x, options.signal), x.length / o.sampleRate);
  }

  /**
   * {@link detect} over a signal of `n` samples at `sampleRate` (mono), read in chunks with
   * `read(start, dst)` (e.g. a WAV file on disk): the same result, without the whole signal in memory.
   */
  detectFrom(read: (start: number, dst: Float32Array) => void, n: number, options: { signal?: AbortSignal } = {}): VadResult {
    return this.decide(this.featuresFrom(read, n, options.signal), n / this.options.sampleRate);
  }

  private decide(feats: VadFrameFeatures, duration: number): VadResult {
    const o = this.options;
    const n = feats.energyDb.length;
    const hop = Math.max(1, Math.round((o.hopMs / 1000) * o.sampleRate));
    const frameRate = o.sampleRate / hop;

    const sorted = Float64Array.from(feats.energyDb).sort();
    let floor = percentile(sorted, o.percentiles[0]);
    const level = percentile(sorted, o.percentiles[1]);
    // A clip of only speech or only noise has no usable floor: there, only frames that look
    // like voice (tonal, speech-band energy) count, whatever their level.
    const flat = !(level - floor >= o.minDynamicRangeDb);
    if (flat) floor = level - o.minDynamicRangeDb;
    const range = Math.max(level - floor, 1e-6);
    const bandFloor = percentile(Float64Array.from(feats.bandDb).sort(), o.percentiles[0]);
    const raw = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const e = feats.energyDb[k]!;
      if (e < o.absoluteFloorDb) continue;
      const voiced = feats.spectralFlatness[k]! < o.maxFlatness && feats.bandRatio[k]! >= o.minBandRatio;
      if (flat) {
        raw[k] = voiced ? 1 : 0;
        continue;
      }
      const score = (e - floor) / range;
      if (score >= o.energyScore) raw[k] = 1;
      else if (score >= o.weakEnergyScore && (voiced || feats.bandDb[k]! - bandFloor >= o.minBandSnrDb)) raw[k] = 1;
    }
    const frames = smooth(raw, frameRate, o);
    const segments: VadSegment[] = [];
    const t = (k: number): number => Math.min(duration, Math.max(0, (k - 0.5) / frameRate));
    let k0 = 0;
    for (let k = 1; k <= n; k++) {
      if (k === n || frames[k] !== frames[k0]) {
        const start = k0 === 0 ? 0 : t(k0);
        const end = k === n ? duration : t(k);
        if (end > start) segments.push({ start, end, speech: frames[k0] === 1 });
        k0 = k;
      }
    }
    if (segments.length === 0 && duration > 0) segments.push({ start: 0, end: duration, speech: false });
    return {
      segments,
      speech: segments.filter((s) => s.speech),
      frames,
      frameRate,
      duration,
      noiseFloorDb: floor,
      speechLevelDb: level,
      features: feats,
    };
  }
}

/** Median filter, gap closing, short-burst removal and padding, in frames. */
function smooth(raw: Uint8Array, frameRate: number, o: VadOptions): Uint8Array {
  const n = raw.length;
  const med = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    let c = 0;
    let m = 0;
    for (let j = k - 2; j <= k + 2; j++) {
      if (j < 0 || j >= n) continue;
      c += raw[j]!;
      m++;
    }
    med[k] = 2 * c > m ? 1 : 0;
  }
  const runs = (a: Uint8Array, value: 0 | 1, maxLen: number, keepEdges: boolean): void => {
    let k = 0;
    while (k < n) {
      if (a[k] !== value) {
        k++;
        continue;
      }
      let e = k;
      while (e < n && a[e] === value) e++;
      const atEdge = k === 0 || e === n;
      if (e - k < maxLen && !(keepEdges && atEdge)) a.fill(value === 1 ? 0 : 1, k, e);
      k = e;
    }
  };
  // Close short pauses (not leading/trailing silence), then drop short bursts.
  runs(med, 0, Math.round((o.minSilenceMs / 1000) * frameRate), true);
  runs(med, 1, Math.round((o.minSpeechMs / 1000) * frameRate), false);
  const pad = Math.round((o.padMs / 1000) * frameRate);
  if (pad === 0) return med;
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    if (med[k] !== 1) continue;
    out.fill(1, Math.max(0, k - pad), Math.min(n, k + pad + 1));
  }
  return out;
}

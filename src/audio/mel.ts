import { AvdubError, ErrorCode } from '../errors.js';
import type { AudioData } from '../media/audio.js';
import { mergeOptions } from '../util/options.js';
import { is } from '../util/validate.js';
import { RealFft } from './fft.js';
import { checkAudio, toMonoAt } from './resample.js';

/**
 * Mel spectrogram front end with per-video-frame audio windows.
 *
 * Mel scale: Slaney's (Auditory Toolbox), as librosa's default (`htk=False`): linear below
 * 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4); triangular filters
 * between consecutive mel points, area-normalised ("slaney" norm: each filter is scaled by
 * 2 / its bandwidth in Hz).
 *
 * STFT: centred frames (frame k covers samples [k hop - n_fft/2, k hop + n_fft/2)), periodic
 * Hann window, as `librosa.stft(center=True)`; frame count 1 + floor(samples / hop).
 */

/** Frames transformed together: long inner loops over the batch, still cache-resident (n_fft 800: 200 KB). */
const BATCH = 16;

export type MelPresetName = 'paper' | 'wav2lip';

export interface MelConfig {
  /** Input rate; other rates are resampled (Kaiser sinc, see `resample`). */
  sampleRate: number;
  nFft: number;
  /** Hann window length (centred in the FFT frame when shorter than nFft). */
  winLength: number;
  hopLength: number;
  nMels: number;
  fmin: number;
  fmax: number;
  /** Pre-emphasis coefficient k of y[n] = x[n] - k x[n-1]; 0 disables it. */
  preemphasis: number;
  /** Edge padding of the centred STFT: 'reflect' (librosa < 0.10) or 'zeros' (silence). */
  padMode: 'reflect' | 'zeros';
  /** 1: mel of the magnitude spectrum; 2: mel of the power spectrum. */
  power: 1 | 2;
  /**
   * 'ln': natural log of (mel + logEpsilon).
   * 'wav2lip': Wav2Lip's dB scale and symmetric normalisation to [-maxAbsValue, maxAbsValue].
   */
  scale: 'ln' | 'wav2lip';
  /** 'ln' scale: added before the log. */
  logEpsilon: number;
  /** 'wav2lip' scale: 20 log10(max(ampFloor, mel)) - refLevelDb, then normalised. */
  ampFloor: number;
  refLevelDb: number;
  minLevelDb: number;
  maxAbsValue: number;
  /** Mel frames per video-frame window. */
  windowFrames: number;
  /**
   * 'centre': the window is centred on the mel frame nearest the timestamp (frames
   * c - W/2 .. c + W/2 - 1); 'start': Wav2Lip's, starting at floor(t * frames per second).
   */
  windowAnchor: 'centre' | 'start';
}

/**
 * The presets.
 * - `paper` (001 s3.1.4, s4): 16 kHz, 80 mel bands, 25 ms Hann window (400), 10 ms hop (160,
 *   100 frames/s), 0-8 kHz, ln(mel power + 1e-6), 24 frames centred on each video frame,
 *   silence (the log of the epsilon) outside the signal.
 * - `wav2lip`: Wav2Lip's audio.py with its hparams: pre-emphasis 0.97, n_fft 800, hop 200
 *   (80 frames/s), win 800, fmin 55, fmax 7600, reflect padding, 20 log10(max(1e-5, mel)) - 20,
 *   clipped symmetric normalisation to [-4, 4]; 16-frame windows indexed as its inference.py.
 */
export const MEL_PRESETS: Readonly<Record<MelPresetName, Readonly<MelConfig>>> = Object.freeze({
  paper: Object.freeze<MelConfig>({
    sampleRate: 16000,
    nFft: 400,
    winLength: 400,
    hopLength: 160,
    nMels: 80,
    fmin: 0,
    fmax: 8000,
    preemphasis: 0,
    padMode: 'zeros',
    power: 2,
    scale: 'ln',
    logEpsilon: 1e-6,
    ampFloor: 1e-5,
    refLevelDb: 20,
    minLevelDb: -100,
    maxAbsValue: 4,
    windowFrames: 24,
    windowAnchor: 'centre',
  }),
  wav2lip: Object.freeze<MelConfig>({
    sampleRate: 16000,
    nFft: 800,
    winLength: 800,
    hopLength: 200,
    nMels: 80,
    fmin: 55,
    fmax: 7600,
    preemphasis: 0.97,
    padMode: 'reflect',
    power: 1,
    scale: 'wav2lip',
    logEpsilon: 1e-6,
    ampFloor: 1e-5,
    refLevelDb: 20,
    minLevelDb: -100,
    maxAbsValue: 4,
    windowFrames: 16,
    windowAnchor: 'start',
  }),
});

export interface MelFrontendOptions extends Partial<MelConfig> {
  /** Starting point; the other fields override it. @default 'paper' */
  preset?: MelPresetName;
}

export const defaultMelFrontendOptions: { preset: MelPresetName } = { preset: 'paper' };

function invalid(name: string, expected: string, value: unknown): never {
  throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected ${expected} for ${name} but received ${String(value)}`, {
    details: { option: name },
  });
}

/** A mel spectrogram, mel-major like librosa's (n_mels, n_frames). */
export interface MelSpectrogram {
  /** data[m * nFrames + k]: band m, frame k. */
  data: Float32Array;
  nMels: number;
  nFrames: number;
  /** Mel frames per second (sampleRate / hopLength). */
  frameRate: number;
  /** The value of digital silence (used for padding windows). */
  silence: number;
}

/** Slaney mel scale (librosa `hz_to_mel(htk=False)`). */
export function hzToMel(hz: number): number {
  const fSp = 200 / 3;
  if (hz < 1000) return hz / fSp;
  return 1000 / fSp + Math.log(hz / 1000) / (Math.log(6.4) / 27);
}

/** Inverse of {@link hzToMel}. */
export function melToHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogMel = 1000 / fSp;
  if (mel < minLogMel) return mel * fSp;
  return 1000 * Math.exp((Math.log(6.4) / 27) * (mel - minLogMel));
}

/**
 * Slaney-normalised triangular mel filterbank (librosa `filters.mel(htk=False, norm='slaney')`),
 * dense: row m has nFft/2 + 1 weights.
 */
export function melFilterbank(sampleRate: number, nFft: number, nMels: number, fmin: number, fmax: number): Float64Array[] {
  const nBins = Math.floor(nFft / 2) + 1;
  const melMin = hzToMel(fmin);
  const melMax = hzToMel(fmax);
  const pts = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) pts[i] = melToHz(melMin + ((melMax - melMin) * i) / (nMels + 1));
  const rows: Float64Array[] = [];
  for (let m = 0; m < nMels; m++) {
    const lo = pts[m]!, mid = pts[m + 1]!, hi = pts[m + 2]!;
    const enorm = 2 / (hi - lo);
    const row = new Float64Array(nBins);
    for (let b = 0; b < nBins; b++) {
      const f = (b * sampleRate) / nFft;
      const lower = (f - lo) / (mid - lo);
      const upper = (hi - f) / (hi - mid);
      const w = Math.max(0, Math.min(lower, upper));
      row[b] = w * enorm;
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Computes mel spectrograms and the audio window for each video frame, by timestamp (any
 * frame rate, variable included). One instance per configuration; reuse it: windows, twiddles
 * and the sparse filterbank are precomputed and a spectrogram allocates only its output.
 *
 * ```ts
 * const fe = new MelFrontend({ preset: 'wav2lip' });
 * const mel = fe.compute(audio);                 // any rate; resampled to 16 kHz
 * const batch = fe.windowsForFps(mel, 25, n);   // [n][80][16], as Wav2Lip's inference.py
 * ```
 */
export class MelFrontend {
  readonly config: Readonly<MelConfig>;
  readonly preset: MelPresetName;
  private readonly fft: RealFft;
  private readonly window: Float64Array;
  /** Signal samples of one batch of frames. */
  private readonly seg: Float64Array;
  /** One FFT bin for the whole batch. */
  private readonly bin: Float64Array;
  /** Mel accumulators [nMels][BATCH]. */
  private readonly acc: Float64Array;
  /** Sparse filterbank by bin (CSR): bin k feeds bands binMel[binPtr[k]..binPtr[k+1]) with binW. */
  private readonly bins: Int32Array;
  private readonly binPtr: Int32Array;
  private readonly binMel: Int32Array;
  private readonly binW: Float64Array;
  private readonly silenceValue: number;

  constructor(options: MelFrontendOptions = {}) {
    const { preset = defaultMelFrontendOptions.preset, ...overrides } = options;
    is.oneOf('preset', preset, Object.keys(MEL_PRESETS) as MelPresetName[]);
    const c = mergeOptions<MelConfig>(MEL_PRESETS[preset], overrides);
    is.integer('sampleRate', c.sampleRate, 1000, 384000);
    is.integer('nFft', c.nFft, 16, 65536);
    if (c.nFft % 2 !== 0) invalid('nFft', 'an even integer', c.nFft);
    is.integer('winLength', c.winLength, 2, c.nFft);
    is.integer('hopLength', c.hopLength, 1, c.nFft * 4);
    is.integer('nMels', c.nMels, 1, 512);
    is.number('fmin', c.fmin, 0, c.sampleRate / 2);
    is.number('fmax', c.fmax, c.fmin + 1e-9, c.sampleRate / 2);
    is.number('preemphasis', c.preemphasis, 0, 1);
    is.oneOf('padMode', c.padMode, ['reflect', 'zeros'] as const);
    if (c.power !== 1 && c.power !== 2) invalid('power', '1 or 2', c.power);
    is.oneOf('scale', c.scale, ['ln', 'wav2lip'] as const);
    is.number('logEpsilon', c.logEpsilon, Number.MIN_VALUE, 1);
    is.number('ampFloor', c.ampFloor, Number.MIN_VALUE, 1);
    is.number('refLevelDb', c.refLevelDb);
    is.number('minLevelDb', c.minLevelDb, -1000, -1e-9);
    is.number('maxAbsValue', c.maxAbsValue, 1e-9);
    is.integer('windowFrames', c.windowFrames, 1, 10000);
    is.oneOf('windowAnchor', c.windowAnchor, ['centre', 'start'] as const);
    this.config = Object.freeze(c);
    this.preset = preset;

    this.fft = new RealFft(c.nFft, BATCH);
    this.bin = new Float64Array(BATCH);
    this.seg = new Float64Array((BATCH - 1) * c.hopLength + c.nFft);
    this.acc = new Float64Array(c.nMels * BATCH);
    // Periodic Hann (scipy get_window('hann', N, fftbins=True)), centred in the FFT frame.
    this.window = new Float64Array(c.nFft);
    const lpad = Math.floor((c.nFft - c.winLength) / 2);
    for (let i = 0; i < c.winLength; i++) {
      this.window[lpad + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / c.winLength);
    }
    // Sparse filterbank, by bin: each bin is scattered into the (usually two) bands that use
    // it; bins no band uses (below fmin, above fmax) are never computed.
    const rows = melFilterbank(c.sampleRate, c.nFft, c.nMels, c.fmin, c.fmax);
    const nBins = c.nFft / 2 + 1;
    const used: number[] = [];
    const ptr: number[] = [0];
    const mels: number[] = [];
    const ws: number[] = [];
    for (let k = 0; k < nBins; k++) {
      let any = false;
      for (let m = 0; m < c.nMels; m++) {
        const w = rows[m]![k]!;
        if (w === 0) continue;
        mels.push(m);
        ws.push(w);
        any = true;
      }
      if (any) {
        used.push(k);
        ptr.push(mels.length);
      }
    }
    this.bins = Int32Array.from(used);
    this.binPtr = Int32Array.from(ptr);
    this.binMel = Int32Array.from(mels);
    this.binW = Float64Array.from(ws);
    // Rounded to float32, the precision of the spectrogram, so padding equals computed silence.
    this.silenceValue = Math.fround(this.scaleValue(0));
  }

  /** Mel frames per second. */
  get frameRate(): number {
    return this.config.sampleRate / this.config.hopLength;
  }

  /** The value a frame of digital silence gets (-4 for wav2lip, ln(1e-6) for paper). */
  get silence(): number {
    return this.silenceValue;
  }

  private scaleValue(v: number): number {
    const c = this.config;
    if (c.scale === 'ln') return Math.log(v + c.logEpsilon);
    const db = 20 * Math.log10(Math.max(c.ampFloor, v)) - c.refLevelDb;
    const x = 2 * c.maxAbsValue * ((db - c.minLevelDb) / -c.minLevelDb) - c.maxAbsValue;
    return Math.min(c.maxAbsValue, Math.max(-c.maxAbsValue, x));
  }

  /** Number of mel frames for `samples` samples at the configured rate. */
  frameCount(samples: number): number {
    return 1 + Math.floor(samples / this.config.hopLength);
  }

  /**
   * The mel spectrogram of `audio` (mono or interleaved multi-channel, averaged; resampled to
   * the configured rate when needed), or of raw samples already at the configured rate.
   */
  compute(audio: AudioData | Float32Array): MelSpectrogram {
    const c = this.config;
    let x: Float32Array;
    if (audio instanceof Float32Array) {
      x = audio;
    } else {
      checkAudio('audio', audio);
      x = toMonoAt(audio, c.sampleRate);
    }
    const n = x.length;
    const nFrames = this.frameCount(n);
    const out = new Float32Array(c.nMels * nFrames);
    this.computeFrames(x, 0, n, 0, nFrames, out, nFrames);
    return { data: out, nMels: c.nMels, nFrames, frameRate: this.frameRate, silence: this.silenceValue };
  }

  /**
   * The signal samples that mel frames [f0, f1) of a signal of `n` samples read: [lo, hi)
   * (pre-emphasis and the STFT's edge padding included). For chunked computation.
   */
  samplesFor(n: number, f0: number, f1: number): { lo: number; hi: number } {
    const c = this.config;
    const pad = c.nFft >> 1;
    const first = f0 * c.hopLength - pad - 1;
    const last = (f1 - 1) * c.hopLength + pad; // exclusive
    let lo = Math.max(0, first);
    let hi = Math.min(n, last);
    if (c.padMode === 'reflect') {
      // Reflected edges read up to pad + 1 samples from each end.
      if (first < 0) hi = Math.max(hi, Math.min(n, pad + 2));
      if (last > n) lo = Math.min(lo, Math.max(0, n - pad - 2));
    }
    return { lo, hi: Math.max(lo, hi) };
  }

  /**
   * Mel frames [f0, f1) of a signal of `n` samples of which `x` holds samples [x0, x0 + x.length)
   * (at least `samplesFor(n, f0, f1)`): band m of frame f goes to out[m * stride + f - f0].
   * Each frame is computed exactly as `compute` computes it, whatever the batching.
   */
  computeFrames(x: Float32Array, x0: number, n: number, f0: number, f1: number, out: Float32Array, stride: number): void {
    const c = this.config;
    const nFft = c.nFft;
    const pad = nFft >> 1;
    const k = c.preemphasis;
    const reflect = c.padMode === 'reflect';
    const period = 2 * (n - 1);
    const at = (j: number): number => {
      const v = x[j - x0];
      if (v === undefined) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `computeFrames: sample ${j} is outside the chunk [${x0}, ${x0 + x.length})`);
      return v;
    };
    // The pre-emphasised, edge-padded signal at padded index p (signal index p - pad).
    const padded = (p: number): number => {
      let j = p - pad;
      if (j < 0 || j >= n) {
        if (!reflect || n === 0) return 0;
        if (n === 1) j = 0;
        else {
          // numpy 'reflect' (no edge repeat), periodic for pads longer than the signal
          j = Math.abs(j) % period;
          if (j > n - 1) j = period - j;
        }
      }
      return j > 0 ? at(j) - k * at(j - 1) : at(0);
    };
    // One batch of frames at a time is written to `seg` (bounded memory, whatever the length).
    const seg = this.seg;
    const { fft, window, bin, acc, bins, binPtr, binMel, binW } = this;
    const B = BATCH;
    const re = fft.re;
    const im = fft.im;
    const half = nFft >> 1;
    const hop = c.hopLength;
    const nMels = c.nMels;
    const power = c.power === 2;
    const ln = c.scale === 'ln';
    const eps = c.logEpsilon;
    const floor = c.ampFloor;
    // wav2lip: clip(a * ln(max(floor, v)) + b, -max, max)
    const ga = ((2 * c.maxAbsValue) / -c.minLevelDb) * 20 * Math.LOG10E;
    const gb = (2 * c.maxAbsValue * (-c.refLevelDb - c.minLevelDb)) / -c.minLevelDb - c.maxAbsValue;
    const maxAbs = c.maxAbsValue;
    const nUsed = bins.length;
    for (let fb = f0; fb < f1; fb += B) {
      const nb = Math.min(B, f1 - fb);
      // Pack nb frames, interleaved by frame (see RealFft); unused batch slots keep stale data.
      const base = fb * hop; // padded index of the batch's first sample
      const len = (nb - 1) * hop + nFft;
      if (base >= pad + 1 && base + len <= pad + n) {
        if (base - pad - 1 < x0 || base - pad + len > x0 + x.length) at(base - pad - 1 < x0 ? base - pad - 1 : base - pad + len - 1);
        for (let i = 0, j = base - pad - x0; i < len; i++, j++) seg[i] = x[j]! - k * x[j - 1]!;
      } else {
        for (let i = 0; i < len; i++) seg[i] = padded(base + i);
      }
      // Sample i of frame b is seg[b * hop + i]: contiguous writes, nb read streams.
      for (let j = 0, w = 0, o = 0; j < half; j++, w += 2, o += B) {
        const w0 = window[w]!;
        const w1 = window[w + 1]!;
        for (let b = 0, i = w; b < nb; b++, i += hop) {
          re[o + b] = seg[i]! * w0;
          im[o + b] = seg[i + 1]! * w1;
        }
      }
      fft.transform();
      acc.fill(0);
      for (let u = 0; u < nUsed; u++) {
        fft.bin(bins[u]!, bin, power);
        for (let j = binPtr[u]!, je = binPtr[u + 1]!; j < je; j++) {
          const w = binW[j]!;
          const row = binMel[j]! * B;
          for (let b = 0; b < B; b++) acc[row + b] = acc[row + b]! + w * bin[b]!;
        }
      }
      for (let m = 0; m < nMels; m++) {
        const row = m * stride + fb - f0;
        const a = m * B;
        if (ln) {
          for (let b = 0; b < nb; b++) out[row + b] = Math.log(acc[a + b]! + eps);
        } else {
          for (let b = 0; b < nb; b++) {
            const v0 = acc[a + b]!;
            const v = ga * Math.log(v0 > floor ? v0 : floor) + gb;
            out[row + b] = v > maxAbs ? maxAbs : v < -maxAbs ? -maxAbs : v;
          }
        }
      }
    }
  }

  /** First mel frame of the window for a video frame at `t` seconds (may be < 0 or run past the end). */
  windowStart(t: number, mel: Pick<MelSpectrogram, 'nFrames'>): number {
    const W = this.config.windowFrames;
    if (this.config.windowAnchor === 'centre') {
      return Math.floor(t * this.frameRate + 0.5) - (W >> 1);
    }
    // The small epsilon keeps t = i / fps from landing one frame early through rounding.
    const s = Math.floor(t * this.frameRate + 1e-6);
    return s + W > mel.nFrames ? mel.nFrames - W : s;
  }

  /**
   * Windows for video frames at `timestamps` (seconds, any spacing). Returns a batch laid out
   * [T][nMels][windowFrames]; frames outside the spectrogram are filled with silence.
   */
  windows(mel: MelSpectrogram, timestamps: ArrayLike<number>): Float32Array {
    this.checkMel(mel);
    const starts = new Int32Array(timestamps.length);
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i]!;
      is.number(`timestamps[${i}]`, t);
      starts[i] = this.windowStart(t, mel);
    }
    return this.gather(mel, starts);
  }

  /**
   * Windows for `count` frames at a constant `fps`. With the wav2lip preset the indexing is
   * exactly inference.py's: start = int(i * (80 / fps)), and a window that would run past the
   * end is the last 16 frames.
   */
  windowsForFps(mel: MelSpectrogram, fps: number, count: number): Float32Array {
    this.checkMel(mel);
    is.number('fps', fps, 1e-3, 10000);
    is.integer('count', count, 0);
    const starts = new Int32Array(count);
    const W = this.config.windowFrames;
    if (this.config.windowAnchor === 'start') {
      const mult = this.frameRate / fps;
      for (let i = 0; i < count; i++) {
        const s = Math.trunc(i * mult);
        starts[i] = s + W > mel.nFrames ? mel.nFrames - W : s;
      }
    } else {
      for (let i = 0; i < count; i++) starts[i] = this.windowStart(i / fps, mel);
    }
    return this.gather(mel, starts);
  }

  /** Start frames of the windows that {@link windows} would return (for inspection and tests). */
  windowStarts(mel: MelSpectrogram, timestamps: ArrayLike<number>): Int32Array {
    const starts = new Int32Array(timestamps.length);
    for (let i = 0; i < timestamps.length; i++) starts[i] = this.windowStart(timestamps[i]!, mel);
    return starts;
  }

  private checkMel(mel: MelSpectrogram): void {
    if (!mel || !(mel.data instanceof Float32Array) || mel.nMels !== this.config.nMels ||
      mel.data.length !== mel.nMels * mel.nFrames) {
      throw new AvdubError(
        ErrorCode.INVALID_ARGUMENT,
        `Expected a mel spectrogram with ${this.config.nMels} bands from this MelFrontend`,
        { details: { option: 'mel' } },
      );
    }
  }

  private gather(mel: MelSpectrogram, starts: Int32Array): Float32Array {
    const W = this.config.windowFrames;
    const { nMels, nFrames, data } = mel;
    const out = new Float32Array(starts.length * nMels * W);
    const silence = this.silenceValue;
    for (let i = 0; i < starts.length; i++) {
      const s = starts[i]!;
      const lo = Math.max(0, s);
      const hi = Math.min(nFrames, s + W);
      const base = i * nMels * W;
      for (let m = 0; m < nMels; m++) {
        const row = base + m * W;
        if (lo >= hi) {
          out.fill(silence, row, row + W);
          continue;
        }
        if (lo > s) out.fill(silence, row, row + (lo - s));
        out.set(data.subarray(m * nFrames + lo, m * nFrames + hi), row + (lo - s));
        if (hi < s + W) out.fill(silence, row + (hi - s), row + W);
      }
    }
    return out;
  }
}

import { AvdubError, ErrorCode } from '../errors.js';
import type { AudioData } from '../media/audio.js';
import { mergeOptions } from '../util/options.js';
import { is } from '../util/validate.js';

/**
 * Band-limited resampling of in-memory audio (TTS output at 22050 or 24000 Hz, WAV files at
 * 44.1/48 kHz) with a Kaiser-windowed sinc, evaluated as a polyphase filter.
 *
 * The low-pass is placed entirely below the lower of the two Nyquist frequencies: the passband
 * ends at `passband` x Nyquist and the stopband starts at Nyquist itself, so nothing that would
 * fold back (aliasing when decimating, imaging when interpolating) gets through with more than
 * `-attenuationDb`. Taps and the Kaiser beta follow Kaiser's design formulas
 * (beta = 0.1102 (A - 8.7), taps = (A - 7.95) / (2.285 dw) + 1). Files read through ffmpeg use
 * its SoX resampler instead (see `media/extractAudio`); both are linear-phase.
 */
export interface ResampleOptions {
  /** End of the passband as a fraction of the lower Nyquist frequency. @default 0.9 */
  passband: number;
  /** Stopband attenuation in dB (starts at the lower Nyquist frequency). @default 80 */
  attenuationDb: number;
}

export const defaultResampleOptions: ResampleOptions = { passband: 0.9, attenuationDb: 80 };

/** Above this many phases the rational ratio is not used; phases are interpolated instead. */
const MAX_EXACT_PHASES = 4096;
const INTERPOLATED_PHASES = 1024;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * A resampler between two fixed rates. Build it once and reuse it: the filter table is
 * computed in the constructor. `process` is stateless (each call is a whole signal; the edges
 * are treated as silence) and allocates only its output.
 */
export class Resampler {
  readonly inputRate: number;
  readonly outputRate: number;
  readonly options: Readonly<ResampleOptions>;
  /** Filter half-length in input samples; the output at time t uses inputs in (t - half, t + half]. */
  readonly halfTaps: number;
  /** Number of precomputed fractional phases. */
  readonly phases: number;
  /** true: phases are exact (rational ratio L/M); false: interpolated between table phases. */
  readonly exact: boolean;
  private readonly up: number;
  private readonly down: number;
  /** table[p * taps + j]: weight of input sample (n0 - halfTaps + 1 + j) at fractional phase p / phases. */
  private readonly table: Float64Array;
  private readonly taps: number;

  constructor(inputRate: number, outputRate: number, options?: Partial<ResampleOptions>) {
    is.integer('inputRate', inputRate, 1, 1_000_000);
    is.integer('outputRate', outputRate, 1, 1_000_000);
    const o = mergeOptions(defaultResampleOptions, options);
    is.number('passband', o.passband, 0.5, 0.99);
    is.number('attenuationDb', o.attenuationDb, 40, 160);
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    this.options = Object.freeze(o);
    const g = gcd(inputRate, outputRate);
    this.up = outputRate / g;
    this.down = inputRate / g;
    this.exact = this.up <= MAX_EXACT_PHASES;
    this.phases = this.exact ? this.up : INTERPOLATED_PHASES;

    // Frequencies in cycles per input sample.
    const nyq = Math.min(inputRate, outputRate) / 2 / inputRate;
    const fPass = o.passband * nyq;
    const fStop = nyq;
    const fc = (fPass + fStop) / 2;
    const dw = 2 * Math.PI * (fStop - fPass);
    const A = o.attenuationDb;
    const beta = A > 50 ? 0.1102 * (A - 8.7) : A >= 21 ? 0.5842 * (A - 21) ** 0.4 + 0.07886 * (A - 21) : 0;
    const length = Math.ceil((A - 7.95) / (2.285 * dw)) + 1; // in input samples
    this.halfTaps = Math.max(1, Math.ceil(length / 2));
    this.taps = 2 * this.halfTaps;
    const nPhases = this.phases + (this.exact ? 0 : 1); // +1: the interpolated table's last row (phase 1)
    this.table = new Float64Array(nPhases * this.taps);
    const i0b = besselI0(beta);
    const half = this.halfTaps;
    for (let p = 0; p < nPhases; p++) {
      const frac = p / this.phases;
      let sum = 0;
      for (let j = 0; j < this.taps; j++) {
        // input sample n0 - half + 1 + j sits at distance d = (j - half + 1) - frac from the output time
        const d = j - half + 1 - frac;
        const r = d / half;
        let h = 0;
        if (Math.abs(r) < 1) {
          const x = 2 * fc * d;
          const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
          h = 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0b);
        }
        this.table[p * this.taps + j] = h;
        sum += h;
      }
      // Unit gain at DC for every phase (removes the small phase-dependent ripple at 0 Hz).
      if (sum !== 0) for (let j = 0; j < this.taps; j++) this.table[p * this.taps + j]! /= sum;
    }
  }

  /** Output length for `n` input samples: round(n * outputRate / inputRate). */
  outputLength(n: number): number {
    return Math.round((n * this.up) / this.down);
  }

  /** Resamples one channel. Output sample j is the band-limited input at time j * in / out. */
  process(input: Float32Array): Float32Array {
    const nOut = this.outputLength(input.length);
    const out = new Float32Array(nOut);
    if (this.up === this.down) {
      out.set(input);
      return out;
    }
    const taps = this.taps;
    // Zero-padded copy so the inner loop has no bounds checks.
    const x = new Float64Array(input.length + 2 * taps);
    for (let i = 0; i < input.length; i++) x[i + taps] = input[i]!;
    this.run(x, taps, 0, nOut, out);
    return out;
  }

  /** The input samples that output samples [j0, j1) read: [lo, hi) (may run past the signal: zeros there). */
  inputRange(j0: number, j1: number): { lo: number; hi: number } {
    const first = Math.floor((j0 * this.down) / this.up);
    const last = Math.floor(((j1 - 1) * this.down) / this.up);
    return { lo: first - this.halfTaps + 1, hi: last + this.halfTaps + 1 };
  }

  /**
   * Output samples [j0, j1) of `process` over a signal of `n` samples, from the samples
   * `read(start, dst)` gives (called once, for a range inside [0, n)): chunked resampling with
   * results equal to `process`'s. Returns a new array of j1 - j0 samples.
   */
  processBlock(read: (start: number, dst: Float32Array) => void, n: number, j0: number, j1: number): Float32Array {
    const out = new Float32Array(Math.max(0, j1 - j0));
    if (out.length === 0) return out;
    if (this.up === this.down) {
      const lo = Math.max(0, j0);
      const hi = Math.min(n, j1);
      if (hi > lo) read(lo, out.subarray(lo - j0, hi - j0));
      return out;
    }
    const { lo, hi } = this.inputRange(j0, j1);
    const x = new Float64Array(hi - lo);
    const a = Math.max(0, lo);
    const b = Math.min(n, hi);
    if (b > a) {
      const chunk = new Float32Array(b - a);
      read(a, chunk);
      for (let i = 0; i < chunk.length; i++) x[a - lo + i] = chunk[i]!;
    }
    // x[i] is input sample lo + i; output j is written to out[j - j0].
    this.run(x, -lo, j0, j1, out, j0);
    return out;
  }

  /** Outputs [j0, j1) into out[j - outBase], input sample i at x[i + off]. */
  private run(x: Float64Array, off: number, j0: number, j1: number, out: Float32Array, outBase = 0): void {
    const half = this.halfTaps;
    const taps = this.taps;
    const table = this.table;
    const up = this.up;
    const down = this.down;
    const phases = this.phases;
    for (let j = j0; j < j1; j++) {
      let n0: number;
      let acc = 0;
      if (this.exact) {
        const num = j * down;
        n0 = Math.floor(num / up);
        const p = num - n0 * up;
        const base = p * taps;
        const start = n0 - half + 1 + off;
        for (let k = 0; k < taps; k++) acc += table[base + k]! * x[start + k]!;
      } else {
        const pos = (j * down) / up;
        n0 = Math.floor(pos);
        const fp = (pos - n0) * phases;
        const p = Math.min(phases - 1, Math.floor(fp));
        const a = fp - p;
        const b0 = p * taps;
        const b1 = b0 + taps;
        const start = n0 - half + 1 + off;
        for (let k = 0; k < taps; k++) {
          const w = table[b0 + k]! + a * (table[b1 + k]! - table[b0 + k]!);
          acc += w * x[start + k]!;
        }
      }
      out[j - outBase] = acc;
    }
  }
}

const cache = new Map<string, Resampler>();

function cachedResampler(from: number, to: number, options?: Partial<ResampleOptions>): Resampler {
  const o = mergeOptions(defaultResampleOptions, options);
  const key = `${from}:${to}:${o.passband}:${o.attenuationDb}`;
  let r = cache.get(key);
  if (!r) {
    r = new Resampler(from, to, o);
    if (cache.size > 16) cache.clear();
    cache.set(key, r);
  }
  return r;
}

/** Checks an AudioData at an entry point and returns its channel count. */
export function checkAudio(name: string, audio: AudioData): number {
  if (!audio || !(audio.samples instanceof Float32Array)) {
    throw new AvdubError(
      ErrorCode.INVALID_ARGUMENT,
      `Expected ${name} as { samples: Float32Array, sampleRate: number } but received ${audio === null ? 'null' : typeof audio}`,
      { details: { option: name } },
    );
  }
  is.integer(`${name}.sampleRate`, audio.sampleRate, 1, 1_000_000);
  const channels = audio.channels ?? 1;
  is.integer(`${name}.channels`, channels, 1, 64);
  if (audio.samples.length % channels !== 0) {
    throw new AvdubError(
      ErrorCode.INVALID_ARGUMENT,
      `Expected ${name}.samples length to be a multiple of ${channels} channels but received ${audio.samples.length}`,
      { details: { option: name } },
    );
  }
  return channels;
}

/** Averages interleaved channels to mono. Mono input is returned as is (not copied). */
export function toMono(audio: AudioData): AudioData & { channels: 1 } {
  const channels = checkAudio('audio', audio);
  if (channels === 1) return { samples: audio.samples, sampleRate: audio.sampleRate, channels: 1 };
  const n = audio.samples.length / channels;
  const out = new Float32Array(n);
  const s = audio.samples;
  const inv = 1 / channels;
  for (let i = 0, k = 0; i < n; i++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += s[k++]!;
    out[i] = acc * inv;
  }
  return { samples: out, sampleRate: audio.sampleRate, channels: 1 };
}

/**
 * Resamples to `sampleRate` (every channel; interleaving kept). Same rate: returned as is.
 * Resamplers are cached per rate pair, so repeated calls (one per TTS clip) reuse the table.
 */
export function resample(audio: AudioData, sampleRate: number, options?: Partial<ResampleOptions>): AudioData {
  const channels = checkAudio('audio', audio);
  is.integer('sampleRate', sampleRate, 1, 1_000_000);
  if (audio.sampleRate === sampleRate) return audio;
  const r = cachedResampler(audio.sampleRate, sampleRate, options);
  if (channels === 1) return { samples: r.process(audio.samples), sampleRate, channels: audio.channels };
  const n = audio.samples.length / channels;
  const nOut = r.outputLength(n);
  const out = new Float32Array(nOut * channels);
  const ch = new Float32Array(n);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < n; i++) ch[i] = audio.samples[i * channels + c]!;
    const y = r.process(ch);
    for (let i = 0; i < nOut; i++) out[i * channels + c] = y[i]!;
  }
  return { samples: out, sampleRate, channels };
}

/** Mono at `sampleRate`: what the mel front end and voice activity detection consume. */
export function toMonoAt(audio: AudioData, sampleRate: number, options?: Partial<ResampleOptions>): Float32Array {
  return resample(toMono(audio), sampleRate, options).samples;
}

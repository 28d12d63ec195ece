import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import type { AudioData } from '../media/audio.js';
import { resolveBinaries, type FfmpegOptions } from '../media/binaries.js';
import { lastLines, spawnTracked } from '../media/process.js';
import { mergeOptions } from '../util/options.js';
import { is } from '../util/validate.js';
import { checkAudio } from './resample.js';

/**
 * Pitch-preserving time stretch through an ffmpeg child process.
 *
 * Engine: `rubberband` by default (librubberband's phase vocoder with phase locking and
 * transient detection), `atempo` (ffmpeg's WSOLA-style overlap-add) as the fallback for ffmpeg
 * builds without librubberband. Both keep the pitch; see docs/audio.md for the measurements
 * behind the choice. Neither filter in ffmpeg 4.1 returns exactly n / factor samples, nor
 * keeps time zero in place (rubberband drops the last 50-150 ms, atempo the first ~30 ms, and
 * both shift content by a factor-dependent 0-40 ms). So the input is padded with silence on
 * both sides, the output is re-anchored on the ideal timeline by cross-correlating its energy
 * envelope with the input's (time-scaled) envelope, and exactly round(n / factor) samples are
 * cut out of the padded result: only the added silence is ever trimmed.
 */

export type StretchEngine = 'rubberband' | 'atempo';

export interface TimeStretchOptions extends FfmpegOptions {
  /** @default 'rubberband' */
  engine: StretchEngine;
  /**
   * Re-anchor the output on the ideal timeline by envelope cross-correlation (searched within
   * +-maxAlignMs); when the signal has no usable envelope (a steady tone) the nominal position
   * is kept. @default true
   */
  align: boolean;
  /** @default 40 */
  maxAlignMs: number;
  signal?: AbortSignal;
}

export const defaultTimeStretchOptions: TimeStretchOptions = { engine: 'rubberband', align: true, maxAlignMs: 40 };

/** Supported speed factors (output duration = input duration / factor). */
export const STRETCH_FACTOR_RANGE = Object.freeze({ min: 0.5, max: 2 });

export interface StretchResult {
  /** Exactly `targetSamples` frames, same rate and channel count as the input. */
  audio: AudioData;
  /** Speed factor: > 1 is faster (shorter), < 1 slower (longer). */
  factor: number;
  /** round(input frames / factor). */
  targetSamples: number;
  /** Frames the filter itself produced for the padded input (before trimming). */
  producedSamples: number;
  /** Correction the envelope alignment applied, in ms (0 when disabled or not measurable). */
  alignMs: number;
}

const PAD_SECONDS = 0.25;

/** Speeds `audio` up (factor > 1) or slows it down (factor < 1) without changing its pitch. */
export async function timeStretch(
  audio: AudioData,
  factor: number,
  options?: Partial<TimeStretchOptions>,
): Promise<StretchResult> {
  const channels = checkAudio('audio', audio);
  is.number('factor', factor, STRETCH_FACTOR_RANGE.min, STRETCH_FACTOR_RANGE.max);
  const o = mergeOptions(defaultTimeStretchOptions, options);
  is.oneOf('engine', o.engine, ['rubberband', 'atempo'] as const);
  is.boolean('align', o.align);
  is.number('maxAlignMs', o.maxAlignMs, 0, 500);
  throwIfAborted(o.signal);
  const sr = audio.sampleRate;
  const frames = audio.samples.length / channels;
  const targetSamples = Math.round(frames / factor);
  if (factor === 1 || frames === 0) {
    const samples = new Float32Array(targetSamples * channels);
    samples.set(audio.samples.subarray(0, samples.length));
    return { audio: { samples, sampleRate: sr, channels }, factor, targetSamples, producedSamples: frames, alignMs: 0 };
  }

  const pad = Math.round(PAD_SECONDS * sr);
  const input = new Float32Array((frames + 2 * pad) * channels);
  input.set(audio.samples, pad * channels);
  const filter = o.engine === 'rubberband' ? `rubberband=tempo=${factor}` : `atempo=${factor}`;
  const { ffmpeg } = resolveBinaries(o);
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
    '-f', 'f32le', '-ar', `${sr}`, '-ac', `${channels}`, '-i', 'pipe:0',
    '-af', filter,
    '-f', 'f32le', '-c:a', 'pcm_f32le', '-ar', `${sr}`, '-ac', `${channels}`, 'pipe:1',
  ];
  const t = spawnTracked(ffmpeg, args, { signal: o.signal, stdin: 'pipe' });
  const chunks: Buffer[] = [];
  t.child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  t.child.stdin!.on('error', () => {}); // reported through the exit code
  t.child.stdin!.end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  const { code } = await t.exited;
  throwIfAborted(o.signal);
  if (code !== 0) {
    const tail = t.stderrTail();
    const missing = /No such filter|Unknown filter/i.test(tail);
    throw new AvdubError(
      missing ? ErrorCode.UNSUPPORTED_MEDIA : ErrorCode.FFMPEG_FAILED,
      missing
        ? `This ffmpeg has no ${o.engine} filter; use engine: '${o.engine === 'rubberband' ? 'atempo' : 'rubberband'}' or another ffmpeg`
        : `Time stretch failed (ffmpeg exit ${code}): ${lastLines(tail)}`,
      { details: { args, stderr: tail } },
    );
  }
  const raw = Buffer.concat(chunks);
  const y = new Float32Array(raw.length >> 2);
  new Uint8Array(y.buffer).set(raw.subarray(0, y.length * 4));
  const produced = Math.floor(y.length / channels);

  const nominal = Math.round(pad / factor);
  let lag = 0;
  if (o.align && o.maxAlignMs > 0) {
    lag = envelopeLag(audio.samples, channels, y, factor, sr, nominal, Math.round((o.maxAlignMs / 1000) * sr));
  }
  const start = nominal + lag;
  const samples = new Float32Array(targetSamples * channels);
  const from = Math.max(0, start);
  const to = Math.min(produced, start + targetSamples);
  if (to > from) samples.set(y.subarray(from * channels, to * channels), (from - start) * channels);
  return {
    audio: { samples, sampleRate: sr, channels },
    factor,
    targetSamples,
    producedSamples: produced,
    alignMs: (lag / sr) * 1000,
  };
}

/**
 * Lag (in output samples, searched in 1 ms steps within +-maxLag) that best aligns the
 * stretched output's log-energy envelope with the input's envelope mapped onto the output
 * timeline. Returns 0 when the envelope is too flat to tell or the match is poor.
 */
function envelopeLag(
  x: Float32Array,
  channels: number,
  y: Float32Array,
  factor: number,
  sr: number,
  nominal: number,
  maxLag: number,
): number {
  const hop = Math.max(1, Math.round(sr / 1000)); // 1 ms frames on the output timeline
  const nx = x.length / channels;
  const nFrames = Math.floor(Math.round(nx / factor) / hop);
  const steps = Math.floor(maxLag / hop);
  if (nFrames < 50 || steps < 1) return 0;
  const energy = (buf: Float32Array, a: number, b: number, n: number): number => {
    const lo = Math.max(0, a);
    const hi = Math.min(n, b);
    let acc = 0;
    for (let i = lo * channels; i < hi * channels; i++) acc += buf[i]! * buf[i]!;
    return acc / Math.max(1, (b - a) * channels);
  };
  // Reference: input energy over the input span that maps onto each output frame.
  const ref = new Float64Array(nFrames);
  let peak = 0;
  for (let j = 0; j < nFrames; j++) {
    const a = Math.floor(j * hop * factor);
    const b = Math.max(a + 1, Math.floor((j + 1) * hop * factor));
    ref[j] = energy(x, a, b, nx);
    peak = Math.max(peak, ref[j]!);
  }
  if (peak <= 0) return 0;
  const floor = peak * 1e-6; // -60 dB: ignore noise-floor detail
  for (let j = 0; j < nFrames; j++) ref[j] = Math.log(ref[j]! + floor);
  const ny = y.length / channels;
  const total = nFrames + 2 * steps;
  const env = new Float64Array(total);
  const base = nominal - steps * hop;
  for (let j = 0; j < total; j++) env[j] = Math.log(energy(y, base + j * hop, base + (j + 1) * hop, ny) + floor);
  const meanStd = (a: Float64Array, off: number, n: number): [number, number] => {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = a[off + i]!;
      s += v;
      s2 += v * v;
    }
    const m = s / n;
    return [m, Math.sqrt(Math.max(0, s2 / n - m * m))];
  };
  const [rm, rs] = meanStd(ref, 0, nFrames);
  if (rs < 0.5) return 0; // steady signal: no timing landmarks
  let best = -Infinity;
  let bestLag = 0;
  for (let l = -steps; l <= steps; l++) {
    const off = l + steps;
    const [em, es] = meanStd(env, off, nFrames);
    if (es === 0) continue;
    let c = 0;
    for (let j = 0; j < nFrames; j++) c += (ref[j]! - rm) * (env[off + j]! - em);
    c /= nFrames * rs * es;
    if (c > best) {
      best = c;
      bestLag = l;
    }
  }
  return best >= 0.5 ? bestLag * hop : 0;
}

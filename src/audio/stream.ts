import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { extname } from 'node:path';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import type { FfmpegOptions } from '../media/binaries.js';
import { resolveBinaries } from '../media/binaries.js';
import { probeMedia, requireAudio, type MediaInfo } from '../media/probe.js';
import { runTool } from '../media/process.js';
import { is } from '../util/validate.js';
import { MelFrontend, type MelPresetName } from './mel.js';
import { Resampler, type ResampleOptions } from './resample.js';
import { VoiceActivityDetector } from './vad.js';

/**
 * Audio from disk in bounded memory, for recordings as long as the video: a mono sample source
 * over a WAV file read in chunks (`WavFileSource`), a streaming decode of any input to a 16 kHz
 * mono float WAV (`decodeToWav`), mel windows from a small ring of mel frames
 * (`MelWindowStream`), per-band mel statistics in a streaming pre-pass (`streamMelBandStats`)
 * and all of it together (`StreamingAudio`). Every result equals its in-memory counterpart
 * (MelFrontend.compute + windows, melBandStats, VoiceActivityDetector.detect); see docs/audio.md.
 */

/** Mono samples read by position. */
export interface SampleSource {
  readonly sampleRate: number;
  /** Samples in the signal. */
  readonly length: number;
  /** Fills `dst` with samples [start, start + dst.length); positions outside [0, length) read as 0. */
  read(start: number, dst: Float32Array): void;
}

/** A source over samples in memory. */
export function arraySource(samples: Float32Array, sampleRate: number): SampleSource {
  return {
    sampleRate,
    length: samples.length,
    read(start, dst) {
      dst.fill(0);
      const lo = Math.max(0, start);
      const hi = Math.min(samples.length, start + dst.length);
      if (hi > lo) dst.set(samples.subarray(lo, hi), lo - start);
    },
  };
}

interface WavLayout {
  sampleRate: number;
  channels: number;
  bitDepth: number;
  float: boolean;
  /** Byte offset of the samples. */
  dataOffset: number;
  /** Sample frames in the file. */
  frames: number;
}

/** Walks the RIFF chunks of an open WAV file (reads only chunk headers). */
function readWavLayout(fd: number, path: string): WavLayout {
  const size = fstatSync(fd).size;
  const head = Buffer.alloc(12);
  const tag = (b: Buffer, o: number): string => b.toString('latin1', o, o + 4);
  if (readSync(fd, head, 0, 12, 0) < 12 || tag(head, 0) !== 'RIFF' || tag(head, 8) !== 'WAVE') {
    throw new AvdubError(ErrorCode.UNSUPPORTED_MEDIA, `${path}: not a RIFF/WAVE file`);
  }
  let pos = 12;
  const ch = Buffer.alloc(48);
  let fmt: { format: number; channels: number; sampleRate: number; bitDepth: number } | undefined;
  while (pos + 8 <= size) {
    readSync(fd, ch, 0, 8, pos);
    const id = tag(ch, 0);
    const len = ch.readUInt32LE(4);
    const body = pos + 8;
    if (id === 'fmt ') {
      const got = readSync(fd, ch, 0, Math.min(40, len), body);
      if (len < 16 || got < 16) throw new AvdubError(ErrorCode.CORRUPT_MEDIA, `${path}: WAV "fmt " chunk is truncated`);
      let format = ch.readUInt16LE(0);
      if (format === 0xfffe && len >= 40 && got >= 26) format = ch.readUInt16LE(24);
      fmt = { format, channels: ch.readUInt16LE(2), sampleRate: ch.readUInt32LE(4), bitDepth: ch.readUInt16LE(14) };
    } else if (id === 'data') {
      if (!fmt) throw new AvdubError(ErrorCode.CORRUPT_MEDIA, `${path}: WAV "data" chunk comes before its "fmt " chunk`);
      const float = fmt.format === 3;
      if (fmt.format !== 1 && !float) throw new AvdubError(ErrorCode.UNSUPPORTED_MEDIA, `${path}: WAV sample format 0x${fmt.format.toString(16)} is not PCM or float`);
      const okDepth = float ? [32, 64] : [8, 16, 24, 32];
      if (!okDepth.includes(fmt.bitDepth) || fmt.channels < 1 || fmt.sampleRate < 1) {
        throw new AvdubError(ErrorCode.UNSUPPORTED_MEDIA, `${path}: unsupported WAV layout: ${fmt.channels} ch, ${fmt.bitDepth}-bit ${float ? 'float' : 'PCM'}`);
      }
      const block = (fmt.bitDepth / 8) * fmt.channels;
      const available = size - body;
      const bytes = len === 0 || len > available ? available : len;
      return { sampleRate: fmt.sampleRate, channels: fmt.channels, bitDepth: fmt.bitDepth, float, dataOffset: body, frames: Math.floor(bytes / block) };
    }
    pos = body + len + (len & 1);
  }
  throw new AvdubError(ErrorCode.CORRUPT_MEDIA, `${path}: WAV file has no ${fmt ? '"data"' : '"fmt "'} chunk`);
}

/**
 * A WAV file on disk as a mono `SampleSource`, read in chunks with positional reads (nothing
 * but one chunk in memory). Samples decode exactly as `decodeWav` (node-wav's scaling) and
 * channels average exactly as `toMono`. `length` pads with silence or trims.
 */
export class WavFileSource implements SampleSource {
  readonly sampleRate: number;
  readonly channels: number;
  /** Sample frames in the file. */
  readonly fileFrames: number;
  readonly length: number;
  private fd: number | undefined;
  private scratch = Buffer.alloc(0);

  private constructor(
    readonly path: string,
    fd: number,
    private readonly layout: WavLayout,
    length: number | undefined,
  ) {
    this.fd = fd;
    this.sampleRate = layout.sampleRate;
    this.channels = layout.channels;
    this.fileFrames = layout.frames;
    this.length = length ?? layout.frames;
  }

  /** Opens a PCM (8/16/24/32-bit) or float (32/64-bit) WAV file; `length` (samples) pads or trims it. */
  static open(path: string, options: { length?: number } = {}): WavFileSource {
    if (options.length !== undefined) is.integer('length', options.length, 0);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (cause) {
      throw new AvdubError(ErrorCode.INPUT_NOT_FOUND, `Cannot open ${path}`, { cause, details: { path } });
    }
    try {
      return new WavFileSource(path, fd, readWavLayout(fd, path), options.length);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  read(start: number, dst: Float32Array): void {
    if (this.fd === undefined) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `${this.path}: the source is closed`);
    dst.fill(0);
    const lo = Math.max(0, start);
    const hi = Math.min(this.length, this.fileFrames, start + dst.length);
    if (hi <= lo) return;
    const L = this.layout;
    const bps = L.bitDepth / 8;
    const block = bps * L.channels;
    const out = dst.subarray(lo - start, hi - start);
    const bytes = (hi - lo) * block;
    const pos = L.dataOffset + lo * block;
    if (L.float && L.bitDepth === 32 && L.channels === 1) {
      this.readFully(new Uint8Array(out.buffer, out.byteOffset, bytes), pos);
      return;
    }
    if (this.scratch.length < bytes) this.scratch = Buffer.alloc(bytes);
    const b = this.scratch;
    this.readFully(b.subarray(0, bytes), pos);
    const C = L.channels;
    const inv = 1 / C;
    const sample = decoderFor(L);
    for (let i = 0, o = 0; i < out.length; i++) {
      if (C === 1) {
        out[i] = sample(b, o);
        o += bps;
        continue;
      }
      let acc = 0;
      for (let c = 0; c < C; c++, o += bps) acc += sample(b, o);
      out[i] = acc * inv;
    }
  }

  private readFully(dst: Uint8Array, pos: number): void {
    let done = 0;
    while (done < dst.length) {
      const n = readSync(this.fd!, dst, done, dst.length - done, pos + done);
      if (n <= 0) {
        dst.fill(0, done);
        return;
      }
      done += n;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** One sample as node-wav decodes it (then rounded to float32, as its Float32Array output). */
function decoderFor(L: WavLayout): (b: Buffer, o: number) => number {
  const f = Math.fround;
  if (L.float) return L.bitDepth === 32 ? (b, o) => b.readFloatLE(o) : (b, o) => f(b.readDoubleLE(o));
  switch (L.bitDepth) {
    case 8:
      return (b, o) => {
        const d = b[o]! - 128;
        return f(d < 0 ? d / 128 : d / 127);
      };
    case 16:
      return (b, o) => {
        const d = b.readInt16LE(o);
        return f(d < 0 ? d / 32768 : d / 32767);
      };
    case 24:
      return (b, o) => {
        const xx = b[o]! + (b[o + 1]! << 8) + (b[o + 2]! << 16);
        const d = xx > 0x800000 ? xx - 0x1000000 : xx;
        const v = f(d < 0 ? d / 8388608 : d / 8388607);
        return v > 1 ? -1 : v; // decodeWav's fix of node-wav's 0x800000
      };
    default:
      return (b, o) => {
        const d = b.readInt32LE(o);
        return f(d < 0 ? d / 2147483648 : d / 2147483647);
      };
  }
}

/** Writes a mono 32-bit float WAV file sample block by sample block; the header is completed on `close`. */
export class WavFileWriter {
  private fd: number | undefined;
  private frames = 0;

  private constructor(
    readonly path: string,
    fd: number,
    readonly sampleRate: number,
  ) {
    this.fd = fd;
    writeSync(fd, this.header(0xffffffff - 36), 0, 44, 0);
  }

  static open(path: string, sampleRate: number): WavFileWriter {
    is.integer('sampleRate', sampleRate, 1, 1_000_000);
    return new WavFileWriter(path, openSync(path, 'w'), sampleRate);
  }

  /** Samples written so far. */
  get length(): number {
    return this.frames;
  }

  write(samples: Float32Array): void {
    if (this.fd === undefined) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `${this.path}: the writer is closed`);
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, 44 + this.frames * 4 + done);
    this.frames += samples.length;
  }

  close(): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, this.header(this.frames * 4), 0, 44, 0);
    closeSync(this.fd);
    this.fd = undefined;
  }

  private header(dataBytes: number): Buffer {
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
    h.write('WAVEfmt ', 8, 'latin1');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(3, 20); // IEEE float
    h.writeUInt16LE(1, 22);
    h.writeUInt32LE(this.sampleRate, 24);
    h.writeUInt32LE(this.sampleRate * 4, 28);
    h.writeUInt16LE(4, 32);
    h.writeUInt16LE(32, 34);
    h.write('data', 36, 'latin1');
    h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
    return h;
  }
}

export interface DecodeToWavOptions extends FfmpegOptions {
  /** @default 16000 */
  sampleRate?: number;
  /** Resampler settings for WAV input (ffmpeg's soxr is used for everything else). */
  resample?: Partial<ResampleOptions>;
  signal?: AbortSignal;
  info?: MediaInfo;
}

/** Output samples resampled per block (~4 s at 16 kHz). */
const RESAMPLE_BLOCK = 65536;

/**
 * Decodes any audio or video file's first audio track to a mono 32-bit float WAV file at
 * `sampleRate`, in bounded memory: the same samples `readAudio(input, { sampleRate })` returns
 * (a PCM/float WAV is read in chunks, averaged to mono and resampled block by block with the
 * same Kaiser resampler; anything else is decoded by ffmpeg straight to the file, soxr, as
 * `extractAudio`). Resolves to the number of samples written.
 */
export async function decodeToWav(input: string, output: string, options: DecodeToWavOptions = {}): Promise<number> {
  const rate = options.sampleRate ?? 16000;
  is.integer('sampleRate', rate, 1000, 384000);
  throwIfAborted(options.signal);
  if (extname(input).toLowerCase() === '.wav') {
    let src: WavFileSource | undefined;
    try {
      src = WavFileSource.open(input);
    } catch (e) {
      if (!AvdubError.isInstance(e, ErrorCode.UNSUPPORTED_MEDIA)) throw e; // ffmpeg below
    }
    if (src) {
      const w = WavFileWriter.open(output, rate);
      try {
        const r = src.sampleRate === rate ? undefined : new Resampler(src.sampleRate, rate, options.resample);
        const nOut = r ? r.outputLength(src.length) : src.length;
        const read = (start: number, dst: Float32Array): void => src!.read(start, dst);
        for (let j = 0; j < nOut; j += RESAMPLE_BLOCK) {
          throwIfAborted(options.signal);
          const j1 = Math.min(nOut, j + RESAMPLE_BLOCK);
          let block: Float32Array;
          if (r) block = r.processBlock(read, src.length, j, j1);
          else {
            block = new Float32Array(j1 - j);
            src.read(j, block);
          }
          w.write(block);
          if (j % (RESAMPLE_BLOCK * 16) === 0) await new Promise<void>((res) => setImmediate(res));
        }
        return w.length;
      } finally {
        w.close();
        src.close();
      }
    }
  }
  const info = options.info ?? (await probeMedia(input, options));
  const audio = requireAudio(info);
  const { ffmpeg } = resolveBinaries(options);
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-i', info.path, '-map', `0:${audio.index}`, '-vn'];
  args.push('-af', 'aresample=resampler=soxr', '-ac', '1', '-ar', `${rate}`, '-c:a', 'pcm_f32le', '-bitexact', '-f', 'wav', '-y', output);
  await runTool(ffmpeg, args, { signal: options.signal, what: `Audio extraction from ${info.path}` });
  const src = WavFileSource.open(output);
  const n = src.length;
  src.close();
  return n;
}

/** Mel frames computed per step (the MelFrontend's FFT batch). */
const STEP = 16;

/**
 * The windows of `MelFrontend.windows(mel, [t])` over a `SampleSource`, without the
 * spectrogram: mel frames are computed as the windows move forward and kept in a ring of
 * `windowFrames + 2 x 16` frames (a 24-frame paper window: 56 frames, 18 KB). Ask for times in
 * non-decreasing order; an earlier time is still answered exactly, by recomputing from there.
 */
export class MelWindowStream {
  readonly nFrames: number;
  private readonly R: number;
  private readonly ring: Float32Array;
  private readonly tmp: Float32Array;
  private lo = 0;
  private hi = 0;
  /** Frames computed (for tests and stats). */
  computed = 0;

  constructor(
    readonly frontend: MelFrontend,
    readonly source: SampleSource,
  ) {
    const c = frontend.config;
    if (source.sampleRate !== c.sampleRate) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a ${c.sampleRate} Hz source for this MelFrontend but received ${source.sampleRate} Hz`, {
        details: { option: 'source' },
      });
    }
    this.nFrames = frontend.frameCount(source.length);
    this.R = c.windowFrames + 2 * STEP;
    this.ring = new Float32Array(c.nMels * this.R);
    this.tmp = new Float32Array(c.nMels * STEP);
  }

  /** The window for a video frame at `t` seconds: [nMels][windowFrames], as `MelFrontend.windows`. */
  window(t: number): Float32Array {
    is.number('t', t);
    const fe = this.frontend;
    const W = fe.config.windowFrames;
    const nMels = fe.config.nMels;
    const s = fe.windowStart(t, { nFrames: this.nFrames });
    this.ensure(Math.max(0, s), Math.min(this.nFrames, s + W));
    const out = new Float32Array(nMels * W);
    const silence = fe.silence;
    const R = this.R;
    for (let w = 0; w < W; w++) {
      const f = s + w;
      if (f < 0 || f >= this.nFrames) {
        for (let m = 0; m < nMels; m++) out[m * W + w] = silence;
        continue;
      }
      const col = f % R;
      for (let m = 0; m < nMels; m++) out[m * W + w] = this.ring[m * R + col]!;
    }
    return out;
  }

  /** Frames [a, b) into the ring. */
  private ensure(a: number, b: number): void {
    if (b <= a) return;
    if (a < this.lo || a > this.hi) this.lo = this.hi = a; // a jump back, or past the ring: start over there
    const fe = this.frontend;
    const nMels = fe.config.nMels;
    const R = this.R;
    const n = this.source.length;
    while (this.hi < b) {
      const f0 = this.hi;
      const f1 = Math.min(this.nFrames, f0 + STEP);
      const { lo, hi } = fe.samplesFor(n, f0, f1);
      const chunk = new Float32Array(hi - lo);
      this.source.read(lo, chunk);
      fe.computeFrames(chunk, lo, n, f0, f1, this.tmp, STEP);
      for (let f = f0; f < f1; f++) {
        const col = f % R;
        for (let m = 0; m < nMels; m++) this.ring[m * R + col] = this.tmp[m * STEP + f - f0]!;
      }
      this.computed += f1 - f0;
      this.hi = f1;
      this.lo = Math.max(this.lo, this.hi - R);
    }
  }
}

/** Mel frames of a source, in blocks: `each(frames, f0, f1)` sees [nMels][f1 - f0] (stride `STATS_BLOCK`). */
const STATS_BLOCK = 512;
function forEachMelBlock(fe: MelFrontend, source: SampleSource, signal: AbortSignal | undefined, each: (mel: Float32Array, f0: number, f1: number) => void): void {
  const n = source.length;
  const nFrames = fe.frameCount(n);
  const mel = new Float32Array(fe.config.nMels * STATS_BLOCK);
  for (let f0 = 0; f0 < nFrames; f0 += STATS_BLOCK) {
    throwIfAborted(signal);
    const f1 = Math.min(nFrames, f0 + STATS_BLOCK);
    const { lo, hi } = fe.samplesFor(n, f0, f1);
    const chunk = new Float32Array(hi - lo);
    source.read(lo, chunk);
    fe.computeFrames(chunk, lo, n, f0, f1, mel, STATS_BLOCK);
    each(mel, f0, f1);
  }
}

/**
 * Per-band mean and standard deviation of a source's mel spectrogram over its non-silent frames,
 * exactly as `melBandStats(frontend.compute(samples))` (src/lipsync/personalized/features.ts):
 * the frames above the 10th percentile of the per-frame mean energy. Two streaming passes: the
 * first keeps one float32 energy per mel frame (400 B per second of audio at 100 frames/s:
 * 240 KB per 10 minutes), the second sums the kept frames band by band.
 */
export function streamMelBandStats(fe: MelFrontend, source: SampleSource, signal?: AbortSignal): { mean: Float32Array; std: Float32Array } {
  const nMels = fe.config.nMels;
  const nFrames = fe.frameCount(source.length);
  const energy = new Float32Array(nFrames);
  forEachMelBlock(fe, source, signal, (mel, f0, f1) => {
    for (let k = f0; k < f1; k++) {
      let e = 0;
      for (let m = 0; m < nMels; m++) e = Math.fround(e + mel[m * STATS_BLOCK + k - f0]! / nMels);
      energy[k] = e;
    }
  });
  const sorted = Float32Array.from(energy).sort();
  const floor = sorted[Math.floor(sorted.length * 0.1)] ?? fe.silence;
  const s = new Float64Array(nMels);
  const s2 = new Float64Array(nMels);
  let count = 0;
  for (let k = 0; k < nFrames; k++) if (energy[k]! > floor || nFrames < 10) count++;
  forEachMelBlock(fe, source, signal, (mel, f0, f1) => {
    for (let m = 0; m < nMels; m++) {
      let a = s[m]!;
      let a2 = s2[m]!;
      for (let k = f0; k < f1; k++) {
        if (!(energy[k]! > floor || nFrames < 10)) continue;
        const v = mel[m * STATS_BLOCK + k - f0]!;
        a += v;
        a2 += v * v;
      }
      s[m] = a;
      s2[m] = a2;
    }
  });
  const mean = new Float32Array(nMels);
  const std = new Float32Array(nMels);
  const cnt = Math.max(1, count);
  for (let m = 0; m < nMels; m++) {
    mean[m] = s[m]! / cnt;
    std[m] = Math.sqrt(Math.max(1e-6, s2[m]! / cnt - (s[m]! / cnt) ** 2));
  }
  return { mean, std };
}

export interface StreamingAudioOptions {
  /** Mel preset of the windows and statistics. @default 'paper' */
  preset?: MelPresetName;
  /** Samples: pads the file with silence or trims it. */
  length?: number;
  signal?: AbortSignal;
}

/**
 * A recording on disk (a 16 kHz WAV file) as the lip-sync models read it: per-band mel
 * statistics and voice activity from streaming pre-passes, then the mel window and the voice
 * decision per video frame (times in non-decreasing order) from a ring of mel frames. Holds the
 * per-10-ms voice decisions (1 byte each: 60 KB per 10 minutes) and the ring, never the
 * samples or the spectrogram. Equal to `audioContext` (src/lipsync/personalized/footage.ts) +
 * `MelFrontend.windows` + `voicedAt` on the same samples.
 */
export class StreamingAudio {
  readonly frontend: MelFrontend;
  readonly stats: { mean: Float32Array; std: Float32Array };
  /** Voice activity per VAD frame (1 = speech), frame k at k / vadFrameRate seconds. */
  readonly vadFrames: Uint8Array;
  readonly vadFrameRate: number;
  readonly length: number;
  private readonly mel: MelWindowStream;

  private constructor(
    private readonly source: SampleSource & { close?: () => void },
    o: StreamingAudioOptions,
  ) {
    this.length = source.length;
    this.frontend = new MelFrontend({ preset: o.preset ?? 'paper' });
    this.stats = streamMelBandStats(this.frontend, source, o.signal);
    const vad = new VoiceActivityDetector({ sampleRate: source.sampleRate }).detectFrom((s, d) => source.read(s, d), source.length, { signal: o.signal });
    this.vadFrames = vad.frames;
    this.vadFrameRate = vad.frameRate;
    this.mel = new MelWindowStream(this.frontend, source);
  }

  /** A 16 kHz mono WAV file (see `decodeToWav`). */
  static open(path: string, options: StreamingAudioOptions = {}): StreamingAudio {
    const src = WavFileSource.open(path, { length: options.length });
    try {
      return new StreamingAudio(src, options);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Any sample source (samples in memory: `arraySource`). */
  static fromSource(source: SampleSource, options: StreamingAudioOptions = {}): StreamingAudio {
    return new StreamingAudio(source, options);
  }

  /** The mel window at `t` seconds ([nMels][windowFrames]). */
  window(t: number): Float32Array {
    return this.mel.window(t);
  }

  /** Voice activity at `t` seconds (as `voicedAt`). */
  voiced(t: number): boolean {
    const f = this.vadFrames;
    const k = Math.min(f.length - 1, Math.max(0, Math.round(t * this.vadFrameRate)));
    return f[k] === 1;
  }

  close(): void {
    this.source.close?.();
  }
}

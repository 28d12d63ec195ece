import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { extractAudio, type AudioData } from '../media/audio.js';
import type { FfmpegOptions } from '../media/binaries.js';
import { checkInputFile, probeMedia, requireAudio } from '../media/probe.js';
import { AtomicOutput } from '../util/atomic.js';
import { mergeOptions } from '../util/options.js';
import { is } from '../util/validate.js';
import { checkAudio, resample, toMono, type ResampleOptions } from './resample.js';

/**
 * WAV in and out with `node-wav`, plus `readAudio` for any format through `media/` (ffmpeg).
 *
 * node-wav only understands the canonical layout (a plain PCM/float "fmt " chunk, a "data"
 * chunk at an offset its typed arrays can view). Real files often carry LIST/JUNK chunks,
 * odd-sized chunks, WAVE_FORMAT_EXTENSIBLE headers (24-bit and multichannel files) or a
 * streaming "data" size of 0xFFFFFFFF. `decodeWav` therefore walks the RIFF chunks itself and
 * hands node-wav a canonical 44-byte-header copy of the samples.
 */

interface NodeWav {
  decode(buffer: ArrayBuffer): { sampleRate: number; channelData: Float32Array[] } | undefined;
  encode(channelData: Float32Array[], opts: { sampleRate: number; float?: boolean; bitDepth?: number }): Buffer;
}

const require = createRequire(import.meta.url);
let nodeWav: NodeWav | undefined;
function loadNodeWav(): NodeWav {
  nodeWav ??= require('node-wav') as NodeWav;
  return nodeWav;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitDepth: number;
  float: boolean;
  /** Sample frames (samples per channel). */
  frames: number;
}

function corrupt(message: string): AvdubError {
  return new AvdubError(ErrorCode.CORRUPT_MEDIA, message);
}

function unsupported(message: string): AvdubError {
  return new AvdubError(ErrorCode.UNSUPPORTED_MEDIA, message);
}

/** Finds the format and the sample bytes of a RIFF/WAVE file. */
function parseWav(buf: Uint8Array): { info: WavInfo; data: Uint8Array } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number): string => String.fromCharCode(buf[o]!, buf[o + 1]!, buf[o + 2]!, buf[o + 3]!);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    throw unsupported('Not a RIFF/WAVE file');
  }
  let pos = 12;
  let fmt: { format: number; channels: number; sampleRate: number; blockAlign: number; bitDepth: number } | undefined;
  while (pos + 8 <= buf.length) {
    const id = tag(pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw corrupt('WAV "fmt " chunk is truncated');
      let format = view.getUint16(body, true);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= buf.length) {
        format = view.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bitDepth: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw corrupt('WAV "data" chunk comes before its "fmt " chunk');
      if (fmt.format !== WAVE_FORMAT_PCM && fmt.format !== WAVE_FORMAT_IEEE_FLOAT) {
        throw unsupported(`WAV sample format 0x${fmt.format.toString(16)} is not PCM or float`);
      }
      const float = fmt.format === WAVE_FORMAT_IEEE_FLOAT;
      const okDepth = float ? [32, 64] : [8, 16, 24, 32];
      if (!okDepth.includes(fmt.bitDepth) || fmt.channels < 1 || fmt.sampleRate < 1) {
        throw unsupported(`Unsupported WAV layout: ${fmt.channels} ch, ${fmt.bitDepth}-bit ${float ? 'float' : 'PCM'}`);
      }
      const block = (fmt.bitDepth / 8) * fmt.channels;
      // Streams written without seeking say 0xFFFFFFFF (or 0): take what is there.
      const available = buf.length - body;
      const bytes = size === 0 || size > available ? available : size;
      const frames = Math.floor(bytes / block);
      return {
        info: { sampleRate: fmt.sampleRate, channels: fmt.channels, bitDepth: fmt.bitDepth, float, frames },
        data: buf.subarray(body, body + frames * block),
      };
    }
    pos = body + size + (size & 1); // chunks are padded to even sizes
  }
  throw corrupt(fmt ? 'WAV file has no "data" chunk' : 'WAV file has no "fmt " chunk');
}

/** The format of a WAV file in memory, without decoding it. */
export function wavInfo(buffer: Uint8Array): WavInfo {
  return parseWav(buffer).info;
}

/**
 * Decodes a WAV file in memory to float samples in [-1, 1], interleaved when multi-channel.
 * PCM 8/16/24/32-bit and float 32/64-bit, canonical or WAVE_FORMAT_EXTENSIBLE.
 */
export function decodeWav(buffer: Uint8Array): Required<AudioData> {
  if (!(buffer instanceof Uint8Array)) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a Buffer or Uint8Array holding a WAV file', {
      details: { option: 'buffer' },
    });
  }
  const { info, data } = parseWav(buffer);
  // A canonical copy at offset 0 (44 is a multiple of 4, so node-wav's typed views are aligned).
  const canon = new Uint8Array(44 + data.length);
  const v = new DataView(canon.buffer);
  const put = (o: number, s: string): void => {
    for (let i = 0; i < 4; i++) canon[o + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  v.setUint32(4, 36 + data.length, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, info.float ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM, true);
  v.setUint16(22, info.channels, true);
  v.setUint32(24, info.sampleRate, true);
  v.setUint32(28, (info.sampleRate * info.channels * info.bitDepth) / 8, true);
  v.setUint16(32, (info.channels * info.bitDepth) / 8, true);
  v.setUint16(34, info.bitDepth, true);
  put(36, 'data');
  v.setUint32(40, data.length, true);
  canon.set(data, 44);
  let decoded: ReturnType<NodeWav['decode']>;
  try {
    decoded = loadNodeWav().decode(canon.buffer);
  } catch (cause) {
    throw new AvdubError(ErrorCode.CORRUPT_MEDIA, `Cannot decode WAV data: ${(cause as Error).message}`, { cause });
  }
  if (!decoded) throw corrupt('Cannot decode WAV data');
  const { channelData } = decoded;
  const channels = channelData.length;
  const frames = channelData[0]?.length ?? 0;
  let samples: Float32Array;
  if (channels === 1) {
    samples = channelData[0]!;
  } else {
    samples = new Float32Array(frames * channels);
    for (let c = 0; c < channels; c++) {
      const ch = channelData[c]!;
      for (let i = 0; i < frames; i++) samples[i * channels + c] = ch[i]!;
    }
  }
  // node-wav maps the 24-bit code 0x800000 to +1.0000001 instead of -1; keep [-1, 1].
  if (info.bitDepth === 24) {
    for (let i = 0; i < samples.length; i++) if (samples[i]! > 1) samples[i] = -1;
  }
  return { samples, sampleRate: info.sampleRate, channels };
}

export interface EncodeWavOptions {
  /** Integer PCM bit depth (ignored for float). @default 16 */
  bitDepth: 8 | 16 | 24 | 32;
  /** 32-bit IEEE float samples instead of PCM. @default false */
  float: boolean;
}

export const defaultEncodeWavOptions: EncodeWavOptions = { bitDepth: 16, float: false };

/** Encodes samples (clipped to [-1, 1]) as a canonical WAV file. */
export function encodeWav(audio: AudioData, options?: Partial<EncodeWavOptions>): Buffer {
  const channels = checkAudio('audio', audio);
  const o = mergeOptions(defaultEncodeWavOptions, options);
  is.oneOf('bitDepth', String(o.bitDepth), ['8', '16', '24', '32']);
  is.boolean('float', o.float);
  const frames = audio.samples.length / channels;
  const data: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    if (channels === 1) {
      data.push(audio.samples);
      break;
    }
    const ch = new Float32Array(frames);
    for (let i = 0; i < frames; i++) ch[i] = audio.samples[i * channels + c]!;
    data.push(ch);
  }
  return loadNodeWav().encode(data, { sampleRate: audio.sampleRate, float: o.float, bitDepth: o.float ? 32 : o.bitDepth });
}

export interface WriteWavOptions extends Partial<EncodeWavOptions> {
  signal?: AbortSignal;
}

/** Writes a WAV file atomically (temporary name, renamed on success). Resolves to the path. */
export async function writeWav(path: string, audio: AudioData, options: WriteWavOptions = {}): Promise<string> {
  is.string('path', path);
  const { signal, ...enc } = options;
  const bytes = encodeWav(audio, enc);
  throwIfAborted(signal);
  const out = await AtomicOutput.open(path);
  try {
    await writeFile(out.tempPath, bytes, { signal });
    throwIfAborted(signal);
    return await out.commit();
  } catch (e) {
    await out.discard();
    if (signal?.aborted) throwIfAborted(signal);
    if (AvdubError.isInstance(e)) throw e;
    throw new AvdubError(ErrorCode.OUTPUT_WRITE, `Cannot write ${path}`, { cause: e });
  }
}

/** Reads a WAV file with node-wav (no resampling, channels kept). */
export async function readWav(path: string, options: { signal?: AbortSignal } = {}): Promise<Required<AudioData>> {
  const abs = await checkInputFile(path);
  const bytes = await readFile(abs, { signal: options.signal });
  try {
    return decodeWav(bytes);
  } catch (e) {
    if (AvdubError.isInstance(e)) {
      throw new AvdubError(e.code, `${abs}: ${e.message}`, { cause: e.cause, details: { path: abs } });
    }
    throw e;
  }
}

export interface ReadAudioOptions extends FfmpegOptions {
  /** Output rate, or 'keep' for the file's own rate. @default 16000 */
  sampleRate?: number | 'keep';
  /** 1 averages the channels to mono; 'keep' keeps them (interleaved). @default 1 */
  channels?: 1 | 'keep';
  /** Resampler settings for WAV files (ffmpeg's soxr is used for everything else). */
  resample?: Partial<ResampleOptions>;
  signal?: AbortSignal;
}

export const defaultReadAudioOptions: { sampleRate: number | 'keep'; channels: 1 | 'keep' } = {
  sampleRate: 16000,
  channels: 1,
};

/**
 * Reads any audio or video file's first audio track. WAV files (PCM/float) are decoded with
 * node-wav and resampled in-process (Kaiser sinc, see `resample`); everything else, and WAV
 * codecs node-wav does not handle (ADPCM, mu-law...), goes through ffmpeg (`media/extractAudio`,
 * soxr resampler).
 */
export async function readAudio(path: string, options: ReadAudioOptions = {}): Promise<Required<AudioData>> {
  is.string('path', path);
  const o = { ...options, ...mergeOptions(defaultReadAudioOptions, { sampleRate: options.sampleRate, channels: options.channels }) };
  if (o.sampleRate !== 'keep') is.integer('sampleRate', o.sampleRate, 1000, 384000);
  if (o.channels !== 1) is.oneOf('channels', o.channels, ['keep'] as const);
  throwIfAborted(o.signal);
  if (extname(path).toLowerCase() === '.wav') {
    let audio: Required<AudioData> | undefined;
    try {
      audio = await readWav(path, { signal: o.signal });
    } catch (e) {
      // Not a plain PCM/float WAV: let ffmpeg decode it below.
      if (!AvdubError.isInstance(e, ErrorCode.UNSUPPORTED_MEDIA)) throw e;
    }
    if (audio) {
      let out: AudioData = o.channels === 1 ? toMono(audio) : audio;
      if (o.sampleRate !== 'keep') out = resample(out, o.sampleRate, o.resample);
      return { samples: out.samples, sampleRate: out.sampleRate, channels: out.channels ?? 1 };
    }
  }
  const info = await probeMedia(path, o);
  const stream = requireAudio(info);
  return extractAudio(path, {
    ...o,
    info,
    sampleRate: o.sampleRate === 'keep' ? stream.sampleRate : o.sampleRate,
    channels: o.channels === 1 ? 1 : stream.channels,
  });
}

import type { AudioData } from '../media/audio.js';

/**
 * Minimal RIFF/WAVE for the HTTP clients: 16-bit PCM encoding of what we upload, and decoding
 * of PCM (8/16/24/32-bit int, 32/64-bit float, WAVE_FORMAT_EXTENSIBLE) that servers send back.
 * Anything else goes through ffmpeg (`src/media/decode.ts`).
 */

/** Mono 16-bit PCM WAV of `audio` (channels averaged). */
export function encodeWav16(audio: AudioData): Uint8Array {
  const channels = audio.channels ?? 1;
  const frames = Math.floor(audio.samples.length / channels);
  const out = new Uint8Array(44 + frames * 2);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, s: string): void => {
    for (let i = 0; i < s.length; i++) out[offset + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + frames * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, frames * 2, true);
  for (let f = 0; f < frames; f++) {
    let v = 0;
    for (let c = 0; c < channels; c++) v += audio.samples[f * channels + c]!;
    v /= channels;
    const clamped = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
    view.setInt16(44 + f * 2, Math.round(clamped * 32767), true);
  }
  return out;
}

/** True when the bytes start like a RIFF/WAVE file. */
export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii4(bytes, 0) === 'RIFF' && ascii4(bytes, 8) === 'WAVE';
}

/**
 * Decodes PCM WAV to float32 (interleaved when multi-channel). Returns undefined for encodings
 * it does not handle (the caller falls back to ffmpeg). Streamed WAVs whose size fields say
 * 0 or 0xFFFFFFFF are read to the end of the bytes.
 */
export function decodeWav(bytes: Uint8Array): Required<AudioData> | undefined {
  if (!isWav(bytes)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let dataStart = -1;
  let dataSize = 0;
  while (pos + 8 <= bytes.length) {
    const id = ascii4(bytes, pos);
    let size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ' && body + 16 <= bytes.length) {
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 40 && body + 26 <= bytes.length) format = view.getUint16(body + 24, true);
    } else if (id === 'data') {
      dataStart = body;
      if (size === 0 || size === 0xffffffff || body + size > bytes.length) size = bytes.length - body;
      dataSize = size;
      break;
    }
    pos = body + size + (size & 1);
  }
  if (dataStart < 0 || channels < 1 || sampleRate < 1) return undefined;
  const width = bits / 8;
  if (!((format === 1 && [1, 2, 3, 4].includes(width)) || (format === 3 && (width === 4 || width === 8)))) return undefined;
  const count = Math.floor(dataSize / width);
  const samples = new Float32Array(count - (count % channels));
  for (let i = 0; i < samples.length; i++) {
    const at = dataStart + i * width;
    let v: number;
    if (format === 3) v = width === 4 ? view.getFloat32(at, true) : view.getFloat64(at, true);
    else if (width === 1) v = (view.getUint8(at) - 128) / 128;
    else if (width === 2) v = view.getInt16(at, true) / 32768;
    else if (width === 3) v = ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608);
    else v = view.getInt32(at, true) / 2147483648;
    samples[i] = v;
  }
  return { samples, sampleRate, channels };
}

/** Averages interleaved channels to mono (returns the input when already mono). */
export function toMono(audio: AudioData): Required<AudioData> {
  const channels = audio.channels ?? 1;
  if (channels === 1) return { samples: audio.samples, sampleRate: audio.sampleRate, channels: 1 };
  const frames = Math.floor(audio.samples.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let v = 0;
    for (let c = 0; c < channels; c++) v += audio.samples[f * channels + c]!;
    out[f] = v / channels;
  }
  return { samples: out, sampleRate: audio.sampleRate, channels: 1 };
}

function ascii4(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

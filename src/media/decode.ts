import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { is } from '../util/validate.js';
import { resolveBinaries, type FfmpegOptions } from './binaries.js';
import { lastLines, spawnTracked } from './process.js';
import type { AudioData } from './audio.js';

export interface DecodeAudioOptions extends FfmpegOptions {
  /** Output rate; the stream's own rate when omitted (ffmpeg reports it). @default 24000 */
  sampleRate?: number;
  /** @default 1 */
  channels?: number;
  signal?: AbortSignal;
  /** Names the input in error messages. */
  what?: string;
}

/**
 * Decodes encoded audio bytes (mp3, opus, aac, flac, wav...) to float32 PCM by piping them
 * through ffmpeg: stdin in, f32le out. Used for audio that arrives over HTTP.
 */
export async function decodeAudio(bytes: Uint8Array, options: DecodeAudioOptions = {}): Promise<Required<AudioData>> {
  const sampleRate = options.sampleRate ?? 24000;
  const channels = options.channels ?? 1;
  is.integer('sampleRate', sampleRate, 1000, 384000);
  is.integer('channels', channels, 1, 8);
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected non-empty audio bytes for decodeAudio');
  }
  throwIfAborted(options.signal);
  const { ffmpeg } = resolveBinaries(options);
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
    '-i', 'pipe:0', '-vn', '-af', 'aresample=resampler=soxr',
    '-ac', `${channels}`, '-ar', `${sampleRate}`, '-f', 'f32le', '-c:a', 'pcm_f32le', 'pipe:1',
  ];
  const t = spawnTracked(ffmpeg, args, { signal: options.signal, stdin: 'pipe' });
  const chunks: Buffer[] = [];
  t.child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  t.child.stdin!.on('error', () => {}); // a decoder that quits early closes stdin; the exit code tells
  t.child.stdin!.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const { code } = await t.exited;
  throwIfAborted(options.signal);
  if (code !== 0) {
    throw new AvdubError(
      ErrorCode.UNSUPPORTED_MEDIA,
      `Cannot decode ${options.what ?? 'audio bytes'} (ffmpeg exit ${code}): ${lastLines(t.stderrTail())}`,
    );
  }
  const out = Buffer.concat(chunks);
  const samples = new Float32Array(out.length >> 2);
  new Uint8Array(samples.buffer).set(out.subarray(0, samples.length * 4));
  return { samples, sampleRate, channels };
}

import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { AtomicOutput } from '../util/atomic.js';
import { is } from '../util/validate.js';
import { resolveBinaries, type FfmpegOptions } from './binaries.js';
import { probeMedia, requireAudio, requireVideo, type MediaInfo } from './probe.js';
import { runTool, spawnTracked, lastLines } from './process.js';

/** Plain audio at the boundaries (conventions 11). Multi-channel samples are interleaved. */
export interface AudioData {
  samples: Float32Array;
  sampleRate: number;
  channels?: number;
}

export interface ExtractAudioOptions extends FfmpegOptions {
  /** @default 16000 (the rate of the paper's mel front end, 001 s3.1.4) */
  sampleRate?: number;
  /** @default 1 */
  channels?: number;
  start?: number;
  duration?: number;
  signal?: AbortSignal;
  info?: MediaInfo;
}

export const defaultExtractAudioOptions = { sampleRate: 16000, channels: 1 };

/**
 * Decodes the first audio stream to float32 PCM. Resampling uses ffmpeg's SoX resampler
 * (`aresample=resampler=soxr`, high quality, linear phase), whose low-pass keeps aliasing far
 * below what the mel front end can see.
 */
export async function extractAudio(path: string, options: ExtractAudioOptions = {}): Promise<Required<AudioData>> {
  const o = { ...defaultExtractAudioOptions, ...options };
  is.integer('sampleRate', o.sampleRate, 1000, 384000);
  is.integer('channels', o.channels, 1, 8);
  is.optional(is.number, 'start', o.start, 0);
  is.optional(is.number, 'duration', o.duration, 0);
  const info = o.info ?? (await probeMedia(path, o));
  const audio = requireAudio(info);
  const { ffmpeg } = resolveBinaries(o);
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'];
  if (o.start !== undefined) args.push('-ss', `${o.start}`);
  if (o.duration !== undefined) args.push('-t', `${o.duration}`);
  args.push('-i', info.path, '-map', `0:${audio.index}`, '-vn', '-af', 'aresample=resampler=soxr');
  args.push('-ac', `${o.channels}`, '-ar', `${o.sampleRate}`, '-f', 'f32le', '-c:a', 'pcm_f32le', 'pipe:1');
  const { stdout } = await runTool(ffmpeg, args, { signal: o.signal, what: `Audio extraction from ${info.path}` });
  // Copy into an aligned buffer: Buffer pooling can leave a Float32Array view misaligned.
  const samples = new Float32Array(stdout.length >> 2);
  new Uint8Array(samples.buffer).set(stdout.subarray(0, samples.length * 4));
  return { samples, sampleRate: o.sampleRate, channels: o.channels };
}

export interface MuxAudioOptions extends FfmpegOptions {
  /** AAC bitrate. @default '192k' */
  audioBitrate?: string;
  /** A probe result for `audio` (a path), to skip probing it again. */
  audioInfo?: MediaInfo;
  signal?: AbortSignal;
}

/**
 * Writes `out` with the video stream of `video` (copied, not re-encoded) and `audio` (a file or
 * PCM samples) encoded to AAC. The audio is padded with silence or trimmed to the video's
 * duration, so the result never ends early or runs on with a frozen frame.
 */
export async function muxAudio(
  video: string,
  audio: string | AudioData,
  out: string,
  options: MuxAudioOptions = {},
): Promise<string> {
  const vinfo = await probeMedia(video, options);
  const v = requireVideo(vinfo);
  let audioInput: string[];
  let pcm: AudioData | undefined;
  if (typeof audio === 'string') {
    const ainfo = options.audioInfo ?? (await probeMedia(audio, options));
    const a = requireAudio(ainfo);
    audioInput = ['-i', ainfo.path, '-map', `1:${a.index}`];
  } else {
    if (!(audio?.samples instanceof Float32Array)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected audio as a path or { samples: Float32Array, sampleRate }');
    }
    is.integer('audio.sampleRate', audio.sampleRate, 1000, 384000);
    const channels = audio.channels ?? 1;
    is.integer('audio.channels', channels, 1, 8);
    pcm = audio;
    audioInput = ['-f', 'f32le', '-ar', `${audio.sampleRate}`, '-ac', `${channels}`, '-i', 'pipe:0', '-map', '1:a:0'];
  }
  throwIfAborted(options.signal);
  const duration = v.duration > 0 ? v.duration : vinfo.duration;
  const { ffmpeg } = resolveBinaries(options);
  const target = await AtomicOutput.open(out);
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
    '-i', vinfo.path, ...audioInput, '-map', `0:${v.index}`,
    '-c:v', 'copy', '-c:a', 'aac', '-b:a', options.audioBitrate ?? '192k',
    '-af', 'apad', '-t', `${duration}`,
    '-f', 'mp4', '-y', target.tempPath,
  ];
  try {
    if (pcm) {
      const t = spawnTracked(ffmpeg, args, { signal: options.signal, stdin: 'pipe', stdout: 'ignore' });
      t.child.stdin!.on('error', () => {}); // reported through the exit code
      t.child.stdin!.end(Buffer.from(pcm.samples.buffer, pcm.samples.byteOffset, pcm.samples.byteLength));
      const { code } = await t.exited;
      throwIfAborted(options.signal);
      if (code !== 0) {
        throw new AvdubError(ErrorCode.FFMPEG_FAILED, `Muxing failed (ffmpeg exit ${code}): ${lastLines(t.stderrTail())}`);
      }
    } else {
      await runTool(ffmpeg, args, { signal: options.signal, what: 'Muxing' });
    }
    return await target.commit();
  } catch (e) {
    await target.discard();
    throw e;
  }
}

import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { resolveBinaries, type FfmpegOptions } from './binaries.js';
import { lastLines, spawnTracked } from './process.js';

export interface VideoStreamInfo {
  index: number;
  codec: string;
  profile?: string;
  pixelFormat?: string;
  /**
   * Colour tags as ffprobe reports them (`color_space`, `color_range`, `color_primaries`,
   * `color_transfer`); absent when the stream does not say. `readYuvFrames` converts with the
   * matrix they name, and the render pass tags its output with them.
   */
  color: { space?: string; range?: string; primaries?: string; transfer?: string };
  /** Coded size, as stored. */
  width: number;
  height: number;
  /** Display rotation in degrees clockwise (0, 90, 180, 270), from the display matrix or `rotate` tag. */
  rotation: number;
  /** Size after rotation: what `readFrames` yields (ffmpeg auto-rotates). */
  displayWidth: number;
  displayHeight: number;
  /** Average frame rate (frames / duration); the best single number for a VFR stream. */
  fps: number;
  /** The stream's nominal (base) frame rate as a fraction, e.g. "30000/1001". */
  nominalFrameRate: string;
  /** True when the frame intervals are not all equal (see `ProbeOptions.scanFrames`). */
  variableFrameRate: boolean;
  /** Frame count from the container, or counted when `scanFrames` is set; undefined if unknown. */
  frameCount?: number;
  /** Frame intervals in seconds, present when `scanFrames` is set. */
  frameInterval?: { min: number; max: number };
  startTime: number;
  duration: number;
}

export interface AudioStreamInfo {
  index: number;
  codec: string;
  sampleRate: number;
  channels: number;
  channelLayout?: string;
  startTime: number;
  duration: number;
}

export interface MediaInfo {
  path: string;
  /** ffprobe's format name, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  container: string;
  containerLongName?: string;
  /** Seconds. */
  duration: number;
  size: number;
  bitRate?: number;
  /** The first video stream that is not cover art. */
  video?: VideoStreamInfo;
  /** The first audio stream. */
  audio?: AudioStreamInfo;
  streamCount: number;
}

export interface ProbeOptions extends FfmpegOptions {
  signal?: AbortSignal;
  /**
   * Read every video packet's timestamp (demux only, no decode) to count frames exactly and
   * detect variable frame rate from the real intervals rather than from the header rates.
   * @default false
   */
  scanFrames?: boolean;
}

/**
 * Facts about a media file. Throws a typed error before any heavy work for a missing path
 * (E_INPUT_NOT_FOUND), a directory (E_INPUT_NOT_A_FILE), an empty file (E_INPUT_EMPTY), a
 * truncated MP4/MOV (E_CORRUPT_MEDIA) and anything ffprobe cannot read (E_UNSUPPORTED_MEDIA).
 */
export async function probeMedia(path: string, options: ProbeOptions = {}): Promise<MediaInfo> {
  throwIfAborted(options.signal);
  const abs = await checkInputFile(path);
  const { ffprobe } = resolveBinaries(options);
  await checkIsoBmffIntegrity(abs);

  const t = spawnTracked(ffprobe, ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', abs], {
    signal: options.signal,
  });
  const chunks: Buffer[] = [];
  t.child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  const { code } = await t.exited;
  throwIfAborted(options.signal);
  let json: FfprobeJson = {};
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as FfprobeJson;
  } catch {
    /* handled below as unreadable */
  }
  if (code !== 0 || !json.format || !json.streams?.length) {
    throw new AvdubError(
      ErrorCode.UNSUPPORTED_MEDIA,
      `Not a readable media file: ${abs} (${lastLines(t.stderrTail(), 1) || 'no streams found'})`,
      { details: { path: abs, stderr: t.stderrTail() } },
    );
  }
  const info = parseProbe(abs, json);
  if (options.scanFrames && info.video) await scanVideoPackets(abs, info.video, ffprobe, options.signal);
  return info;
}

/** Throws unless the probed file has a video stream (E_NO_VIDEO_STREAM). */
export function requireVideo(info: MediaInfo): VideoStreamInfo {
  if (!info.video) {
    throw new AvdubError(ErrorCode.NO_VIDEO_STREAM, `No video stream in ${info.path}; a video is needed here`, {
      details: { path: info.path },
    });
  }
  return info.video;
}

/** Throws unless the probed file has an audio stream (E_NO_AUDIO_STREAM). */
export function requireAudio(info: MediaInfo): AudioStreamInfo {
  if (!info.audio) {
    throw new AvdubError(ErrorCode.NO_AUDIO_STREAM, `No audio stream in ${info.path}; an audio track is needed here`, {
      details: { path: info.path },
    });
  }
  return info.audio;
}

/** Existence / type / emptiness checks shared by every entry point that takes a file. */
export async function checkInputFile(path: string): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a file path but received ${String(path)}`);
  }
  const abs = resolve(path);
  let s;
  try {
    s = await stat(abs);
  } catch (cause) {
    throw new AvdubError(ErrorCode.INPUT_NOT_FOUND, `Input file not found: ${abs}`, { cause, details: { path: abs } });
  }
  if (!s.isFile()) {
    throw new AvdubError(ErrorCode.INPUT_NOT_A_FILE, `Input is not a regular file: ${abs}`, { details: { path: abs } });
  }
  if (s.size === 0) {
    throw new AvdubError(ErrorCode.INPUT_EMPTY, `Input file is empty: ${abs}`, { details: { path: abs } });
  }
  return abs;
}

/**
 * Walks the top-level boxes of an ISO-BMFF file (mp4/mov/m4a). A box that runs past the end of
 * the file, or a missing `moov`, means a truncated download or copy: ffprobe alone reports that
 * the same way as a text file, and for a moov-first file it would not notice at all.
 */
async function checkIsoBmffIntegrity(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(16);
    await fh.read(head, 0, 16, 0);
    if (head.toString('latin1', 4, 8) !== 'ftyp') return; // not ISO-BMFF: ffprobe decides
    let offset = 0;
    let sawMoov = false;
    while (offset + 8 <= size) {
      const { bytesRead } = await fh.read(head, 0, 16, offset);
      if (bytesRead < 8) break;
      let boxSize = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (boxSize === 1 && bytesRead >= 16) boxSize = Number(head.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - offset; // box runs to end of file
      if (type === 'moov') sawMoov = true;
      if (boxSize < 8 || offset + boxSize > size) {
        throw corrupt(path, `box '${type}' at byte ${offset} declares ${boxSize} bytes but the file ends at ${size}`);
      }
      offset += boxSize;
    }
    if (!sawMoov) throw corrupt(path, "no 'moov' box (index) found");
  } finally {
    await fh.close();
  }
}

function corrupt(path: string, why: string): AvdubError {
  return new AvdubError(ErrorCode.CORRUPT_MEDIA, `Truncated or corrupt MP4/MOV file ${path}: ${why}`, {
    details: { path },
  });
}

async function scanVideoPackets(path: string, video: VideoStreamInfo, ffprobe: string, signal?: AbortSignal) {
  const t = spawnTracked(
    ffprobe,
    ['-v', 'error', '-select_streams', `${video.index}`, '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path],
    { signal },
  );
  // Packets come in decode order; B-frames reorder them, so sort presentation times.
  const times: number[] = [];
  let partial = '';
  t.child.stdout!.setEncoding('utf8');
  t.child.stdout!.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const v = Number.parseFloat(l);
      if (Number.isFinite(v)) times.push(v);
    }
  });
  const { code } = await t.exited;
  throwIfAborted(signal);
  if (code !== 0 || times.length === 0) return;
  times.sort((a, b) => a - b);
  let min = Infinity;
  let max = 0;
  for (let i = 1; i < times.length; i++) {
    const d = times[i]! - times[i - 1]!;
    if (d < min) min = d;
    if (d > max) max = d;
  }
  video.frameCount = times.length;
  if (times.length > 1) {
    video.frameInterval = { min, max };
    // Timestamps are rounded to the stream time base; 1 ms of slack covers that.
    video.variableFrameRate = max - min > 1e-3;
    const span = times[times.length - 1]! - times[0]! + (times.length > 1 ? (times[times.length - 1]! - times[0]!) / (times.length - 1) : 0);
    if (span > 0) video.fps = times.length / span;
  }
}

interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  pix_fmt?: string;
  color_space?: string;
  color_range?: string;
  color_primaries?: string;
  color_transfer?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  start_time?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  tags?: Record<string, string>;
  disposition?: Record<string, number>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}
interface FfprobeJson {
  streams?: FfprobeStream[];
  format?: {
    format_name?: string;
    format_long_name?: string;
    duration?: string;
    size?: string;
    bit_rate?: string;
  };
}

function ratio(s: string | undefined): number {
  if (!s) return 0;
  const [n, d] = s.split('/').map(Number);
  if (!Number.isFinite(n) || !d) return 0;
  return n! / d;
}
/** ffprobe says "unknown" (or nothing) for an untagged property. */
function tag(s: string | undefined): string | undefined {
  return s && s !== 'unknown' ? s : undefined;
}

function num(s: string | undefined, fallback = 0): number {
  const v = Number.parseFloat(s ?? '');
  return Number.isFinite(v) ? v : fallback;
}

function parseProbe(path: string, json: FfprobeJson): MediaInfo {
  const fmt = json.format!;
  const streams = json.streams!;
  const duration = num(fmt.duration);
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  const info: MediaInfo = {
    path,
    container: fmt.format_name ?? 'unknown',
    containerLongName: fmt.format_long_name,
    duration,
    size: num(fmt.size),
    bitRate: fmt.bit_rate ? num(fmt.bit_rate) : undefined,
    streamCount: streams.length,
  };
  if (v && v.width && v.height) {
    const sd = v.side_data_list?.find((d) => typeof d.rotation === 'number');
    // Display-matrix rotation is counter-clockwise in ffprobe; the legacy tag is clockwise.
    const raw = sd?.rotation !== undefined ? -sd.rotation : num(v.tags?.rotate);
    const rotation = (((Math.round(raw / 90) * 90) % 360) + 360) % 360;
    const avg = ratio(v.avg_frame_rate);
    const nominal = ratio(v.r_frame_rate);
    const fps = avg > 0 ? avg : nominal;
    const sideways = rotation === 90 || rotation === 270;
    const nb = v.nb_frames ? Number.parseInt(v.nb_frames, 10) : NaN;
    info.video = {
      index: v.index,
      codec: v.codec_name ?? 'unknown',
      profile: v.profile,
      pixelFormat: v.pix_fmt,
      color: {
        space: tag(v.color_space),
        range: tag(v.color_range),
        primaries: tag(v.color_primaries),
        transfer: tag(v.color_transfer),
      },
      width: v.width,
      height: v.height,
      rotation,
      displayWidth: sideways ? v.height : v.width,
      displayHeight: sideways ? v.width : v.height,
      fps,
      nominalFrameRate: v.r_frame_rate ?? `${fps}`,
      // Without a packet scan, disagreeing header rates are the VFR signal (1% slack).
      variableFrameRate: avg > 0 && nominal > 0 && Math.abs(avg - nominal) / nominal > 0.01,
      frameCount: Number.isFinite(nb) && nb > 0 ? nb : undefined,
      startTime: num(v.start_time),
      duration: num(v.duration, duration),
    };
  }
  if (a) {
    info.audio = {
      index: a.index,
      codec: a.codec_name ?? 'unknown',
      sampleRate: num(a.sample_rate),
      channels: a.channels ?? 0,
      channelLayout: a.channel_layout,
      startTime: num(a.start_time),
      duration: num(a.duration, duration),
    };
  }
  return info;
}

import { AvdubError, ErrorCode, abortError, throwIfAborted } from '../errors.js';
import { ProgressMeter, type ProgressCallback } from '../util/progress.js';
import { is } from '../util/validate.js';
import { resolveBinaries, type FfmpegOptions } from './binaries.js';
import { probeMedia, requireVideo, type MediaInfo, type VideoStreamInfo } from './probe.js';
import type { YuvImage } from './yuv.js';
import type { Socket } from 'node:net';
import { lastLines, spawnTracked } from './process.js';
import { connectFrameSocket, ffmpegHasUnixOutput, frameSocketPath, removeFrameSocket, type FrameTransport } from './frame-socket.js';

/** One decoded RGB frame (conventions 11): row-major, 3 bytes per pixel, no padding. */
export interface Frame {
  data: Uint8Array;
  width: number;
  height: number;
  /** 0-based index among the frames this reader yielded. */
  index: number;
  /** Presentation time in seconds on the file's timeline (the real timestamp, VFR included). */
  timestamp: number;
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ReadFramesOptions extends FfmpegOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Crop this region (display pixels, after auto-rotation) before any scaling. */
  region?: Region;
  /** Scale the (cropped) frame to this size, bicubic. */
  scale?: { width: number; height: number };
  /** Start time in seconds (accurate seek); timestamps stay on the file's timeline. */
  start?: number;
  /** Seconds to read from `start`. */
  duration?: number;
  /**
   * Recycle frame buffers: a yielded frame's data is valid only until the next iteration
   * (a pool of at most 4 buffers serves the whole video: two queued, one filling, one yielded). Saves one 6 MB allocation per 1080p
   * frame for consumers that process frames one at a time.
   * @default false
   */
  reuseBuffer?: boolean;
  /** A probe result for this file, to skip probing again. */
  info?: MediaInfo;
  /**
   * How the frames travel from ffmpeg (`FrameTransport`): by default a Unix socket read
   * straight into the frame buffers where available, else ffmpeg's stdout. @default 'auto'
   */
  transport?: FrameTransport;
}

// Timestamps come from ffmpeg's expression `print(T, 16)`: one line per frame on stderr at
// error level, as each frame passes the filter graph. Unlike `showinfo` it costs nothing
// (showinfo checksums every frame: +1 s per 250 1080p frames here).
/** A timestamp line that `print(T\\,16)` in a filter writes to stderr. */
export const TS_LINE = /^(?:\[Eval @ [^\]]*\] )?(-?\d+(?:\.\d+)?|-?nan|-?inf)$/i;

/**
 * Streams decoded RGB frames from a video file. Memory stays at about two frames whatever the
 * video length: the async iterator pulls from ffmpeg's stdout, so when the consumer is slow
 * the pipe fills and ffmpeg waits (backpressure). Breaking out of the loop, an abort, or an
 * error kills the ffmpeg child.
 */
export function readFrames(path: string, options: ReadFramesOptions = {}): AsyncGenerator<Frame, void, undefined> {
  return decodeFrames(path, options, 'rgb24');
}

/** One decoded I420 frame (see `YuvImage`): the decoder's own samples, limited range. */
export interface YuvFrame extends YuvImage {
  index: number;
  timestamp: number;
}

export interface ReadYuvFramesOptions extends Omit<ReadFramesOptions, 'reuseBuffer'> {
  /**
   * Buffers to decode into, owned by the caller: a frame's buffer is taken from here (or
   * allocated when empty) and never touched again by the reader, so the caller can keep
   * frames without copying and push their buffers back when done with them.
   */
  bufferPool?: Uint8Array[];
}

/**
 * Like `readFrames`, but yields the decoder's planar YUV 4:2:0 (I420) without converting to
 * RGB: half the bytes through the pipe and no colour conversion in ffmpeg. Input in another
 * pixel format (4:2:2, 4:4:4, 10-bit, full-range "yuvj") is converted to limited-range 8-bit
 * 4:2:0 by ffmpeg. Convert regions with `yuvToRgb` and the matrix of `yuvMatrixFor(info.video)`.
 * The output size must be even.
 */
export function readYuvFrames(path: string, options: ReadYuvFramesOptions = {}): AsyncGenerator<YuvFrame, void, undefined> {
  return decodeFrames(path, options, 'yuv420p');
}

async function* decodeFrames(
  path: string,
  options: ReadFramesOptions & ReadYuvFramesOptions,
  pixelFormat: 'rgb24' | 'yuv420p',
): AsyncGenerator<Frame, void, undefined> {
  const { signal } = options;
  const info = options.info ?? (await probeMedia(path, { ...options, scanFrames: false }));
  const video = requireVideo(info);
  const { width, height, filters } = frameGeometry(video.displayWidth, video.displayHeight, options);
  if (pixelFormat === 'yuv420p') {
    if (width % 2 || height % 2) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected an even frame size for YUV 4:2:0 frames but the output is ${width}x${height}`);
    }
    filters.push(...yuvSourceFilters(video));
  }
  is.optional(is.number, 'start', options.start, 0);
  is.optional(is.number, 'duration', options.duration, 0);
  throwIfAborted(signal);

  const { ffmpeg } = resolveBinaries(options);
  const transport = options.transport ?? 'auto';
  is.oneOf('transport', transport, ['auto', 'socket', 'pipe'] as const);
  let socketPath: string | undefined;
  if (transport !== 'pipe' && ffmpegHasUnixOutput(ffmpeg)) socketPath = frameSocketPath();
  if (transport === 'socket' && !socketPath) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `transport 'socket' is not available here (ffmpeg without the unix protocol, Windows, or a temporary folder path too long for a socket)`);
  }
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'repeat+error'];
  if (options.start !== undefined) args.push('-ss', `${options.start}`, '-copyts');
  if (options.duration !== undefined) args.push('-t', `${options.duration}`);
  args.push('-i', info.path, '-map', `0:${video.index}`, '-an', '-sn', '-dn');
  args.push('-vf', ['setpts=PTS+0*print(T\\,16)', ...filters, `format=${pixelFormat}`].join(','));
  // passthrough: one output frame per decoded frame, never duplicated or dropped for a rate.
  args.push('-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', pixelFormat);
  args.push(...(socketPath ? ['-listen', '1', `unix:${socketPath}`] : ['pipe:1']));

  // Per-frame timestamps in arrival order; `head` is the next frame's. Consumed entries are
  // dropped in blocks so the queue stays small on long videos.
  const queue: number[] = [];
  let head = 0;
  let waiting: (() => void) | undefined;
  const otherErrors: string[] = [];
  const child = spawnTracked(ffmpeg, args, {
    signal,
    stdout: socketPath ? 'ignore' : 'pipe',
    onStderrLine(line) {
      const m = TS_LINE.exec(line.trim());
      if (m) {
        queue.push(Number.parseFloat(m[1]!));
        waiting?.();
      } else if (line.trim()) {
        otherErrors.push(line.trim());
        if (otherErrors.length > 20) otherErrors.shift();
      }
    },
  });
  let stderrClosed = false;
  let childExited = false;
  void child.exited.then(() => {
    childExited = true;
    stderrClosed = true;
    waiting?.();
  });

  const frameBytes = pixelFormat === 'rgb24' ? width * height * 3 : (width * height * 3) / 2;
  const external = options.bufferPool;
  const nominalStep = video.fps > 0 ? 1 / video.fps : 0;
  const meter = new ProgressMeter('decode', estimateFrames(info, options), options.onProgress);

  // Complete frames wait in a queue of at most QUEUE; past that reading pauses, the pipe or
  // socket fills and ffmpeg blocks. With reuseBuffer, buffers are recycled when the consumer
  // asks for the next frame, so at most QUEUE + 2 exist.
  const QUEUE = 2;
  const ready: Uint8Array[] = [];
  const pool: Uint8Array[] = [];
  let current: Uint8Array | undefined;
  let filled = 0;
  let ended = false;
  let streamError: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const target = (): Uint8Array => (current ??= (external ? takeBuffer(external, frameBytes) : pool.pop()) ?? allocFrame(frameBytes));
  const advance = (n: number): void => {
    filled += n;
    if (filled === frameBytes) {
      ready.push(current!);
      current = undefined;
      filled = 0;
    }
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (e: Error): void => {
    streamError = e;
    ended = true;
    notify();
  };
  let listenFailed = false;
  // The byte source: pause/resume for backpressure, destroy on early exit.
  let source: { pause(): void; resume(): void; isPaused(): boolean; destroy(): void };
  try {
    if (socketPath) {
      let paused = false;
      let socket: Socket | undefined;
      const pause = (): void => {
        paused = true;
        socket?.pause();
      };
      socket = await connectFrameSocket(
        socketPath,
        {
          // libuv reads straight into the frame being filled.
          buffer: () => target().subarray(filled),
          callback: (n) => {
            advance(n);
            if (ready.length >= QUEUE && !paused) pause();
            notify();
          },
        },
        () => childExited || signal?.aborted === true,
      );
      const s = socket;
      if (s) {
        s.once('end', onEnd);
        s.once('close', onEnd);
        s.once('error', onError);
        source = {
          pause,
          resume: () => ((paused = false), s.resume()),
          isPaused: () => paused,
          destroy: () => s.destroy(),
        };
      } else {
        ended = true; // ffmpeg exited before listening: its exit status says why
        listenFailed = true;
        source = { pause() {}, resume() {}, isPaused: () => false, destroy() {} };
      }
    } else {
      const stdout = child.child.stdout!;
      // Frames are assembled in 'data' handlers (far cheaper than for-await over ~100 socket
      // chunks per 1080p frame).
      stdout.on('data', (chunk: Buffer) => {
        let offset = 0;
        while (offset < chunk.length) {
          const buf = target();
          const n = Math.min(frameBytes - filled, chunk.length - offset);
          buf.set(n === chunk.length ? chunk : chunk.subarray(offset, offset + n), filled);
          offset += n;
          advance(n);
        }
        if (ready.length >= QUEUE) stdout.pause();
        notify();
      });
      stdout.once('end', onEnd);
      stdout.once('error', onError);
      source = stdout;
    }
  } catch (e) {
    child.kill();
    await child.exited;
    if (socketPath) removeFrameSocket(socketPath);
    if (signal?.aborted) throw abortError(signal);
    throw new AvdubError(ErrorCode.FFMPEG_FAILED, `Could not read frames from ffmpeg: ${(e as Error).message}`, { cause: e });
  }
  if (socketPath && listenFailed && transport === 'auto' && !signal?.aborted) {
    // ffmpeg exited without ever listening (a build or sandbox that cannot make the socket):
    // read over stdout instead. A bad input fails there the same way, with its own message.
    await child.exited;
    removeFrameSocket(socketPath);
    yield* decodeFrames(path, { ...options, info, transport: 'pipe' }, pixelFormat);
    return;
  }

  let index = 0;
  let lastTs = options.start ?? video.startTime;
  let completed = false;
  let yielded: Uint8Array | undefined;

  const nextTimestamp = async (): Promise<number> => {
    // The timestamp line is written before the frame's bytes, but the two pipes are read
    // independently, so it may still be in flight.
    while (head >= queue.length && !stderrClosed) {
      await new Promise<void>((r) => (waiting = r));
      waiting = undefined;
    }
    const t = head < queue.length ? queue[head++] : undefined;
    if (head >= 1024) {
      queue.splice(0, head);
      head = 0;
    }
    return t !== undefined && Number.isFinite(t) ? t : index === 0 ? lastTs : lastTs + nominalStep;
  };

  try {
    for (;;) {
      if (options.reuseBuffer && !external && yielded) pool.push(yielded);
      yielded = undefined;
      while (ready.length === 0 && !ended) {
        if (source.isPaused()) source.resume();
        await new Promise<void>((r) => (wake = r));
      }
      throwIfAborted(signal);
      const data = ready.shift();
      if (!data) break;
      if (ready.length < QUEUE && source.isPaused() && !ended) source.resume();
      const timestamp = await nextTimestamp();
      lastTs = timestamp;
      yielded = data;
      index++;
      meter.tick(index);
      yield { data, width, height, index: index - 1, timestamp };
    }
    const { code } = await child.exited;
    if (signal?.aborted) throw abortError(signal);
    if (code !== 0 || streamError) {
      throw new AvdubError(
        ErrorCode.FFMPEG_FAILED,
        `Decoding ${info.path} failed (ffmpeg exit ${code}): ${lastLines(otherErrors.join('\n')) || lastLines(child.stderrTail())}`,
        { cause: streamError, details: { path: info.path, stderr: otherErrors.join('\n') } },
      );
    }
    completed = true;
  } finally {
    if (!completed) {
      child.kill();
      // A paused stdout holding unread data never closes, and the child's 'close' waits for it.
      source.destroy();
      await child.exited;
    }
    if (socketPath) removeFrameSocket(socketPath);
  }
}

/**
 * The filters that bring a stream's decoded frames to limited-range 8-bit 4:2:0 (`readYuvFrames`'s
 * format): anything else is converted by ffmpeg, range too (full-range input would otherwise be
 * read with the limited-range matrix).
 */
export function yuvSourceFilters(video: Pick<VideoStreamInfo, 'pixelFormat' | 'color'>): string[] {
  return video.pixelFormat !== 'yuv420p' || video.color.range === 'pc' ? ['scale=out_range=tv'] : [];
}

/** Output size and the crop/scale filters for the requested region and scale. */
export function frameGeometry(
  srcWidth: number,
  srcHeight: number,
  options: Pick<ReadFramesOptions, 'region' | 'scale'>,
): { width: number; height: number; filters: string[] } {
  const filters: string[] = [];
  let width = srcWidth;
  let height = srcHeight;
  const r = options.region;
  if (r) {
    is.integer('region.x', r.x, 0, srcWidth - 1);
    is.integer('region.y', r.y, 0, srcHeight - 1);
    is.integer('region.width', r.width, 1, srcWidth - r.x);
    is.integer('region.height', r.height, 1, srcHeight - r.y);
    filters.push(`crop=${r.width}:${r.height}:${r.x}:${r.y}`);
    width = r.width;
    height = r.height;
  }
  const s = options.scale;
  if (s) {
    is.integer('scale.width', s.width, 1, 16384);
    is.integer('scale.height', s.height, 1, 16384);
    if (s.width !== width || s.height !== height) filters.push(`scale=${s.width}:${s.height}:flags=bicubic`);
    width = s.width;
    height = s.height;
  }
  return { width, height, filters };
}

function estimateFrames(info: MediaInfo, options: ReadFramesOptions): number | undefined {
  const v = info.video!;
  if (options.start === undefined && options.duration === undefined && v.frameCount) return v.frameCount;
  const span = Math.max(0, Math.min(options.duration ?? Infinity, v.duration - (options.start ?? 0)));
  return Number.isFinite(span) && v.fps > 0 ? Math.round(span * v.fps) : undefined;
}

/** A caller's pooled buffer of the right size, if any (others are dropped). */
function takeBuffer(pool: Uint8Array[], bytes: number): Uint8Array | undefined {
  for (;;) {
    const b = pool.pop();
    if (!b || b.length === bytes) return b;
  }
}

/** A frame buffer without the zero-fill of `new Uint8Array` (every byte is overwritten). */
function allocFrame(bytes: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(b.buffer, b.byteOffset, bytes);
}

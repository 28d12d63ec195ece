import { AvdubError, ErrorCode, abortError, throwIfAborted } from '../errors.js';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtomicOutput } from '../util/atomic.js';
import { makeTempDir } from '../util/temp.js';
import { ProgressMeter, type ProgressCallback } from '../util/progress.js';
import { is } from '../util/validate.js';
import { resolveBinaries, type FfmpegOptions } from './binaries.js';
import { TS_LINE, type Frame } from './frames.js';
import { mkvFramePrefix, mkvHeader } from './mkv.js';
import { muxAudio } from './audio.js';
import { probeMedia, requireAudio, type MediaInfo } from './probe.js';
import { lastLines, spawnTracked, type TrackedChild } from './process.js';
import { toRational } from './rational.js';

export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export interface VideoWriterOptions extends FfmpegOptions {
  width: number;
  height: number;
  /**
   * Frame rate: a number or an exact fraction such as "30000/1001". Frames written without a
   * timestamp are placed at `index / fps`; it also sets the encoder's time base.
   */
  fps: number | string;
  /** x264 constant rate factor, 0 (lossless) to 51. @default 18 */
  crf?: number;
  /** x264 preset. @default 'medium' */
  preset?: X264Preset;
  /**
   * Frames carry irregular timestamps (variable frame rate): keep them at 90 kHz precision
   * instead of the 1/fps grid. @default false
   */
  variableFrameRate?: boolean;
  /** Take the audio track of this file, trimmed or padded with silence to the video's length (AAC). */
  audioFrom?: string;
  /** A probe result for `audioFrom`, to skip probing it again (it is probed before encoding, and read when muxing). */
  audioFromInfo?: MediaInfo;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Total frames expected, for progress ETA only. */
  expectedFrames?: number;
  /**
   * What `write` takes: RGB24 frames (converted to BT.709 YUV 4:2:0 by the encoder) or I420
   * frames (`YuvImage`, limited range), encoded as they are: no colour conversion at all.
   * @default 'rgb24'
   */
  inputPixelFormat?: 'rgb24' | 'yuv420p' | 'yuva420p';
  /**
   * Colour tags for I420 input, normally the source's (`VideoStreamInfo.color`); untagged
   * properties stay untagged. Ignored for RGB input, which is always converted to and tagged as BT.709.
   */
  color?: { space?: string; primaries?: string; transfer?: string };
  /**
   * Composite instead of encoding the frames written: ffmpeg decodes `source` itself (video
   * stream `streamIndex`, as `readYuvFrames` would: I420, limited range) and `write` takes one
   * yuva420p patch of `width x height` per source frame, in order, timestamped with that frame's
   * timestamp (as `readYuvFrames` reports it). ffmpeg's overlay filter blends each patch into its
   * frame by the patch's alpha, at the position that the `x` and `y` expressions (of the frame's
   * time `t`) give; where alpha is 0 the frame's pixels pass exactly as decoded. The output has
   * the source's size and timestamps. Why: the frames never cross into Node and back (two 1080p
   * frame copies through the kernel per frame), which the render pass otherwise pays for.
   */
  overlay?: OverlaySource;
}

/** See `VideoWriterOptions.overlay`. */
export interface OverlaySource {
  source: string;
  /** The video stream's index in `source`. */
  streamIndex: number;
  /** ffmpeg expressions of `t` (seconds): the patch's top-left corner in the frame, even. */
  x: string;
  y: string;
  /** Filters that bring the decoded frames to limited-range yuv420p (e.g. `scale=out_range=tv`); none by default. */
  sourceFilters?: string[];
  /** Frames the source decodes to (checked when the writer closes). */
  expectedFrames: number;
}

export const defaultVideoWriterOptions = { crf: 18, preset: 'medium' as X264Preset, variableFrameRate: false, inputPixelFormat: 'rgb24' as 'rgb24' | 'yuv420p' | 'yuva420p' };

/**
 * Per input pixel format: the Matroska `V_UNCOMPRESSED` ColourSpace fourcc (as ffmpeg's raw
 * pixel-format table names it), a name for messages, and bytes per pixel.
 */
const INPUT_FORMATS = {
  rgb24: { fourcc: 'RGB\x18', name: 'RGB', bytesPerPixel: 3 },
  yuv420p: { fourcc: 'I420', name: 'I420', bytesPerPixel: 1.5 },
  yuva420p: { fourcc: 'Y4\x0b\x08', name: 'yuva420p', bytesPerPixel: 2.5 },
} as const;
/** What the overlay graph's two `print`s write, once per frame decoded and per frame put out. */
const DECODED_MARK = 1000000001;
const OUTPUT_MARK = 1000000002;

/**
 * Encodes RGB frames to an H.264 MP4, keeping each frame's timestamp. Frames travel to ffmpeg
 * in a minimal Matroska stream (see mkv.ts) so real timestamps survive; the output appears
 * under its final name only after `close()` succeeds.
 */
export class VideoWriter {
  private frames = 0;
  private lastTimestamp = -Infinity;
  private failure: unknown;
  private closed = false;
  private readonly step: number;
  private readonly meter: ProgressMeter;
  private readonly onAbort = (): void => void this.abort();

  private constructor(
    private readonly out: AtomicOutput,
    private readonly child: TrackedChild,
    private readonly options: VideoWriterOptions & typeof defaultVideoWriterOptions,
    /** Overlay mode: the folder of the filter script, and the frames ffmpeg has put out so far. */
    private readonly overlayState?: { dir: string; decoded: number; printed: number },
  ) {
    const r = toRational(options.fps);
    this.step = r.den / r.num;
    this.meter = new ProgressMeter('encode', options.expectedFrames, options.onProgress);
    child.child.stdin!.on('error', (e) => (this.failure ??= e));
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The final path the video will have after `close()`. */
  get path(): string {
    return this.out.finalPath;
  }
  get framesWritten(): number {
    return this.frames;
  }

  static async open(path: string, options: VideoWriterOptions): Promise<VideoWriter> {
    const o = { ...defaultVideoWriterOptions, ...stripUndefined(options) };
    is.integer('width', o.width, 2, 16384);
    is.integer('height', o.height, 2, 16384);
    if (o.width % 2 || o.height % 2) {
      throw new AvdubError(
        ErrorCode.INVALID_ARGUMENT,
        `Expected even width and height for H.264 4:2:0 but received ${o.width}x${o.height}`,
      );
    }
    const rate = toRational(o.fps);
    if (!(rate.num > 0 && rate.den > 0 && rate.num / rate.den <= 1000)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected fps between 0 and 1000 but received ${String(o.fps)}`);
    }
    is.integer('crf', o.crf, 0, 51);
    is.oneOf('preset', o.preset, X264_PRESETS);
    is.oneOf('inputPixelFormat', o.inputPixelFormat, ['rgb24', 'yuv420p', 'yuva420p'] as const);
    const ov = o.overlay;
    if ((o.inputPixelFormat === 'yuva420p') !== (ov !== undefined)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `inputPixelFormat 'yuva420p' goes with the overlay option, and only with it`);
    }
    if (ov) {
      is.string('overlay.source', ov.source);
      is.integer('overlay.streamIndex', ov.streamIndex, 0);
      is.integer('overlay.expectedFrames', ov.expectedFrames, 1);
      for (const e of [ov.x, ov.y, ...(ov.sourceFilters ?? [])]) {
        // Written into a filter script: expressions and filter strings, never quotes or labels.
        if (typeof e !== 'string' || !/^[\w.,()=:+\-*/ ]+$/.test(e)) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected an ffmpeg expression or filter but received ${JSON.stringify(e)}`);
      }
    }
    const tags = o.inputPixelFormat === 'rgb24' ? { space: 'bt709', primaries: 'bt709', transfer: 'bt709' } : (o.color ?? {});
    for (const [k, v] of Object.entries(tags)) {
      // Passed to ffmpeg as option values: only its identifiers (e.g. bt709, smpte170m, bt2020nc).
      if (v !== undefined && !/^[a-z0-9-]+$/i.test(v)) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a colour ${k} name such as "bt709" but received "${v}"`);
    }
    throwIfAborted(o.signal);
    let audioFromInfo: MediaInfo | undefined;
    if (o.audioFrom !== undefined) {
      audioFromInfo = o.audioFromInfo ?? (await probeMedia(o.audioFrom, o));
      requireAudio(audioFromInfo); // fail before encoding
    }
    const { ffmpeg } = resolveBinaries(o);
    const out = await AtomicOutput.open(path);
    const timeBase = `${rate.den}:${rate.num}`;
    let overlayState: { dir: string; decoded: number; printed: number } | undefined;
    let input: string[];
    if (ov) {
      // The patches are input 1; a frame's patch carries (just under) the frame's timestamp, so
      // the overlay's frame sync pairs frame i with patch i. The position comes from the
      // expressions of the frame's own time, never from the patch stream. Two `print`s count the
      // frames decoded and the frames put out: a decode with another frame count than the
      // analysis pass saw would pair patches wrongly, and the overlay would not say so (it repeats
      // the last source frame for surplus patches, the last patch over surplus frames).
      const esc = (e: string): string => e.replace(/,/g, '\\,');
      const graph =
        `[0:${ov.streamIndex}]${[...(ov.sourceFilters ?? []), 'format=yuv420p'].join(',')},setpts=PTS+0*print(${DECODED_MARK}\\,16)[m];` +
        `[1:v]format=yuva420p[p];` +
        `[m][p]overlay=x='${esc(ov.x)}':y='${esc(ov.y)}':eval=frame:format=yuv420,setpts=PTS+0*print(${OUTPUT_MARK}\\,16)[v]`;
      overlayState = { dir: makeTempDir('run'), decoded: 0, printed: 0 };
      const script = join(overlayState.dir, 'overlay.graph');
      writeFileSync(script, graph);
      input = ['-i', ov.source, '-f', 'matroska', '-i', 'pipe:0', '-filter_complex_script', script, '-map', '[v]'];
    } else {
      input = [
        '-f', 'matroska', '-i', 'pipe:0',
        '-map', '0:v:0',
        // RGB: convert with the BT.709 matrix and tag it so: swscale would otherwise convert as
        // BT.601 while players (and ffmpeg's own decoder) read the tag, shifting colours by ~10 levels.
        ...(o.inputPixelFormat === 'rgb24' ? ['-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p'] : []),
      ];
    }
    const args = [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', ov ? 'repeat+error' : 'error',
      ...input,
      '-c:v', 'libx264', '-preset', o.preset, '-crf', `${o.crf}`, '-pix_fmt', 'yuv420p',
      ...(tags.space ? ['-colorspace', tags.space] : []),
      ...(tags.primaries ? ['-color_primaries', tags.primaries] : []),
      ...(tags.transfer ? ['-color_trc', tags.transfer] : []),
      // VFR: the encoder keeps its input's time base (microseconds from Matroska, the source's
      // own when compositing) and the MP4 track uses 90 kHz. Forcing the encoder to 1/90000
      // instead (as before 2026-12-08) left the last packet without a duration, and decoders
      // dropped that frame.
      '-vsync', 'passthrough', ...(o.variableFrameRate ? ['-video_track_timescale', '90000'] : ['-enc_time_base', timeBase]),
      '-f', 'mp4', '-y', out.tempPath,
    ];
    let child: TrackedChild;
    try {
      child = spawnTracked(ffmpeg, args, {
        signal: o.signal,
        stdin: 'pipe',
        stdout: 'ignore',
        onStderrLine: overlayState
          ? (line) => {
              const m = TS_LINE.exec(line.trim());
              const v = m ? Number(m[1]) : NaN;
              if (v === DECODED_MARK) overlayState.decoded++;
              else if (v === OUTPUT_MARK) overlayState.printed++;
            }
          : undefined,
      });
    } catch (e) {
      if (overlayState) rmSync(overlayState.dir, { recursive: true, force: true });
      await out.discard();
      throw e;
    }
    const writer = new VideoWriter(out, child, { ...o, audioFromInfo }, overlayState);
    await writer.push(mkvHeader(o.width, o.height, INPUT_FORMATS[o.inputPixelFormat].fourcc));
    return writer;
  }

  /**
   * Appends one frame (RGB24, `width*height*3` bytes, or I420, `width*height*3/2`, per `inputPixelFormat`). The timestamp defaults to the frame's own
   * (`Frame.timestamp`) or `index / fps`. Resolves when ffmpeg has room for more (backpressure).
   */
  async write(frame: Uint8Array | Frame, timestamp?: number): Promise<void> {
    const data = frame instanceof Uint8Array ? frame : frame.data;
    const t = timestamp ?? (frame instanceof Uint8Array ? this.frames * this.step : frame.timestamp);
    throwIfAborted(this.options.signal);
    if (this.closed) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'VideoWriter is closed');
    const format = INPUT_FORMATS[this.options.inputPixelFormat];
    const expected = this.options.width * this.options.height * format.bytesPerPixel;
    if (data.length !== expected) {
      throw new AvdubError(
        ErrorCode.INVALID_ARGUMENT,
        `Expected a ${this.options.width}x${this.options.height} ${format.name} frame of ${expected} bytes but received ${data.length}`,
      );
    }
    if (!(t > this.lastTimestamp)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected increasing timestamps but received ${t} after ${this.lastTimestamp}`);
    }
    this.lastTimestamp = t;
    await this.push(mkvFramePrefix(t, data.length));
    await this.push(data);
    this.frames++;
    this.meter.tick(this.frames);
  }

  /** Finishes the file and moves it into place. Returns the final path. */
  async close(): Promise<string> {
    if (this.closed) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'VideoWriter is already closed');
    this.closed = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.child.child.stdin!.end();
    const { code } = await this.child.exited;
    this.removeScript();
    if (this.options.signal?.aborted) {
      await this.out.discard();
      throw abortError(this.options.signal);
    }
    if (code !== 0 || this.frames === 0) {
      await this.out.discard();
      throw new AvdubError(
        ErrorCode.FFMPEG_FAILED,
        this.frames === 0 ? 'No frames were written' : `Encoding failed (ffmpeg exit ${code}): ${lastLines(this.child.stderrTail())}`,
        { details: { stderr: this.child.stderrTail() } },
      );
    }
    const ov = this.options.overlay;
    if (ov && (this.overlayState!.decoded !== ov.expectedFrames || this.overlayState!.printed !== ov.expectedFrames)) {
      await this.out.discard();
      throw this.frameCountError(ov.expectedFrames);
    }
    if (this.options.audioFrom === undefined) return this.out.commit();
    // Audio is muxed in a second, stream-copy step: `-shortest` in the encoding run drops the
    // frames still inside x264's lookahead when the audio ends first (seen: 125 written, 108 kept).
    try {
      await muxAudio(this.out.tempPath, this.options.audioFrom, this.out.finalPath, { ...this.options, audioInfo: this.options.audioFromInfo, signal: this.options.signal });
    } finally {
      await this.out.discard();
    }
    return this.out.finalPath;
  }

  /** Stops encoding and removes the partial file. Safe to call more than once. */
  async abort(): Promise<void> {
    this.closed = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.child.kill();
    await this.child.exited;
    this.removeScript();
    await this.out.discard();
  }

  private frameCountError(expected: number): AvdubError {
    const { decoded, printed } = this.overlayState!;
    return new AvdubError(ErrorCode.CORRUPT_MEDIA, `The video decoded to ${decoded} frames where the analysis pass saw ${expected}`, {
      details: { decoded, output: printed, expected },
    });
  }

  private removeScript(): void {
    if (this.overlayState) rmSync(this.overlayState.dir, { recursive: true, force: true });
  }

  private async push(bytes: Uint8Array): Promise<void> {
    const stdin = this.child.child.stdin!;
    if (this.failure || stdin.destroyed) throw await this.deadError();
    if (!stdin.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
      if (this.failure || stdin.destroyed) throw await this.deadError();
    }
  }

  private async deadError(): Promise<AvdubError> {
    if (this.options.signal?.aborted) return abortError(this.options.signal);
    const ov = this.options.overlay;
    if (ov) {
      // The compositor ends with its source: a clean exit before all patches were taken means
      // the video has fewer frames than the analysis pass saw.
      const { code } = await this.child.exited;
      if (code === 0 && this.overlayState!.decoded !== ov.expectedFrames) return this.frameCountError(ov.expectedFrames);
    }
    return new AvdubError(ErrorCode.FFMPEG_FAILED, `Encoder stopped: ${lastLines(this.child.stderrTail()) || String(this.failure)}`, {
      cause: this.failure,
    });
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The chunk planner (001 s3.2.1 "Chunking" and "Buffer frames", s5 "Model inference"): a face
 * track of N frames is split into the fewest nearly-equal chunks of at most M frames; each
 * chunk is run with `bufferFrames` extra frames on each side so every kept frame sees enough
 * earlier and later audio, and the buffer frames' outputs are discarded. Where a chunk's
 * buffer runs past either end of the track (the first and last chunk, or a track shorter than
 * one chunk) the window is padded: the audio with silence, the image with the nearest real
 * frame.
 *
 * Pure code: no I/O, no model. Every chunk of a plan has the same window length, so chunks can
 * be stacked into one batch and a chunk's input never depends on which batch it is in.
 */
import { AvdubError, ErrorCode } from '../errors.js';
import { is } from '../util/validate.js';

/** 001 s3.2.1: "we add 10 buffer frames to the beginning and end of the chunks". */
export const DEFAULT_BUFFER_FRAMES = 10;

export interface ChunkPlanOptions {
  /** Frames in the track (N). */
  frameCount: number;
  /** Most frames a chunk keeps (M). */
  maxFrames: number;
  /** Extra frames on each side of a chunk whose outputs are discarded. @default 10 */
  bufferFrames?: number;
  /**
   * A fixed model window (a model whose time axis is a fixed size). Chunks shorter than it are
   * padded at the end. @default the longest chunk + 2 * bufferFrames
   */
  windowLength?: number;
}

/** One chunk. Frame indices are track indices; window positions may fall outside [0, N). */
export interface LipsyncChunk {
  index: number;
  /** First frame kept. */
  start: number;
  /** One past the last frame kept. */
  end: number;
  /** Track index of window position 0: `start - bufferFrames` (negative at the track start). */
  windowStart: number;
  /** One past the last window position, as a track index: `windowStart + windowLength`. */
  windowEnd: number;
  /** Window position of the first kept frame (= bufferFrames); kept outputs are [outputOffset, outputOffset + end - start). */
  outputOffset: number;
  /** Window positions before frame 0 (silence, image = frame 0). */
  padBefore: number;
  /** Window positions at or after frame N (silence, image = frame N - 1). */
  padAfter: number;
}

export interface ChunkPlan {
  frameCount: number;
  maxFrames: number;
  bufferFrames: number;
  /** Window positions per chunk, the same for every chunk (the model's time axis T). */
  windowLength: number;
  chunks: readonly LipsyncChunk[];
}

/**
 * Splits `frameCount` frames into ceil(N / M) chunks whose lengths differ by at most one
 * (001 s3.2.1: "as close in length as possible without exceeding a maximum"), the longer ones
 * first, and gives each the same window of `longest + 2 * bufferFrames` positions (or
 * `windowLength`).
 */
export function planChunks(options: ChunkPlanOptions): ChunkPlan {
  const { frameCount, maxFrames } = options;
  const bufferFrames = options.bufferFrames ?? DEFAULT_BUFFER_FRAMES;
  is.integer('frameCount', frameCount, 0);
  is.integer('maxFrames', maxFrames, 1);
  is.integer('bufferFrames', bufferFrames, 0);
  const count = Math.ceil(frameCount / maxFrames);
  const base = count > 0 ? Math.floor(frameCount / count) : 0;
  const extra = count > 0 ? frameCount % count : 0;
  const longest = base + (extra > 0 ? 1 : 0);
  let windowLength = longest + 2 * bufferFrames;
  if (options.windowLength !== undefined) {
    is.integer('windowLength', options.windowLength, 1);
    if (options.windowLength < longest + 2 * bufferFrames) {
      throw new AvdubError(
        ErrorCode.INVALID_ARGUMENT,
        `Expected windowLength >= ${longest + 2 * bufferFrames} (longest chunk ${longest} + 2 x ${bufferFrames} buffer frames) but received ${options.windowLength}`,
        { details: { option: 'windowLength' } },
      );
    }
    windowLength = options.windowLength;
  }
  const chunks: LipsyncChunk[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = start + base + (i < extra ? 1 : 0);
    const windowStart = start - bufferFrames;
    const windowEnd = windowStart + windowLength;
    chunks.push(
      Object.freeze({
        index: i,
        start,
        end,
        windowStart,
        windowEnd,
        outputOffset: bufferFrames,
        padBefore: Math.max(0, -windowStart),
        padAfter: Math.max(0, windowEnd - frameCount),
      }),
    );
    start = end;
  }
  return Object.freeze({ frameCount, maxFrames, bufferFrames, windowLength, chunks: Object.freeze(chunks) });
}

/** What fills one window position: the track frame whose image it uses, and whether its audio is silence. */
export interface WindowSource {
  /** Track frame for the image (clamped to [0, N - 1]: padding repeats the edge frame). */
  frame: number;
  /** True outside the track: the audio window is silence. */
  silent: boolean;
}

/** The source of window position `position` (0 <= position < windowLength) of `chunk`. */
export function windowSource(chunk: LipsyncChunk, position: number, frameCount: number): WindowSource {
  const t = chunk.windowStart + position;
  if (t < 0) return { frame: 0, silent: true };
  if (t >= frameCount) return { frame: frameCount - 1, silent: true };
  return { frame: t, silent: false };
}

/** Track frames a chunk reads (its window clipped to the track): [from, to). */
export function chunkInputRange(chunk: LipsyncChunk, frameCount: number): { from: number; to: number } {
  return { from: Math.max(0, chunk.windowStart), to: Math.min(frameCount, chunk.windowEnd) };
}

/**
 * A sliding window over the input frame stream (internal): frames are pulled as the next
 * chunks need them and dropped once no later chunk reads them, so memory is bounded by the
 * chunk window and batch, never the track.
 */
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { checkCrop } from './image.js';
import type { LipsyncInput, LipsyncInputFrame } from './types.js';

export class FrameWindowReader {
  private readonly iterator: Iterator<LipsyncInputFrame> | AsyncIterator<LipsyncInputFrame>;
  private frames: LipsyncInputFrame[] = [];
  /** Track index of frames[0]. */
  private base = 0;
  /** Frames pulled so far. */
  private pulled = 0;
  private readonly frameCount: number;

  constructor(
    input: LipsyncInput,
    private readonly audioLength: number,
    private readonly signal?: AbortSignal,
  ) {
    const src = input.frames as Partial<AsyncIterable<LipsyncInputFrame> & Iterable<LipsyncInputFrame>> | undefined;
    const make: unknown = src?.[Symbol.asyncIterator] ?? src?.[Symbol.iterator];
    if (typeof make !== 'function') {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected an iterable or async iterable of frames for input.frames', {
        details: { option: 'input.frames' },
      });
    }
    this.iterator = (make as () => Iterator<LipsyncInputFrame> | AsyncIterator<LipsyncInputFrame>).call(src);
    this.frameCount = input.frameCount;
  }

  /** Pulls frames until frame `to - 1` is held (to <= frameCount). */
  async fill(to: number): Promise<void> {
    while (this.pulled < to) {
      throwIfAborted(this.signal);
      const r = await this.iterator.next();
      if (r.done) {
        throw new AvdubError(
          ErrorCode.INVALID_ARGUMENT,
          `input.frames ended after ${this.pulled} frames but input.frameCount is ${this.frameCount}`,
          { details: { option: 'input.frames', received: this.pulled, expected: this.frameCount } },
        );
      }
      this.check(r.value, this.pulled);
      this.frames.push(r.value);
      this.pulled++;
    }
  }

  private check(frame: LipsyncInputFrame, i: number): void {
    if (typeof frame !== 'object' || frame === null) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected { crop, audio } for input frame ${i} but received ${String(frame)}`, {
        details: { option: 'input.frames', frame: i },
      });
    }
    checkCrop(`input frame ${i} crop`, frame.crop);
    if (!(frame.audio instanceof Float32Array) || frame.audio.length !== this.audioLength) {
      const got = frame.audio instanceof Float32Array ? `Float32Array(${frame.audio.length})` : String(frame.audio);
      throw new AvdubError(
        ErrorCode.INVALID_ARGUMENT,
        `Expected Float32Array(${this.audioLength}) (mel bands x window frames) for input frame ${i} audio but received ${got}`,
        { details: { option: 'input.frames', frame: i } },
      );
    }
  }

  /** A held frame. */
  get(i: number): LipsyncInputFrame {
    const f = this.frames[i - this.base];
    if (!f) throw new RangeError(`frame ${i} is not held (held: ${this.base}..${this.base + this.frames.length - 1})`);
    return f;
  }

  /** Forgets every frame before `index`. */
  release(index: number): void {
    const drop = Math.min(this.frames.length, Math.max(0, index - this.base));
    if (drop > 0) {
      this.frames = this.frames.slice(drop);
      this.base += drop;
    }
  }

  /** Frames held now (for tests of the memory bound). */
  get held(): number {
    return this.frames.length;
  }

  /** Checks the stream has no frames beyond frameCount. */
  async finish(): Promise<void> {
    const r = await this.iterator.next();
    if (!r.done) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `input.frames yielded more than input.frameCount (${this.frameCount}) frames`, {
        details: { option: 'input.frames', expected: this.frameCount },
      });
    }
  }

  /** Stops the source early (the consumer stopped, or an error). */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

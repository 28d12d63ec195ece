import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { DEFAULT_BUFFER_FRAMES, chunkInputRange, planChunks, windowSource } from '../../src/lipsync/chunking.js';

/** Every invariant a plan must keep, checked exhaustively. */
function checkPlan(N: number, M: number, K: number): void {
  const plan = planChunks({ frameCount: N, maxFrames: M, bufferFrames: K });
  const { chunks, windowLength: W } = plan;
  expect(chunks.length).toBe(Math.ceil(N / M));
  const sizes = chunks.map((c) => c.end - c.start);
  if (N > 0) {
    expect(Math.max(...sizes)).toBeLessThanOrEqual(M);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(W).toBe(Math.max(...sizes) + 2 * K);
  }
  let next = 0;
  for (const c of chunks) {
    expect(c.start).toBe(next); // contiguous, in order, no overlap
    expect(c.end).toBeGreaterThan(c.start);
    expect(c.windowStart).toBe(c.start - K);
    expect(c.windowEnd - c.windowStart).toBe(W);
    expect(c.outputOffset).toBe(K);
    expect(c.padBefore).toBe(Math.max(0, K - c.start));
    expect(c.padAfter).toBe(Math.max(0, c.windowEnd - N));
    // Kept outputs map back to exactly the chunk's own frames, never to padding.
    for (let t = c.start; t < c.end; t++) {
      expect(windowSource(c, c.outputOffset + t - c.start, N)).toEqual({ frame: t, silent: false });
    }
    // The buffer frames are real neighbours where the track has them, silence elsewhere.
    for (let j = 0; j < W; j++) {
      const s = windowSource(c, j, N);
      const t = c.windowStart + j;
      expect(s.silent).toBe(t < 0 || t >= N);
      expect(s.frame).toBe(Math.min(N - 1, Math.max(0, t)));
    }
    next = c.end;
  }
  expect(next).toBe(N); // every frame is kept exactly once
}

describe('planChunks (001 s3.2.1 chunking with buffer frames)', () => {
  it('defaults to the paper\'s 10 buffer frames', () => {
    expect(DEFAULT_BUFFER_FRAMES).toBe(10);
    expect(planChunks({ frameCount: 100, maxFrames: 30 }).bufferFrames).toBe(10);
  });

  it('an empty track has no chunks', () => {
    const plan = planChunks({ frameCount: 0, maxFrames: 30 });
    expect(plan.chunks).toEqual([]);
  });

  it('a track shorter than one chunk is one chunk, silence-padded on both sides', () => {
    const plan = planChunks({ frameCount: 5, maxFrames: 30, bufferFrames: 10 });
    expect(plan.windowLength).toBe(25);
    expect(plan.chunks).toHaveLength(1);
    const c = plan.chunks[0]!;
    expect(c).toMatchObject({ start: 0, end: 5, windowStart: -10, windowEnd: 15, padBefore: 10, padAfter: 10, outputOffset: 10 });
    expect(windowSource(c, 0, 5)).toEqual({ frame: 0, silent: true });
    expect(windowSource(c, 9, 5)).toEqual({ frame: 0, silent: true });
    expect(windowSource(c, 10, 5)).toEqual({ frame: 0, silent: false });
    expect(windowSource(c, 14, 5)).toEqual({ frame: 4, silent: false });
    expect(windowSource(c, 15, 5)).toEqual({ frame: 4, silent: true });
    expect(windowSource(c, 24, 5)).toEqual({ frame: 4, silent: true });
    expect(chunkInputRange(c, 5)).toEqual({ from: 0, to: 5 });
  });

  it('an exact multiple of M gives full chunks whose inner buffers are real frames', () => {
    const plan = planChunks({ frameCount: 90, maxFrames: 30, bufferFrames: 10 });
    expect(plan.chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 30],
      [30, 60],
      [60, 90],
    ]);
    expect(plan.windowLength).toBe(50);
    const [a, b, c] = plan.chunks;
    expect([a!.padBefore, a!.padAfter]).toEqual([10, 0]); // first chunk: silence before
    expect([b!.padBefore, b!.padAfter]).toEqual([0, 0]); // middle: real buffers both sides
    expect([c!.padBefore, c!.padAfter]).toEqual([0, 10]); // last chunk: silence after
    expect(chunkInputRange(b!, 90)).toEqual({ from: 20, to: 70 });
  });

  it('splits into the fewest nearly-equal chunks, never more than M', () => {
    const plan = planChunks({ frameCount: 61, maxFrames: 30, bufferFrames: 10 });
    expect(plan.chunks.map((c) => c.end - c.start)).toEqual([21, 20, 20]);
    expect(plan.windowLength).toBe(41);
    // The shorter chunks are padded at the end up to the common window: an extra real frame.
    const second = plan.chunks[1]!;
    expect(second.windowEnd).toBe(second.end + 11);
  });

  it('one frame more than M makes two chunks', () => {
    expect(planChunks({ frameCount: 31, maxFrames: 30, bufferFrames: 0 }).chunks.map((c) => c.end - c.start)).toEqual([16, 15]);
  });

  it('keeps every invariant over many sizes', () => {
    for (const N of [1, 2, 3, 7, 10, 19, 20, 21, 57, 100, 101]) {
      for (const M of [1, 3, 10, 20, 30]) {
        for (const K of [0, 1, 10]) checkPlan(N, M, K);
      }
    }
  });

  it('a buffer longer than the chunk reaches past neighbouring chunks', () => {
    const plan = planChunks({ frameCount: 6, maxFrames: 2, bufferFrames: 3 });
    const c = plan.chunks[1]!; // frames 2..3, window -1..6
    expect(c.windowStart).toBe(-1);
    expect(c.padBefore).toBe(1);
    expect(windowSource(c, 1, 6)).toEqual({ frame: 0, silent: false });
    checkPlan(6, 2, 3);
  });

  it('a fixed model window pads every chunk at the end', () => {
    const plan = planChunks({ frameCount: 10, maxFrames: 20, bufferFrames: 2, windowLength: 24 });
    expect(plan.windowLength).toBe(24);
    expect(plan.chunks[0]).toMatchObject({ start: 0, end: 10, windowStart: -2, windowEnd: 22, padBefore: 2, padAfter: 12 });
  });

  it('rejects bad arguments with E_INVALID_ARGUMENT', () => {
    const bad = [
      { frameCount: -1, maxFrames: 3 },
      { frameCount: 1.5, maxFrames: 3 },
      { frameCount: 10, maxFrames: 0 },
      { frameCount: 10, maxFrames: 3, bufferFrames: -1 },
      { frameCount: 10, maxFrames: 5, bufferFrames: 2, windowLength: 8 }, // needs 5 + 4
    ];
    for (const o of bad) {
      let err: unknown;
      try {
        planChunks(o);
      } catch (e) {
        err = e;
      }
      expect(AvdubError.isInstance(err, ErrorCode.INVALID_ARGUMENT), JSON.stringify(o)).toBe(true);
    }
    expect(() => planChunks({ frameCount: 10, maxFrames: 5, bufferFrames: 2, windowLength: 8 })).toThrow(/windowLength >= 9/);
  });

  it('plans are frozen', () => {
    const plan = planChunks({ frameCount: 10, maxFrames: 4 });
    expect(Object.isFrozen(plan)).toBe(true);
    expect(Object.isFrozen(plan.chunks)).toBe(true);
    expect(Object.isFrozen(plan.chunks[0])).toBe(true);
  });
});

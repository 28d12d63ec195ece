import { describe, expect, it } from 'vitest';
import { FaceTracker, type FaceTrackingResult, type SmoothedFace, type StreamTrackingResult } from '../../src/face/tracker.js';
import { readFrames, type Frame } from '../../src/media/frames.js';
import { hasTestData, videoPath } from '../helpers/data.js';
import { TEST_MODEL_CACHE } from './helpers.js';

/**
 * The streaming tracker (`stream: true`) against the batch one (`finish()`), fed the same
 * frames: two faces, one of them blanked for a few frames (a gap: two runs), so runs end in the
 * middle of the video and at its end, and two tracks are smoothed side by side.
 */
describe.skipIf(!hasTestData)('FaceTracker streaming = batch', () => {
  async function frames(): Promise<{ data: Uint8Array; width: number; height: number; timestamp: number }[]> {
    const left = readFrames(videoPath('mimictalk_oldcommit_May_5s.mp4'));
    const right = readFrames(videoPath('sadtalker_WDA_KatieHill_000.mp4'), { scale: { width: 256, height: 256 } });
    const W = 1024;
    const H = 512;
    const out: { data: Uint8Array; width: number; height: number; timestamp: number }[] = [];
    for (let k = 0; k < 48; k++) {
      const [a, b] = await Promise.all([left.next(), right.next()]);
      if (a.done || b.done) break;
      const fa = a.value as Frame;
      const fb = b.value as Frame;
      const data = new Uint8Array(W * H * 3);
      // The left (larger) face is missing in frames 14..17.
      if (k < 14 || k > 17) for (let y = 0; y < 512; y++) data.set(fa.data.subarray(y * 512 * 3, (y + 1) * 512 * 3), y * W * 3);
      for (let y = 0; y < 256; y++) data.set(fb.data.subarray(y * 256 * 3, (y + 1) * 256 * 3), ((y + 128) * W + 640) * 3);
      out.push({ data, width: W, height: H, timestamp: k / 25 });
    }
    await left.return(undefined);
    await right.return(undefined);
    return out;
  }

  function maxDiff(a: Float32Array, b: Float32Array): number {
    expect(a.length).toBe(b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
  }

  function compare(batch: FaceTrackingResult, streamed: SmoothedFace[], end: StreamTrackingResult): void {
    expect(end.frameCount).toBe(batch.frameCount);
    expect(end.tracks.map((t) => t.id)).toEqual(batch.tracks.map((t) => t.id));
    expect(end.mainTrack?.id).toBe(batch.mainTrack?.id);
    for (const t of batch.tracks) {
      const info = end.tracks.find((x) => x.id === t.id)!;
      expect({ start: info.start, end: info.end, frames: info.frames, gaps: info.gaps, medianInterocular: info.medianInterocular }).toEqual({
        start: t.start,
        end: t.end,
        frames: t.faces.length,
        gaps: t.gaps,
        medianInterocular: t.medianInterocular,
      });
      const faces = streamed.filter((f) => f.trackId === t.id);
      expect(faces.map((f) => f.index)).toEqual(t.faces.map((f) => f.index));
      faces.forEach((f, k) => {
        const b = t.faces[k]!;
        expect(maxDiff(f.landmarks, b.landmarks)).toBeLessThanOrEqual(1e-6);
        expect(f.timestamp).toBe(b.timestamp);
        expect(f.confidence).toBe(b.confidence);
        expect(f.box).toEqual(b.box);
        expect(f.pose).toEqual(b.pose);
      });
    }
  }

  it('gives the same smoothed faces, tracks and main track (Gaussian, 1-Euro, none), with bounded look-ahead', async () => {
    const input = await frames();
    expect(input.length).toBe(48);
    for (const method of ['gaussian', 'one-euro', 'none'] as const) {
      const batch = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE, smoothing: { method } });
      const stream = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE, smoothing: { method }, stream: true });
      const streamed: SmoothedFace[] = [];
      let maxLag = 0;
      for (const f of input) {
        await batch.process(f);
        const r = await stream.process(f);
        for (const s of r.final ?? []) {
          maxLag = Math.max(maxLag, r.index - s.index);
          streamed.push(s);
        }
      }
      const end = stream.finishStream();
      streamed.push(...end.final);
      const b = batch.finish();
      expect(b.tracks.length).toBe(2);
      // Found again at the next periodic re-detection (the other face is tracked meanwhile).
      expect(b.mainTrack!.gaps).toHaveLength(1);
      expect(b.mainTrack!.gaps[0]![0]).toBe(14);
      compare(b, streamed, end);
      // Look-ahead: ceil(3 sigma) = 5 frames for the Gaussian, none for the causal 1-Euro filter and no smoothing.
      expect(maxLag).toBe(method === 'gaussian' ? 5 : 0);
      expect(() => stream.finish()).toThrow(/finishStream/);
      expect(() => batch.finishStream()).toThrow(/stream: true/);
    }
  }, 180_000);
});

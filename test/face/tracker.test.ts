import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackCommand } from '../../src/cli/track.js';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { FaceTracker, requireMainTrack, trackMainFace } from '../../src/face/tracker.js';
import { makeClip, tempDir } from '../helpers/media.js';
import { TEST_MODEL_CACHE } from './helpers.js';

const isCode = (code: string) => (e: unknown) => AvdubError.isInstance(e) && e.code === code;

describe('FaceTracker without a face', () => {
  const tmp = tempDir('avdub-face-noface-');
  let noFace = '';
  beforeAll(() => {
    noFace = makeClip(join(tmp.dir, 'testsrc.mp4'), { seconds: 1, size: '320x240', audio: false });
  });
  afterAll(() => tmp.cleanup());

  it('gives no tracks (every frame searched, no exception mid-video)', async () => {
    const tracker = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE });
    const events: number[] = [];
    const r = await tracker.track(noFace, { onProgress: (e) => events.push(e.done) });
    expect(r.frameCount).toBe(25);
    expect(r.tracks).toEqual([]);
    expect(r.mainTrack).toBeUndefined();
    expect(events.at(-1)).toBe(25);
    expect(() => requireMainTrack(r, 'x.mp4')).toThrow(/No face found in x.mp4/);
  });

  it('reports E_NO_FACE at the pipeline level', async () => {
    await expect(trackMainFace(noFace, { cacheDir: TEST_MODEL_CACHE })).rejects.toSatisfy(isCode(ErrorCode.NO_FACE));
  });

  it('stops with E_ABORTED when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const tracker = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE });
    await expect(tracker.track(noFace, { signal: ac.signal })).rejects.toSatisfy(isCode(ErrorCode.ABORTED));
  });

  it('validates options', async () => {
    await expect(FaceTracker.create({ cacheDir: TEST_MODEL_CACHE, smoothing: { method: 'kalman' as 'none' } })).rejects.toSatisfy(
      isCode(ErrorCode.INVALID_ARGUMENT),
    );
    await expect(FaceTracker.create({ cacheDir: TEST_MODEL_CACHE, minConfidence: 2 })).rejects.toThrow(/minConfidence/);
  });

  describe('avdub track', () => {
    const io = () => {
      const out: string[] = [];
      const err: string[] = [];
      return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
    };
    const signal = new AbortController().signal;

    it('rejects bad usage with E_INVALID_ARGUMENT', async () => {
      await expect(trackCommand([], io().io, signal)).rejects.toSatisfy(isCode(ErrorCode.INVALID_ARGUMENT));
      await expect(trackCommand(['a.mp4', 'b.mp4'], io().io, signal)).rejects.toSatisfy(isCode(ErrorCode.INVALID_ARGUMENT));
      await expect(trackCommand(['a.mp4', '--smoothing', 'kalman'], io().io, signal)).rejects.toThrow(/smoothing/);
      await expect(trackCommand(['a.mp4', '--bogus'], io().io, signal)).rejects.toSatisfy(isCode(ErrorCode.INVALID_ARGUMENT));
      await expect(trackCommand(['a.mp4', '--detector-size', '100'], io().io, signal)).rejects.toThrow(/multiple of 32/);
      const h = io();
      expect(await trackCommand(['--help'], h.io, signal)).toBe(0);
      expect(h.out.join('\n')).toMatch(/Usage: avdub track/);
    });

    it('writes the JSON and then reports E_NO_FACE for a video without a face', async () => {
      const json = join(tmp.dir, 'out.json');
      const h = io();
      const saved = process.env.AVDUB_CACHE_DIR;
      process.env.AVDUB_CACHE_DIR = dirname(TEST_MODEL_CACHE); // the CLI uses $AVDUB_CACHE_DIR/models
      try {
        await expect(trackCommand([noFace, '--json', json], h.io, signal)).rejects.toSatisfy(isCode(ErrorCode.NO_FACE));
      } finally {
        if (saved === undefined) delete process.env.AVDUB_CACHE_DIR;
        else process.env.AVDUB_CACHE_DIR = saved;
      }
      const parsed = JSON.parse(readFileSync(json, 'utf8')) as { frameCount: number; tracks: unknown[]; mainTrackId: number | null };
      expect(parsed.frameCount).toBe(25);
      expect(parsed.tracks).toEqual([]);
      expect(parsed.mainTrackId).toBeNull();
      expect(h.out.join('\n')).toMatch(/no face found/);
    });
  });
});

/** The analysis pass keeps only compact per-track data from the streaming tracker: it must equal the batch tracker's. */
import { describe, expect, it } from 'vitest';
import { readAudio } from '../../src/audio/index.js';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { FaceTracker } from '../../src/face/tracker.js';
import { audioContext } from '../../src/lipsync/personalized/footage.js';
import { liveChildProcessCount } from '../../src/media/process.js';
import { probeMedia } from '../../src/media/probe.js';
import { decodeAnalysis, encodeAnalysis, keptPoints, mainFaces, summarizeTracks } from '../../src/pipeline/analysis.js';
import { analyzeVideo } from '../../src/pipeline/analyze.js';
import { TEST_MODEL_CACHE } from '../face/helpers.js';
import { hasTestData, videoPath } from '../helpers/data.js';

describe.skipIf(!hasTestData)('analyzeVideo with the streaming tracker', () => {
  it('gives the tracks, main track and kept landmarks of the batch tracker (finish()), and survives the cache format', async () => {
    const video = videoPath('mimictalk_oldcommit_May_5s.mp4');
    const info = await probeMedia(video, { scanFrames: true });
    const r = await analyzeVideo(video, { info, tracker: { cacheDir: TEST_MODEL_CACHE }, references: 0, referenceCount: 0, cutThreshold: 30, maxFitTracks: 4 });
    const batch = await (await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE })).track(video);
    const a = r.analysis;
    expect(a.frameCount).toBe(batch.frameCount);
    expect(a.tracks).toEqual(summarizeTracks(batch));
    expect(a.mainTrackId).toBe(batch.mainTrack!.id);
    const want = mainFaces(batch.mainTrack);
    expect(a.main.length).toBe(want.length);
    expect(a.main.length).toBeGreaterThan(100);
    let worst = 0;
    a.main.forEach((f, k) => {
      const w = want[k]!;
      expect({ index: f.index, timestamp: f.timestamp, confidence: f.confidence, pose: f.pose }).toEqual({ index: w.index, timestamp: w.timestamp, confidence: w.confidence, pose: w.pose });
      const p = keptPoints(f);
      const q = keptPoints(w);
      for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - q[i]!));
      expect(Array.from(f.landmarks)).toEqual(Array.from(w.landmarks));
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
    // The stage cache's format round trip.
    const back = decodeAnalysis(Buffer.concat(encodeAnalysis(a)));
    expect(back.tracks).toEqual(a.tracks);
    expect(back.main.map((f) => Array.from(keptPoints(f)))).toEqual(a.main.map((f) => Array.from(keptPoints(f))));
    expect(back.main.map((f) => f.pose)).toEqual(a.main.map((f) => f.pose));
  }, 120_000);

  it('fits the same model when the footage audio arrives as a promise (awaited at the first fitted frame)', async () => {
    const video = videoPath('mimictalk_oldcommit_May_5s.mp4');
    const info = await probeMedia(video, { scanFrames: true });
    const ctx = audioContext((await readAudio(video, { sampleRate: 16000 })).samples, 16000);
    const base = { info, tracker: { cacheDir: TEST_MODEL_CACHE }, references: 0, referenceCount: 0, cutThreshold: 30, maxFitTracks: 4 };
    const now = await analyzeVideo(video, { ...base, fit: { audio: ctx, options: {} } });
    // Resolved only after the decoder and the tracker have started.
    const later = new Promise<typeof ctx>((resolve) => setTimeout(() => resolve(ctx), 300));
    const awaited = await analyzeVideo(video, { ...base, fit: { audio: later, options: {} } });
    expect(now.model).toBeDefined();
    expect(awaited.fitFrames).toBe(now.fitFrames);
    const { fit: f1, ...p1 } = now.model!.profile;
    const { fit: f2, ...p2 } = awaited.model!.profile;
    expect(JSON.stringify(p2)).toBe(JSON.stringify(p1));
    expect({ ...f2, seconds: 0 }).toEqual({ ...f1, seconds: 0 }); // only the fit's own timing may differ
    expect(awaited.model!.crops.map((c) => Buffer.from(c).toString('base64'))).toEqual(now.model!.crops.map((c) => Buffer.from(c).toString('base64')));
  }, 120_000);

  it('a tracker that cannot be created fails the pass and stops the decoder started beside it', async () => {
    const video = videoPath('mimictalk_oldcommit_May_5s.mp4');
    const info = await probeMedia(video);
    const err = await analyzeVideo(video, { info, tracker: { cacheDir: TEST_MODEL_CACHE, maxFaces: 0 }, references: 0, referenceCount: 0, cutThreshold: 30, maxFitTracks: 4 }).catch((e) => e);
    expect(AvdubError.isInstance(err, ErrorCode.INVALID_ARGUMENT)).toBe(true);
    expect(liveChildProcessCount()).toBe(0);
  }, 60_000);
});

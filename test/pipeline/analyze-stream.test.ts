/** The analysis pass keeps only compact per-track data from the streaming tracker: it must equal the batch tracker's. */
import { describe, expect, it } from 'vitest';
import { FaceTracker } from '../../src/face/tracker.js';
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
});

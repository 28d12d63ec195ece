import { beforeAll, describe, expect, it } from 'vitest';
import { hasTestData } from '../helpers/data.js';
import { measureClip, type ClipQuality } from './quality.js';

// Quality bars of the face stack on real clips, every frame; one tracking pass per clip is
// shared by all assertions. The clips are split over two files so two test workers share the work.
const CLIPS = [
  'mimictalk_oldcommit_May_5s.mp4',
  'retalking_face_2.mp4',
  'retalking_face_4.mp4',
  'sadtalker_WDA_KatieHill_000.mp4',
] as const;

describe.skipIf(!hasTestData).each(CLIPS)('face quality on %s', (clip) => {
  let q: ClipQuality;
  beforeAll(async () => {
    q = await measureClip(clip);
  }, 240_000);

  it('has a face track covering at least 98% of the frames', () => {
    expect(q.result.mainTrack).toBeDefined();
    expect(q.coverage).toBeGreaterThanOrEqual(0.98);
  });

  it('keeps the eye landmarks within 1.5 px (std, 256-px canonical crop) after smoothing, both filters', () => {
    expect(q.eyeStd.gaussian).toBeLessThanOrEqual(1.5);
    expect(q.eyeStd.oneEuro).toBeLessThanOrEqual(1.5);
    expect(q.eyeStd.gaussian).toBeLessThanOrEqual(q.eyeStd.raw + 1e-6);
  });

  it('covers every lip and jaw landmark and no eye landmark with the mouth rectangle, on every frame', () => {
    expect(q.rectangleViolations).toBe(0);
  });

  it('gives a finite head pose on every frame', () => {
    for (const f of q.result.mainTrack!.faces) {
      expect(Number.isFinite(f.pose.yaw + f.pose.pitch + f.pose.roll)).toBe(true);
      expect(Math.abs(f.pose.yaw)).toBeLessThan(90);
    }
  });
});

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trackCommand } from '../../src/cli/track.js';
import { readFaceFrames } from '../../src/face/face-frames.js';
import type { FaceImage } from '../../src/face/image.js';
import { interocularDistance } from '../../src/face/landmarks.js';
import { FaceTracker } from '../../src/face/tracker.js';
import { probeMedia } from '../../src/media/probe.js';
import { readFrames, type Frame } from '../../src/media/frames.js';
import { VideoWriter } from '../../src/media/writer.js';
import { hasTestData, videoPath } from '../helpers/data.js';
import { tempDir } from '../helpers/media.js';
import { TEST_MODEL_CACHE } from './helpers.js';

describe.skipIf(!hasTestData)('FaceTracker on edited clips', () => {
  const tmp = tempDir('avdub-face-track-');
  afterAll(() => tmp.cleanup());

  it('turns black and noise frames spliced into a clip into a gap, and resumes after it', async () => {
    const out = join(tmp.dir, 'spliced.mp4');
    const w = await VideoWriter.open(out, { width: 844, height: 844, fps: 25, preset: 'ultrafast' });
    let i = 0;
    let seed = 99;
    for await (const f of readFrames(videoPath('retalking_face_2.mp4'))) {
      if (i === 40) {
        for (let k = 0; k < 5; k++) await w.write(new Uint8Array(f.data.length)); // black
        for (let k = 0; k < 5; k++) {
          const noise = new Uint8Array(f.data.length);
          for (let j = 0; j < noise.length; j++) {
            seed = (seed * 1103515245 + 12345) >>> 0;
            noise[j] = seed >>> 24;
          }
          await w.write(noise);
        }
      }
      await w.write(f.data);
      if (++i === 80) break;
    }
    await w.close();

    const tracker = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE });
    const r = await tracker.track(out);
    expect(r.frameCount).toBe(90);
    expect(r.tracks).toHaveLength(1);
    const t = r.mainTrack!;
    expect(t.gaps).toEqual([[40, 49]]);
    expect(t.start).toBe(0);
    expect(t.end).toBe(89);
    expect(t.faces).toHaveLength(80);
    // tracking resumed on the first frame after the gap
    expect(t.faces.find((f) => f.index === 50)?.confidence).toBeGreaterThan(0.5);
  });

  it('follows two faces as two tracks and picks the larger one as the main track', async () => {
    // left: a 512x512 clip; right: another clip at half size, in a 1024x512 frame
    const left = readFrames(videoPath('mimictalk_oldcommit_May_5s.mp4'));
    const right = readFrames(videoPath('sadtalker_WDA_KatieHill_000.mp4'), { scale: { width: 256, height: 256 } });
    const tracker = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE });
    const W = 1024;
    const H = 512;
    for (let k = 0; k < 40; k++) {
      const [a, b] = await Promise.all([left.next(), right.next()]);
      if (a.done || b.done) break;
      const fa = a.value as Frame;
      const fb = b.value as Frame;
      const data = new Uint8Array(W * H * 3);
      for (let y = 0; y < 512; y++) data.set(fa.data.subarray(y * 512 * 3, (y + 1) * 512 * 3), y * W * 3);
      for (let y = 0; y < 256; y++) data.set(fb.data.subarray(y * 256 * 3, (y + 1) * 256 * 3), ((y + 128) * W + 640) * 3);
      await tracker.process({ data, width: W, height: H, timestamp: k / 25 });
    }
    await left.return(undefined);
    await right.return(undefined);
    const r = tracker.finish();
    expect(r.tracks).toHaveLength(2);
    for (const t of r.tracks) expect(t.faces.length).toBeGreaterThanOrEqual(38);
    const main = r.mainTrack!;
    expect(main.faces[0]!.box.x + main.faces[0]!.box.width).toBeLessThan(512);
    const other = r.tracks.find((t) => t !== main)!;
    expect(other.faces[0]!.box.x).toBeGreaterThan(600);
    expect(main.medianInterocular).toBeGreaterThan(1.5 * other.medianInterocular);
  });

  it('avdub track writes the JSON and an overlay video of the same length', async () => {
    const json = join(tmp.dir, 'track.json');
    const overlay = join(tmp.dir, 'overlay.mp4');
    const out: string[] = [];
    const saved = process.env.AVDUB_CACHE_DIR;
    process.env.AVDUB_CACHE_DIR = dirname(TEST_MODEL_CACHE);
    try {
      const code = await trackCommand(
        [videoPath('mimictalk_oldcommit_May_5s.mp4'), '--json', json, '--overlay', overlay, '--smoothing', 'one-euro'],
        { out: (s) => out.push(s), err: () => {} },
        new AbortController().signal,
      );
      expect(code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.AVDUB_CACHE_DIR;
      else process.env.AVDUB_CACHE_DIR = saved;
    }
    expect(out.join('\n')).toMatch(/track 1 \(main\): frames 0-124, 125 with face \(100\.0% of the video\)/);
    const parsed = JSON.parse(readFileSync(json, 'utf8')) as {
      mainTrackId: number;
      tracks: { id: number; frames: { landmarks: number[]; canonical: { toFrame: number[] }; pose: { yaw: number } }[] }[];
    };
    expect(parsed.mainTrackId).toBe(1);
    expect(parsed.tracks[0]!.frames).toHaveLength(125);
    expect(parsed.tracks[0]!.frames[0]!.landmarks).toHaveLength(468 * 3);
    expect(parsed.tracks[0]!.frames[0]!.canonical.toFrame).toHaveLength(6);
    const info = await probeMedia(overlay, { scanFrames: true });
    expect(info.video!.frameCount).toBe(125);
    expect([info.video!.width, info.video!.height]).toEqual([512, 512]);
  });
});

describe.skipIf(!hasTestData)('FaceTracker on I420 frames', () => {
  it('finds the same landmarks as on the RGB frames ffmpeg converts (within a fraction of a pixel)', async () => {
    // A BT.709-tagged 1080x1920 HEVC clip and an untagged one: both matrices.
    for (const clip of ['latentsync_demo1_video.mp4', 'retalking_face_2.mp4']) {
      const path = videoPath(clip);
      const info = await probeMedia(path);
      const run = async (frames: AsyncIterable<FaceImage & { timestamp: number }>): Promise<Float32Array[]> => {
        const t = await FaceTracker.create({ cacheDir: TEST_MODEL_CACHE });
        const out: Float32Array[] = [];
        for await (const f of frames) {
          const r = await t.process(f);
          out.push(r.faces[0]!.landmarks);
          if (out.length === 40) break;
        }
        return out;
      };
      const rgb = await run(readFrames(path, { info, reuseBuffer: true }));
      const yuv = await run(readFaceFrames(path, { info }));
      let sum = 0;
      let worst = 0;
      let n = 0;
      rgb.forEach((a, k) => {
        const b = yuv[k]!;
        for (let i = 0; i < a.length; i += 3) {
          const d = Math.hypot(a[i]! - b[i]!, a[i + 1]! - b[i + 1]!);
          sum += d;
          worst = Math.max(worst, d);
          n++;
        }
      });
      const iod = interocularDistance(rgb[0]!);
      // The two inputs differ by 8-bit rounding (and ffmpeg's own conversion): sub-pixel.
      expect(sum / n / iod).toBeLessThan(0.005);
      expect(worst / iod).toBeLessThan(0.05);
    }
  }, 120_000);
});

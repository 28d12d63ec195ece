import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../src/errors.js';
import { extractAudio, liveChildProcessCount, probeMedia, readFrames } from '../src/media/index.js';
import { AUDIO_TRACKS, VIDEO_CLIPS, audioPath, dataPath, hasTestData, videoPath } from './helpers/data.js';
import { tempDir } from './helpers/media.js';

interface ManifestRow {
  file: string;
  duration: number;
  video?: { codec: string; width: number; height: number; fps: number };
  audio: { codec: string; rate: number; channels: number };
}

function manifest(): Map<string, ManifestRow> {
  const rows = readFileSync(dataPath('MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1);
  const out = new Map<string, ManifestRow>();
  for (const line of rows) {
    const c = line.split('\t');
    const [vc, vw, vh, vfps] = (c[8] ?? '').split(',');
    const [ac, ar, ach] = (c[9] ?? '').split(',');
    const [fn, fd] = (vfps ?? '0/1').split('/').map(Number);
    out.set(c[0]!, {
      file: c[0]!,
      duration: Number(c[7]),
      video: vc ? { codec: vc, width: Number(vw), height: Number(vh), fps: fn! / fd! } : undefined,
      audio: { codec: ac!, rate: Number(ar), channels: Number(ach) },
    });
  }
  return out;
}

describe.skipIf(!hasTestData)('media on every clip in ../shared/data', () => {
  const rows = hasTestData ? manifest() : new Map<string, ManifestRow>();
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  for (const name of VIDEO_CLIPS) {
    it(`probes, decodes every frame and extracts audio: ${name}`, async () => {
      const row = rows.get(`video/${name}`)!;
      const info = await probeMedia(videoPath(name), { scanFrames: true });
      expect(info.video).toMatchObject({ codec: row.video!.codec, width: row.video!.width, height: row.video!.height, variableFrameRate: false });
      expect(info.video!.fps).toBeCloseTo(row.video!.fps, 3);
      expect(info.audio).toMatchObject({ sampleRate: row.audio.rate, channels: row.audio.channels });
      // MANIFEST durations come from an older ffmpeg that ignores MP4 edit lists: up to 64 ms longer.
      expect(Math.abs(info.duration - row.duration)).toBeLessThan(0.1);

      let count = 0;
      let last = -1;
      let nonBlack = 0;
      for await (const f of readFrames(videoPath(name), { reuseBuffer: true })) {
        expect(f.width).toBe(info.video!.displayWidth);
        expect(f.height).toBe(info.video!.displayHeight);
        expect(f.timestamp).toBeGreaterThan(last);
        last = f.timestamp;
        if (f.data[(f.data.length >> 1) - ((f.data.length >> 1) % 3)]! > 5) nonBlack++;
        count++;
      }
      expect(count).toBe(info.video!.frameCount);
      expect(nonBlack).toBeGreaterThan(count / 2);

      const audio = await extractAudio(videoPath(name));
      expect(audio.sampleRate).toBe(16000);
      expect(Math.abs(audio.samples.length / 16000 - info.audio!.duration)).toBeLessThan(0.05);
      const rms = Math.sqrt(audio.samples.reduce((s, x) => s + x * x, 0) / audio.samples.length);
      expect(rms).toBeGreaterThan(0.005); // real speech, not silence
    });
  }

  for (const name of AUDIO_TRACKS) {
    it(`extracts 16 kHz mono from ${name}`, async () => {
      const row = rows.get(`audio/${name}`)!;
      const info = await probeMedia(audioPath(name));
      expect(info.video).toBeUndefined();
      expect(info.audio).toMatchObject({ sampleRate: row.audio.rate, channels: row.audio.channels });
      const audio = await extractAudio(audioPath(name));
      expect(Math.abs(audio.samples.length / 16000 - row.duration)).toBeLessThan(0.02);
    });
  }

  it('a truncated real clip (its first half) is E_CORRUPT_MEDIA before any decoding', async () => {
    const bytes = readFileSync(videoPath('latentsync_demo1_video.mp4'));
    const half = join(tmp.dir, 'half.mp4');
    writeFileSync(half, bytes.subarray(0, bytes.length >> 1));
    await expect(probeMedia(half)).rejects.toSatisfy((e: unknown) => AvdubError.isInstance(e, ErrorCode.CORRUPT_MEDIA));
    expect(liveChildProcessCount()).toBe(0);
  });
});

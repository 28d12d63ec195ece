/** DubPipeline end to end on the real clips (AVDUB_TEST_DATA): dub, your own model, two faces. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src/media/probe.js';
import { DubPipeline } from '../../src/pipeline/pipeline.js';
import { parseSrt } from '../../src/providers/subtitles/srt.js';
import { audioPath, hasTestData, videoPath } from '../helpers/data.js';
import { ffmpeg, tempDir } from '../helpers/media.js';
import { MockLipsyncModel, decodeAll, diffOutsideYuv } from './helpers.js';

const tmp = tempDir('avdub-pipeline-data2-');
afterAll(() => tmp.cleanup());

describe.skipIf(!hasTestData)('DubPipeline on a real clip: dub, models, faces', () => {
  const cacheDir = join(tmp.dir, 'cache');
  const make = (): DubPipeline => new DubPipeline({ cacheDir, preset: 'ultrafast' });
  let video: string;
  let audio: string;
  beforeAll(() => {
    video = videoPath('mimictalk_oldcommit_May_5s.mp4');
    audio = audioPath('mimictalk_oldcommit_Obama_5s.wav');
  });

  it('dub with a human translation (SRT) and espeak: subtitles beside the output, segments in the report', async () => {
    const srt = join(tmp.dir, 'talk.es.srt');
    writeFileSync(srt, '1\n00:00:00,300 --> 00:00:02,200\nHola a todos.\n\n2\n00:00:02,600 --> 00:00:04,800\nGracias por venir hoy.\n');
    const r = await make().dub({ video, to: 'es', translation: srt, output: join(tmp.dir, 'dubbed.mp4') });
    expect(r.subtitles).toBe(join(tmp.dir, 'dubbed.es.srt'));
    const cues = parseSrt(readFileSync(r.subtitles!, 'utf8')).cues;
    expect(cues.map((c) => c.text)).toEqual(['Hola a todos.', 'Gracias por venir hoy.']);
    expect(r.report).toMatchObject({ job: 'dub', languages: { target: 'es' }, providers: { speech: 'espeak:default' }, passes: { decodes: 2 } });
    expect(r.report.segments).toHaveLength(2);
    for (const s of r.report.segments!) {
      expect(s.status).toBe('synthesized');
      expect(s.factor).toBeGreaterThan(0.5);
      expect(s.placedEnd).toBeGreaterThan(s.placedStart!);
      expect(s.overflowMs).toBeGreaterThanOrEqual(0);
    }
    expect(r.report.timing).toMatchObject({ overflows: expect.any(Number), warnings: expect.any(Array) });
    const info = await probeMedia(r.output, { scanFrames: true });
    expect(info.video?.frameCount).toBe(125);
    expect(info.audio!.duration).toBeGreaterThan(4.95);
    // The TTS clips and the aligned track are cached too.
    const again = await make().dub({ video, to: 'es', translation: srt, output: join(tmp.dir, 'dubbed2.mp4') });
    expect(again.report.stages.filter((s) => s.cached).map((s) => s.stage)).toEqual(expect.arrayContaining(['synthesize', 'align', 'track']));
    expect(readFileSync(again.output).equals(readFileSync(r.output))).toBe(true);
  });

  it('your own model: it gets the references it asks for, chosen from the main face during the analysis pass', async () => {
    const model = new MockLipsyncModel(4, 0, 4);
    const r = await make().lipsync({ video, audio, model, output: join(tmp.dir, 'byo.mp4') });
    expect(model.referencesSeen).toEqual([4]);
    expect(model.framesIn).toBe(125);
    expect(r.report.model).toEqual({ kind: 'mock', name: 'mock-invert' });
    expect(r.report.passes.decodes).toBe(2); // no fit, but the references need their own analysis entry
  });

  it('two faces: the main one is dubbed, the other is left exactly as it was', async () => {
    const two = join(tmp.dir, 'two.mp4');
    // May (512 px) on the left, a smaller second face (256 px) on the right, 2 s.
    ffmpeg([
      '-i', video, '-i', videoPath('retalking_face_2.mp4'),
      '-filter_complex', '[1:v]scale=256:256,pad=512:512:128:128:black[r];[0:v][r]hstack=inputs=2[v]',
      '-map', '[v]', '-map', '0:a', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12', '-pix_fmt', 'yuv420p', '-c:a', 'aac', two,
    ]);
    const frames = await decodeAll(two, 'yuv420p');
    let rightDiffs = 0;
    const r = await make().lipsync({
      video: two,
      audio,
      output: join(tmp.dir, 'two-out.mp4'),
      onFrame: (f, info) => {
        expect(info.box === null || info.box.x + info.box.width <= 512).toBe(true);
        rightDiffs += diffOutsideYuv(f.data, frames[info.index]!.data, 1024, f.height, { x: 0, y: 0, width: 512, height: f.height });
      },
    });
    expect(rightDiffs).toBe(0);
    expect(r.report.faces.tracks.length).toBe(2);
    expect(r.report.faces.untouchedTracks).toBe(1);
    const main = r.report.faces.tracks.find((t) => t.main)!;
    expect(main.id).toBe(r.report.faces.mainTrackId);
    expect(r.report.warnings.join('\n')).toMatch(/2 face tracks found: track \d+ .* is dubbed, the others are left as they are/);
    expect(r.report.audio.action).toBe('trimmed');
  });
});

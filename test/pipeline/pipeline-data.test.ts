/** DubPipeline end to end on the real 5 s clips (AVDUB_TEST_DATA). */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { liveChildProcessCount } from '../../src/media/process.js';
import { probeMedia } from '../../src/media/probe.js';
import { DubPipeline, type PipelineResult } from '../../src/pipeline/pipeline.js';
import type { OutputFrameInfo } from '../../src/pipeline/render-pass.js';
import { audioPath, hasTestData, videoPath } from '../helpers/data.js';
import { ffmpeg, tempDir } from '../helpers/media.js';
import { decodeAll, diffOutsideYuv } from './helpers.js';

const tmp = tempDir('avdub-pipeline-data-');
afterAll(() => tmp.cleanup());

describe.skipIf(!hasTestData)('DubPipeline on a real clip', () => {
  const cacheDir = join(tmp.dir, 'cache');
  const make = (): DubPipeline => new DubPipeline({ cacheDir, preset: 'ultrafast' });
  let video: string;
  let audio: string;
  let first: PipelineResult;
  let input: { data: Uint8Array }[];
  const boxes: OutputFrameInfo[] = [];
  let outsideDiffs = 0;

  beforeAll(async () => {
    video = videoPath('mimictalk_oldcommit_May_5s.mp4');
    audio = audioPath('mimictalk_oldcommit_Obama_5s.wav');
    input = await decodeAll(video, 'yuv420p');
    const stages: string[] = [];
    first = await make().lipsync({
      video,
      audio,
      output: join(tmp.dir, 'first.mp4'),
      onProgress: (e) => {
        if (e.done === 0) stages.push(e.stage);
      },
      onFrame: (frame, info) => {
        boxes.push(info);
        outsideDiffs += diffOutsideYuv(frame.data, input[info.index]!.data, frame.width, frame.height, info.box);
      },
    });
    expect(stages).toEqual(expect.arrayContaining(['probe', 'audio', 'track', 'render']));
  }, 120_000);

  it('lip-syncs the main face: every pixel outside the render box is the input pixel', async () => {
    const r = first.report;
    expect(existsSync(first.output)).toBe(true);
    expect(boxes.length).toBe(125);
    expect(outsideDiffs).toBe(0);
    expect(boxes.every((b) => b.box !== null && b.outcome === 'rendered')).toBe(true);
    expect(r).toMatchObject({
      job: 'lipsync',
      video: { width: 512, height: 512, frames: 125 },
      frames: { total: 125, rendered: 125, crossFaded: 0, passedThrough: 0 },
      faces: { mainTrackId: 1, untouchedTracks: 0, cuts: [] },
      model: { kind: 'personalized' },
      passes: { decodes: 2, analysisCached: false },
      audio: { action: 'none' },
    });
    expect(r.faces.tracks).toHaveLength(1);
    expect(r.faces.runs).toEqual([{ start: 0, end: 124, startReason: 'video-start', endReason: 'video-end' }]);
    expect(r.peakRssMiB).toBeGreaterThan(0);
    expect(r.stages.find((s) => s.stage === 'render')).toMatchObject({ cached: false, items: 125 });
    const out = await probeMedia(first.output, { scanFrames: true });
    expect(out.video).toMatchObject({ width: 512, height: 512, frameCount: 125 });
    expect(out.audio?.duration).toBeCloseTo(5, 1);
    expect(liveChildProcessCount()).toBe(0);
  });

  it('a re-run reuses the analysis pass (one decode) and writes a byte-identical file', async () => {
    // The same compositor as the first run, which Node did (its onFrame hook needs the frames).
    const again = await make().lipsync({ video, audio, output: join(tmp.dir, 'again.mp4'), onFrame: () => {} });
    expect(again.report.passes).toEqual({ decodes: 1, analysisCached: true });
    expect(again.report.stages.find((s) => s.stage === 'track')).toMatchObject({ cached: true });
    expect(readFileSync(again.output).equals(readFileSync(first.output))).toBe(true);
  });

  it('without an onFrame hook ffmpeg composites: the frames of the Node compositor within rounding, and its re-run is byte-identical too', async () => {
    const lossless = (compositor: 'auto' | 'node'): DubPipeline => new DubPipeline({ cacheDir, preset: 'ultrafast', crf: 0, render: { compositor } });
    const a = await lossless('auto').lipsync({ video, audio, output: join(tmp.dir, 'ffmpeg-a.mp4') });
    const b = await lossless('auto').lipsync({ video, audio, output: join(tmp.dir, 'ffmpeg-b.mp4') });
    const n = await lossless('node').lipsync({ video, audio, output: join(tmp.dir, 'node.mp4') });
    expect(a.report.stages.find((s) => s.stage === 'render')?.detail).toMatchObject({ compositor: 'ffmpeg', peakBufferedFrames: 0 });
    expect(n.report.stages.find((s) => s.stage === 'render')?.detail).toMatchObject({ compositor: 'node' });
    expect(readFileSync(b.output).equals(readFileSync(a.output))).toBe(true);
    const viaNode = await decodeAll(n.output, 'yuv420p');
    const viaFfmpeg = await decodeAll(a.output, 'yuv420p');
    expect(viaFfmpeg.length).toBe(125);
    let worst = 0;
    let changed = 0;
    for (let i = 0; i < 125; i++) {
      for (let k = 0; k < viaFfmpeg[i]!.data.length; k++) {
        const d = Math.abs(viaFfmpeg[i]!.data[k]! - viaNode[i]!.data[k]!);
        worst = Math.max(worst, d);
        if (viaFfmpeg[i]!.data[k] !== input[i]!.data[k]) changed++;
      }
    }
    // Alpha in 1/255 steps and ffmpeg's rounding against Node's float blend.
    expect(worst).toBeLessThanOrEqual(2);
    expect(changed).toBeGreaterThan(125 * 1000); // the mouths are there
  });

  it('generate settings shape pass 2 only: the analysis is reused and anchorShift moves the mouth', async () => {
    let outside = 0;
    const anchored = await new DubPipeline({ cacheDir, preset: 'ultrafast', generate: { anchorShift: true } }).lipsync({
      video,
      audio,
      output: join(tmp.dir, 'anchored.mp4'),
      onFrame: (frame, info) => {
        outside += diffOutsideYuv(frame.data, input[info.index]!.data, frame.width, frame.height, info.box);
      },
    });
    expect(anchored.report.passes).toEqual({ decodes: 1, analysisCached: true });
    expect(outside).toBe(0);
    expect(readFileSync(anchored.output).equals(readFileSync(first.output))).toBe(false);
  });

  it('pads a short track with silence and trims a long one to the video duration', async () => {
    const short = join(tmp.dir, 'short.wav');
    const long = join(tmp.dir, 'long.m4a');
    ffmpeg(['-i', audio, '-t', '3', short]);
    ffmpeg(['-i', audio, '-i', audio, '-filter_complex', '[0][1]concat=n=2:v=0:a=1', '-t', '7', '-c:a', 'aac', long]);
    const p = make();
    const padded = await p.lipsync({ video, audio: short, output: join(tmp.dir, 'padded.mp4') });
    expect(padded.report.audio).toMatchObject({ action: 'padded', differenceSeconds: -2 });
    expect(padded.report.warnings.join('\n')).toMatch(/padded with silence/);
    const trimmed = await p.lipsync({ video, audio: long, output: join(tmp.dir, 'trimmed.mp4') });
    expect(trimmed.report.audio.action).toBe('trimmed');
    expect(trimmed.report.audio.differenceSeconds).toBeCloseTo(2, 1);
    for (const r of [padded, trimmed]) {
      const info = await probeMedia(r.output, { scanFrames: true });
      expect(info.video?.frameCount).toBe(125);
      expect(info.audio!.duration).toBeGreaterThan(4.95);
      expect(info.audio!.duration).toBeLessThan(5.1);
    }
  });

  it('a cache that cannot take pass 1 costs a warning, not the run (its writes go on beside pass 2)', async () => {
    const broken = join(tmp.dir, 'broken-cache');
    mkdirSync(join(broken, 'pipeline'), { recursive: true });
    writeFileSync(join(broken, 'pipeline', 'analysis'), 'a file where the folder goes');
    const r = await new DubPipeline({ cacheDir: broken, preset: 'ultrafast' }).lipsync({ video, audio, output: join(tmp.dir, 'broken-cache.mp4'), onFrame: () => {} });
    expect(r.report.warnings.join('\n')).toMatch(/Pass 1 could not be cached/);
    expect(readFileSync(r.output).equals(readFileSync(first.output))).toBe(true);
    expect(liveChildProcessCount()).toBe(0);
  });

  it('cancelling mid-render: E_ABORTED, no output, no temporary file, no child process', async () => {
    const dir = join(tmp.dir, 'cancel');
    const ac = new AbortController();
    let n = 0;
    const e = await make()
      .lipsync({ video, audio, output: join(dir, 'c.mp4'), signal: ac.signal, onFrame: () => ++n === 30 && ac.abort() })
      .catch((x) => x);
    expect(AvdubError.isInstance(e, ErrorCode.ABORTED)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(liveChildProcessCount()).toBe(0);
  });

});

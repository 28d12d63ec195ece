import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { liveChildProcessCount } from '../../src/media/process.js';
import { probeMedia, type MediaInfo } from '../../src/media/probe.js';
import { featheredPolygonMask } from '../../src/render/mask.js';
import { CutDetector, planRuns } from '../../src/pipeline/plan.js';
import { renderMask, renderPass, type OutputFrameInfo, type RenderPassOptions } from '../../src/pipeline/render-pass.js';
import { overlayUnavailable } from '../../src/pipeline/overlay-pass.js';
import { ffmpeg, makeClip, tempDir } from '../helpers/media.js';
import { tempDirPrefix } from '../../src/util/temp.js';
import { MockLipsyncModel, MockPatchModel, decodeAll, diffOutsideYuv, range, syntheticMain } from './helpers.js';

const tmp = tempDir('avdub-render-pass-');
let clip: string;
let info: MediaInfo;
let input: { data: Uint8Array; timestamp: number }[];
const W = 160;

beforeAll(async () => {
  clip = makeClip(join(tmp.dir, 'clip.mp4'), { seconds: 2, fps: 25, size: '160x120' });
  info = await probeMedia(clip, { scanFrames: true });
  input = await decodeAll(clip, 'yuv420p');
});
afterAll(() => tmp.cleanup());

// Frames 5-30 have the face (one run), 34-36 too (a run too short to touch), then none.
const MAIN = [...range(5, 30), ...range(34, 36)];

function options(over: Partial<RenderPassOptions> = {}): RenderPassOptions {
  const main = syntheticMain(MAIN, 25);
  const plan = planRuns(main, [], { minRunFrames: 8, fadeFrames: 5, maxJump: 0.5, frameCount: 50 });
  return {
    video: clip,
    info,
    output: join(tmp.dir, 'out.mp4'),
    main,
    runs: plan.runs,
    otherFaceAt: (i) => i >= 40 && i <= 44,
    model: new MockLipsyncModel(7),
    audioWindow: () => new Float32Array(80 * 24),
    voiced: () => true,
    crf: 18,
    preset: 'ultrafast',
    featherSigma: 4,
    colorTransfer: false,
    maxBufferedFrames: 16,
    ...over,
  };
}

describe('renderPass', () => {
  it('changes pixels only inside the render box of main-track frames; every other frame is bit-identical', async () => {
    const seen: OutputFrameInfo[] = [];
    const model = new MockLipsyncModel(7);
    let outsideDiffs = 0;
    let passDiffs = 0;
    let insideChanged = 0;
    const stats = await renderPass(
      options({
        output: join(tmp.dir, 'a.mp4'),
        model,
        onFrame: (frame, i) => {
          seen.push(i);
          const orig = input[i.index]!.data;
          if (i.box) {
            outsideDiffs += diffOutsideYuv(frame.data, orig, W, 120, i.box);
            insideChanged += diffOutsideYuv(frame.data, orig, W, 120, null);
          } else passDiffs += diffOutsideYuv(frame.data, orig, W, 120, null);
        },
      }),
    );
    expect(seen.map((s) => s.index)).toEqual(range(0, 49));
    expect(outsideDiffs).toBe(0);
    expect(passDiffs).toBe(0);
    expect(insideChanged).toBeGreaterThan(1000); // the inverted mouth is really there
    // Every model input carries the frame's nose base in canonical coordinates (the synthetic
    // face puts every non-template point at (0.5, 0.55) of the crop).
    expect(model.anchorsSeen).toHaveLength(26);
    for (const a of model.anchorsSeen) {
      expect(a![0]).toBeCloseTo(0.5 * 256, 0);
      expect(a![1]).toBeCloseTo(0.55 * 256, 0);
    }
    // 26 frames in the run: 5 fade-in + 5 fade-out frames, 16 at full opacity.
    expect(stats).toMatchObject({ frames: 50, rendered: 16, crossFaded: 10 });
    expect(stats.passedThrough).toEqual({ total: 24, noFace: 16, otherFace: 5, shortRun: 3 });
    const opacities = seen.filter((s) => s.box).map((s) => Math.round(s.opacity * 6));
    expect(opacities.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(opacities.slice(-5)).toEqual([5, 4, 3, 2, 1]);
    expect(seen.filter((s) => s.outcome === 'short-run').map((s) => s.index)).toEqual([34, 35, 36]);
    const out = await probeMedia(stats.output, { scanFrames: true });
    expect(out.video?.frameCount).toBe(50);
    expect(out.audio).toBeUndefined();
  });

  it('with lossless encoding (crf 0), passed-through frames decode to exactly the input samples (no colour round trip)', async () => {
    const stats = await renderPass(options({ output: join(tmp.dir, 'lossless.mp4'), crf: 0 }));
    const out = await decodeAll(stats.output, 'yuv420p');
    expect(out.length).toBe(50);
    const faceFrames = new Set(range(5, 30));
    for (let i = 0; i < 50; i++) {
      if (faceFrames.has(i)) continue;
      expect(diffOutsideYuv(out[i]!.data, input[i]!.data, W, 120, null), `frame ${i}`).toBe(0);
    }
    expect(diffOutsideYuv(out[15]!.data, input[15]!.data, W, 120, null)).toBeGreaterThan(100);
    // The source's colour tags travel to the output (here: none, as the test clip has none).
    const probed = await probeMedia(stats.output);
    const { space, primaries, transfer } = probed.video!.color;
    expect({ space, primaries, transfer }).toEqual({ space: info.video!.color.space, primaries: info.video!.color.primaries, transfer: info.video!.color.transfer });
  });

  it('cancelling mid-render leaves no output, no temporary file and no child process', async () => {
    const dir = join(tmp.dir, 'cancel');
    const ac = new AbortController();
    let written = 0;
    const err = await renderPass(
      options({
        output: join(dir, 'cancelled.mp4'),
        model: new MockLipsyncModel(3, 15),
        signal: ac.signal,
        onFrame: () => {
          if (++written === 12) ac.abort();
        },
      }),
    ).catch((e) => e);
    expect(AvdubError.isInstance(err, ErrorCode.ABORTED)).toBe(true);
    expect(written).toBeLessThan(50);
    expect(readdirSync(dir)).toEqual([]);
    expect(liveChildProcessCount()).toBe(0);
  });

  it('holds at most maxBufferedFrames decoded frames, and more only while a long-lag model waits for input', async () => {
    const short = await renderPass(options({ output: join(tmp.dir, 'short-lag.mp4'), model: new MockLipsyncModel(2), maxBufferedFrames: 6 }));
    expect(short.peakBufferedFrames).toBeLessThanOrEqual(6);
    // A model that needs 20 frames of look-ahead with a cap of 4: no deadlock, ~21 frames held.
    const long = await renderPass(options({ output: join(tmp.dir, 'long-lag.mp4'), model: new MockLipsyncModel(20), maxBufferedFrames: 4 }));
    expect(long.frames).toBe(50);
    expect(long.peakBufferedFrames).toBeGreaterThan(4);
    expect(long.peakBufferedFrames).toBeLessThanOrEqual(23);
  });

  it('a patch model gets no crops, and only pixels under its patch (times the mask) change', async () => {
    const boxes = new Map<number, { x: number; y: number; width: number; height: number }>();
    let outsideDiffs = 0;
    let insideChanged = 0;
    await renderPass(
      options({
        output: join(tmp.dir, 'full.mp4'),
        onFrame: (_f, i) => {
          if (i.box) boxes.set(i.index, i.box);
        },
      }),
    );
    const model = new MockPatchModel();
    const stats = await renderPass(
      options({
        output: join(tmp.dir, 'patch.mp4'),
        model,
        onFrame: (frame, i) => {
          const orig = input[i.index]!.data;
          if (!i.box) return;
          outsideDiffs += diffOutsideYuv(frame.data, orig, W, 120, i.box);
          insideChanged += diffOutsideYuv(frame.data, orig, W, 120, null);
          // The patch (crop x 96-159, y 160-207; the synthetic face maps crop px by 0.4 and
          // (20, 10)) is a smaller rectangle than the whole render polygon's.
          const full = boxes.get(i.index)!;
          expect(i.box.width * i.box.height).toBeLessThan(full.width * full.height);
          expect(i.box.x).toBeGreaterThanOrEqual(20 + 0.4 * 96 - 4);
          expect(i.box.x + i.box.width).toBeLessThanOrEqual(20 + 0.4 * 160 + 4);
          expect(i.box.y).toBeGreaterThanOrEqual(10 + 0.4 * 160 - 4);
        },
      }),
    );
    expect(stats).toMatchObject({ frames: 50, rendered: 16, crossFaded: 10 });
    expect(model.framesIn).toBe(26);
    expect(model.cropsSeen).toBe(0);
    expect(outsideDiffs).toBe(0);
    expect(insideChanged).toBeGreaterThan(200);
  });

  it('a model that returns too few frames fails the pass cleanly', async () => {
    const broken = new MockLipsyncModel(0);
    broken.generate = async function* (input) {
      let i = 0;
      for await (const f of input.frames) {
        if (i < 3) yield { index: i, crop: f.crop };
        i++;
      }
    };
    const dir = join(tmp.dir, 'broken');
    const err = await renderPass(options({ output: join(dir, 'x.mp4'), model: broken })).catch((e) => e);
    expect(AvdubError.isInstance(err, ErrorCode.MODEL_LOAD)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(liveChildProcessCount()).toBe(0);
  });
});

describe('render mask and run planning', () => {
  it('renderMask equals featheredPolygonMask computed over the whole crop', () => {
    const poly = Float32Array.from([31.3, 107.2, 225.1, 104.9, 232.7, 180.4, 128.2, 247.6, 22.5, 176.1]);
    for (const sigma of [0, 2, 4]) {
      expect(Array.from(renderMask(poly, 256, sigma))).toEqual(Array.from(featheredPolygonMask(poly, 256, 256, sigma)));
    }
    const edge = Float32Array.from([-10, 200, 100, 200, 100, 270, -10, 270]); // past the crop's edges
    expect(Array.from(renderMask(edge, 256, 4))).toEqual(Array.from(featheredPolygonMask(edge, 256, 256, 4)));
  });

  it('splits runs at gaps, shot cuts and face jumps; fades only at edges next to untouched frames', () => {
    const a = syntheticMain(range(0, 19), 25);
    const b = syntheticMain(range(20, 39), 25, { tx: 60 }); // the face jumps 60 px at frame 20
    const c = syntheticMain(range(45, 47), 25);
    const p = planRuns([...a, ...b, ...c], [10], { minRunFrames: 8, fadeFrames: 2, maxJump: 0.5, frameCount: 48 });
    expect(p.runs.map((r) => [r.start, r.end, r.startReason, r.endReason])).toEqual([
      [0, 9, 'video-start', 'cut'],
      [10, 19, 'cut', 'jump'],
      [20, 39, 'jump', 'gap'],
    ]);
    expect(p).toMatchObject({ shortRuns: 1, shortRunFrames: 3, splitsAtCuts: 1, splitsAtJumps: 1 });
    // No fade-in at the start of the video; fades of 2 frames elsewhere.
    expect(Array.from(p.runs[0]!.opacity).map((x) => Math.round(x * 3))).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 2, 1]);
    expect(Array.from(p.runs[1]!.opacity.subarray(0, 3)).map((x) => Math.round(x * 3))).toEqual([1, 2, 3]);
  });

  it('CutDetector marks a change of shot, not motion within one', async () => {
    const cutClip = join(tmp.dir, 'cut.mp4');
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=1',
      '-f', 'lavfi', '-i', 'mandelbrot=size=160x120:rate=25',
      '-filter_complex', '[1]trim=duration=1,setpts=PTS-STARTPTS[m];[0][m]concat=n=2:v=1[v]',
      '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', cutClip,
    ]);
    const det = new CutDetector(30);
    const cuts: number[] = [];
    const frames = await decodeAll(cutClip);
    frames.forEach((f, i) => {
      if (det.isCut(det.push({ data: f.data, width: 160, height: 120 }))) cuts.push(i);
    });
    expect(cuts).toEqual([25]);
  });
});

describe('renderPass with ffmpeg as the compositor', () => {
  let vfrClip: string;
  let vfrInfo: MediaInfo;
  let vfrInput: { data: Uint8Array; timestamp: number }[];
  let rotClip: string;
  let rotInfo: MediaInfo;
  let rotInput: { data: Uint8Array; timestamp: number }[];
  const stamps = (frames: { timestamp: number }[]): Float64Array => Float64Array.from(frames.map((f) => f.timestamp));

  beforeAll(async () => {
    // Irregular frame times: every third frame of 50 dropped (gaps of 40 and 80 ms).
    vfrClip = join(tmp.dir, 'vfr.mp4');
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=3',
      '-vf', "select='not(eq(mod(n\\,3)\\,2))'", '-vsync', 'vfr',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', vfrClip,
    ]);
    vfrInfo = await probeMedia(vfrClip, { scanFrames: true });
    vfrInput = await decodeAll(vfrClip, 'yuv420p');
    // A phone-style clip: stored 120x160, shown 160x120 through rotation metadata.
    const stored = join(tmp.dir, 'stored.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=120x160:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', stored]);
    rotClip = join(tmp.dir, 'rotated.mp4');
    ffmpeg(['-i', stored, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotClip]);
    rotInfo = await probeMedia(rotClip, { scanFrames: true });
    rotInput = await decodeAll(rotClip, 'yuv420p');
  });

  it('pairs every patch with its own frame and matches the Node compositor within rounding (constant and variable frame rate, rotated)', async () => {
    expect(vfrInfo.video?.variableFrameRate).toBe(true);
    expect(rotInfo.video).toMatchObject({ width: 120, height: 160, displayWidth: 160, displayHeight: 120 });
    expect(Math.abs(rotInfo.video!.rotation) % 180).toBe(90);
    const clips = [['cfr', clip, info, input], ['vfr', vfrClip, vfrInfo, vfrInput], ['rotated', rotClip, rotInfo, rotInput]] as const;
    for (const [name, src, srcInfo, frames] of clips) {
      const common = { video: src, info: srcInfo, model: new MockPatchModel(true), crf: 0, timestamps: stamps(frames) };
      const viaNode = await renderPass(options({ ...common, output: join(tmp.dir, `${name}-node.mp4`), compositor: 'node' }));
      const model = new MockPatchModel(true);
      const viaFfmpeg = await renderPass(options({ ...common, model, output: join(tmp.dir, `${name}-ffmpeg.mp4`) }));
      expect(viaNode.compositor).toBe('node');
      expect(viaFfmpeg.compositor).toBe('ffmpeg'); // 'auto' picks it for a patch model with timestamps
      expect(model.cropsSeen).toBe(0);
      expect({ ...viaFfmpeg, seconds: 0, output: '', compositor: '', peakBufferedFrames: 0 }).toEqual({ ...viaNode, seconds: 0, output: '', compositor: '', peakBufferedFrames: 0 });
      const a = await decodeAll(viaNode.output, 'yuv420p');
      const b = await decodeAll(viaFfmpeg.output, 'yuv420p');
      expect(b.map((f) => f.timestamp)).toEqual(a.map((f) => f.timestamp));
      expect(b.length, name).toBe(frames.length);
      const runFrames = new Set(range(5, 30));
      let changed = 0;
      for (let i = 0; i < b.length; i++) {
        let worst = 0;
        for (let k = 0; k < b[i]!.data.length; k++) worst = Math.max(worst, Math.abs(b[i]!.data[k]! - a[i]!.data[k]!));
        // Alpha in 1/255 steps and ffmpeg's rounding: a level or two. A patch on the wrong frame
        // would be off by tens (each frame's grey differs by 47).
        expect(worst, `${name} frame ${i}`).toBeLessThanOrEqual(2);
        if (!runFrames.has(i)) expect(diffOutsideYuv(b[i]!.data, frames[i]!.data, W, 120, null), `${name} frame ${i} passes through`).toBe(0);
        else changed += diffOutsideYuv(b[i]!.data, frames[i]!.data, W, 120, null) > 0 ? 1 : 0;
      }
      expect(changed).toBe(26);
    }
  });

  it('falls back to Node where ffmpeg cannot composite, and refuses to be forced there', async () => {
    const ts = stamps(input);
    const hooked = await renderPass(options({ output: join(tmp.dir, 'hooked.mp4'), model: new MockPatchModel(), timestamps: ts, onFrame: () => {} }));
    expect(hooked.compositor).toBe('node');
    const whole = await renderPass(options({ output: join(tmp.dir, 'whole.mp4'), timestamps: ts }));
    expect(whole.compositor).toBe('node');
    expect(overlayUnavailable(options({ model: new MockPatchModel(), timestamps: ts }))).toBeUndefined();
    expect(overlayUnavailable(options({ model: new MockPatchModel(), timestamps: ts.map((t) => t - 0.5) }))).toMatch(/negative/);
    expect(overlayUnavailable(options({ model: new MockPatchModel(), timestamps: Float64Array.from([0, 0.04, 0.040001]) }))).toMatch(/too close/);
    expect(overlayUnavailable(options({ model: new MockPatchModel(), timestamps: ts, colorTransfer: true }))).toMatch(/colour/);
    const err = await renderPass(options({ output: join(tmp.dir, 'forced.mp4'), timestamps: ts, compositor: 'ffmpeg' })).catch((e) => e);
    expect(AvdubError.isInstance(err, ErrorCode.INVALID_ARGUMENT)).toBe(true);
    expect(String(err.message)).toMatch(/whole crops/);
  });

  it('cancelling leaves no output, no temporary folder and no child process; a short decode is E_CORRUPT_MEDIA', async () => {
    const runDirs = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith(tempDirPrefix('run')));
    const before = runDirs().length;
    const dir = join(tmp.dir, 'ff-cancel');
    const ac = new AbortController();
    const model = new MockPatchModel();
    model.onPatch = (i) => {
      if (i === 12) ac.abort();
    };
    const err = await renderPass(options({ output: join(dir, 'cancelled.mp4'), model, timestamps: stamps(input), signal: ac.signal })).catch((e) => e);
    expect(AvdubError.isInstance(err, ErrorCode.ABORTED), String(err?.stack ?? JSON.stringify(err))).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(runDirs().length).toBe(before);
    expect(liveChildProcessCount()).toBe(0);
    // The analysis claims 10 frames more than the video has.
    const long = Float64Array.from([...stamps(input), ...range(50, 59).map((i) => i / 25)]);
    const short = await renderPass(options({ output: join(dir, 'short.mp4'), model: new MockPatchModel(), timestamps: long })).catch((e) => e);
    expect(AvdubError.isInstance(short, ErrorCode.CORRUPT_MEDIA), String(short?.stack ?? JSON.stringify(short))).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    // ... and 10 frames fewer.
    const fewer = await renderPass(options({ output: join(dir, 'long.mp4'), model: new MockPatchModel(), timestamps: stamps(input).subarray(0, 40) })).catch((e) => e);
    expect(AvdubError.isInstance(fewer, ErrorCode.CORRUPT_MEDIA), String(fewer?.stack ?? JSON.stringify(fewer))).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(runDirs().length).toBe(before);
    expect(liveChildProcessCount()).toBe(0);
  });
});

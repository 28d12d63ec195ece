import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceCanonicalizer } from '../src/canonical/canonicalizer.js';
import { AvdubError, ErrorCode } from '../src/errors.js';
import type { Affine, FaceImage, RgbImage } from '../src/face/image.js';
import { readFaceFrames } from '../src/face/face-frames.js';
import { readFrames, readYuvFrames } from '../src/media/frames.js';
import { liveChildProcessCount } from '../src/media/process.js';
import { probeMedia } from '../src/media/probe.js';
import { VideoWriter } from '../src/media/writer.js';
import { rgbToYuv, yuvMatrix, yuvMatrixFor, yuvToRgb, type YuvImage } from '../src/media/yuv.js';
import { Renderer, featheredPolygonMask } from '../src/render/index.js';
import { ffmpeg, makeClip, tempDir } from './helpers/media.js';

const tmp = tempDir('avdub-yuv-');
let clip: string;
let tagged: string;
beforeAll(() => {
  clip = makeClip(join(tmp.dir, 'clip.mp4'), { seconds: 1, size: '160x120', audio: false });
  tagged = join(tmp.dir, 'bt709.mp4');
  ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=1',
    '-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', tagged,
  ]);
});
afterAll(() => tmp.cleanup());

function meanAbsDiff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  let s = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    s += d;
    if (d > max) max = d;
  }
  return { mean: s / a.length, max };
}

function noise(w: number, h: number, seed: number): RgbImage {
  let s = seed;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h };
}

describe('readYuvFrames', () => {
  it('yields I420 frames with the same timestamps as readFrames, and converts like ffmpeg does (untagged: BT.601; tagged: BT.709)', async () => {
    for (const path of [clip, tagged]) {
      const info = await probeMedia(path);
      const m = yuvMatrixFor(info.video!);
      expect(m.name).toBe(path === tagged ? 'bt709' : 'bt601');
      const rgb: { data: Uint8Array; timestamp: number }[] = [];
      for await (const f of readFrames(path)) rgb.push({ data: f.data, timestamp: f.timestamp });
      let i = 0;
      for await (const f of readYuvFrames(path)) {
        expect(f.data.length).toBe((160 * 120 * 3) / 2);
        expect(f.timestamp).toBe(rgb[i]!.timestamp);
        // Within a few levels everywhere (swscale rounds with less precision), about 1 on average.
        const d = meanAbsDiff(yuvToRgb(f, m), rgb[i]!.data);
        expect(d.mean, path).toBeLessThan(2);
        expect(d.max, path).toBeLessThanOrEqual(4);
        i++;
      }
      expect(i).toBe(rgb.length);
    }
    // With the wrong matrix the tagged clip is visibly off: the tag matters.
    const info = await probeMedia(tagged);
    let first: Uint8Array | undefined;
    for await (const f of readFrames(tagged)) {
      first = f.data.slice();
      break;
    }
    for await (const f of readYuvFrames(tagged, { info })) {
      expect(meanAbsDiff(yuvToRgb(f, yuvMatrix('bt601')), first!).mean).toBeGreaterThan(meanAbsDiff(yuvToRgb(f, yuvMatrixFor(info.video!)), first!).mean + 1);
      break;
    }
    expect(liveChildProcessCount()).toBe(0);
  });

  it('decodes into caller-owned buffers from bufferPool and never reuses a yielded one', async () => {
    const pool = [new Uint8Array((160 * 120 * 3) / 2), new Uint8Array((160 * 120 * 3) / 2), new Uint8Array(7)];
    const given = new Set<Uint8Array>(pool);
    const seen = new Set<Uint8Array>();
    for await (const f of readYuvFrames(clip, { bufferPool: pool })) {
      expect(seen.has(f.data)).toBe(false); // not handed out twice: the caller owns it
      seen.add(f.data);
    }
    expect(seen.size).toBe(25);
    expect([...seen].filter((b) => given.has(b)).length).toBe(2); // the two right-sized ones were used
  });

  it('rejects an odd output size before starting ffmpeg', async () => {
    const err = await (async () => {
      for await (const _ of readYuvFrames(clip, { scale: { width: 81, height: 60 } })) void _;
    })().catch((e) => e);
    expect(AvdubError.isInstance(err, ErrorCode.INVALID_ARGUMENT)).toBe(true);
    expect(liveChildProcessCount()).toBe(0);
  });
});

describe('readFaceFrames', () => {
  it('yields I420 with the stream\'s matrix for even sizes, RGB for odd ones, and the same pixels either way', async () => {
    const even = await collectFaces(clip);
    expect(even).toHaveLength(25);
    expect('yuv' in even[0]! && even[0].yuv.name).toBe(yuvMatrixFor((await probeMedia(clip)).video!).name);
    const odd = join(tmp.dir, 'odd.mkv');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=161x121:rate=25:duration=0.4', '-c:v', 'ffv1', '-pix_fmt', 'yuv444p', odd]);
    const frames = await collectFaces(odd);
    expect(frames).toHaveLength(10);
    expect('yuv' in frames[0]!).toBe(false);
    expect(frames[0]!.data.length).toBe(161 * 121 * 3);
    // The I420 frames convert to what readFrames gives, within the usual few levels.
    const rgb = (await collectRgb(clip))[3]!;
    const f = even[3]!;
    if (!('yuv' in f)) throw new Error('expected I420');
    const d = meanAbsDiff(yuvToRgb(f, f.yuv), rgb);
    expect(d.mean).toBeLessThan(1.5);
    expect(d.max).toBeLessThanOrEqual(3);
    expect(liveChildProcessCount()).toBe(0);
  });
});

async function collectFaces(path: string): Promise<(FaceImage & { index: number })[]> {
  const out: (FaceImage & { index: number })[] = [];
  // Copied: a frame's buffer is valid until the next iteration.
  for await (const f of readFaceFrames(path)) out.push({ ...f, data: Uint8Array.from(f.data) });
  return out;
}

async function collectRgb(path: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const f of readFrames(path)) out.push(f.data);
  return out;
}

describe('VideoWriter with I420 input', () => {
  it('encodes the samples as given (lossless at crf 0) and tags the colour as told', async () => {
    const frames: YuvImage[] = [];
    for await (const f of readYuvFrames(tagged)) frames.push({ ...f, data: f.data.slice() });
    const out = join(tmp.dir, 'yuv-out.mp4');
    const w = await VideoWriter.open(out, {
      width: 160, height: 120, fps: 25, crf: 0, preset: 'ultrafast', inputPixelFormat: 'yuv420p',
      color: { space: 'bt709', primaries: 'bt709', transfer: 'bt709' },
    });
    for (const f of frames) await w.write(f.data);
    await expect(w.write(new Uint8Array(160 * 120 * 3))).rejects.toThrow(/I420 frame of 28800 bytes/);
    await w.close();
    const info = await probeMedia(out);
    expect(info.video!.color).toMatchObject({ space: 'bt709', primaries: 'bt709', transfer: 'bt709' });
    let i = 0;
    for await (const f of readYuvFrames(out)) expect(meanAbsDiff(f.data, frames[i++]!.data).max).toBe(0);
    expect(i).toBe(frames.length);
  });

  it('rejects a colour name that is not an ffmpeg identifier', async () => {
    const err = await VideoWriter.open(join(tmp.dir, 'x.mp4'), { width: 16, height: 16, fps: 25, inputPixelFormat: 'yuv420p', color: { space: 'bt709 -y' } }).catch((e) => e);
    expect(AvdubError.isInstance(err, ErrorCode.INVALID_ARGUMENT)).toBe(true);
  });
});

describe('YUV conversions', () => {
  it('rgbToYuv then yuvToRgb returns smooth images within the 2 x 2 chroma blocks\' error, for each matrix', () => {
    const w = 64;
    const h = 48;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) rgb.set([40 + 2 * x, 30 + 2 * y, 200 - x - y], (y * w + x) * 3);
    }
    for (const name of ['bt601', 'bt709', 'bt2020'] as const) {
      for (const full of [false, true]) {
        const m = yuvMatrix(name, full);
        const back = yuvToRgb({ data: rgbToYuv(rgb, w, h, m), width: w, height: h }, m);
        // Borders replicate the chroma edge sample: compare the interior.
        let max = 0;
        for (let y = 2; y < h - 2; y++) for (let x = 2; x < w - 2; x++) for (let k = 0; k < 3; k++) max = Math.max(max, Math.abs(back[(y * w + x) * 3 + k]! - rgb[(y * w + x) * 3 + k]!));
        // Chroma is one sample per 2 x 2 block: gradients of 2 levels per pixel step by a few levels.
        expect(max, `${name} full=${full}`).toBeLessThanOrEqual(4);
      }
    }
  });

  it('FaceCanonicalizer.cropYuv matches crop of the RGB frame', () => {
    const W = 320;
    const H = 240;
    const rgb = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.set([128 + 60 * Math.sin(x / 25), 128 + 60 * Math.cos(y / 30), 128 + 60 * Math.sin((x + y) / 35)], (y * W + x) * 3);
    const m = yuvMatrix('bt709');
    const yuv = { data: rgbToYuv(rgb, W, H, m), width: W, height: H };
    const rgbBack = { data: yuvToRgb(yuv, m), width: W, height: H };
    const canon = new FaceCanonicalizer({ size: 64 });
    const t = { size: 64, toFrame: [1.05, -0.3, 110, 0.3, 1.05, 60] as Affine, toCrop: [0, 0, 0, 0, 0, 0] as Affine, similarity: { scale: 1, angle: 0, tx: 0, ty: 0 }, residual: 0 };
    const a = canon.crop(rgbBack, t as never).data;
    const b = canon.cropYuv(yuv, t as never, m).data;
    const d = meanAbsDiff(a, b);
    // About the scale of a 1080p face (1 crop px ~ 1.1 frame px). cropYuv interpolates chroma
    // once at half the crop size, crop() twice: close, not equal.
    expect(d.mean).toBeLessThan(2);
  });
});

describe('Renderer.renderYuv', () => {
  const ang = (20 * Math.PI) / 180;
  const s = 1.7;
  const cropToFrame: Affine = [s * Math.cos(ang), -s * Math.sin(ang), 70, s * Math.sin(ang), s * Math.cos(ang), 20];
  const CROP = 64;
  const poly = [0.08, 0.28, 0.92, 0.28, 0.92, 0.95, 0.08, 0.95].map((v) => v * CROP);

  it('leaves luma outside the support and chroma of blocks wholly outside it bit-identical, and blends like the RGB renderer inside', () => {
    const m = yuvMatrix('bt601');
    const frameRgb = noise(200, 150, 3);
    const frame: YuvImage = { data: rgbToYuv(frameRgb.data, 200, 150, m), width: 200, height: 150 };
    const before = frame.data.slice();
    const gen = { data: new Uint8Array(CROP * CROP * 3).fill(0), width: CROP, height: CROP };
    for (let i = 0; i < gen.data.length; i += 3) gen.data.set([200, 40, 90], i);
    const mask = featheredPolygonMask(poly, CROP, CROP, 2);
    const box = new Renderer().renderYuv(frame, gen, cropToFrame, mask, 1, m)!;
    expect(box.x % 2).toBe(0);
    expect(box.y % 2).toBe(0);
    expect(box.width % 2).toBe(0);
    // The support, as the RGB renderer sees it: where it changes a pixel of a frame with a different colour.
    const probe = { data: new Uint8Array(200 * 150 * 3).fill(0), width: 200, height: 150 };
    const white = { data: new Uint8Array(CROP * CROP * 3).fill(255), width: CROP, height: CROP };
    new Renderer().render(probe, white, cropToFrame, mask, 1);
    const inSupport = (x: number, y: number): boolean => probe.data[(y * 200 + x) * 3]! > 0;
    let lumaOutside = 0;
    let chromaOutside = 0;
    let fullInside = 0;
    for (let y = 0; y < 150; y++) {
      for (let x = 0; x < 200; x++) {
        if (!inSupport(x, y) && frame.data[y * 200 + x] !== before[y * 200 + x]) lumaOutside++;
        if (probe.data[(y * 200 + x) * 3]! === 255) {
          fullInside++;
          // Full alpha: the generated colour's luma, exactly as the matrix gives it.
          expect(Math.abs(frame.data[y * 200 + x]! - (16 + (0.299 * 200 + 0.587 * 40 + 0.114 * 90) * (219 / 255)))).toBeLessThanOrEqual(1);
        }
      }
    }
    for (let j = 0; j < 75; j++) {
      for (let i = 0; i < 100; i++) {
        const any = inSupport(2 * i, 2 * j) || inSupport(2 * i + 1, 2 * j) || inSupport(2 * i, 2 * j + 1) || inSupport(2 * i + 1, 2 * j + 1);
        for (const off of [200 * 150, 200 * 150 + 100 * 75]) if (!any && frame.data[off + j * 100 + i] !== before[off + j * 100 + i]) chromaOutside++;
      }
    }
    expect(fullInside).toBeGreaterThan(500);
    expect(lumaOutside).toBe(0);
    expect(chromaOutside).toBe(0);
    // Converted back, the inside is the generated colour.
    const rgb = yuvToRgb(frame, m);
    const cx = Math.round(cropToFrame[0] * 32 + cropToFrame[1] * 40 + cropToFrame[2]);
    const cy = Math.round(cropToFrame[3] * 32 + cropToFrame[4] * 40 + cropToFrame[5]);
    const o = (cy * 200 + cx) * 3;
    expect(Math.abs(rgb[o]! - 200)).toBeLessThanOrEqual(3);
    expect(Math.abs(rgb[o + 1]! - 40)).toBeLessThanOrEqual(3);
    expect(Math.abs(rgb[o + 2]! - 90)).toBeLessThanOrEqual(3);
  });

  it('opacity 0 touches nothing; colour transfer runs on the converted box', () => {
    const m = yuvMatrix('bt709');
    const frame: YuvImage = { data: rgbToYuv(noise(200, 150, 5).data, 200, 150, m), width: 200, height: 150 };
    const before = frame.data.slice();
    const gen = noise(CROP, CROP, 9);
    const mask = featheredPolygonMask(poly, CROP, CROP, 2);
    expect(new Renderer().renderYuv(frame, gen, cropToFrame, mask, 0, m)).toBeNull();
    expect(meanAbsDiff(frame.data, before).max).toBe(0);
    expect(new Renderer({ colorTransfer: true }).renderYuv(frame, gen, cropToFrame, mask, 1, m)).not.toBeNull();
    expect(meanAbsDiff(frame.data, before).max).toBeGreaterThan(0);
  });
});

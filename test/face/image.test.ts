import { describe, expect, it } from 'vitest';
import { applyAffine, composeAffine, invertAffine, letterboxAreaResize, warpBilinearPlanar, warpSupersampledPlanar, type Affine, type RgbImage, type YuvFaceImage } from '../../src/face/image.js';
import { rgbToYuv, yuvMatrix, yuvToRgb } from '../../src/media/yuv.js';
import { roiFromLandmarks, roiToFrame } from '../../src/face/mesh.js';

function image(w: number, h: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  return { data, width: w, height: h };
}

describe('affine helpers', () => {
  it('invert and compose round-trip', () => {
    const m: Affine = [1.2, -0.3, 5, 0.4, 0.9, -7];
    const id = composeAffine(m, invertAffine(m));
    [1, 0, 0, 0, 1, 0].forEach((v, i) => expect(id[i]).toBeCloseTo(v, 12));
    const [x, y] = applyAffine(invertAffine(m), ...applyAffine(m, 3, 4));
    expect(x).toBeCloseTo(3, 12);
    expect(y).toBeCloseTo(4, 12);
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(/not invertible/);
  });
});

describe('letterboxAreaResize', () => {
  it('letterboxes a portrait frame into the centre and keeps a flat colour', () => {
    const img = image(60, 120, (_x, _y, c) => [200, 100, 50][c]!);
    const out = new Float32Array(3 * 32 * 32);
    const lb = letterboxAreaResize(img, 32, out, 1, 0);
    expect(lb.scale).toBeCloseTo(32 / 120, 12);
    expect(lb.padX).toBeCloseTo((32 - 16) / 2, 12);
    expect(lb.padY).toBe(0);
    expect(out[16 * 32 + 16]).toBeCloseTo(200, 4); // R plane, centre
    expect(out[1024 + 16 * 32 + 16]).toBeCloseTo(100, 4); // G plane
    expect(out[16 * 32 + 2]).toBe(0); // left border is black
  });

  it('averages (does not alias) a fine checkerboard', () => {
    const img = image(256, 256, (x, y) => ((x + y) % 2 ? 255 : 0));
    const out = new Float32Array(3 * 64 * 64);
    letterboxAreaResize(img, 64, out, 1, 0);
    for (let i = 0; i < 64 * 64; i++) expect(Math.abs(out[i]! - 127.5)).toBeLessThan(1);
  });

  it('maps values with mul/add (the detector takes [-1, 1])', () => {
    const img = image(10, 10, () => 255);
    const out = new Float32Array(3 * 8 * 8);
    letterboxAreaResize(img, 8, out, 2 / 255, -1);
    expect(out[20]).toBeCloseTo(1, 5);
  });
});

describe('bilinear crops', () => {
  const img = image(40, 30, (x, y, c) => (x * 5 + y * 3 + c * 7) % 256);
  it('reproduces the source through the identity map', () => {
    const out = new Float32Array(3 * 40 * 30);
    warpBilinearPlanar(img, [1, 0, 0, 0, 1, 0], 40, 30, out, 0, 1, 0);
    for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) expect(out[y * 40 + x]).toBeCloseTo(img.data[(y * 40 + x) * 3]!, 4);
  });

  it('interpolates linearly between pixel centres', () => {
    const ramp = image(10, 1, (x) => x * 10);
    const out = new Float32Array(3 * 4);
    warpBilinearPlanar(ramp, [1, 0, 2.25, 0, 1, 0], 4, 1, out, 0, 1, 0);
    expect(Array.from(out.subarray(0, 4))).toEqual([22.5, 32.5, 42.5, 52.5]);
  });

  it('box-filters when supersampling', () => {
    const checker = image(80, 80, (x, y) => ((x + y) % 2 ? 255 : 0));
    const out = new Float32Array(3 * 20 * 20);
    warpSupersampledPlanar(checker, [4, 0, 0, 0, 4, 0], 20, 20, out, 0, 1, 0, 4);
    for (let i = 0; i < 400; i++) expect(out[i]).toBeCloseTo(127.5, 4);
  });

  it('maps the ROI crop back onto the ROI (rotation included)', () => {
    const roi = { cx: 100, cy: 80, size: 60, angle: 0.3 };
    const m = roiToFrame(roi, 192);
    const [cx, cy] = applyAffine(m, 96, 96);
    expect(cx).toBeCloseTo(100, 10);
    expect(cy).toBeCloseTo(80, 10);
    const [rx, ry] = applyAffine(m, 192, 96); // middle of the right edge
    expect(rx - 100).toBeCloseTo(30 * Math.cos(0.3), 10);
    expect(ry - 80).toBeCloseTo(30 * Math.sin(0.3), 10);
  });

  it('derives a roll-aligned ROI from landmarks', () => {
    // points on a rotated square; 33 and 263 set the roll
    const lm = new Float32Array(468 * 3);
    const a = 0.2;
    for (let i = 0; i < 468; i++) {
      const u = (i % 2 ? 1 : -1) * 20;
      const v = (i % 4 < 2 ? 1 : -1) * 30;
      lm[3 * i] = 50 + u * Math.cos(a) - v * Math.sin(a);
      lm[3 * i + 1] = 60 + u * Math.sin(a) + v * Math.cos(a);
    }
    lm.set([50 - 20 * Math.cos(a), 60 - 20 * Math.sin(a), 0], 3 * 33);
    lm.set([50 + 20 * Math.cos(a), 60 + 20 * Math.sin(a), 0], 3 * 263);
    const roi = roiFromLandmarks(lm, 1.5);
    expect(roi.angle).toBeCloseTo(a, 6);
    expect(roi.cx).toBeCloseTo(50, 4);
    expect(roi.cy).toBeCloseTo(60, 4);
    expect(roi.size).toBeCloseTo(60 * 1.5, 3);
  });
});

describe('sampling an I420 frame (YuvFaceImage)', () => {
  // A smooth colourful frame (no clipping at the gamut's edge), as I420 and as its RGB conversion.
  const W = 96;
  const H = 80;
  const matrix = yuvMatrix('bt709');
  const yuvData = rgbToYuv(image(W, H, (x, y, c) => 60 + ((c + 1) * (x * 3 + y * 2)) % 120).data, W, H, matrix);
  const rgb: RgbImage = { data: yuvToRgb({ data: yuvData, width: W, height: H }, matrix), width: W, height: H };
  const yuv: YuvFaceImage = { data: yuvData, width: W, height: H, yuv: matrix };
  const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

  it('equals sampling the frame converted to RGB, for the letterbox resize and both warps', () => {
    const N = 32;
    const a = new Float32Array(3 * N * N);
    const b = new Float32Array(3 * N * N);
    letterboxAreaResize(rgb, N, a, 2 / 255, -1);
    letterboxAreaResize(yuv, N, b, 2 / 255, -1);
    // yuvToRgb rounds each pixel to 8 bits; the I420 path converts the exact average.
    expect(maxDiff(a, b)).toBeLessThan(1.01 * (2 / 255));
    const m: Affine = [1.7, 0.4, 10.3, -0.3, 1.6, 7.9];
    for (const taps of [1, 3]) {
      warpSupersampledPlanar(rgb, m, N, N, a, 0, 1 / 255, 0, taps);
      warpSupersampledPlanar(yuv, m, N, N, b, 0, 1 / 255, 0, taps);
      expect(maxDiff(a, b)).toBeLessThan(1.01 / 255);
    }
    warpBilinearPlanar(rgb, m, N, N, a, 0, 1, 0, false);
    warpBilinearPlanar(yuv, m, N, N, b, 0, 1, 0, false);
    expect(maxDiff(a, b)).toBeLessThan(1.01);
    // And it really reads colour: the planes differ from each other.
    expect(maxDiff(b.subarray(0, N * N), b.subarray(N * N, 2 * N * N))).toBeGreaterThan(10);
  });
});

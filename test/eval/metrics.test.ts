import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bestOffset,
  changedPixelsOutside,
  contactSheetPng,
  landmarkJitter,
  laplacianVariance,
  lmd,
  mouthOpening,
  pearson,
  plotSeriesPng,
  psnr,
  sharpnessRatio,
  ssim,
  visemeConsistency,
} from '../../src/eval/index.js';
import type { RgbImage } from '../../src/face/image.js';
import { LIPS, MESH_POINT_COUNT } from '../../src/face/landmarks.js';
import { tempDir } from '../helpers/media.js';

function noise(w: number, h: number, seed = 1): RgbImage {
  let s = seed;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h };
}

/** Synthetic 468-point landmarks: eyes at known places, everything else on a grid. */
function landmarks(eyeDistance = 100): Float64Array {
  const p = new Float64Array(MESH_POINT_COUNT * 3);
  for (let k = 0; k < MESH_POINT_COUNT; k++) {
    p[3 * k] = 200 + (k % 20) * 3;
    p[3 * k + 1] = 200 + Math.floor(k / 20) * 3;
  }
  // Eye corners: interocularDistance measures between the eye centres (mean of two corners).
  for (const [k, x] of [[33, 100], [133, 140], [362, 100 + eyeDistance], [263, 140 + eyeDistance]] as const) {
    p[3 * k] = x;
    p[3 * k + 1] = 150;
  }
  return p;
}

describe('image metrics on known cases', () => {
  const img = noise(64, 48);
  it('identical images: PSNR infinite, SSIM 1', () => {
    expect(psnr(img, img)).toBe(Infinity);
    expect(ssim(img, img)).toBeCloseTo(1, 12);
  });

  it('PSNR of a known uniform error', () => {
    const b = { ...img, data: img.data.map((v) => (v < 250 ? v + 5 : v - 5)) };
    // Every channel off by exactly 5: MSE 25.
    expect(psnr(img, b)).toBeCloseTo(10 * Math.log10((255 * 255) / 25), 9);
  });

  it('SSIM drops for structure changes and is symmetric', () => {
    const other = noise(64, 48, 7);
    const s = ssim(img, other);
    expect(s).toBeLessThan(0.1);
    expect(ssim(other, img)).toBeCloseTo(s, 12);
    const dim = { ...img, data: img.data.map((v) => Math.round(v * 0.9)) };
    expect(ssim(img, dim)).toBeGreaterThan(0.9);
    expect(ssim(img, dim)).toBeLessThan(1);
  });

  it('regions restrict the comparison', () => {
    const b = { ...img, data: Uint8Array.from(img.data) };
    b.data[0] = (b.data[0]! + 100) % 256; // change pixel (0,0) only
    expect(psnr(img, b, { x0: 10, y0: 10, x1: 40, y1: 40 })).toBe(Infinity);
    expect(psnr(img, b)).toBeLessThan(Infinity);
  });

  it('sharpness: flat image has no Laplacian variance; blurring lowers it', () => {
    const flat: RgbImage = { data: new Uint8Array(32 * 32 * 3).fill(90), width: 32, height: 32 };
    expect(laplacianVariance(flat)).toBe(0);
    const blurred = { ...img, data: Uint8Array.from(img.data) };
    for (let i = 3; i < blurred.data.length - 3; i++) blurred.data[i] = (img.data[i - 3]! + img.data[i]! + img.data[i + 3]!) / 3;
    expect(sharpnessRatio(blurred, img)).toBeLessThan(0.7);
    expect(sharpnessRatio(img, img)).toBe(1);
  });

  it('changed pixels outside the mask', () => {
    const b = { ...img, data: Uint8Array.from(img.data) };
    const mask = new Uint8Array(64 * 48);
    mask[5 * 64 + 5] = 1;
    const flip = (i: number): void => {
      b.data[i] = b.data[i]! ^ 1;
    };
    flip((5 * 64 + 5) * 3); // inside the mask
    expect(changedPixelsOutside(img, b, mask)).toBe(0);
    flip((6 * 64 + 5) * 3 + 2); // outside: one pixel
    flip((6 * 64 + 6) * 3); // outside: another pixel
    expect(changedPixelsOutside(img, b, mask)).toBe(2);
    expect(changedPixelsOutside(img, b, (x, y) => y === 6 || (x === 5 && y === 5))).toBe(0);
  });
});

describe('landmark metrics on known cases', () => {
  it('a known landmark displacement gives the known LMD', () => {
    const ref = landmarks(100);
    const pred = Float64Array.from(ref);
    for (const k of LIPS) pred[3 * k + 1]! += 5; // every lip point 5 px down
    expect(lmd(pred, ref, LIPS)).toBeCloseTo(5 / 100, 12);
    // Half the points off by 3 px right and 4 px down (5 px), the rest exact.
    const pred2 = Float64Array.from(ref);
    LIPS.forEach((k, i) => {
      if (i % 2 === 0) {
        pred2[3 * k]! += 3;
        pred2[3 * k + 1]! += 4;
      }
    });
    expect(lmd(pred2, ref, LIPS)).toBeCloseTo((Math.ceil(LIPS.length / 2) * 5) / LIPS.length / 100, 12);
  });

  it('mouth opening is the inner-lip gap over the inter-ocular distance', () => {
    const p = landmarks(100);
    p[3 * 13 + 1] = 300;
    p[3 * 14 + 1] = 320;
    p[3 * 13] = p[3 * 14] = 250;
    expect(mouthOpening(p)).toBeCloseTo(20 / 100, 12);
  });

  it('jitter: zero for constant-velocity motion, positive for flicker', () => {
    const seq = [0, 1, 2, 3].map((t) => landmarks(100).map((v, i) => (i % 3 === 0 ? v + 2 * t : v)));
    expect(landmarkJitter(seq, LIPS)).toBeCloseTo(0, 12);
    const flicker = [0, 1, 2, 3].map((t) => landmarks(100).map((v, i) => (i % 3 === 1 ? v + (t % 2) * 4 : v)));
    expect(landmarkJitter(flicker, LIPS)).toBeCloseTo(4 / 100, 12);
  });
});

describe('correlation and audio-visual offset', () => {
  const ref = Array.from({ length: 120 }, (_, t) => Math.sin(t / 3) + 0.3 * Math.sin(t / 7.1));
  it('pearson basics', () => {
    expect(pearson(ref, ref)).toBeCloseTo(1, 12);
    expect(pearson(ref, ref.map((v) => -2 * v + 1))).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
  it('a known shift gives the known offset', () => {
    for (const shift of [-4, 0, 3, 7]) {
      const gen = ref.map((_, t) => ref[t - shift] ?? 0); // generated lags by `shift`
      const r = bestOffset(gen, ref, 10);
      expect(r.offset).toBe(shift);
      expect(r.correlation).toBeGreaterThan(0.99);
    }
  });
});

describe('viseme consistency', () => {
  it('counts bilabials at closed frames and open vowels at open frames', () => {
    const ts = Array.from({ length: 10 }, (_, i) => i * 0.1);
    const open = [0, 0.05, 0.4, 0.5, 0.0, 0.45, 0.02, 0.3, 0.5, 0.01];
    const phonemes = [
      { text: 'm', start: 0, end: 0.02 }, // frame 0: closed
      { text: 'p', start: 0.38, end: 0.42 }, // frame 4: closed
      { text: 'b', start: 0.28, end: 0.32 }, // frame 3: open -> wrong
      { text: 'a', start: 0.48, end: 0.52 }, // frame 5: open
      { text: 'a', start: 0.58, end: 0.62 }, // frame 6: closed -> wrong
      { text: 's', start: 0.7, end: 0.72 }, // neither class
    ];
    const r = visemeConsistency(open, ts, phonemes);
    expect(r.checked).toBe(5);
    // IPA from espeak carries stress marks: 'ˈɑː' is an open vowel too.
    expect(visemeConsistency(open, ts, [{ text: 'ˈɑː', start: 0.48, end: 0.52 }]).openVowelOpen).toBe(1);
    expect(r.bilabialClosed).toBeCloseTo(2 / 3, 12);
    expect(r.openVowelOpen).toBeCloseTo(1 / 2, 12);
  });
});

describe('pictures', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  it('writes a PNG plot and a contact sheet of the right size', async () => {
    const plot = await plotSeriesPng(join(tmp.dir, 'plot.png'), [
      { label: 'generated', values: [0, 0.2, 0.1, 0.3], color: '#d33' },
      { label: 'reference', values: [0, 0.25, 0.05, 0.3], color: '#33d' },
    ], { title: 'mouth opening' });
    const meta = await sharp(readFileSync(plot)).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 900, height: 320 });
    const sheet = await contactSheetPng(join(tmp.dir, 'sheet.png'), [noise(64, 48), noise(64, 48, 2), noise(64, 48, 3)], {
      columns: 2,
      cellWidth: 100,
      labels: ['real', 'generated', 'real'],
    });
    const m2 = await sharp(readFileSync(sheet)).metadata();
    expect(m2).toMatchObject({ format: 'png', width: 200, height: 2 * (75 + 18) });
  });
});

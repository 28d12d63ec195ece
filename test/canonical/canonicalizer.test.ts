import { describe, expect, it } from 'vitest';
import { FaceCanonicalizer } from '../../src/canonical/canonicalizer.js';
import { MOUTH_MASK_RECT } from '../../src/canonical/masks.js';
import { similarityToAffine } from '../../src/canonical/procrustes.js';
import { CANONICAL_TEMPLATE, templateIndices } from '../../src/canonical/template.js';
import { warpAffineBicubic, warpAffineBicubicDirect } from '../../src/canonical/warp.js';
import { applyAffine, invertAffine, type Affine, type RgbImage } from '../../src/face/image.js';
import { EYES, JAW, LIPS } from '../../src/face/landmarks.js';

/** 468 landmarks whose template points sit exactly where `frameFromCrop` sends the template. */
function landmarksFor(frameFromCrop: Affine, size = 256): Float32Array {
  const lm = new Float32Array(468 * 3);
  for (let i = 0; i < 468; i++) {
    // other points: somewhere plausible
    const [x, y] = applyAffine(frameFromCrop, 128 + 60 * Math.sin(i), 140 + 60 * Math.cos(i * 1.3));
    lm.set([x, y, i % 7], 3 * i);
  }
  for (const p of CANONICAL_TEMPLATE.points) {
    const [x, y] = applyAffine(frameFromCrop, p.x * size, p.y * size);
    lm[3 * p.index] = x;
    lm[3 * p.index + 1] = y;
  }
  return lm;
}

function smoothImage(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      data[o] = 128 + 100 * Math.sin(x / 23) * Math.cos(y / 31);
      data[o + 1] = (x * 255) / w;
      data[o + 2] = (y * 255) / h;
    }
  return { data, width: w, height: h };
}

describe('CANONICAL_TEMPLATE', () => {
  it('uses only eye and nose-top landmarks, never lips or jaw (001 s3.1.2)', () => {
    const idx = templateIndices();
    for (const i of idx) {
      expect(LIPS).not.toContain(i);
      expect(JAW).not.toContain(i);
    }
    expect(idx).toContain(168); // midway between the eyes
    expect(idx).toContain(6); // top of the nose
    for (const i of [33, 133, 362, 263]) expect(idx).toContain(i);
  });

  it('keeps every template point above the mouth mask and the face centred', () => {
    for (const p of CANONICAL_TEMPLATE.points) expect(p.y).toBeLessThan(MOUTH_MASK_RECT.y1);
    const xs = CANONICAL_TEMPLATE.points.map((p) => p.x);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(0.5, 3);
  });
});

describe('FaceCanonicalizer', () => {
  const canon = new FaceCanonicalizer();
  const frameFromCrop = similarityToAffine({ scale: 1.8, rotation: 0.25, tx: 300, ty: 120 });
  const lm = landmarksFor(frameFromCrop);

  it('recovers the exact transform and its inverse', () => {
    const t = canon.transform(lm);
    expect(t.residual).toBeLessThan(1e-3);
    expect(t.similarity.scale).toBeCloseTo(1 / 1.8, 6);
    expect(t.similarity.rotation).toBeCloseTo(-0.25, 6);
    t.toFrame.forEach((v, i) => expect(v).toBeCloseTo(frameFromCrop[i]!, 3));
    // round trip frame -> crop -> frame
    const c = canon.toCanonical(lm, t);
    const back = canon.toFrame(Float32Array.from({ length: 936 }, (_, k) => c[3 * (k >> 1) + (k & 1)]!), t);
    for (let i = 0; i < 468; i++) {
      expect(back[2 * i]).toBeCloseTo(lm[3 * i]!, 2);
      expect(back[2 * i + 1]).toBeCloseTo(lm[3 * i + 1]!, 2);
    }
    expect(c[3 * 5 + 2]).toBeCloseTo(lm[3 * 5 + 2]! / 1.8, 4); // z scaled like x, y
  });

  it('ignores lip and jaw landmarks: moving them does not move the crop', () => {
    const moved = Float32Array.from(lm);
    for (const i of [...LIPS, ...JAW]) {
      moved[3 * i]! += 25;
      moved[3 * i + 1]! += 40;
    }
    const a = canon.transform(lm).toCrop;
    const b = canon.transform(moved).toCrop;
    a.forEach((v, i) => expect(b[i]).toBe(v));
    // while moving an eye corner does
    const eye = Float32Array.from(lm);
    eye[3 * 33 + 1]! += 10;
    expect(canon.transform(eye).toCrop[5]).not.toBeCloseTo(a[5], 3);
  });

  it('crops bicubically: the crop of a warped image matches the source, and the inverse maps back', () => {
    const frame = smoothImage(900, 700);
    const t = canon.transform(lm);
    const { data } = canon.crop(frame, t);
    // every crop pixel equals the frame sampled at toFrame(pixel centre)
    let worst = 0;
    for (let v = 8; v < 248; v += 16)
      for (let u = 8; u < 248; u += 16) {
        const [x, y] = applyAffine(t.toFrame, u + 0.5, v + 0.5);
        const px = Math.round(x - 0.5);
        const py = Math.round(y - 0.5);
        worst = Math.max(worst, Math.abs(data[(v * 256 + u) * 3 + 1]! - frame.data[(py * 900 + px) * 3 + 1]!));
      }
    expect(worst).toBeLessThan(4); // the green ramp is 0.28 levels per pixel; nearest vs bicubic
    // putting the crop back with the inverse transform reproduces the frame inside the crop
    const back = warpAffineBicubic({ data, width: 256, height: 256 }, invertAffine(t.toFrame), 900, 700);
    let err = 0;
    let n = 0;
    for (let v = 40; v < 216; v += 8)
      for (let u = 40; u < 216; u += 8) {
        const [x, y] = applyAffine(t.toFrame, u + 0.5, v + 0.5);
        const o = (Math.floor(y) * 900 + Math.floor(x)) * 3;
        for (let c = 0; c < 3; c++) err += Math.abs(back[o + c]! - frame.data[o + c]!);
        n += 3;
      }
    expect(err / n).toBeLessThan(2.5);
  });

  it('keeps the aligned eye points above the mouth rectangle; the mask covers its pixel centres', () => {
    const t = canon.transform(lm);
    const c = canon.toCanonical(lm, t);
    const r = canon.mouthRect();
    for (const i of EYES.filter((i) => templateIndices().includes(i))) expect(c[3 * i + 1]!).toBeLessThan(r.y0);
    // centres inside [20.48, 235.52] x [71.68, 243.2]: columns 20..235, rows 72..242
    expect(canon.mouthMask().reduce((a, b) => a + (b ? 1 : 0), 0)).toBe(216 * 171);
  });

  it('validates its options', () => {
    expect(() => new FaceCanonicalizer({ size: 3 })).toThrow(/size/);
    expect(() => canon.transform(new Float32Array(10))).toThrow(/landmark values/);
  });
});

describe('warpAffineBicubic', () => {
  it('is exact for an integer shift and replicates borders', () => {
    const img = smoothImage(50, 40);
    const out = warpAffineBicubic(img, [1, 0, 3, 0, 1, 2], 20, 20);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) expect(out[(y * 20 + x) * 3]).toBe(img.data[((y + 2) * 50 + x + 3) * 3]);
    const edge = warpAffineBicubic(img, [1, 0, -30, 0, 1, 0], 5, 1);
    expect(edge[0]).toBe(img.data[0]);
  });

  it('two-pass and direct forms agree within one level', () => {
    const img = smoothImage(600, 500);
    for (const t of [
      { scale: 1.2, rotation: 0.3, tx: 150, ty: 100 },
      { scale: 0.7, rotation: -0.6, tx: 300, ty: 120 },
      { scale: 1.0, rotation: 0, tx: -40, ty: 380 }, // partly outside: border replicated
    ]) {
      const m = similarityToAffine(t);
      const a = warpAffineBicubic(img, m, 128, 128);
      const b = warpAffineBicubicDirect(img, m, 128, 128);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst).toBeLessThanOrEqual(1);
    }
  });
});

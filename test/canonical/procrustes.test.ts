import { describe, expect, it } from 'vitest';
import { applyAffine, composeAffine } from '../../src/face/image.js';
import { fitSimilarity, invertSimilarity, similarityToAffine } from '../../src/canonical/procrustes.js';

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('Procrustes similarity', () => {
  it.each([
    [1.7, 0.4, 12, -30],
    [0.35, -2.9, -400, 250],
    [1, 0, 0, 0],
  ])('recovers scale %d, rotation %d, translation (%d, %d) exactly', (scale, rotation, tx, ty) => {
    const r = rng(11);
    const src = Float64Array.from({ length: 40 }, () => r() * 500);
    const m = similarityToAffine({ scale, rotation, tx, ty });
    const dst = new Float64Array(40);
    for (let i = 0; i < 20; i++) [dst[2 * i], dst[2 * i + 1]] = applyAffine(m, src[2 * i]!, src[2 * i + 1]!);
    const fit = fitSimilarity(src, dst);
    expect(fit.scale).toBeCloseTo(scale, 10);
    expect(Math.atan2(Math.sin(fit.rotation - rotation), Math.cos(fit.rotation - rotation))).toBeCloseTo(0, 10);
    expect(fit.tx).toBeCloseTo(tx, 7);
    expect(fit.ty).toBeCloseTo(ty, 7);
  });

  it('is the least-squares fit under noise and never reflects or skews', () => {
    const r = rng(5);
    const src = Float64Array.from({ length: 200 }, () => r() * 100);
    const m = similarityToAffine({ scale: 2, rotation: 0.3, tx: 5, ty: 7 });
    const dst = new Float64Array(200);
    for (let i = 0; i < 100; i++) {
      const [x, y] = applyAffine(m, src[2 * i]!, src[2 * i + 1]!);
      dst[2 * i] = x + (r() - 0.5);
      dst[2 * i + 1] = y + (r() - 0.5);
    }
    const fit = fitSimilarity(src, dst);
    expect(fit.scale).toBeCloseTo(2, 2);
    expect(fit.rotation).toBeCloseTo(0.3, 2);
    const a = similarityToAffine(fit);
    expect(a[0]).toBeCloseTo(a[4], 12); // no skew: [c -s; s c]
    expect(a[1]).toBeCloseTo(-a[3], 12);
    // a mirrored point set still gets a proper rotation (positive determinant)
    const mirrored = Float64Array.from(src, (v, i) => (i % 2 ? v : -v));
    const fm = similarityToAffine(fitSimilarity(src, mirrored));
    expect(fm[0] * fm[4] - fm[1] * fm[3]).toBeGreaterThanOrEqual(0);
  });

  it('weights points', () => {
    const src = [0, 0, 10, 0, 0, 10, 50, 50];
    const dst = [0, 0, 10, 0, 0, 10, 90, 10]; // last point is an outlier
    const w = fitSimilarity(src, dst, [1, 1, 1, 0]);
    expect(w.scale).toBeCloseTo(1, 10);
    expect(w.rotation).toBeCloseTo(0, 10);
  });

  it('inverts exactly', () => {
    const t = { scale: 1.3, rotation: -0.7, tx: 40, ty: -12 };
    const id = composeAffine(similarityToAffine(t), similarityToAffine(invertSimilarity(t)));
    [1, 0, 0, 0, 1, 0].forEach((v, i) => expect(id[i]).toBeCloseTo(v, 12));
    expect(() => fitSimilarity([1, 1, 1, 1], [0, 0, 1, 1])).toThrow(/all the same/);
  });
});

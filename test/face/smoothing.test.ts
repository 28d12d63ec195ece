import { describe, expect, it } from 'vitest';
import { OneEuroFilter, gaussianKernel, gaussianSmooth, oneEuroSmooth } from '../../src/face/smoothing.js';

function noise(seed: number): () => number {
  let x = seed >>> 0;
  // Box-Muller on an LCG
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    const u = (x + 1) / 2 ** 32;
    x = (x * 1664525 + 1013904223) >>> 0;
    const v = (x + 1) / 2 ** 32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}
const std = (xs: number[]): number => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};
const series = (xs: number[]): Float32Array[] => xs.map((x) => Float32Array.of(x, 2 * x));

describe('Gaussian smoothing (001 s3.1.1)', () => {
  it('has a normalised, symmetric kernel', () => {
    const k = gaussianKernel(1.5);
    expect(k.length).toBe(2 * 5 + 1);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let i = 0; i < k.length; i++) expect(k[i]).toBeCloseTo(k[k.length - 1 - i]!, 15);
    expect(Array.from(gaussianKernel(0, 2))).toEqual([0, 0, 1, 0, 0]);
  });

  it('keeps constants, keeps lines in the interior, and does not pull the ends', () => {
    const c = gaussianSmooth(series(Array(20).fill(7)), 2);
    for (const v of c) expect(v[0]).toBeCloseTo(7, 5);
    const line = gaussianSmooth(series(Array.from({ length: 40 }, (_, i) => i)), 2);
    for (let i = 6; i < 34; i++) expect(line[i]![0]).toBeCloseTo(i, 4);
    // truncated, renormalised kernel at the ends: pulled inwards a little, never towards 0
    expect(line[0]![0]).toBeGreaterThan(0);
    expect(line[0]![0]).toBeLessThan(3);
  });

  it('reduces white noise by about 1/sqrt(2 sqrt(pi) sigma)', () => {
    const n = noise(1);
    const xs = Array.from({ length: 4000 }, () => n());
    const sigma = 2;
    const out = gaussianSmooth(series(xs), sigma).map((v) => v[0]!);
    const ratio = std(out.slice(10, -10)) / std(xs);
    expect(ratio).toBeGreaterThan(0.75 / Math.sqrt(2 * Math.sqrt(Math.PI) * sigma));
    expect(ratio).toBeLessThan(1.25 / Math.sqrt(2 * Math.sqrt(Math.PI) * sigma));
  });
});

describe('One-Euro filter (003 s3.3.1)', () => {
  const ts = (n: number, fps = 25): number[] => Array.from({ length: n }, (_, i) => i / fps);

  it('passes the first sample and holds a constant', () => {
    const f = new OneEuroFilter({ minCutoff: 1, beta: 0, dCutoff: 1 });
    expect(Array.from(f.filter([3, 4], 0))).toEqual([3, 4]);
    for (let i = 1; i < 10; i++) expect(f.filter([3, 4], i / 25)[0]).toBeCloseTo(3, 6);
  });

  it('removes jitter at rest and lags less with a higher beta on fast motion', () => {
    const n = noise(2);
    const rest = Array.from({ length: 500 }, () => n());
    const out = oneEuroSmooth(series(rest), ts(500), { minCutoff: 1, beta: 0, dCutoff: 1 }).map((v) => v[0]!);
    expect(std(out.slice(50)) / std(rest)).toBeLessThan(0.5);

    const ramp = Array.from({ length: 100 }, (_, i) => i * 4); // 100 units/s
    const lag = (beta: number): number => {
      const o = oneEuroSmooth(series(ramp), ts(100), { minCutoff: 1, beta, dCutoff: 1 });
      return ramp[99]! - o[99]![0]!;
    };
    expect(lag(0)).toBeGreaterThan(10);
    expect(lag(0.5)).toBeLessThan(lag(0) / 4);
  });

  it('converges to a step and can be reset', () => {
    const f = new OneEuroFilter({ minCutoff: 2, beta: 0.1, dCutoff: 1 });
    f.filter([0], 0);
    let y = 0;
    for (let i = 1; i < 100; i++) y = f.filter([10], i / 25)[0]!;
    expect(y).toBeCloseTo(10, 3);
    f.reset();
    expect(f.filter([-5], 5)[0]).toBe(-5);
  });

  it('is scale invariant when given the scale', () => {
    const xs = Array.from({ length: 50 }, (_, i) => Math.sin(i / 5));
    const a = oneEuroSmooth(series(xs), ts(50), { minCutoff: 0.5, beta: 5, dCutoff: 1 }, Array(50).fill(1));
    const big = oneEuroSmooth(series(xs.map((x) => x * 100)), ts(50), { minCutoff: 0.5, beta: 5, dCutoff: 1 }, Array(50).fill(100));
    for (let i = 0; i < 50; i++) expect(big[i]![0]).toBeCloseTo(a[i]![0]! * 100, 3);
  });
});

describe('GaussianStreamSmoother', () => {
  it('equals gaussianSmooth over each run, exactly, holding at most 2 radius + 1 frames', async () => {
    const { GaussianStreamSmoother, gaussianSmooth } = await import('../../src/face/smoothing.js');
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    for (const sigma of [0, 0.4, 1.5, 3]) {
      const sm = new GaussianStreamSmoother<number>(sigma);
      // Runs of many lengths, shorter and longer than the kernel.
      for (const len of [1, 2, 3, 5, 7, 11, 12, 30]) {
        const run = Array.from({ length: len }, () => Float32Array.from({ length: 6 }, () => rnd() * 100));
        const want = gaussianSmooth(run, sigma);
        const got: { value: Float32Array; tag: number }[] = [];
        run.forEach((v, i) => {
          got.push(...sm.push(v, i));
          expect(sm.pending).toBeLessThanOrEqual(sm.radius);
          // Final `radius` frames later: frame i - radius is out now.
          expect(got.length).toBe(Math.max(0, i + 1 - sm.radius));
        });
        got.push(...sm.end());
        expect(got.map((g) => g.tag)).toEqual(run.map((_, i) => i));
        got.forEach((g, i) => expect(Array.from(g.value)).toEqual(Array.from(want[i]!)));
      }
    }
  });
});

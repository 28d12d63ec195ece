import { describe, expect, it } from 'vitest';
import { ComplexFft, RealFft } from '../../src/audio/fft.js';

function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * ((k * j) % n)) / n;
      sr += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      si += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return [outRe, outIm];
}

describe('mixed-radix FFT', () => {
  // powers of two, the mel sizes (200 = 8*5*5, 400 = 4*4*5*5), radix 3 and a prime (generic path)
  it.each([1, 2, 3, 4, 5, 6, 8, 12, 16, 30, 64, 200, 256, 400, 7, 77, 98])('matches the direct DFT for n = %i', (n) => {
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      re[i] = Math.sin(1.3 * i) + 0.01 * i;
      im[i] = Math.cos(0.7 * i * i);
    }
    const [er, ei] = naiveDft(re, im);
    new ComplexFft(n).transform(re, im);
    const scale = Math.max(1, n);
    for (let k = 0; k < n; k++) {
      expect(Math.abs(re[k]! - er[k]!) / scale).toBeLessThan(1e-12);
      expect(Math.abs(im[k]! - ei[k]!) / scale).toBeLessThan(1e-12);
    }
  });

  it('batched transforms equal independent ones', () => {
    const n = 40;
    const B = 3;
    const re = new Float64Array(n * B);
    const im = new Float64Array(n * B);
    const singles: [Float64Array, Float64Array][] = [];
    for (let b = 0; b < B; b++) {
      const r = new Float64Array(n);
      const i = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        r[j] = Math.sin(j * (b + 1));
        i[j] = b - j / n;
        re[b + B * j] = r[j]!;
        im[b + B * j] = i[j]!;
      }
      new ComplexFft(n).transform(r, i);
      singles.push([r, i]);
    }
    new ComplexFft(n, B).transform(re, im);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < n; k++) {
        expect(re[b + B * k]).toBeCloseTo(singles[b]![0][k]!, 10);
        expect(im[b + B * k]).toBeCloseTo(singles[b]![1][k]!, 10);
      }
    }
  });

  it.each([2, 10, 400, 800, 512])('real FFT power and magnitude spectra are right for n = %i', (n) => {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.sin(0.37 * i) + 0.3 * Math.cos(2.1 * i) + (i % 7) / 10;
    const [er, ei] = naiveDft(x, new Float64Array(n));
    const f = new RealFft(n);
    const pow = new Float64Array(n / 2 + 1);
    f.load(x);
    f.spectrum(pow, true);
    const mag = new Float64Array(n / 2 + 1);
    f.load(x);
    f.spectrum(mag, false);
    for (let k = 0; k <= n / 2; k++) {
      const p = er[k]! ** 2 + ei[k]! ** 2;
      expect(Math.abs(pow[k]! - p) / (1 + p)).toBeLessThan(1e-10);
      expect(Math.abs(mag[k]! - Math.sqrt(p)) / (1 + Math.sqrt(p))).toBeLessThan(1e-10);
    }
  });

  it('rejects invalid sizes', () => {
    expect(() => new ComplexFft(0)).toThrow(RangeError);
    expect(() => new RealFft(401)).toThrow(RangeError);
    expect(() => new ComplexFft(12, 1, [5])).toThrow(/do not make 12/);
    // an explicit radix order gives the same result
    const a = new Float64Array(12).map((_, i) => i);
    const b = new Float64Array(12);
    const c = Float64Array.from(a);
    const d = new Float64Array(12);
    new ComplexFft(12).transform(a, b);
    new ComplexFft(12, 1, [3, 2, 2]).transform(c, d);
    for (let k = 0; k < 12; k++) expect(c[k]).toBeCloseTo(a[k]!, 10);
  });
});

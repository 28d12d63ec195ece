import { describe, expect, it } from 'vitest';
import { CoverageBank, dist2 } from '../../src/lipsync/personalized/bank.js';
import { cholesky, choleskySolve, matmul, symmetricEigen } from '../../src/lipsync/personalized/linalg.js';
import { fitPca, pcaDecode, pcaEncode } from '../../src/lipsync/personalized/pca.js';
import { RidgeAccumulator, ridgePredict } from '../../src/lipsync/personalized/ridge.js';

function fitRidge(X: Float64Array, Y: Float64Array, n: number, d: number, m: number) {
  const acc = new RidgeAccumulator(d, m, 5, 10);
  for (let i = 0; i < n; i++) acc.add(i, X.subarray(i * d, (i + 1) * d), Y.subarray(i * m, (i + 1) * m));
  return acc.solve([0.01, 0.1, 1, 10, 100, 1000, 10000]);
}
import { viterbi } from '../../src/lipsync/personalized/viterbi.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe('linear algebra', () => {
  it('Cholesky solves an SPD system', () => {
    const A = new Float64Array([4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]);
    const x = new Float64Array([1, -2, 3]);
    const b = matmul(A, x, 3, 3, 1);
    const sol = choleskySolve(cholesky(A, 3), b, 3, 1);
    sol.forEach((v, i) => expect(v).toBeCloseTo(x[i]!, 12));
    expect(() => cholesky(new Float64Array([1, 2, 2, 1]), 2)).toThrow(/positive definite/);
  });

  it('Cholesky factor is bit-identical to the textbook loop (fitted profiles must not move)', () => {
    const r = rng(11);
    const n = 40;
    const M = new Float64Array(n * 60).map(() => r());
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 0.5 : 0;
      for (let t = 0; t < 60; t++) s += M[i * 60 + t]! * M[j * 60 + t]!;
      A[i * n + j] = s;
    }
    const ref = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      let s = A[j * n + j]!;
      for (let k = 0; k < j; k++) s -= ref[j * n + k]! ** 2;
      ref[j * n + j] = Math.sqrt(s);
      for (let i = j + 1; i < n; i++) {
        let t = A[i * n + j]!;
        for (let k = 0; k < j; k++) t -= ref[i * n + k]! * ref[j * n + k]!;
        ref[i * n + j] = t / ref[j * n + j]!;
      }
    }
    expect(Array.from(cholesky(A, n))).toEqual(Array.from(ref));
  });

  it('Jacobi eigen-decomposition reconstructs the matrix', () => {
    const r = rng(3);
    const n = 6;
    const M = new Float64Array(n * n).map(() => r());
    const S = matmul(M, new Float64Array(n * n).map((_, i) => M[(i % n) * n + Math.floor(i / n)]!), n, n, n); // M Mᵀ
    const { values, vectors } = symmetricEigen(S, n);
    for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]! + 1e-12);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += values[k]! * vectors[k * n + a]! * vectors[k * n + b]!;
      expect(s).toBeCloseTo(S[a * n + b]!, 9);
    }
  });
});

describe('PCA', () => {
  it('finds a planted low-rank structure and round-trips codes', () => {
    const r = rng(5);
    const n = 200;
    const dim = 10;
    const X = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) {
      const a = 3 * r();
      const b = r();
      for (let j = 0; j < dim; j++) X[i * dim + j] = 5 + a * Math.sin(j) + b * Math.cos(2 * j) + 1e-4 * r();
    }
    const p = fitPca(X, n, dim, 0.999);
    expect(p.k).toBe(2);
    expect(p.explained).toBeGreaterThan(0.999);
    const x0 = X.subarray(0, dim);
    const back = pcaDecode(p, pcaEncode(p, x0));
    back.forEach((v, j) => expect(v).toBeCloseTo(x0[j]!, 3));
  });
});

describe('ridge regression', () => {
  it('recovers a linear map and picks a small lambda for clean data', () => {
    const r = rng(7);
    const n = 120;
    const d = 30;
    const m = 2;
    const Wt = new Float64Array(d * m).map(() => r());
    const X = new Float64Array(n * d).map(() => r());
    const Y = matmul(X, Wt, n, d, m).map((v, i) => v + (i % m === 0 ? 1.5 : -0.5));
    const model = fitRidge(X, Y, n, d, m);
    expect(model.lambda).toBeLessThanOrEqual(1);
    expect(model.cvError).toBeLessThan(model.baselineError * 0.05);
    const x = X.subarray(5 * d, 6 * d);
    const y = ridgePredict(model, x);
    expect(y[0]).toBeCloseTo(Y[5 * m]!, 1);
    expect(y[1]).toBeCloseTo(Y[5 * m + 1]!, 1);
  });

  it('chooses a large lambda when the features are pure noise', () => {
    const r = rng(9);
    const n = 100;
    const d = 200;
    const X = new Float64Array(n * d).map(() => r());
    const Y = new Float64Array(n).map(() => r());
    const model = fitRidge(X, Y, n, d, 1);
    expect(model.lambda).toBeGreaterThanOrEqual(100);
    // Noise features cannot beat predicting the mean on held-out blocks.
    expect(model.cvError).toBeGreaterThan(model.baselineError * 0.97);
  });

  it('projectOutputs equals ridge regression on the projected outputs, CV included', () => {
    const r = rng(11);
    const n = 150;
    const d = 12;
    const m = 6;
    const k = 2;
    const X = new Float64Array(n * d).map(() => r());
    const Wt = new Float64Array(d * m).map(() => r());
    const Y = matmul(X, Wt, n, d, m).map((v) => v + 0.3 * r() + 2);
    const P = new Float64Array(k * m).map(() => r());
    const mu = new Float64Array(m).map(() => r());
    const full = new RidgeAccumulator(d, m, 5, 10, { outputOuter: true });
    const direct = new RidgeAccumulator(d, k, 5, 10);
    const code = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const y = Y.subarray(i * m, (i + 1) * m);
      full.add(i, X.subarray(i * d, (i + 1) * d), y);
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += P[c * m + j]! * (y[j]! - mu[j]!);
        code[c] = s;
      }
      direct.add(i, X.subarray(i * d, (i + 1) * d), code);
    }
    const lambdas = [0.01, 0.1, 1, 10, 100];
    const a = full.projectOutputs(P, mu, k).solve(lambdas);
    const b = direct.solve(lambdas);
    expect(a.lambda).toBe(b.lambda);
    expect(a.cvError).toBeCloseTo(b.cvError, 9);
    expect(a.baselineError).toBeCloseTo(b.baselineError, 9);
    a.W.forEach((v, i) => expect(v).toBeCloseTo(b.W[i]!, 9));
    a.b.forEach((v, i) => expect(v).toBeCloseTo(b.b[i]!, 9));
    expect(() => direct.projectOutputs(P, mu, k)).toThrow(/outputOuter/);
  });
});

describe('CoverageBank', () => {
  it('keeps at most capacity entries and evicts redundant ones first', () => {
    const bank = new CoverageBank<number>(3);
    const f = (x: number) => new Float64Array([x]);
    bank.add({ frame: 0, feature: f(0), payload: 0 });
    bank.add({ frame: 1, feature: f(10), payload: 1 });
    bank.add({ frame: 2, feature: f(20), payload: 2 });
    bank.add({ frame: 3, feature: f(10.1), payload: 3 }); // near-duplicate of frame 1
    expect(bank.size).toBe(3);
    const kept = bank.entries.map((e) => e.feature[0]!).sort((a, b) => a - b);
    expect(kept[0]).toBe(0);
    expect(kept[2]).toBe(20);
    for (let i = 0; i < 100; i++) bank.add({ frame: 4 + i, feature: f(i % 20), payload: i });
    expect(bank.size).toBe(3);
    expect(dist2([0], [1])).toBe(1);
  });
});

describe('viterbi', () => {
  it('follows consecutive source frames instead of flickering between equal candidates', () => {
    // Bank: source frames 0..3 (a run) and 10 (an isolated frame). Targets fit entry 4 and the
    // run equally well at t=2; the run's continuity must win.
    const B = 5;
    const T = 4;
    const src = [0, 1, 2, 3, 10];
    const unary = new Float64Array(T * B).fill(5);
    for (let t = 0; t < T; t++) unary[t * B + t] = 0; // the run matches frame by frame
    unary[2 * B + 4] = 0; // entry 4 matches t=2 equally
    const { path, cost } = viterbi(unary, T, B, src, { switchCost: 1, holdCost: 0.5 });
    expect(Array.from(path)).toEqual([0, 1, 2, 3]);
    expect(cost).toBe(0);
  });

  it('holds one entry when told stillness is free (silence)', () => {
    const B = 3;
    const T = 5;
    const unary = new Float64Array(T * B).fill(1);
    for (let t = 0; t < T; t++) unary[t * B + (t % B)] = 0.9; // a weak preference that rotates
    const free = viterbi(unary, T, B, [0, 5, 9], { switchCost: 2, holdCost: 1, holdScale: new Float64Array(T).fill(0) });
    expect(new Set(free.path).size).toBe(1);
  });
});

import { cholesky, choleskySolve, gram, matmul, transpose } from './linalg.js';

/** y = x · W + b, with W (d x m). */
export interface RidgeModel {
  d: number;
  m: number;
  W: Float64Array;
  b: Float64Array;
  lambda: number;
  /** Mean squared error per output on held-out folds at the chosen lambda. */
  cvError: number;
}

/**
 * Ridge regression in the dual form (an n x n solve, cheap when there are fewer frames than
 * features: a 20 s clip has 500 frames and 1920 audio features). Lambda is chosen by K-fold
 * cross-validation over contiguous time blocks, so neighbouring (correlated) frames never sit on
 * both sides of a fold.
 */
export function fitRidge(
  X: Float64Array,
  Y: Float64Array,
  n: number,
  d: number,
  m: number,
  lambdas: readonly number[] = [0.1, 1, 10, 100, 1000, 10000],
  folds = 5,
): RidgeModel {
  // Centre so the intercept is not penalised.
  const xm = new Float64Array(d);
  const ym = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) xm[j] = xm[j]! + X[i * d + j]! / n;
    for (let j = 0; j < m; j++) ym[j] = ym[j]! + Y[i * m + j]! / n;
  }
  const Xc = new Float64Array(n * d);
  const Yc = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) Xc[i * d + j] = X[i * d + j]! - xm[j]!;
    for (let j = 0; j < m; j++) Yc[i * m + j] = Y[i * m + j]! - ym[j]!;
  }
  const K = gram(Xc, n, d);
  let best = { lambda: lambdas[0]!, err: Infinity };
  if (lambdas.length > 1 && n >= 2 * folds) {
    for (const lambda of lambdas) {
      let se = 0;
      let cnt = 0;
      for (let f = 0; f < folds; f++) {
        const lo = Math.floor((f * n) / folds);
        const hi = Math.floor(((f + 1) * n) / folds);
        const train = [...Array(n).keys()].filter((i) => i < lo || i >= hi);
        const nt = train.length;
        const Kt = new Float64Array(nt * nt);
        const Yt = new Float64Array(nt * m);
        // Centre within the training fold (the full-data centring would leak the held-out block).
        const ytm = new Float64Array(m);
        for (const i of train) for (let j = 0; j < m; j++) ytm[j] = ytm[j]! + Yc[i * m + j]! / nt;
        train.forEach((i, a) => {
          for (let j = 0; j < m; j++) Yt[a * m + j] = Yc[i * m + j]! - ytm[j]!;
          train.forEach((k, c) => (Kt[a * nt + c] = K[i * n + k]!));
        });
        // Kernel centring for the training fold.
        const rowMean = new Float64Array(nt);
        let allMean = 0;
        for (let a = 0; a < nt; a++) {
          for (let c = 0; c < nt; c++) rowMean[a] = rowMean[a]! + Kt[a * nt + c]! / nt;
          allMean += rowMean[a]! / nt;
        }
        const Kc = new Float64Array(nt * nt);
        for (let a = 0; a < nt; a++) for (let c = 0; c < nt; c++) Kc[a * nt + c] = Kt[a * nt + c]! - rowMean[a]! - rowMean[c]! + allMean;
        for (let a = 0; a < nt; a++) Kc[a * nt + a] = Kc[a * nt + a]! + lambda;
        const alpha = choleskySolve(cholesky(Kc, nt), Yt, nt, m);
        for (let i = lo; i < hi; i++) {
          let kMean = 0;
          for (const k of train) kMean += K[i * n + k]! / nt;
          for (let j = 0; j < m; j++) {
            let pred = ytm[j]!;
            train.forEach((k, a) => (pred += (K[i * n + k]! - kMean - rowMean[a]! + allMean) * alpha[a * m + j]!));
            se += (pred - Yc[i * m + j]!) ** 2;
            cnt++;
          }
        }
      }
      const err = se / cnt;
      if (err < best.err) best = { lambda, err };
    }
  }
  const Kl = Float64Array.from(K);
  for (let i = 0; i < n; i++) Kl[i * n + i] = Kl[i * n + i]! + best.lambda;
  const alpha = choleskySolve(cholesky(Kl, n), Yc, n, m);
  // Primal weights W = Xcᵀ α (d x m), so prediction is a plain MatMul (and an ONNX graph).
  const W = matmul(transpose(Xc, n, d), alpha, d, n, m);
  const b = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let s = ym[j]!;
    for (let p = 0; p < d; p++) s -= xm[p]! * W[p * m + j]!;
    b[j] = s;
  }
  return { d, m, W, b, lambda: best.lambda, cvError: best.err };
}

export function ridgePredict(model: RidgeModel, x: ArrayLike<number>, out = new Float64Array(model.m)): Float64Array {
  out.set(model.b);
  for (let p = 0; p < model.d; p++) {
    const v = x[p]!;
    if (v === 0) continue;
    for (let j = 0; j < model.m; j++) out[j] = out[j]! + v * model.W[p * model.m + j]!;
  }
  return out;
}

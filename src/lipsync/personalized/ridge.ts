import { cholesky, choleskySolve } from './linalg.js';

/** y = x · W + b, with W (d x m). */
export interface RidgeModel {
  d: number;
  m: number;
  W: Float64Array;
  b: Float64Array;
  lambda: number;
  /** Mean squared error per output value on held-out folds at the chosen lambda. */
  cvError: number;
  /** The same for the mean predictor (no features), to judge what the features bring. */
  baselineError: number;
}

/**
 * Streaming ridge regression: samples are folded into per-fold sufficient statistics
 * (Σx, Σy, Σxxᵀ, Σxyᵀ, Σyᵀy), so memory is O(d² + d·m) whatever the number of frames (a
 * 10-minute fit must not hold 15 000 windows). Folds are contiguous time blocks assigned by
 * the caller's frame index, so correlated neighbouring frames never straddle a fold.
 */
export class RidgeAccumulator {
  private readonly sx: Float64Array[];
  private readonly sy: Float64Array[];
  private readonly sxx: Float64Array[];
  private readonly sxy: Float64Array[];
  private readonly syy: Float64Array;
  private readonly count: Float64Array;
  /** Per-fold Σyyᵀ (upper triangle, m x m), kept only with `outputOuter` for `projectOutputs`. */
  private readonly syyT: Float64Array[] | undefined;

  constructor(
    readonly d: number,
    readonly m: number,
    readonly folds = 5,
    /** Frames per fold block: frame i goes to fold floor(i / blockFrames) % folds. */
    readonly blockFrames = 50,
    options: { outputOuter?: boolean } = {},
  ) {
    const make = (n: number) => Array.from({ length: folds }, () => new Float64Array(n));
    this.sx = make(d);
    this.sy = make(m);
    this.sxx = make(d * d);
    this.sxy = make(d * m);
    this.syy = new Float64Array(folds);
    this.count = new Float64Array(folds);
    this.syyT = options.outputOuter ? make(m * m) : undefined;
  }

  /**
   * The same samples with each output replaced by P (y − μ), P (k x m, row-major): the
   * statistics are exact, so `solve` on the result is ridge regression on the projected
   * outputs, with its cross-validation measured there. The personalized fit uses it to
   * choose lambda (and the feature layout) by the error on the PCA code it actually
   * predicts, at k = 8 instead of m = 110 outputs: the CV's cost is dominated by the
   * outputs (solves and held-out quadratic forms are O(d²m) per fold and lambda).
   * Requires `outputOuter` at construction (Σyyᵀ per fold, for the held-out ‖y‖² term).
   */
  projectOutputs(P: ArrayLike<number>, mu: ArrayLike<number>, k: number): RidgeAccumulator {
    const { d, m, folds } = this;
    if (!this.syyT) throw new Error('projectOutputs needs a RidgeAccumulator built with outputOuter: true');
    const out = new RidgeAccumulator(d, k, folds, this.blockFrames);
    for (let f = 0; f < folds; f++) {
      const n = this.count[f]!;
      out.count[f] = n;
      out.sx[f]!.set(this.sx[f]!);
      out.sxx[f]!.set(this.sxx[f]!);
      // yc = y − μ: Σyc = Σy − nμ; Σx ycᵀ = Σxyᵀ − Σx μᵀ; Σyc ycᵀ = Σyyᵀ − Σy μᵀ − μ Σyᵀ + n μμᵀ.
      const sy = this.sy[f]!;
      const syc = new Float64Array(m);
      for (let j = 0; j < m; j++) syc[j] = sy[j]! - n * mu[j]!;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += P[c * m + j]! * syc[j]!;
        out.sy[f]![c] = s;
      }
      const sxyF = this.sxy[f]!;
      const sxF = this.sx[f]!;
      const oxy = out.sxy[f]!;
      for (let i = 0; i < d; i++) {
        const xi = sxF[i]!;
        for (let c = 0; c < k; c++) {
          let s = 0;
          for (let j = 0; j < m; j++) s += (sxyF[i * m + j]! - xi * mu[j]!) * P[c * m + j]!;
          oxy[i * k + c] = s;
        }
      }
      // Σ‖P yc‖² = Σ_c p_cᵀ (Σyc ycᵀ) p_c.
      const T = this.syyT[f]!;
      const Cc = new Float64Array(m * m);
      for (let a = 0; a < m; a++) {
        for (let b = a; b < m; b++) {
          const v = T[a * m + b]! - sy[a]! * mu[b]! - mu[a]! * sy[b]! + n * mu[a]! * mu[b]!;
          Cc[a * m + b] = v;
          Cc[b * m + a] = v;
        }
      }
      let yy = 0;
      for (let c = 0; c < k; c++) {
        for (let a = 0; a < m; a++) {
          const pa = P[c * m + a]!;
          if (pa === 0) continue;
          let s = 0;
          for (let b = 0; b < m; b++) s += Cc[a * m + b]! * P[c * m + b]!;
          yy += pa * s;
        }
      }
      out.syy[f] = yy;
    }
    return out;
  }

  get samples(): number {
    return this.count.reduce((a, b) => a + b, 0);
  }

  add(frameIndex: number, x: ArrayLike<number>, y: ArrayLike<number>): void {
    const f = Math.floor(frameIndex / this.blockFrames) % this.folds;
    const { d, m } = this;
    const sx = this.sx[f]!;
    const sy = this.sy[f]!;
    const sxx = this.sxx[f]!;
    const sxy = this.sxy[f]!;
    for (let i = 0; i < d; i++) {
      const xi = x[i]!;
      sx[i] = sx[i]! + xi;
      if (xi === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) sxx[row + j] = sxx[row + j]! + xi * x[j]!;
      const rowy = i * m;
      for (let j = 0; j < m; j++) sxy[rowy + j] = sxy[rowy + j]! + xi * y[j]!;
    }
    let yy = 0;
    for (let j = 0; j < m; j++) {
      sy[j] = sy[j]! + y[j]!;
      yy += y[j]! * y[j]!;
    }
    this.syy[f] = this.syy[f]! + yy;
    this.count[f] = this.count[f]! + 1;
    const T = this.syyT?.[f];
    if (T) {
      for (let a = 0; a < m; a++) {
        const ya = y[a]!;
        if (ya === 0) continue;
        const row = a * m;
        for (let b = a; b < m; b++) T[row + b] = T[row + b]! + ya * y[b]!;
      }
    }
  }

  /** Chooses lambda by K-fold CV over the time blocks, then fits on everything. */
  solve(lambdas: readonly number[] = [1, 10, 100, 1000, 10000, 100000]): RidgeModel {
    const all = [...Array(this.folds).keys()];
    let best = { lambda: lambdas[0]!, err: Infinity };
    let baselineError = Number.NaN;
    const usable = all.filter((f) => this.count[f]! > 0);
    if (lambdas.length > 1 && usable.length >= 2) {
      const errs = lambdas.map(() => ({ se: 0, n: 0 }));
      let baseSe = 0;
      let baseN = 0;
      for (const f of usable) {
        const train = this.stats(all.filter((g) => g !== f));
        const test = this.stats([f]);
        if (train.n < 2 || test.n < 1) continue;
        const trainMeanY = train.sy.map((v) => v / train.n);
        baseSe += this.heldOutSse(test, new Float64Array(this.d * this.m), trainMeanY);
        baseN += test.n * this.m;
        lambdas.forEach((lambda, li) => {
          const { W, b } = this.fit(train, lambda);
          errs[li]!.se += this.heldOutSse(test, W, b);
          errs[li]!.n += test.n * this.m;
        });
      }
      baselineError = baseSe / baseN;
      lambdas.forEach((lambda, li) => {
        const e = errs[li]!.se / errs[li]!.n;
        if (e < best.err) best = { lambda, err: e };
      });
    }
    const { W, b } = this.fit(this.stats(all), best.lambda);
    return { d: this.d, m: this.m, W, b, lambda: best.lambda, cvError: best.err, baselineError };
  }

  /** Covariance of the features over every sample (d x d), from the sufficient statistics. */
  featureCovariance(): Float64Array {
    const s = this.stats([...Array(this.folds).keys()]);
    const n = Math.max(1, s.n);
    const C = new Float64Array(this.d * this.d);
    for (let i = 0; i < this.d; i++) {
      for (let j = 0; j < this.d; j++) C[i * this.d + j] = s.sxx[i * this.d + j]! / n - (s.sx[i]! / n) * (s.sx[j]! / n);
    }
    return C;
  }

  private stats(folds: number[]) {
    const { d, m } = this;
    const sx = new Float64Array(d);
    const sy = new Float64Array(m);
    const sxx = new Float64Array(d * d);
    const sxy = new Float64Array(d * m);
    let syy = 0;
    let n = 0;
    for (const f of folds) {
      add(sx, this.sx[f]!);
      add(sy, this.sy[f]!);
      add(sxx, this.sxx[f]!);
      add(sxy, this.sxy[f]!);
      syy += this.syy[f]!;
      n += this.count[f]!;
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) sxx[i * d + j] = sxx[j * d + i]!;
    return { sx, sy, sxx, sxy, syy, n };
  }

  /** Centred ridge: the intercept is not penalised. */
  private fit(s: ReturnType<RidgeAccumulator['stats']>, lambda: number): { W: Float64Array; b: Float64Array } {
    const { d, m } = this;
    const n = Math.max(1, s.n);
    const mx = s.sx.map((v) => v / n);
    const my = s.sy.map((v) => v / n);
    const A = new Float64Array(d * d);
    const { sxx, sxy } = s;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) A[i * d + j] = sxx[i * d + j]! - n * mx[i]! * mx[j]!;
      A[i * d + i] = A[i * d + i]! + lambda;
    }
    const B = new Float64Array(d * m);
    for (let i = 0; i < d; i++) for (let j = 0; j < m; j++) B[i * m + j] = sxy[i * m + j]! - n * mx[i]! * my[j]!;
    const W = choleskySolve(cholesky(A, d), B, d, m);
    const b = Float64Array.from(my);
    for (let j = 0; j < m; j++) for (let i = 0; i < d; i++) b[j] = b[j]! - mx[i]! * W[i * m + j]!;
    return { W, b };
  }

  /** Σ‖y − (xW + b)‖² over a fold, from its statistics alone. */
  private heldOutSse(s: ReturnType<RidgeAccumulator['stats']>, W: Float64Array, b: ArrayLike<number>): number {
    const { d, m } = this;
    // Σ‖y‖² − 2 Σ yᵀ(Wᵀx + b) + Σ ‖Wᵀx + b‖²
    let cross = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < m; j++) cross += W[i * m + j]! * s.sxy[i * m + j]!;
    for (let j = 0; j < m; j++) cross += b[j]! * s.sy[j]!;
    // Σ‖Wᵀx‖² = tr(Wᵀ Sxx W)
    let quad = 0;
    const SW = new Float64Array(d * m);
    const sxx = s.sxx;
    for (let i = 0; i < d; i++) {
      const ri = i * m;
      for (let k = 0; k < d; k++) {
        const a = sxx[i * d + k]!;
        if (a === 0) continue;
        const rk = k * m;
        for (let j = 0; j < m; j++) SW[ri + j] = SW[ri + j]! + a * W[rk + j]!;
      }
    }
    for (let i = 0; i < d * m; i++) quad += W[i]! * SW[i]!;
    let lin = 0;
    for (let j = 0; j < m; j++) {
      let wx = 0;
      for (let i = 0; i < d; i++) wx += W[i * m + j]! * s.sx[i]!;
      lin += 2 * b[j]! * wx + s.n * b[j]! * b[j]!;
    }
    return s.syy - 2 * cross + quad + lin;
  }
}

function add(dst: Float64Array, src: Float64Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = dst[i]! + src[i]!;
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

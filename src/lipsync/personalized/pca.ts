import { symmetricEigen } from './linalg.js';

/** A fitted PCA: `code = (x - mean) · componentsᵀ`, `x ≈ mean + code · components`. */
export interface Pca {
  dim: number;
  k: number;
  mean: Float64Array;
  /** k x dim, rows are unit principal directions. */
  components: Float64Array;
  /** Variance along each component. */
  variances: Float64Array;
  /** Fraction of the total variance the k components explain. */
  explained: number;
}

/** Streaming first and second moments of vectors, for PCA without holding the samples. */
export class MomentAccumulator {
  readonly sum: Float64Array;
  readonly outer: Float64Array;
  n = 0;
  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.outer = new Float64Array(dim * dim);
  }
  add(x: ArrayLike<number>): void {
    const { dim, sum, outer } = this;
    for (let a = 0; a < dim; a++) {
      const xa = x[a]!;
      sum[a] = sum[a]! + xa;
      for (let b = a; b < dim; b++) outer[a * dim + b] = outer[a * dim + b]! + xa * x[b]!;
    }
    this.n++;
  }
  get mean(): Float64Array {
    return this.sum.map((v) => v / Math.max(1, this.n));
  }
}

/**
 * PCA from streamed moments, keeping the fewest components that explain `minExplained` of the
 * variance, capped at `maxK`.
 */
export function pcaFromMoments(m: MomentAccumulator, minExplained = 0.98, maxK = 16): Pca {
  const { dim, n } = m;
  const mean = m.mean;
  const cov = new Float64Array(dim * dim);
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = (m.outer[a * dim + b]! - n * mean[a]! * mean[b]!) / Math.max(1, n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  const { values, vectors } = symmetricEigen(cov, dim);
  let total = 0;
  for (const v of values) total += Math.max(0, v);
  let k = 0;
  let acc = 0;
  while (k < Math.min(maxK, dim) && (total === 0 ? k < 1 : acc / total < minExplained)) acc += Math.max(0, values[k++]!);
  return {
    dim,
    k,
    mean,
    components: vectors.slice(0, k * dim),
    variances: values.slice(0, k),
    explained: total > 0 ? acc / total : 1,
  };
}

/** PCA of n samples (rows of X, n x dim). */
export function fitPca(X: Float64Array, n: number, dim: number, minExplained = 0.98, maxK = 16): Pca {
  const m = new MomentAccumulator(dim);
  for (let i = 0; i < n; i++) m.add(X.subarray(i * dim, (i + 1) * dim));
  return pcaFromMoments(m, minExplained, maxK);
}

export function pcaEncode(p: Pca, x: ArrayLike<number>, out = new Float64Array(p.k)): Float64Array {
  for (let c = 0; c < p.k; c++) {
    let s = 0;
    for (let j = 0; j < p.dim; j++) s += (x[j]! - p.mean[j]!) * p.components[c * p.dim + j]!;
    out[c] = s;
  }
  return out;
}

export function pcaDecode(p: Pca, code: ArrayLike<number>, out = new Float64Array(p.dim)): Float64Array {
  out.set(p.mean);
  for (let c = 0; c < p.k; c++) {
    const v = code[c]!;
    for (let j = 0; j < p.dim; j++) out[j] = out[j]! + v * p.components[c * p.dim + j]!;
  }
  return out;
}

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

/**
 * PCA of n samples (rows of X, n x dim) keeping the fewest components that explain
 * `minExplained` of the variance, capped at `maxK`.
 */
export function fitPca(X: Float64Array, n: number, dim: number, minExplained = 0.98, maxK = 16): Pca {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] = mean[j]! + X[i * dim + j]! / n;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = X[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b] = cov[a * dim + b]! + ra * row[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / Math.max(1, n - 1);
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

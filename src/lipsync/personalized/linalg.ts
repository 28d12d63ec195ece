/**
 * Small dense linear algebra for the personalized model (row-major Float64Array). Sizes here
 * are at most a few thousand, so plain loops with good memory order are enough.
 */

/** C = A (n x k) * B (k x m). */
export function matmul(A: Float64Array, B: Float64Array, n: number, k: number, m: number): Float64Array {
  const C = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ci = i * m;
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p]!;
      if (a === 0) continue;
      const bp = p * m;
      for (let j = 0; j < m; j++) C[ci + j] = C[ci + j]! + a * B[bp + j]!;
    }
  }
  return C;
}

/** G = A Aᵀ for A (n x d): the Gram matrix. */
export function gram(A: Float64Array, n: number, d: number): Float64Array {
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const ai = i * d;
      const aj = j * d;
      for (let p = 0; p < d; p++) s += A[ai + p]! * A[aj + p]!;
      G[i * n + j] = s;
      G[j * n + i] = s;
    }
  }
  return G;
}

/** Aᵀ (n x d → d x n). */
export function transpose(A: Float64Array, n: number, d: number): Float64Array {
  const T = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) T[j * n + i] = A[i * d + j]!;
  return T;
}

/** Cholesky factor L (lower) of a symmetric positive-definite n x n matrix; throws if not SPD. */
export function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  // Row offsets hoisted out of the inner dot products (V8 did not): ~1.5x faster at n = 240, the
  // fit's CV runs 31 of them per candidate; the same operations in the same order, so the factor
  // is bit-identical to the textbook loop.
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = A[rj + j]!;
    for (let k = 0; k < j; k++) {
      const v = L[rj + k]!;
      s -= v * v;
    }
    if (!(s > 0)) throw new RangeError('Matrix is not positive definite');
    const d = Math.sqrt(s);
    L[rj + j] = d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = A[ri + j]!;
      for (let k = 0; k < j; k++) t -= L[ri + k]! * L[rj + k]!;
      L[ri + j] = t / d;
    }
  }
  return L;
}

/**
 * Solves (L Lᵀ) X = B for X (n x m) given the Cholesky factor L. Row-oriented: each step
 * updates a whole row of X (contiguous), in the same order of operations per element as the
 * column-at-a-time form, so the result is bit-identical to it, several times faster for many
 * right-hand sides.
 */
export function choleskySolve(L: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const X = Float64Array.from(B);
  for (let i = 0; i < n; i++) {
    const ri = i * m;
    for (let k = 0; k < i; k++) {
      const l = L[i * n + k]!;
      const rk = k * m;
      for (let c = 0; c < m; c++) X[ri + c] = X[ri + c]! - l * X[rk + c]!;
    }
    const d = L[i * n + i]!;
    for (let c = 0; c < m; c++) X[ri + c] = X[ri + c]! / d;
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * m;
    for (let k = i + 1; k < n; k++) {
      const l = L[k * n + i]!;
      const rk = k * m;
      for (let c = 0; c < m; c++) X[ri + c] = X[ri + c]! - l * X[rk + c]!;
    }
    const d = L[i * n + i]!;
    for (let c = 0; c < m; c++) X[ri + c] = X[ri + c]! / d;
  }
  return X;
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations. Returns eigenvalues in
 * descending order and the eigenvectors as rows (row i pairs with value i).
 */
export function symmetricEigen(S: Float64Array, n: number, maxSweeps = 60): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(S);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => A[b * n + b]! - A[a * n + a]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, i) => {
    values[i] = A[src * n + src]!;
    for (let k = 0; k < n; k++) vectors[i * n + k] = V[k * n + src]!;
  });
  return { values, vectors };
}

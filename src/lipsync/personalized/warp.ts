/**
 * Thin-plate-spline warp of one real crop: moves its mouth landmarks toward a target shape with
 * a single bicubic resample (real pixels, no averaging of crops). The displacement is known at
 * the control points and anchored to zero along the border of a rectangle (the blend
 * rectangle), and is exactly zero outside it, so nothing outside the mouth region moves.
 *
 * Cost: the spline (control points + border anchors) is solved per frame (a ~100 x 100 system),
 * evaluated on a coarse grid and interpolated bilinearly per pixel; only the rectangle's pixels
 * are resampled.
 */

export interface WarpRect {
  /** Pixel bounds, half-open: x in [x0, x1), y in [y0, y1). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface MouthWarperOptions {
  /** Spacing of the spline's evaluation grid, px (bilinear in between). @default 4 */
  grid?: number;
  /** Spacing of the zero-displacement anchors along the rectangle's border, px. @default 16 */
  anchorSpacing?: number;
  /**
   * Smoothing of the spline at the control points (added to the kernel's diagonal, in units of
   * U(r) = r² log r with r in px); the border anchors stay exact. Keeps nearly coincident points
   * with different displacements (inner lips of a closing mouth) from folding. @default 20
   */
  smoothing?: number;
  /**
   * Radial basis: 'gaussian' (width `sigma`: the displacement fades to zero within ~3 sigma of
   * the moved points, so the cheeks and chin keep their own pixels) or 'tps' (thin-plate
   * spline with an affine part: spreads over the whole rectangle). @default 'gaussian'
   */
  basis?: 'gaussian' | 'tps';
  /** Width of the Gaussian basis, px. @default 12 */
  sigma?: number;
  /** Displacements below this (px) keep the source pixel itself (no resampling). @default 0.05 */
  minShift?: number;
  /** 'bicubic' (Keys, a = -0.5) or 'nearest' (the displacement rounded to whole pixels). @default 'bicubic' */
  resample?: 'bicubic' | 'nearest';
}

export class MouthWarper {
  readonly size: number;
  readonly rect: WarpRect;
  private readonly grid: number;
  private readonly smoothing: number;
  private readonly basis: 'gaussian' | 'tps';
  private readonly inv2s2: number;
  private readonly cut2: number;
  private readonly minShift2: number;
  private readonly nearest: boolean;
  private readonly anchors: Float64Array;
  private readonly gx: Float64Array;
  private readonly gy: Float64Array;
  private readonly fieldX: Float64Array;
  private readonly fieldY: Float64Array;

  constructor(size: number, rect: WarpRect, options: MouthWarperOptions = {}) {
    this.size = size;
    this.rect = rect;
    this.grid = options.grid ?? 4;
    this.basis = options.basis ?? 'gaussian';
    this.smoothing = options.smoothing ?? (this.basis === 'gaussian' ? 0.02 : 20);
    const sigma = options.sigma ?? 12;
    this.inv2s2 = 1 / (2 * sigma * sigma);
    this.cut2 = (4 * sigma) ** 2;
    this.minShift2 = (options.minShift ?? 0.05) ** 2;
    this.nearest = options.resample === 'nearest';
    const sp = options.anchorSpacing ?? 16;
    const a: number[] = [];
    const { x0, y0 } = rect;
    const x1 = rect.x1 - 1;
    const y1 = rect.y1 - 1;
    const nx = Math.max(1, Math.ceil((x1 - x0) / sp));
    const ny = Math.max(1, Math.ceil((y1 - y0) / sp));
    for (let i = 0; i < nx; i++) {
      const x = x0 + ((x1 - x0) * i) / nx;
      a.push(x, y0, x1 - (x - x0), y1);
    }
    for (let i = 0; i < ny; i++) {
      const y = y0 + ((y1 - y0) * i) / ny;
      a.push(x1, y, x0, y1 - (y - y0));
    }
    this.anchors = Float64Array.from(a);
    const g = this.grid;
    const cols = Math.ceil((x1 - x0) / g) + 1;
    const rows = Math.ceil((y1 - y0) / g) + 1;
    this.gx = Float64Array.from({ length: cols }, (_, i) => x0 + i * g);
    this.gy = Float64Array.from({ length: rows }, (_, j) => y0 + j * g);
    this.fieldX = new Float64Array(cols * rows);
    this.fieldY = new Float64Array(cols * rows);
  }

  private kern(r2: number): number {
    return this.basis === 'gaussian' ? Math.exp(-r2 * this.inv2s2) : kernel(r2);
  }

  /**
   * Writes `src` warped so that the points `from` (x, y pairs, in `src`) land on `to` into `out`
   * (both RGB24 size x size). Points outside the rectangle (with a 4 px margin) are ignored.
   * Returns false, leaving `out` a copy of `src`, when no point moves.
   */
  warp(src: Uint8Array, from: ArrayLike<number>, to: ArrayLike<number>, out: Uint8Array): boolean {
    out.set(src);
    const { x0, y0, x1, y1 } = this.rect;
    const m = 4;
    const px: number[] = [];
    const vx: number[] = [];
    let moved = false;
    for (let i = 0; i + 1 < to.length; i += 2) {
      const tx = to[i]!;
      const ty = to[i + 1]!;
      if (tx < x0 + m || tx > x1 - 1 - m || ty < y0 + m || ty > y1 - 1 - m) continue;
      // Backward map: at the destination point, the displacement back to the source point.
      px.push(tx, ty);
      vx.push(from[i]! - tx, from[i + 1]! - ty);
      if (from[i] !== tx || from[i + 1] !== ty) moved = true;
    }
    if (!moved) return false;
    const nc = px.length / 2;
    const na = this.anchors.length / 2;
    const n = nc + na;
    const N = n + 3;
    const P = new Float64Array(2 * n);
    P.set(px);
    P.set(this.anchors, 2 * nc);
    // [K + Λ, P1; P1ᵀ, 0] [w; a] = [v; 0], two right-hand sides.
    const A = new Float64Array(N * N);
    const R = new Float64Array(N * 2);
    for (let i = 0; i < n; i++) {
      const xi = P[2 * i]!;
      const yi = P[2 * i + 1]!;
      for (let j = 0; j < i; j++) {
        const u = this.kern((xi - P[2 * j]!) ** 2 + (yi - P[2 * j + 1]!) ** 2);
        A[i * N + j] = u;
        A[j * N + i] = u;
      }
      A[i * N + i] = (this.basis === 'gaussian' ? 1 : 0) + (i < nc ? this.smoothing : 0);
      if (this.basis === 'tps') {
        A[i * N + n] = 1;
        A[i * N + n + 1] = xi;
        A[i * N + n + 2] = yi;
        A[n * N + i] = 1;
        A[(n + 1) * N + i] = xi;
        A[(n + 2) * N + i] = yi;
      }
      if (i < nc) {
        R[2 * i] = vx[2 * i]!;
        R[2 * i + 1] = vx[2 * i + 1]!;
      }
    }
    if (this.basis === 'gaussian') for (let q = n; q < N; q++) A[q * N + q] = 1; // no affine part
    solveInPlace(A, R, N);
    // The field on the grid.
    const { gx, gy, fieldX, fieldY } = this;
    const cols = gx.length;
    const ax = R[2 * n]!;
    const ay = R[2 * n + 1]!;
    const bx = R[2 * (n + 1)]!;
    const by = R[2 * (n + 1) + 1]!;
    const cx = R[2 * (n + 2)]!;
    const cy = R[2 * (n + 2) + 1]!;
    const gauss = this.basis === 'gaussian';
    // Gaussian basis: the field is zero (below exp(-8)) beyond 4 sigma of every control point.
    let bx0 = x0;
    let bx1 = x1;
    let by0 = y0;
    let by1 = y1;
    if (gauss) {
      const reach = Math.sqrt(this.cut2);
      bx0 = by0 = Infinity;
      bx1 = by1 = -Infinity;
      for (let i = 0; i < nc; i++) {
        bx0 = Math.min(bx0, P[2 * i]! - reach);
        bx1 = Math.max(bx1, P[2 * i]! + reach);
        by0 = Math.min(by0, P[2 * i + 1]! - reach);
        by1 = Math.max(by1, P[2 * i + 1]! + reach);
      }
    }
    const g0 = this.grid;
    const c0s = Math.max(0, Math.floor((bx0 - x0) / g0));
    const c1s = Math.min(cols - 1, Math.ceil((bx1 - x0) / g0));
    const r0s = Math.max(0, Math.floor((by0 - y0) / g0));
    const r1s = Math.min(gy.length - 1, Math.ceil((by1 - y0) / g0));
    fieldX.fill(0);
    fieldY.fill(0);
    for (let r = r0s; r <= r1s; r++) {
      const y = gy[r]!;
      for (let c = c0s; c <= c1s; c++) {
        const x = gx[c]!;
        let fx = ax + bx * x + cx * y;
        let fy = ay + by * x + cy * y;
        for (let i = 0; i < n; i++) {
          const r2 = (x - P[2 * i]!) ** 2 + (y - P[2 * i + 1]!) ** 2;
          if (gauss && r2 > this.cut2) continue;
          const u = this.kern(r2);
          fx += R[2 * i]! * u;
          fy += R[2 * i + 1]! * u;
        }
        fieldX[r * cols + c] = fx;
        fieldY[r * cols + c] = fy;
      }
    }
    // One bicubic resample of the rectangle.
    const size = this.size;
    const g = this.grid;
    const max = size - 1;
    const py0 = Math.max(y0, Math.floor(y0 + r0s * g));
    const py1 = Math.min(y1, Math.ceil(y0 + r1s * g) + 1);
    const px0 = Math.max(x0, Math.floor(x0 + c0s * g));
    const px1 = Math.min(x1, Math.ceil(x0 + c1s * g) + 1);
    const minShift2 = this.minShift2;
    for (let y = py0; y < py1; y++) {
      const gyf = (y - y0) / g;
      const r0 = Math.min(gy.length - 2, Math.floor(gyf));
      const ty = gyf - r0;
      for (let x = px0; x < px1; x++) {
        const gxf = (x - x0) / g;
        const c0 = Math.min(cols - 2, Math.floor(gxf));
        const tx = gxf - c0;
        const i00 = r0 * cols + c0;
        const w00 = (1 - tx) * (1 - ty);
        const w01 = tx * (1 - ty);
        const w10 = (1 - tx) * ty;
        const w11 = tx * ty;
        const dx = w00 * fieldX[i00]! + w01 * fieldX[i00 + 1]! + w10 * fieldX[i00 + cols]! + w11 * fieldX[i00 + cols + 1]!;
        const dy = w00 * fieldY[i00]! + w01 * fieldY[i00 + 1]! + w10 * fieldY[i00 + cols]! + w11 * fieldY[i00 + cols + 1]!;
        if (dx * dx + dy * dy < minShift2) continue; // a negligible shift: the source pixel itself
        const sx = Math.min(max, Math.max(0, x + dx));
        const sy = Math.min(max, Math.max(0, y + dy));
        if (this.nearest) {
          const o = (y * size + x) * 3;
          const q = (Math.round(sy) * size + Math.round(sx)) * 3;
          out[o] = src[q]!;
          out[o + 1] = src[q + 1]!;
          out[o + 2] = src[q + 2]!;
          continue;
        }
        const ix = Math.floor(sx);
        const iy = Math.floor(sy);
        const fx = sx - ix;
        const fy = sy - iy;
        const kx0 = cubic(1 + fx);
        const kx1 = cubic(fx);
        const kx2 = cubic(1 - fx);
        const kx3 = cubic(2 - fx);
        const ky0 = cubic(1 + fy);
        const ky1 = cubic(fy);
        const ky2 = cubic(1 - fy);
        const ky3 = cubic(2 - fy);
        const xa = Math.max(0, ix - 1) * 3;
        const xb = ix * 3;
        const xc = Math.min(max, ix + 1) * 3;
        const xd = Math.min(max, ix + 2) * 3;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        for (let k = 0; k < 4; k++) {
          const yy = Math.min(max, Math.max(0, iy - 1 + k)) * size * 3;
          const ky = k === 0 ? ky0 : k === 1 ? ky1 : k === 2 ? ky2 : ky3;
          const a0 = yy + xa;
          const a1 = yy + xb;
          const a2 = yy + xc;
          const a3 = yy + xd;
          s0 += ky * (kx0 * src[a0]! + kx1 * src[a1]! + kx2 * src[a2]! + kx3 * src[a3]!);
          s1 += ky * (kx0 * src[a0 + 1]! + kx1 * src[a1 + 1]! + kx2 * src[a2 + 1]! + kx3 * src[a3 + 1]!);
          s2 += ky * (kx0 * src[a0 + 2]! + kx1 * src[a1 + 2]! + kx2 * src[a2 + 2]! + kx3 * src[a3 + 2]!);
        }
        const o = (y * size + x) * 3;
        out[o] = clamp8(s0);
        out[o + 1] = clamp8(s1);
        out[o + 2] = clamp8(s2);
      }
    }
    return true;
  }
}

/** Gaussian kernel or TPS kernel U(r) = r² log r, from r². */
function kernel(r2: number): number {
  return r2 > 1e-12 ? 0.5 * r2 * Math.log(r2) : 0;
}

/** Keys' cubic convolution kernel (a = -0.5, Catmull-Rom), |t| < 2. */
function cubic(t: number): number {
  const a = Math.abs(t);
  if (a <= 1) return (1.5 * a - 2.5) * a * a + 1;
  if (a < 2) return ((-0.5 * a + 2.5) * a - 4) * a + 2;
  return 0;
}

function clamp8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Solves A X = R in place (Gaussian elimination, partial pivoting); R is N x 2, X written to R. */
function solveInPlace(A: Float64Array, R: Float64Array, N: number): void {
  for (let c = 0; c < N; c++) {
    let p = c;
    let best = Math.abs(A[c * N + c]!);
    for (let r = c + 1; r < N; r++) {
      const v = Math.abs(A[r * N + c]!);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    if (best < 1e-12) continue;
    if (p !== c) {
      for (let j = c; j < N; j++) {
        const t = A[c * N + j]!;
        A[c * N + j] = A[p * N + j]!;
        A[p * N + j] = t;
      }
      for (let j = 0; j < 2; j++) {
        const t = R[c * 2 + j]!;
        R[c * 2 + j] = R[p * 2 + j]!;
        R[p * 2 + j] = t;
      }
    }
    const inv = 1 / A[c * N + c]!;
    for (let r = c + 1; r < N; r++) {
      const f = A[r * N + c]! * inv;
      if (f === 0) continue;
      for (let j = c; j < N; j++) A[r * N + j] = A[r * N + j]! - f * A[c * N + j]!;
      R[r * 2] = R[r * 2]! - f * R[c * 2]!;
      R[r * 2 + 1] = R[r * 2 + 1]! - f * R[c * 2 + 1]!;
    }
  }
  for (let c = N - 1; c >= 0; c--) {
    const d = A[c * N + c]!;
    let s0 = R[c * 2]!;
    let s1 = R[c * 2 + 1]!;
    for (let j = c + 1; j < N; j++) {
      s0 -= A[c * N + j]! * R[j * 2]!;
      s1 -= A[c * N + j]! * R[j * 2 + 1]!;
    }
    R[c * 2] = Math.abs(d) < 1e-12 ? 0 : s0 / d;
    R[c * 2 + 1] = Math.abs(d) < 1e-12 ? 0 : s1 / d;
  }
}

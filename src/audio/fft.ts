/**
 * Mixed-radix FFT for the audio front ends. The mel presets need 400- and 800-point transforms
 * (25 ms and 50 ms at 16 kHz), which are not powers of two, so this is a Stockham autosort FFT
 * with radix-4, 2, 3 and 5 butterflies (any other prime factor falls back to a direct DFT of
 * that size). Everything is precomputed per size; a transform allocates nothing.
 *
 * Internal to `audio/`; not part of the public API.
 */

interface Stage {
  /** Radix of this stage. */
  p: number;
  /** Sub-sequence length after this stage (current length / p). */
  m: number;
  /** Stride before this stage. */
  s: number;
  /** Twiddles w_L^(k*r) for k in [0, m), r in [1, p): index k*(p-1) + r-1. */
  twRe: Float64Array;
  twIm: Float64Array;
  /** For a generic prime radix: the p-th roots of unity. */
  rootRe?: Float64Array;
  rootIm?: Float64Array;
}

function factorize(n: number): number[] {
  const out: number[] = [];
  if (!Number.isInteger(n) || n < 1) return out;
  let r = n;
  // Radix 8 first (fewest passes over memory); a leftover factor 2 turns one 8 into 4 x 4.
  while (r % 8 === 0) {
    out.push(8);
    r /= 8;
  }
  if (r % 4 === 0) {
    out.push(4);
    r /= 4;
  } else if (r % 2 === 0 && out.length > 0) {
    out[out.length - 1] = 4;
    out.push(4);
    r /= 2;
  }
  for (const p of [2, 3, 5]) {
    while (r % p === 0) {
      out.push(p);
      r /= p;
    }
  }
  for (let p = 7; r > 1; p += 2) {
    while (r % p === 0) {
      out.push(p);
      r /= p;
    }
  }
  return out;
}

/**
 * Forward complex DFT, X[k] = sum x[n] exp(-2 pi i k n / N), on split real/imaginary arrays.
 *
 * Batched: `batch` transforms run at once on interleaved data (element i of sequence b at
 * index b + batch * i). In the Stockham formulation that is simply an initial stride of
 * `batch`, which turns every butterfly's innermost loop into a long run over the batch with
 * one twiddle: this is what makes the STFT "vectorized" in plain JavaScript.
 */
export class ComplexFft {
  readonly n: number;
  readonly batch: number;
  private readonly stages: Stage[];
  private readonly workRe: Float64Array;
  private readonly workIm: Float64Array;

  /** `radices` (their product must be n) overrides the radix order, for tuning. */
  constructor(n: number, batch = 1, radices?: number[]) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT size must be a positive integer, got ${n}`);
    const factors = radices ?? factorize(n);
    if (factors.reduce((a, b) => a * b, 1) !== n) throw new RangeError(`FFT factors ${factors.join('x')} do not make ${n}`);
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`FFT batch must be a positive integer, got ${batch}`);
    this.n = n;
    this.batch = batch;
    this.workRe = new Float64Array(n * batch);
    this.workIm = new Float64Array(n * batch);
    this.stages = [];
    let len = n;
    let s = batch;
    for (const p of factors) {
      const m = len / p;
      const twRe = new Float64Array(m * (p - 1));
      const twIm = new Float64Array(m * (p - 1));
      for (let k = 0; k < m; k++) {
        for (let r = 1; r < p; r++) {
          const a = (-2 * Math.PI * k * r) / len;
          twRe[k * (p - 1) + r - 1] = Math.cos(a);
          twIm[k * (p - 1) + r - 1] = Math.sin(a);
        }
      }
      const stage: Stage = { p, m, s, twRe, twIm };
      if (p > 5) {
        stage.rootRe = new Float64Array(p);
        stage.rootIm = new Float64Array(p);
        for (let j = 0; j < p; j++) {
          stage.rootRe[j] = Math.cos((-2 * Math.PI * j) / p);
          stage.rootIm[j] = Math.sin((-2 * Math.PI * j) / p);
        }
      }
      this.stages.push(stage);
      len = m;
      s *= p;
    }
  }

  /** Transforms `re`/`im` (length n * batch, interleaved by batch) in place. */
  transform(re: Float64Array, im: Float64Array): void {
    let xr = re;
    let xi = im;
    let yr = this.workRe;
    let yi = this.workIm;
    for (const st of this.stages) {
      switch (st.p) {
        case 8:
          radix8(st, xr, xi, yr, yi);
          break;
        case 4:
          radix4(st, xr, xi, yr, yi);
          break;
        case 2:
          radix2(st, xr, xi, yr, yi);
          break;
        case 3:
          radix3(st, xr, xi, yr, yi);
          break;
        case 5:
          radix5(st, xr, xi, yr, yi);
          break;
        default:
          radixGeneric(st, xr, xi, yr, yi);
      }
      const tr = xr;
      const ti = xi;
      xr = yr;
      xi = yi;
      yr = tr;
      yi = ti;
    }
    if (xr !== re) {
      re.set(xr);
      im.set(xi);
    }
  }
}

function radix2(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { m, s, twRe, twIm } = st;
  for (let k = 0; k < m; k++) {
    const wr = twRe[k]!;
    const wi = twIm[k]!;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * k;
      const i1 = i0 + s * m;
      const ar = xr[i0]!, ai = xi[i0]!, br = xr[i1]!, bi = xi[i1]!;
      const o = q + s * 2 * k;
      yr[o] = ar + br;
      yi[o] = ai + bi;
      const dr = ar - br, di = ai - bi;
      yr[o + s] = dr * wr - di * wi;
      yi[o + s] = dr * wi + di * wr;
    }
  }
}

function radix4(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { m, s, twRe, twIm } = st;
  const sm = s * m;
  for (let k = 0; k < m; k++) {
    const t = 3 * k;
    const w1r = twRe[t]!, w1i = twIm[t]!;
    const w2r = twRe[t + 1]!, w2i = twIm[t + 1]!;
    const w3r = twRe[t + 2]!, w3i = twIm[t + 2]!;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * k;
      const a0r = xr[i0]!, a0i = xi[i0]!;
      const a1r = xr[i0 + sm]!, a1i = xi[i0 + sm]!;
      const a2r = xr[i0 + 2 * sm]!, a2i = xi[i0 + 2 * sm]!;
      const a3r = xr[i0 + 3 * sm]!, a3i = xi[i0 + 3 * sm]!;
      const s02r = a0r + a2r, s02i = a0i + a2i;
      const d02r = a0r - a2r, d02i = a0i - a2i;
      const s13r = a1r + a3r, s13i = a1i + a3i;
      const d13r = a1r - a3r, d13i = a1i - a3i;
      const o = q + s * 4 * k;
      yr[o] = s02r + s13r;
      yi[o] = s02i + s13i;
      // b1 = d02 - i*d13
      const b1r = d02r + d13i, b1i = d02i - d13r;
      const b2r = s02r - s13r, b2i = s02i - s13i;
      // b3 = d02 + i*d13
      const b3r = d02r - d13i, b3i = d02i + d13r;
      yr[o + s] = b1r * w1r - b1i * w1i;
      yi[o + s] = b1r * w1i + b1i * w1r;
      yr[o + 2 * s] = b2r * w2r - b2i * w2i;
      yi[o + 2 * s] = b2r * w2i + b2i * w2r;
      yr[o + 3 * s] = b3r * w3r - b3i * w3i;
      yi[o + 3 * s] = b3r * w3i + b3i * w3r;
    }
  }
}

const RH = Math.SQRT1_2;

function radix8(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { m, s, twRe, twIm } = st;
  const sm = s * m;
  for (let k = 0; k < m; k++) {
    const t = 7 * k;
    const trivial = k === 0;
    const w1r = twRe[t]!, w1i = twIm[t]!, w2r = twRe[t + 1]!, w2i = twIm[t + 1]!;
    const w3r = twRe[t + 2]!, w3i = twIm[t + 2]!, w4r = twRe[t + 3]!, w4i = twIm[t + 3]!;
    const w5r = twRe[t + 4]!, w5i = twIm[t + 4]!, w6r = twRe[t + 5]!, w6i = twIm[t + 5]!;
    const w7r = twRe[t + 6]!, w7i = twIm[t + 6]!;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * k;
      const a0r = xr[i0]!, a0i = xi[i0]!;
      const a1r = xr[i0 + sm]!, a1i = xi[i0 + sm]!;
      const a2r = xr[i0 + 2 * sm]!, a2i = xi[i0 + 2 * sm]!;
      const a3r = xr[i0 + 3 * sm]!, a3i = xi[i0 + 3 * sm]!;
      const a4r = xr[i0 + 4 * sm]!, a4i = xi[i0 + 4 * sm]!;
      const a5r = xr[i0 + 5 * sm]!, a5i = xi[i0 + 5 * sm]!;
      const a6r = xr[i0 + 6 * sm]!, a6i = xi[i0 + 6 * sm]!;
      const a7r = xr[i0 + 7 * sm]!, a7i = xi[i0 + 7 * sm]!;
      // u_j = a_j + a_{j+4}; v_j = (a_j - a_{j+4}) * w8^j
      const u0r = a0r + a4r, u0i = a0i + a4i;
      const u1r = a1r + a5r, u1i = a1i + a5i;
      const u2r = a2r + a6r, u2i = a2i + a6i;
      const u3r = a3r + a7r, u3i = a3i + a7i;
      const v0r = a0r - a4r, v0i = a0i - a4i;
      const d1r = a1r - a5r, d1i = a1i - a5i;
      const v1r = RH * (d1r + d1i), v1i = RH * (d1i - d1r); // * (1 - i)/sqrt2
      const v2r = a2i - a6i, v2i = -(a2r - a6r); // * -i
      const d3r = a3r - a7r, d3i = a3i - a7i;
      const v3r = RH * (d3i - d3r), v3i = -RH * (d3r + d3i); // * (-1 - i)/sqrt2
      // even outputs: DFT4(u)
      const s02r = u0r + u2r, s02i = u0i + u2i, e02r = u0r - u2r, e02i = u0i - u2i;
      const s13r = u1r + u3r, s13i = u1i + u3i, e13r = u1r - u3r, e13i = u1i - u3i;
      const b0r = s02r + s13r, b0i = s02i + s13i;
      const b2r = e02r + e13i, b2i = e02i - e13r;
      const b4r = s02r - s13r, b4i = s02i - s13i;
      const b6r = e02r - e13i, b6i = e02i + e13r;
      // odd outputs: DFT4(v)
      const t02r = v0r + v2r, t02i = v0i + v2i, f02r = v0r - v2r, f02i = v0i - v2i;
      const t13r = v1r + v3r, t13i = v1i + v3i, f13r = v1r - v3r, f13i = v1i - v3i;
      const b1r = t02r + t13r, b1i = t02i + t13i;
      const b3r = f02r + f13i, b3i = f02i - f13r;
      const b5r = t02r - t13r, b5i = t02i - t13i;
      const b7r = f02r - f13i, b7i = f02i + f13r;
      const o = q + s * 8 * k;
      yr[o] = b0r;
      yi[o] = b0i;
      if (trivial) {
        yr[o + s] = b1r; yi[o + s] = b1i;
        yr[o + 2 * s] = b2r; yi[o + 2 * s] = b2i;
        yr[o + 3 * s] = b3r; yi[o + 3 * s] = b3i;
        yr[o + 4 * s] = b4r; yi[o + 4 * s] = b4i;
        yr[o + 5 * s] = b5r; yi[o + 5 * s] = b5i;
        yr[o + 6 * s] = b6r; yi[o + 6 * s] = b6i;
        yr[o + 7 * s] = b7r; yi[o + 7 * s] = b7i;
      } else {
        yr[o + s] = b1r * w1r - b1i * w1i; yi[o + s] = b1r * w1i + b1i * w1r;
        yr[o + 2 * s] = b2r * w2r - b2i * w2i; yi[o + 2 * s] = b2r * w2i + b2i * w2r;
        yr[o + 3 * s] = b3r * w3r - b3i * w3i; yi[o + 3 * s] = b3r * w3i + b3i * w3r;
        yr[o + 4 * s] = b4r * w4r - b4i * w4i; yi[o + 4 * s] = b4r * w4i + b4i * w4r;
        yr[o + 5 * s] = b5r * w5r - b5i * w5i; yi[o + 5 * s] = b5r * w5i + b5i * w5r;
        yr[o + 6 * s] = b6r * w6r - b6i * w6i; yi[o + 6 * s] = b6r * w6i + b6i * w6r;
        yr[o + 7 * s] = b7r * w7r - b7i * w7i; yi[o + 7 * s] = b7r * w7i + b7i * w7r;
      }
    }
  }
}

const SIN60 = Math.sqrt(3) / 2;

function radix3(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { m, s, twRe, twIm } = st;
  const sm = s * m;
  for (let k = 0; k < m; k++) {
    const w1r = twRe[2 * k]!, w1i = twIm[2 * k]!;
    const w2r = twRe[2 * k + 1]!, w2i = twIm[2 * k + 1]!;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * k;
      const a0r = xr[i0]!, a0i = xi[i0]!;
      const a1r = xr[i0 + sm]!, a1i = xi[i0 + sm]!;
      const a2r = xr[i0 + 2 * sm]!, a2i = xi[i0 + 2 * sm]!;
      const tr = a1r + a2r, ti = a1i + a2i;
      const mr = a0r - 0.5 * tr, mi = a0i - 0.5 * ti;
      const dr = SIN60 * (a1r - a2r), di = SIN60 * (a1i - a2i);
      const o = q + s * 3 * k;
      yr[o] = a0r + tr;
      yi[o] = a0i + ti;
      // b1 = m - i*d, b2 = m + i*d
      const b1r = mr + di, b1i = mi - dr;
      const b2r = mr - di, b2i = mi + dr;
      yr[o + s] = b1r * w1r - b1i * w1i;
      yi[o + s] = b1r * w1i + b1i * w1r;
      yr[o + 2 * s] = b2r * w2r - b2i * w2i;
      yi[o + 2 * s] = b2r * w2i + b2i * w2r;
    }
  }
}

const C1 = Math.cos((2 * Math.PI) / 5);
const C2 = Math.cos((4 * Math.PI) / 5);
const S1 = Math.sin((2 * Math.PI) / 5);
const S2 = Math.sin((4 * Math.PI) / 5);

function radix5(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { m, s, twRe, twIm } = st;
  const sm = s * m;
  for (let k = 0; k < m; k++) {
    const t = 4 * k;
    const trivial = k === 0;
    const w1r = twRe[t]!, w1i = twIm[t]!;
    const w2r = twRe[t + 1]!, w2i = twIm[t + 1]!;
    const w3r = twRe[t + 2]!, w3i = twIm[t + 2]!;
    const w4r = twRe[t + 3]!, w4i = twIm[t + 3]!;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * k;
      const a0r = xr[i0]!, a0i = xi[i0]!;
      const a1r = xr[i0 + sm]!, a1i = xi[i0 + sm]!;
      const a2r = xr[i0 + 2 * sm]!, a2i = xi[i0 + 2 * sm]!;
      const a3r = xr[i0 + 3 * sm]!, a3i = xi[i0 + 3 * sm]!;
      const a4r = xr[i0 + 4 * sm]!, a4i = xi[i0 + 4 * sm]!;
      const t1r = a1r + a4r, t1i = a1i + a4i;
      const t2r = a2r + a3r, t2i = a2i + a3i;
      const t3r = a1r - a4r, t3i = a1i - a4i;
      const t4r = a2r - a3r, t4i = a2i - a3i;
      const p1r = a0r + C1 * t1r + C2 * t2r, p1i = a0i + C1 * t1i + C2 * t2i;
      const p2r = a0r + C2 * t1r + C1 * t2r, p2i = a0i + C2 * t1i + C1 * t2i;
      const q1r = S1 * t3r + S2 * t4r, q1i = S1 * t3i + S2 * t4i;
      const q2r = S2 * t3r - S1 * t4r, q2i = S2 * t3i - S1 * t4i;
      const o = q + s * 5 * k;
      yr[o] = a0r + t1r + t2r;
      yi[o] = a0i + t1i + t2i;
      // b1 = p1 - i*q1, b4 = p1 + i*q1, b2 = p2 - i*q2, b3 = p2 + i*q2
      const b1r = p1r + q1i, b1i = p1i - q1r;
      const b4r = p1r - q1i, b4i = p1i + q1r;
      const b2r = p2r + q2i, b2i = p2i - q2r;
      const b3r = p2r - q2i, b3i = p2i + q2r;
      if (trivial) {
        yr[o + s] = b1r; yi[o + s] = b1i;
        yr[o + 2 * s] = b2r; yi[o + 2 * s] = b2i;
        yr[o + 3 * s] = b3r; yi[o + 3 * s] = b3i;
        yr[o + 4 * s] = b4r; yi[o + 4 * s] = b4i;
        continue;
      }
      yr[o + s] = b1r * w1r - b1i * w1i;
      yi[o + s] = b1r * w1i + b1i * w1r;
      yr[o + 2 * s] = b2r * w2r - b2i * w2i;
      yi[o + 2 * s] = b2r * w2i + b2i * w2r;
      yr[o + 3 * s] = b3r * w3r - b3i * w3i;
      yi[o + 3 * s] = b3r * w3i + b3i * w3r;
      yr[o + 4 * s] = b4r * w4r - b4i * w4i;
      yi[o + 4 * s] = b4r * w4i + b4i * w4r;
    }
  }
}

function radixGeneric(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { p, m, s, twRe, twIm } = st;
  const rootRe = st.rootRe!;
  const rootIm = st.rootIm!;
  const sm = s * m;
  for (let k = 0; k < m; k++) {
    for (let q = 0; q < s; q++) {
      const i0 = q + s * k;
      const o = q + s * p * k;
      for (let r = 0; r < p; r++) {
        let br = 0;
        let bi = 0;
        for (let j = 0; j < p; j++) {
          const idx = (j * r) % p;
          const ar = xr[i0 + j * sm]!, ai = xi[i0 + j * sm]!;
          const cr = rootRe[idx]!, ci = rootIm[idx]!;
          br += ar * cr - ai * ci;
          bi += ar * ci + ai * cr;
        }
        if (r === 0) {
          yr[o] = br;
          yi[o] = bi;
        } else {
          const wr = twRe[k * (p - 1) + r - 1]!, wi = twIm[k * (p - 1) + r - 1]!;
          yr[o + r * s] = br * wr - bi * wi;
          yi[o + r * s] = br * wi + bi * wr;
        }
      }
    }
  }
}

/**
 * Real-input FFT of even size N through one complex FFT of size N/2 (even samples in the real
 * part, odd ones in the imaginary part) and a split step; batched like {@link ComplexFft}.
 * Callers write frames straight into `re`/`im` (see {@link RealFft.load}) to skip a copy.
 */
export class RealFft {
  readonly n: number;
  readonly batch: number;
  /** Packed input, length N/2 * batch: re[b + batch*j] = x_b[2j], im[b + batch*j] = x_b[2j+1]. */
  readonly re: Float64Array;
  readonly im: Float64Array;
  private readonly half: number;
  private readonly fft: ComplexFft;
  private readonly wRe: Float64Array;
  private readonly wIm: Float64Array;

  constructor(n: number, batch = 1) {
    if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) throw new RangeError(`Real FFT size must be even, got ${n}`);
    this.n = n;
    this.batch = batch;
    this.half = n / 2;
    this.fft = new ComplexFft(this.half, batch);
    this.re = new Float64Array(this.half * batch);
    this.im = new Float64Array(this.half * batch);
    this.wRe = new Float64Array(this.half + 1);
    this.wIm = new Float64Array(this.half + 1);
    for (let k = 0; k <= this.half; k++) {
      this.wRe[k] = Math.cos((-2 * Math.PI * k) / n);
      this.wIm[k] = Math.sin((-2 * Math.PI * k) / n);
    }
  }

  /** Packs a real frame of length N (from `offset` of `x`) as batch entry `b`. */
  load(x: ArrayLike<number>, offset = 0, b = 0): void {
    const { re, im, batch } = this;
    for (let j = 0, i = offset; j < this.half; j++, i += 2) {
      re[b + batch * j] = x[i]!;
      im[b + batch * j] = x[i + 1]!;
    }
  }

  /** Runs the complex FFT on the packed frames; then read bins with {@link bin}. */
  transform(): void {
    this.fft.transform(this.re, this.im);
  }

  /**
   * After {@link transform}: |X_b[k]|^2 (power) or |X_b[k]| of bin k in [0, N/2] for every
   * batch entry b, into out[0..batch).
   */
  bin(k: number, out: Float64Array, power: boolean): void {
    const h = this.half;
    const B = this.batch;
    const re = this.re;
    const im = this.im;
    if (k === 0 || k === h) {
      for (let b = 0; b < B; b++) {
        const v = k === 0 ? re[b]! + im[b]! : re[b]! - im[b]!;
        out[b] = power ? v * v : Math.abs(v);
      }
      return;
    }
    const wr = this.wRe[k]!;
    const wi = this.wIm[k]!;
    const ik = k * B;
    const ic = (h - k) * B;
    for (let b = 0; b < B; b++) {
      const zr = re[ik + b]!, zi = im[ik + b]!;
      const cr = re[ic + b]!, ci = -im[ic + b]!; // conj(Z[h-k])
      const er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
      // O = (Z - conj) / (2i)
      const or = 0.5 * (zi - ci), oi = -0.5 * (zr - cr);
      const xr = er + or * wr - oi * wi;
      const xi = ei + or * wi + oi * wr;
      const p = xr * xr + xi * xi;
      out[b] = power ? p : Math.sqrt(p);
    }
  }

  /**
   * Transforms the packed frames and writes |X_b[k]|^2 (power = true) or |X_b[k]| for k in
   * [0, N/2] at out[k * batch + b] (length (N/2 + 1) * batch).
   */
  spectrum(out: Float64Array, power: boolean): void {
    this.transform();
    const B = this.batch;
    for (let k = 0; k <= this.half; k++) this.bin(k, out.subarray(k * B, (k + 1) * B), power);
  }
}

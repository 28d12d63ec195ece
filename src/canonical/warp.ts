import type { Affine, RgbImage } from '../face/image.js';

/**
 * Bicubic kernel parameter. -0.5 is Keys' cubic convolution (Catmull-Rom), the interpolating
 * kernel with the least ringing; OpenCV's INTER_CUBIC uses -0.75.
 */
export const BICUBIC_A = -0.5;

/** Fractional positions are quantised to 1/LUT_STEPS of a pixel for the weight table. */
const LUT_STEPS = 256;
let lut: Float32Array | undefined;

function cubicWeights(): Float32Array {
  if (lut) return lut;
  const a = BICUBIC_A;
  const w = (x: number): number => {
    const t = Math.abs(x);
    if (t <= 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
    if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
    return 0;
  };
  const table = new Float32Array((LUT_STEPS + 1) * 4);
  for (let i = 0; i <= LUT_STEPS; i++) {
    const f = i / LUT_STEPS;
    table[4 * i] = w(1 + f);
    table[4 * i + 1] = w(f);
    table[4 * i + 2] = w(1 - f);
    table[4 * i + 3] = w(2 - f);
  }
  lut = table;
  return table;
}

/**
 * Bicubic affine warp of an RGB24 image: output pixel (u, v) takes the source value at
 * `dstToSrc` applied to its centre (continuous pixel coordinates, centre of pixel i at
 * i + 0.5). Samples beyond the source replicate its border. Writes RGB24 into `out`
 * (allocated when not given) and returns it.
 *
 * When the output's columns run within 45 degrees of the source's (any face roll below 45
 * degrees) and the warp does not shrink much, it runs as two 4-tap passes: along each source
 * row at the points where the output columns cross it, then down each output column. The
 * output column is a straight line in the source, so this samples the same 4x4 neighbourhood
 * along that line (it matched the direct 16-tap form within 1 level on test images) at about
 * 8 instead of 16 taps per pixel. `scratch` (optional, reused) holds the first pass.
 */
export function warpAffineBicubic(
  src: RgbImage,
  dstToSrc: Affine,
  outW: number,
  outH: number,
  out?: Uint8Array,
  scratch?: { buffer: Float32Array },
): Uint8Array {
  const dst = out ?? new Uint8Array(outW * outH * 3);
  if (dst.length < outW * outH * 3) throw new RangeError(`Output buffer holds ${dst.length} bytes, needs ${outW * outH * 3}`);
  const [, b, , d, e, f] = dstToSrc;
  if (Math.abs(e) > Math.abs(b) && Math.abs(e) > 1e-6) {
    // Source rows the output touches, with the kernel's reach.
    let lo = Infinity;
    let hi = -Infinity;
    for (const u of [0, outW]) {
      for (const v of [0, outH]) {
        const y = d * u + e * v + f - 0.5;
        lo = Math.min(lo, y);
        hi = Math.max(hi, y);
      }
    }
    const y0 = Math.max(0, Math.floor(lo) - 2);
    const y1 = Math.min(src.height - 1, Math.ceil(hi) + 2);
    if (y1 >= y0 && y1 - y0 + 1 <= 2 * outH) {
      twoPass(src, dstToSrc, outW, outH, dst, y0, y1, scratch ?? { buffer: new Float32Array(0) });
      return dst;
    }
  }
  return direct(src, dstToSrc, outW, outH, dst);
}

function twoPass(
  src: RgbImage,
  m: Affine,
  outW: number,
  outH: number,
  dst: Uint8Array,
  y0: number,
  y1: number,
  scratch: { buffer: Float32Array },
): void {
  const { width: W, data } = src;
  const L = cubicWeights();
  const [A, B, C, D, E, F] = m;
  const rows = y1 - y0 + 1;
  const rowLen = outW * 3;
  if (scratch.buffer.length < rows * rowLen) scratch.buffer = new Float32Array(rows * rowLen);
  const I = scratch.buffer;
  // Pass 1. Output column u is the source line x = A uc + B vc + C, y = D uc + E vc + F
  // (uc, vc: pixel centres). On source row y (centre y + 0.5) it sits at vc = (y + 0.5 - D uc - F) / E,
  // so its index-space x is linear in u and y: x = al * uc + be * (y + 0.5) + ga.
  const al = A - (B * D) / E;
  const be = B / E;
  const ga = C - (B * F) / E - 0.5;
  const maxX = W - 1;
  for (let r = 0; r < rows; r++) {
    const y = y0 + r;
    const rowBase = y * W * 3;
    let x = al * 0.5 + be * (y + 0.5) + ga;
    let o = r * rowLen;
    for (let u = 0; u < outW; u++, x += al, o += 3) {
      const xi = Math.floor(x);
      const lx = ((x - xi) * LUT_STEPS + 0.5) << 2;
      const w0 = L[lx]!;
      const w1 = L[lx + 1]!;
      const w2 = L[lx + 2]!;
      const w3 = L[lx + 3]!;
      if (xi >= 1 && xi < maxX - 1) {
        const p = rowBase + (xi - 1) * 3;
        I[o] = w0 * data[p]! + w1 * data[p + 3]! + w2 * data[p + 6]! + w3 * data[p + 9]!;
        I[o + 1] = w0 * data[p + 1]! + w1 * data[p + 4]! + w2 * data[p + 7]! + w3 * data[p + 10]!;
        I[o + 2] = w0 * data[p + 2]! + w1 * data[p + 5]! + w2 * data[p + 8]! + w3 * data[p + 11]!;
      } else {
        const c0 = rowBase + clampIndex(xi - 1, W) * 3;
        const c1 = rowBase + clampIndex(xi, W) * 3;
        const c2 = rowBase + clampIndex(xi + 1, W) * 3;
        const c3 = rowBase + clampIndex(xi + 2, W) * 3;
        for (let c = 0; c < 3; c++) I[o + c] = w0 * data[c0 + c]! + w1 * data[c1 + c]! + w2 * data[c2 + c]! + w3 * data[c3 + c]!;
      }
    }
  }
  // Pass 2: down each output column, at y(u, v), through the rows of pass 1 (clamped: border).
  let o = 0;
  for (let v = 0; v < outH; v++) {
    let y = D * 0.5 + E * (v + 0.5) + F - 0.5;
    for (let u = 0; u < outW; u++, y += D, o += 3) {
      const yi = Math.floor(y);
      const ly = ((y - yi) * LUT_STEPS + 0.5) << 2;
      const w0 = L[ly]!;
      const w1 = L[ly + 1]!;
      const w2 = L[ly + 2]!;
      const w3 = L[ly + 3]!;
      let r0 = yi - 1 - y0;
      let r1 = r0 + 1;
      let r2 = r0 + 2;
      let r3 = r0 + 3;
      if (r0 < 0 || r3 >= rows) {
        r0 = clampIndex(r0, rows);
        r1 = clampIndex(r1, rows);
        r2 = clampIndex(r2, rows);
        r3 = clampIndex(r3, rows);
      }
      const q = u * 3;
      const p0 = r0 * rowLen + q;
      const p1 = r1 * rowLen + q;
      const p2 = r2 * rowLen + q;
      const p3 = r3 * rowLen + q;
      const r = w0 * I[p0]! + w1 * I[p1]! + w2 * I[p2]! + w3 * I[p3]!;
      const g = w0 * I[p0 + 1]! + w1 * I[p1 + 1]! + w2 * I[p2 + 1]! + w3 * I[p3 + 1]!;
      const bl = w0 * I[p0 + 2]! + w1 * I[p1 + 2]! + w2 * I[p2 + 2]! + w3 * I[p3 + 2]!;
      dst[o] = r <= 0 ? 0 : r >= 255 ? 255 : (r + 0.5) | 0;
      dst[o + 1] = g <= 0 ? 0 : g >= 255 ? 255 : (g + 0.5) | 0;
      dst[o + 2] = bl <= 0 ? 0 : bl >= 255 ? 255 : (bl + 0.5) | 0;
    }
  }
}

/** The direct form of `warpAffineBicubic`: 4x4 taps per output pixel, any transform. */
export function warpAffineBicubicDirect(src: RgbImage, dstToSrc: Affine, outW: number, outH: number, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(outW * outH * 3);
  return direct(src, dstToSrc, outW, outH, dst);
}

function direct(src: RgbImage, dstToSrc: Affine, outW: number, outH: number, dst: Uint8Array): Uint8Array {
  const { width: W, height: H, data } = src;
  const L = cubicWeights();
  const [a, b, c, d, e, f] = dstToSrc;
  const stride = W * 3;
  let o = 0;
  for (let v = 0; v < outH; v++) {
    // Index-space source position of the row's first pixel centre.
    let sx = a * 0.5 + b * (v + 0.5) + c - 0.5;
    let sy = d * 0.5 + e * (v + 0.5) + f - 0.5;
    for (let u = 0; u < outW; u++, sx += a, sy += d, o += 3) {
      const xi = Math.floor(sx);
      const yi = Math.floor(sy);
      const lx = ((sx - xi) * LUT_STEPS + 0.5) << 2;
      const ly = ((sy - yi) * LUT_STEPS + 0.5) << 2;
      const wx0 = L[lx]!;
      const wx1 = L[lx + 1]!;
      const wx2 = L[lx + 2]!;
      const wx3 = L[lx + 3]!;
      let r = 0;
      let g = 0;
      let bl = 0;
      if (xi >= 1 && yi >= 1 && xi < W - 2 && yi < H - 2) {
        // Interior: 4x4 taps without clamping.
        let p = (yi - 1) * stride + (xi - 1) * 3;
        for (let k = 0; k < 4; k++, p += stride) {
          const wy = L[ly + k]!;
          r += wy * (wx0 * data[p]! + wx1 * data[p + 3]! + wx2 * data[p + 6]! + wx3 * data[p + 9]!);
          g += wy * (wx0 * data[p + 1]! + wx1 * data[p + 4]! + wx2 * data[p + 7]! + wx3 * data[p + 10]!);
          bl += wy * (wx0 * data[p + 2]! + wx1 * data[p + 5]! + wx2 * data[p + 8]! + wx3 * data[p + 11]!);
        }
      } else {
        const x0 = clampIndex(xi - 1, W) * 3;
        const x1 = clampIndex(xi, W) * 3;
        const x2 = clampIndex(xi + 1, W) * 3;
        const x3 = clampIndex(xi + 2, W) * 3;
        for (let k = 0; k < 4; k++) {
          const wy = L[ly + k]!;
          const p = clampIndex(yi - 1 + k, H) * stride;
          r += wy * (wx0 * data[p + x0]! + wx1 * data[p + x1]! + wx2 * data[p + x2]! + wx3 * data[p + x3]!);
          g += wy * (wx0 * data[p + x0 + 1]! + wx1 * data[p + x1 + 1]! + wx2 * data[p + x2 + 1]! + wx3 * data[p + x3 + 1]!);
          bl += wy * (wx0 * data[p + x0 + 2]! + wx1 * data[p + x1 + 2]! + wx2 * data[p + x2 + 2]! + wx3 * data[p + x3 + 2]!);
        }
      }
      // Clamp and round (the kernel overshoots slightly at edges).
      dst[o] = r <= 0 ? 0 : r >= 255 ? 255 : (r + 0.5) | 0;
      dst[o + 1] = g <= 0 ? 0 : g >= 255 ? 255 : (g + 0.5) | 0;
      dst[o + 2] = bl <= 0 ? 0 : bl >= 255 ? 255 : (bl + 0.5) | 0;
    }
  }
  return dst;
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** One 8-bit plane inside a larger buffer (a YUV frame's Y, U or V). */
export interface Plane {
  data: Uint8Array;
  offset: number;
  width: number;
  height: number;
}

/**
 * `warpAffineBicubic` for one 8-bit plane: the same kernel, the same two-pass form where it
 * applies (else 16 taps), the same border rule. Used to crop straight from a YUV frame's
 * planes (`FaceCanonicalizer.cropYuv`).
 */
export function warpPlaneBicubic(
  src: Plane,
  dstToSrc: Affine,
  outW: number,
  outH: number,
  dst: Uint8Array,
  scratch: { buffer: Float32Array },
): Uint8Array {
  if (dst.length < outW * outH) throw new RangeError(`Output buffer holds ${dst.length} bytes, needs ${outW * outH}`);
  const [A, B, C, D, E, F] = dstToSrc;
  const { width: W, height: H, data, offset } = src;
  const L = cubicWeights();
  let y0 = 0;
  let y1 = -1;
  if (Math.abs(E) > Math.abs(B) && Math.abs(E) > 1e-6) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const u of [0, outW]) {
      for (const v of [0, outH]) {
        const y = D * u + E * v + F - 0.5;
        lo = Math.min(lo, y);
        hi = Math.max(hi, y);
      }
    }
    y0 = Math.max(0, Math.floor(lo) - 2);
    y1 = Math.min(H - 1, Math.ceil(hi) + 2);
  }
  if (y1 >= y0 && y1 - y0 + 1 <= 2 * outH) {
    const rows = y1 - y0 + 1;
    if (scratch.buffer.length < rows * outW) scratch.buffer = new Float32Array(rows * outW);
    const I = scratch.buffer;
    const al = A - (B * D) / E;
    const be = B / E;
    const ga = C - (B * F) / E - 0.5;
    for (let r = 0; r < rows; r++) {
      const y = y0 + r;
      const rowBase = offset + y * W;
      let x = al * 0.5 + be * (y + 0.5) + ga;
      let o = r * outW;
      for (let u = 0; u < outW; u++, x += al, o++) {
        const xi = Math.floor(x);
        const lx = ((x - xi) * LUT_STEPS + 0.5) << 2;
        const w0 = L[lx]!;
        const w1 = L[lx + 1]!;
        const w2 = L[lx + 2]!;
        const w3 = L[lx + 3]!;
        if (xi >= 1 && xi < W - 2) {
          const p = rowBase + xi - 1;
          I[o] = w0 * data[p]! + w1 * data[p + 1]! + w2 * data[p + 2]! + w3 * data[p + 3]!;
        } else {
          I[o] =
            w0 * data[rowBase + clampIndex(xi - 1, W)]! +
            w1 * data[rowBase + clampIndex(xi, W)]! +
            w2 * data[rowBase + clampIndex(xi + 1, W)]! +
            w3 * data[rowBase + clampIndex(xi + 2, W)]!;
        }
      }
    }
    let o = 0;
    for (let v = 0; v < outH; v++) {
      let y = D * 0.5 + E * (v + 0.5) + F - 0.5;
      for (let u = 0; u < outW; u++, y += D, o++) {
        const yi = Math.floor(y);
        const ly = ((y - yi) * LUT_STEPS + 0.5) << 2;
        const w0 = L[ly]!;
        const w1 = L[ly + 1]!;
        const w2 = L[ly + 2]!;
        const w3 = L[ly + 3]!;
        const r0 = yi - 1 - y0;
        let s: number;
        if (r0 >= 0 && r0 + 3 < rows) {
          const p = r0 * outW + u;
          s = w0 * I[p]! + w1 * I[p + outW]! + w2 * I[p + 2 * outW]! + w3 * I[p + 3 * outW]!;
        } else {
          s =
            w0 * I[clampIndex(r0, rows) * outW + u]! +
            w1 * I[clampIndex(r0 + 1, rows) * outW + u]! +
            w2 * I[clampIndex(r0 + 2, rows) * outW + u]! +
            w3 * I[clampIndex(r0 + 3, rows) * outW + u]!;
        }
        dst[o] = s <= 0 ? 0 : s >= 255 ? 255 : (s + 0.5) | 0;
      }
    }
    return dst;
  }
  let o = 0;
  for (let v = 0; v < outH; v++) {
    let sx = A * 0.5 + B * (v + 0.5) + C - 0.5;
    let sy = D * 0.5 + E * (v + 0.5) + F - 0.5;
    for (let u = 0; u < outW; u++, sx += A, sy += D, o++) {
      const xi = Math.floor(sx);
      const yi = Math.floor(sy);
      const lx = ((sx - xi) * LUT_STEPS + 0.5) << 2;
      const ly = ((sy - yi) * LUT_STEPS + 0.5) << 2;
      let s = 0;
      const wx0 = L[lx]!;
      const wx1 = L[lx + 1]!;
      const wx2 = L[lx + 2]!;
      const wx3 = L[lx + 3]!;
      if (xi >= 1 && yi >= 1 && xi < W - 2 && yi < H - 2) {
        let p = offset + (yi - 1) * W + xi - 1;
        for (let k = 0; k < 4; k++, p += W) s += L[ly + k]! * (wx0 * data[p]! + wx1 * data[p + 1]! + wx2 * data[p + 2]! + wx3 * data[p + 3]!);
      } else {
        for (let k = 0; k < 4; k++) {
          const p = offset + clampIndex(yi - 1 + k, H) * W;
          s +=
            L[ly + k]! *
            (wx0 * data[p + clampIndex(xi - 1, W)]! + wx1 * data[p + clampIndex(xi, W)]! + wx2 * data[p + clampIndex(xi + 1, W)]! + wx3 * data[p + clampIndex(xi + 2, W)]!);
        }
      }
      dst[o] = s <= 0 ? 0 : s >= 255 ? 255 : (s + 0.5) | 0;
    }
  }
  return dst;
}

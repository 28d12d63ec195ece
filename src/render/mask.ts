/**
 * Soft masks in canonical-crop space. The renderer pastes the generated mouth through a
 * polygon mask blurred with a Gaussian (001 s5), so the seam fades over a few pixels.
 */

/**
 * Reusable buffers for the per-frame masks (`featheredPolygonMask`, `gaussianBlur`): three fresh
 * arrays per frame, each up to the mouth region's size, were garbage and freshly faulted memory
 * every frame (a warm pipeline run's page faults went from ~71k to ~65k with the scratch). What a
 * call returns with a scratch is a view into it, valid until the next call with the same scratch.
 */
export interface MaskScratch {
  raster?: Float32Array;
  tmp?: Float32Array;
  out?: Float32Array;
}

/** `n` zeros from `scratch[key]` (grown when too small), or a new array without a scratch. */
function zeros(scratch: MaskScratch | undefined, key: keyof MaskScratch, n: number): Float32Array {
  if (!scratch) return new Float32Array(n);
  let a = scratch[key];
  if (!a || a.length < n) a = scratch[key] = new Float32Array(n);
  else a.fill(0, 0, n);
  return a.subarray(0, n);
}

/** Scanline fill of a polygon ([x0, y0, x1, y1, ...], pixel-centre convention) into a w x h 0/1 mask. */
export function rasterizePolygon(polygon: ArrayLike<number>, width: number, height: number, scratch?: MaskScratch): Float32Array {
  const mask = zeros(scratch, 'raster', width * height);
  const n = polygon.length >> 1;
  if (n < 3) return mask;
  const xs: number[] = [];
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = polygon[2 * i + 1]!;
      const yj = polygon[2 * j + 1]!;
      if (yi > cy !== yj > cy) {
        const xi = polygon[2 * i]!;
        const xj = polygon[2 * j]!;
        xs.push(xi + ((cy - yi) / (yj - yi)) * (xj - xi));
      }
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const to = Math.min(width - 1, Math.floor(xs[k + 1]! - 0.5));
      for (let x = from; x <= to; x++) mask[y * width + x] = 1;
    }
  }
  return mask;
}

/**
 * Separable Gaussian blur with the kernel truncated at 3 sigma, so the result has a finite
 * support (the mask grows by at most ceil(3 sigma) pixels): outside it the alpha is exactly 0
 * and the renderer leaves those pixels bit-identical.
 */
export function gaussianBlur(mask: Float32Array, width: number, height: number, sigma: number, scratch?: MaskScratch): Float32Array {
  if (sigma <= 0) {
    const copy = zeros(scratch, 'out', width * height);
    copy.set(mask.subarray(0, width * height));
    return copy;
  }
  const r = Math.ceil(3 * sigma);
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  // cum[j] = k[0] + ... + k[j - 1]: a row that is one run of 1s (every row of a convex polygon's
  // raster) blurs to a difference of two entries, whatever the kernel's size.
  const cum = new Float64Array(k.length + 1);
  for (let i = 0; i < k.length; i++) cum[i + 1] = cum[i]! + k[i]!;
  const tmp = zeros(scratch, 'tmp', width * height);
  const out = zeros(scratch, 'out', width * height);
  // Rows and columns beyond the non-zero span (plus the kernel's reach) stay exactly 0, so
  // only the span is computed: the mask is a small polygon inside the crop.
  const rowLo = new Int32Array(height).fill(width);
  const rowHi = new Int32Array(height).fill(-1);
  // Rows that are one run of 1s: the run's ends (else -1, -1).
  const runA = new Int32Array(height).fill(-1);
  const runB = new Int32Array(height).fill(-1);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    let a = -1;
    let b = -1;
    for (let x = 0; x < width; x++) {
      if (mask[base + x] !== 0) {
        if (a < 0) a = x;
        b = x;
      }
    }
    if (a < 0) continue;
    const x0 = Math.max(0, a - r);
    const x1 = Math.min(width - 1, b + r);
    rowLo[y] = x0;
    rowHi[y] = x1;
    let run = true;
    for (let x = a; x <= b && run; x++) run = mask[base + x] === 1;
    if (run) {
      runA[y] = a;
      runB[y] = b;
      // Taps i with a <= x + i <= b, i in [-r, r]: kernel indices (a - x + r) .. (b - x + r).
      for (let x = x0; x <= x1; x++) tmp[base + x] = cum[Math.min(2 * r, b - x + r) + 1]! - cum[Math.max(0, a - x + r)]!;
      continue;
    }
    for (let x = x0; x <= x1; x++) {
      const i0 = Math.max(-r, a - x);
      const i1 = Math.min(r, b - x);
      let s = 0;
      for (let i = i0, p = base + x + i0, q = i0 + r; i <= i1; i++, p++, q++) s += k[q]! * mask[p]!;
      tmp[base + x] = s;
    }
  }
  // Vertical pass, a row at a time: out row y accumulates the kernel-weighted non-zero rows near it.
  // Where all 2r + 1 rows around y are runs of 1s reaching r past x on both sides, every term is
  // the whole kernel: the value is 1 and that stretch is skipped (half the mask, typically).
  for (let y = 0; y < height; y++) {
    const base = y * width;
    let lo = width;
    let hi = -1;
    let ia = 0;
    let ib = -1;
    if (y - r >= 0 && y + r < height) {
      ia = -Infinity;
      ib = Infinity;
      for (let yy = y - r; yy <= y + r; yy++) {
        if (runA[yy]! < 0) {
          ia = 0;
          ib = -1;
          break;
        }
        ia = Math.max(ia, runA[yy]! + r);
        ib = Math.min(ib, runB[yy]! - r);
      }
    }
    for (let i = Math.max(-r, -y); i <= r && y + i < height; i++) {
      const yy = y + i;
      const a = rowLo[yy]!;
      const b = rowHi[yy]!;
      if (b < a) continue;
      if (a < lo) lo = a;
      if (b > hi) hi = b;
      const w = k[i + r]!;
      const src = yy * width;
      if (ib < ia) {
        for (let x = a; x <= b; x++) out[base + x]! += w * tmp[src + x]!;
      } else {
        for (let x = a; x < ia; x++) out[base + x]! += w * tmp[src + x]!;
        for (let x = ib + 1; x <= b; x++) out[base + x]! += w * tmp[src + x]!;
      }
    }
    if (ib >= ia) out.fill(1, base + ia, base + ib + 1);
    // Float noise far from the polygon must not leak a non-zero alpha.
    for (let x = lo; x <= hi; x++) {
      const v = out[base + x]!;
      out[base + x] = v < 1e-4 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}

/** A polygon mask feathered by a Gaussian: 0 outside, 1 well inside, a smooth ramp between. */
export function featheredPolygonMask(polygon: ArrayLike<number>, width: number, height: number, sigma: number, scratch?: MaskScratch): Float32Array {
  return gaussianBlur(rasterizePolygon(polygon, width, height, scratch), width, height, sigma, scratch);
}

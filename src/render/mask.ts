/**
 * Soft masks in canonical-crop space. The renderer pastes the generated mouth through a
 * polygon mask blurred with a Gaussian (001 s5), so the seam fades over a few pixels.
 */

/** Scanline fill of a polygon ([x0, y0, x1, y1, ...], pixel-centre convention) into a w x h 0/1 mask. */
export function rasterizePolygon(polygon: ArrayLike<number>, width: number, height: number): Float32Array {
  const mask = new Float32Array(width * height);
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
export function gaussianBlur(mask: Float32Array, width: number, height: number, sigma: number): Float32Array {
  if (sigma <= 0) return Float32Array.from(mask);
  const r = Math.ceil(3 * sigma);
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  const tmp = new Float32Array(width * height);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) {
        const xx = x + i;
        if (xx >= 0 && xx < width) s += k[i + r]! * mask[y * width + xx]!;
      }
      tmp[y * width + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) {
        const yy = y + i;
        if (yy >= 0 && yy < height) s += k[i + r]! * tmp[yy * width + x]!;
      }
      // Float noise far from the polygon must not leak a non-zero alpha.
      out[y * width + x] = s < 1e-4 ? 0 : s > 1 ? 1 : s;
    }
  }
  return out;
}

/** A polygon mask feathered by a Gaussian: 0 outside, 1 well inside, a smooth ramp between. */
export function featheredPolygonMask(polygon: ArrayLike<number>, width: number, height: number, sigma: number): Float32Array {
  return gaussianBlur(rasterizePolygon(polygon, width, height), width, height, sigma);
}

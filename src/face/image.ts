/**
 * Image sampling for the face models, on RGB24 frames (conventions 11). Everything writes into
 * caller-owned buffers, so the per-frame path allocates nothing; nothing ever resamples a whole
 * 1080p frame except the detector's one area-filtered downscale.
 */

/** An RGB24 image: row-major, 3 bytes per pixel, no padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * A 2x3 affine map [a, b, c, d, e, f]: x' = a*x + b*y + c, y' = d*x + e*y + f. Points use the
 * continuous pixel convention: the centre of pixel (i, j) is (i + 0.5, j + 0.5).
 */
export type Affine = [number, number, number, number, number, number];

export function applyAffine(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new RangeError('Affine transform is not invertible');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** m1 after m2: x -> m1(m2(x)). */
export function composeAffine(m1: Affine, m2: Affine): Affine {
  return [
    m1[0] * m2[0] + m1[1] * m2[3],
    m1[0] * m2[1] + m1[1] * m2[4],
    m1[0] * m2[2] + m1[1] * m2[5] + m1[2],
    m1[3] * m2[0] + m1[4] * m2[3],
    m1[3] * m2[1] + m1[4] * m2[4],
    m1[3] * m2[2] + m1[4] * m2[5] + m1[5],
  ];
}

/** Where the letterboxed model input sits in the frame: frame = (input - pad) / scale. */
export interface Letterbox {
  scale: number;
  padX: number;
  padY: number;
}

/**
 * Downscales (or upscales) the whole frame into a `size`x`size` planar float tensor, centred
 * and letterboxed, values mapped to `value * mul + add` (so [-1, 1] is mul 2/255, add -1).
 * Downscaling is an area (box) filter: each output pixel averages a grid of up to
 * `maxTaps`x`maxTaps` source pixels spread evenly over its footprint (every pixel of it when
 * the footprint is that small, a mip-like subsample of it beyond), so a 1080p frame does not
 * alias into the detector input yet costs only ~16 reads per output pixel. `out` must hold
 * 3*size*size floats at `offset` (planes R, G, B).
 */
export function letterboxAreaResize(
  src: RgbImage,
  size: number,
  out: Float32Array,
  mul: number,
  add: number,
  offset = 0,
  maxTaps = 4,
): Letterbox {
  const { width: W, height: H, data } = src;
  const scale = size / Math.max(W, H);
  const cw = W * scale;
  const ch = H * scale;
  const padX = (size - cw) / 2;
  const padY = (size - ch) / 2;
  const plane = size * size;
  out.fill(add, offset, offset + 3 * plane); // black borders
  if (scale > 1) {
    // Upscaling a tiny frame: bilinear is right here.
    const m: Affine = [1 / scale, 0, -padX / scale, 0, 1 / scale, -padY / scale];
    warpBilinearPlanar(src, m, size, size, out, offset, mul, add, true);
    return { scale, padX, padY };
  }
  const inv = 1 / scale; // source pixels per output pixel
  const taps = Math.max(1, Math.min(maxTaps, Math.ceil(inv)));
  const ox0 = Math.max(0, Math.floor(padX));
  const ox1 = Math.min(size, Math.ceil(padX + cw));
  const oy0 = Math.max(0, Math.floor(padY));
  const oy1 = Math.min(size, Math.ceil(padY + ch));
  // Sample offsets per output column / row, precomputed once.
  const nx = ox1 - ox0;
  const xs = new Int32Array(nx * taps);
  for (let i = 0; i < nx; i++) {
    for (let t = 0; t < taps; t++) {
      const x = (ox0 + i + (t + 0.5) / taps - padX) * inv;
      xs[i * taps + t] = 3 * Math.min(W - 1, Math.max(0, Math.floor(x)));
    }
  }
  const rowOffsets = new Int32Array(taps);
  const norm = mul / (taps * taps);
  for (let oy = oy0; oy < oy1; oy++) {
    for (let t = 0; t < taps; t++) {
      const y = (oy + (t + 0.5) / taps - padY) * inv;
      rowOffsets[t] = 3 * W * Math.min(H - 1, Math.max(0, Math.floor(y)));
    }
    let o = offset + oy * size + ox0;
    for (let i = 0; i < nx; i++, o++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let ty = 0; ty < taps; ty++) {
        const rowBase = rowOffsets[ty]!;
        for (let tx = 0; tx < taps; tx++) {
          const p = rowBase + xs[i * taps + tx]!;
          r += data[p]!;
          g += data[p + 1]!;
          b += data[p + 2]!;
        }
      }
      out[o] = r * norm + add;
      out[o + plane] = g * norm + add;
      out[o + 2 * plane] = b * norm + add;
    }
  }
  return { scale, padX, padY };
}

/**
 * Bilinear affine warp into a planar float tensor: output pixel (u, v) samples the source at
 * `m` applied to its centre. Samples outside the frame replicate the border (`clampBorder`) or
 * read black. Values are mapped to `value * mul + add`.
 */
export function warpBilinearPlanar(
  src: RgbImage,
  m: Affine,
  outW: number,
  outH: number,
  out: Float32Array,
  offset: number,
  mul: number,
  add: number,
  clampBorder = true,
): void {
  const { width: W, height: H, data } = src;
  const plane = outW * outH;
  const [a, b, c, d, e, f] = m;
  const maxX = W - 1;
  const maxY = H - 1;
  for (let v = 0; v < outH; v++) {
    // Source position of pixel centre (0.5, v + 0.5), shifted to index space (-0.5).
    let sx = a * 0.5 + b * (v + 0.5) + c - 0.5;
    let sy = d * 0.5 + e * (v + 0.5) + f - 0.5;
    let o = offset + v * outW;
    for (let u = 0; u < outW; u++, sx += a, sy += d, o++) {
      let x = sx;
      let y = sy;
      if (x < 0 || y < 0 || x > maxX || y > maxY) {
        if (!clampBorder && (x < -1 || y < -1 || x > W || y > H)) {
          out[o] = add;
          out[o + plane] = add;
          out[o + 2 * plane] = add;
          continue;
        }
        x = x < 0 ? 0 : x > maxX ? maxX : x;
        y = y < 0 ? 0 : y > maxY ? maxY : y;
      }
      const x0 = x | 0;
      const y0 = y | 0;
      const fx = x - x0;
      const fy = y - y0;
      const x1 = x0 < maxX ? 3 : 0;
      const y1 = y0 < maxY ? W * 3 : 0;
      const p = (y0 * W + x0) * 3;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const q = p + y1;
      out[o] = (w00 * data[p]! + w01 * data[p + x1]! + w10 * data[q]! + w11 * data[q + x1]!) * mul + add;
      out[o + plane] = (w00 * data[p + 1]! + w01 * data[p + x1 + 1]! + w10 * data[q + 1]! + w11 * data[q + x1 + 1]!) * mul + add;
      out[o + 2 * plane] = (w00 * data[p + 2]! + w01 * data[p + x1 + 2]! + w10 * data[q + 2]! + w11 * data[q + x1 + 2]!) * mul + add;
    }
  }
}

/**
 * Like `warpBilinearPlanar`, but for crops that shrink the source by more than about 2x (a
 * face in 1080p video into the 192-pixel mesh input): each output pixel averages an `n`x`n`
 * grid of source pixels spread over its footprint, a box prefilter, so the input does not
 * alias (aliasing becomes landmark jitter). n = 1 is plain bilinear.
 */
export function warpSupersampledPlanar(
  src: RgbImage,
  m: Affine,
  outW: number,
  outH: number,
  out: Float32Array,
  offset: number,
  mul: number,
  add: number,
  n: number,
): void {
  if (n <= 1) {
    warpBilinearPlanar(src, m, outW, outH, out, offset, mul, add, true);
    return;
  }
  const { width: W, height: H, data } = src;
  const plane = outW * outH;
  const [a, b, c, d, e, f] = m;
  const maxX = W - 1;
  const maxY = H - 1;
  const k = mul / (n * n);
  // Sub-sample offsets within one output pixel, in source pixels.
  const du = new Float64Array(n * n);
  const dv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const su = (i + 0.5) / n - 0.5;
      const sv = (j + 0.5) / n - 0.5;
      du[j * n + i] = a * su + b * sv;
      dv[j * n + i] = d * su + e * sv;
    }
  }
  const nn = n * n;
  for (let v = 0; v < outH; v++) {
    let cx = a * 0.5 + b * (v + 0.5) + c;
    let cy = d * 0.5 + e * (v + 0.5) + f;
    let o = offset + v * outW;
    for (let u = 0; u < outW; u++, o++, cx += a, cy += d) {
      let r = 0;
      let g = 0;
      let bl = 0;
      for (let t = 0; t < nn; t++) {
        let x = (cx + du[t]!) | 0;
        let y = (cy + dv[t]!) | 0;
        x = x < 0 ? 0 : x > maxX ? maxX : x;
        y = y < 0 ? 0 : y > maxY ? maxY : y;
        const p = (y * W + x) * 3;
        r += data[p]!;
        g += data[p + 1]!;
        bl += data[p + 2]!;
      }
      out[o] = r * k + add;
      out[o + plane] = g * k + add;
      out[o + 2 * plane] = bl * k + add;
    }
  }
}

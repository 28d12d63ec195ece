import { yuvCoefficients, type YuvCoefficients, type YuvImage, type YuvMatrix } from '../media/yuv.js';

/**
 * Image sampling for the face models, on RGB24 frames (conventions 11) or I420 ones. Everything writes into
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
 * An I420 frame (`YuvImage`) with the matrix that converts it to RGB. The face models sample
 * it directly: each tap reads Y at its pixel and U, V at its 2 x 2 block (as `yuvToRgb` and
 * ffmpeg's own conversion do), and the weighted sums are converted once per model-input pixel.
 * The conversion is linear, so that equals sampling the frame converted to RGB (up to clamping
 * at the gamut's edges), without converting the frame.
 */
export interface YuvFaceImage extends YuvImage {
  yuv: YuvMatrix;
}

/** What the face models read: an RGB24 frame, or an I420 one with its matrix. */
export type FaceImage = RgbImage | YuvFaceImage;

/** Where a FaceImage's channels are: interleaved RGB, or the I420 planes and their matrix. */
interface Planes {
  yuv?: YuvCoefficients;
  /** I420: offsets of the U and V planes and the chroma row length. */
  uOff: number;
  vOff: number;
  cw: number;
}

function planesOf(src: FaceImage): Planes {
  if (!('yuv' in src)) return { uOff: 0, vOff: 0, cw: 0 };
  const cw = src.width >> 1;
  const uOff = src.width * src.height;
  return { yuv: yuvCoefficients(src.yuv), uOff, vOff: uOff + cw * (src.height >> 1), cw };
}

/** Adds pixel (x, y)'s three channel values (R, G, B; or Y, U, V) to `acc`. */
function accumulate(acc: Float64Array, data: Uint8Array, W: number, P: Planes, x: number, y: number): void {
  if (P.yuv) {
    const q = (y >> 1) * P.cw + (x >> 1);
    acc[0]! += data[y * W + x]!;
    acc[1]! += data[P.uOff + q]!;
    acc[2]! += data[P.vOff + q]!;
  } else {
    const p = (y * W + x) * 3;
    acc[0]! += data[p]!;
    acc[1]! += data[p + 1]!;
    acc[2]! += data[p + 2]!;
  }
}

/**
 * Writes one pixel to the planar tensor as `value * mul + add`, from its three channel sums
 * times `avg` (R, G, B; or Y, U, V, converted and clamped to 0-255).
 */
function put(out: Float32Array, o: number, plane: number, c0: number, c1: number, c2: number, avg: number, mul: number, add: number, yuv: YuvCoefficients | undefined): void {
  if (!yuv) {
    const k = avg * mul;
    out[o] = c0 * k + add;
    out[o + plane] = c1 * k + add;
    out[o + 2 * plane] = c2 * k + add;
    return;
  }
  const y = (c0 * avg - yuv.yOff) * yuv.yScale;
  const u = (c1 * avg - 128) * yuv.cScale;
  const v = (c2 * avg - 128) * yuv.cScale;
  const r = y + yuv.rv * v;
  const g = y - yuv.gu * u - yuv.gv * v;
  const b = y + yuv.bu * u;
  out[o] = (r <= 0 ? 0 : r >= 255 ? 255 : r) * mul + add;
  out[o + plane] = (g <= 0 ? 0 : g >= 255 ? 255 : g) * mul + add;
  out[o + 2 * plane] = (b <= 0 ? 0 : b >= 255 ? 255 : b) * mul + add;
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
  src: FaceImage,
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
  const P = planesOf(src);
  const yuv = P.yuv;
  const inv = 1 / scale; // source pixels per output pixel
  const taps = Math.max(1, Math.min(maxTaps, Math.ceil(inv)));
  const ox0 = Math.max(0, Math.floor(padX));
  const ox1 = Math.min(size, Math.ceil(padX + cw));
  const oy0 = Math.max(0, Math.floor(padY));
  const oy1 = Math.min(size, Math.ceil(padY + ch));
  // Source columns per output column and tap, precomputed once.
  const nx = ox1 - ox0;
  const xs = new Int32Array(nx * taps);
  for (let i = 0; i < nx; i++) {
    for (let t = 0; t < taps; t++) {
      const x = (ox0 + i + (t + 0.5) / taps - padX) * inv;
      xs[i * taps + t] = Math.min(W - 1, Math.max(0, Math.floor(x)));
    }
  }
  const rows = new Int32Array(taps);
  const acc = new Float64Array(3);
  const avg = 1 / (taps * taps);
  for (let oy = oy0; oy < oy1; oy++) {
    for (let t = 0; t < taps; t++) {
      const y = (oy + (t + 0.5) / taps - padY) * inv;
      rows[t] = Math.min(H - 1, Math.max(0, Math.floor(y)));
    }
    let o = offset + oy * size + ox0;
    for (let i = 0; i < nx; i++, o++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let ty = 0; ty < taps; ty++) {
        const y = rows[ty]!;
        for (let tx = 0; tx < taps; tx++) accumulate(acc, data, W, P, xs[i * taps + tx]!, y);
      }
      put(out, o, plane, acc[0]!, acc[1]!, acc[2]!, avg, mul, add, yuv);
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
  src: FaceImage,
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
  const P = planesOf(src);
  const yuv = P.yuv;
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
      const x1 = x0 < maxX ? x0 + 1 : x0;
      const y1 = y0 < maxY ? y0 + 1 : y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      if (yuv) {
        const r0 = (y0 >> 1) * P.cw;
        const r1 = (y1 >> 1) * P.cw;
        const q00 = r0 + (x0 >> 1);
        const q01 = r0 + (x1 >> 1);
        const q10 = r1 + (x0 >> 1);
        const q11 = r1 + (x1 >> 1);
        const U = P.uOff;
        const V = P.vOff;
        put(
          out, o, plane,
          w00 * data[y0 * W + x0]! + w01 * data[y0 * W + x1]! + w10 * data[y1 * W + x0]! + w11 * data[y1 * W + x1]!,
          w00 * data[U + q00]! + w01 * data[U + q01]! + w10 * data[U + q10]! + w11 * data[U + q11]!,
          w00 * data[V + q00]! + w01 * data[V + q01]! + w10 * data[V + q10]! + w11 * data[V + q11]!,
          1, mul, add, yuv,
        );
        continue;
      }
      const p = (y0 * W + x0) * 3;
      const dx = (x1 - x0) * 3;
      const q = p + (y1 - y0) * W * 3;
      put(
        out, o, plane,
        w00 * data[p]! + w01 * data[p + dx]! + w10 * data[q]! + w11 * data[q + dx]!,
        w00 * data[p + 1]! + w01 * data[p + dx + 1]! + w10 * data[q + 1]! + w11 * data[q + dx + 1]!,
        w00 * data[p + 2]! + w01 * data[p + dx + 2]! + w10 * data[q + 2]! + w11 * data[q + dx + 2]!,
        1, mul, add, undefined,
      );
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
  src: FaceImage,
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
  const P = planesOf(src);
  const yuv = P.yuv;
  const plane = outW * outH;
  const [a, b, c, d, e, f] = m;
  const maxX = W - 1;
  const maxY = H - 1;
  const avg = 1 / (n * n);
  const acc = new Float64Array(3);
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
      acc[0] = acc[1] = acc[2] = 0;
      for (let t = 0; t < nn; t++) {
        const x = (cx + du[t]!) | 0;
        const y = (cy + dv[t]!) | 0;
        accumulate(acc, data, W, P, x < 0 ? 0 : x > maxX ? maxX : x, y < 0 ? 0 : y > maxY ? maxY : y);
      }
      put(out, o, plane, acc[0]!, acc[1]!, acc[2]!, avg, mul, add, yuv);
    }
  }
}

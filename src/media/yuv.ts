/**
 * Planar YUV 4:2:0 frames (I420) and the colour matrices between them and RGB.
 *
 * The render pass works on the decoder's own YUV: pixels it does not touch go to the encoder
 * exactly as decoded (no YUV -> RGB -> YUV round trip, and two swscale conversions fewer per
 * frame). Only the face crop and the mouth's box are converted, here, in JS.
 */
import type { VideoStreamInfo } from './probe.js';

/**
 * One I420 frame: the full-resolution Y plane, then U and V at half width and height, no
 * padding (`width * height * 3 / 2` bytes). Width and height are even.
 */
export interface YuvImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * A Y'CbCr matrix: luma weights of red and blue, and whether the samples use the full 0-255
 * range (JPEG) or the limited 16-235/240 range of video.
 */
export interface YuvMatrix {
  name: 'bt601' | 'bt709' | 'bt2020';
  kr: number;
  kb: number;
  fullRange: boolean;
}

const MATRICES = {
  bt601: { kr: 0.299, kb: 0.114 },
  bt709: { kr: 0.2126, kb: 0.0722 },
  bt2020: { kr: 0.2627, kb: 0.0593 },
} as const;

export function yuvMatrix(name: YuvMatrix['name'], fullRange = false): YuvMatrix {
  return { name, ...MATRICES[name], fullRange };
}

/**
 * The matrix a stream's tags name. Untagged streams get BT.601, as ffmpeg's own YUV -> RGB
 * conversion assumes (checked on the shared clips: BT.601 matches its rgb24 output within 3
 * levels on an untagged clip, BT.709 is off by up to 9; the reverse on a BT.709-tagged one).
 * After `readYuvFrames` the samples are always limited range (it converts full-range input).
 */
export function yuvMatrixFor(video: Pick<VideoStreamInfo, 'color'>): YuvMatrix {
  const space = video.color?.space ?? '';
  const name = space === 'bt709' ? 'bt709' : space.startsWith('bt2020') ? 'bt2020' : 'bt601';
  return yuvMatrix(name, false);
}

/** Precomputed coefficients of one matrix, for the inner loops. */
export interface YuvCoefficients {
  /** R = y' + rv v', G = y' - gu u' - gv v', B = y' + bu u', with y' = (Y - yOff) * yScale, u' = (U - 128) * cScale. */
  yOff: number;
  yScale: number;
  cScale: number;
  rv: number;
  gu: number;
  gv: number;
  bu: number;
  /** The inverse: Y = yOff + (kr R + kg G + kb B) / yScale, U = 128 + (B - luma) * uScale, V = 128 + (R - luma) * vScale. */
  kr: number;
  kg: number;
  kb: number;
  uScale: number;
  vScale: number;
}

export function yuvCoefficients(m: YuvMatrix): YuvCoefficients {
  const kg = 1 - m.kr - m.kb;
  const yOff = m.fullRange ? 0 : 16;
  const yScale = m.fullRange ? 1 : 255 / 219;
  const cScale = m.fullRange ? 1 : 255 / 224;
  const rv = 2 * (1 - m.kr);
  const bu = 2 * (1 - m.kb);
  return {
    yOff,
    yScale,
    cScale,
    rv,
    bu,
    gu: (bu * m.kb) / kg,
    gv: (rv * m.kr) / kg,
    kr: m.kr,
    kg,
    kb: m.kb,
    uScale: 1 / (bu * cScale),
    vScale: 1 / (rv * cScale),
  };
}

/** Rounds to the nearest 8-bit sample value, clamped to 0-255. */
export const clamp8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/**
 * Converts a rectangle of an I420 frame to RGB24. Each chroma sample serves its 2 x 2 block of
 * pixels, as ffmpeg's own conversion (swscale's unscaled path) does: on the shared clips this
 * matches ffmpeg's rgb24 output within 3 levels (mean about 1), where bilinear chroma was off by
 * up to 20 at colour edges. Crops cut from either path therefore look alike. `out` is reused when
 * large enough. Returns the RGB bytes of the rectangle, row-major.
 */
export function yuvToRgb(
  src: YuvImage,
  matrix: YuvMatrix,
  rect: { x: number; y: number; width: number; height: number } = { x: 0, y: 0, width: src.width, height: src.height },
  out?: Uint8Array,
): Uint8Array {
  const { width: W, height: H, data } = src;
  const cw = W >> 1;
  const uOff = W * H;
  const vOff = uOff + cw * (H >> 1);
  const n = rect.width * rect.height * 3;
  const dst = out && out.length >= n ? out : new Uint8Array(n);
  const { Y, RV, GU, GV, BU } = tablesFor(matrix);
  let o = 0;
  for (let v = 0; v < rect.height; v++) {
    const y = rect.y + v;
    const yRow = y * W;
    const cRow = (y >> 1) * cw;
    for (let u = 0; u < rect.width; u++, o += 3) {
      const x = rect.x + u;
      const q = cRow + (x >> 1);
      const yy = Y[data[yRow + x]!]!;
      const uu = data[uOff + q]!;
      const vv = data[vOff + q]!;
      const r = yy + RV[vv]!;
      const g = yy - GU[uu]! - GV[vv]!;
      const b = yy + BU[uu]!;
      dst[o] = r <= 0 ? 0 : r >= 255 ? 255 : (r + 0.5) | 0;
      dst[o + 1] = g <= 0 ? 0 : g >= 255 ? 255 : (g + 0.5) | 0;
      dst[o + 2] = b <= 0 ? 0 : b >= 255 ? 255 : (b + 0.5) | 0;
    }
  }
  return dst;
}

/**
 * Converts an n x n luma plane and ceil(n/2)-square chroma planes (each chroma sample serving a
 * 2 x 2 block, as `FaceCanonicalizer.cropYuv` produces them) to RGB24.
 */
export function halfChromaToRgb(y: Uint8Array, u: Uint8Array, v: Uint8Array, n: number, matrix: YuvMatrix, out: Uint8Array): Uint8Array {
  const { Y, RV, GU, GV, BU } = tablesFor(matrix);
  const h = (n + 1) >> 1;
  for (let row = 0, i = 0, o = 0; row < n; row++) {
    const cRow = (row >> 1) * h;
    for (let col = 0; col < n; col++, i++, o += 3) {
      const yy = Y[y[i]!]!;
      const q = cRow + (col >> 1);
      const uu = u[q]!;
      const vv = v[q]!;
      const r = yy + RV[vv]!;
      const g = yy - GU[uu]! - GV[vv]!;
      const b = yy + BU[uu]!;
      out[o] = r <= 0 ? 0 : r >= 255 ? 255 : (r + 0.5) | 0;
      out[o + 1] = g <= 0 ? 0 : g >= 255 ? 255 : (g + 0.5) | 0;
      out[o + 2] = b <= 0 ? 0 : b >= 255 ? 255 : (b + 0.5) | 0;
    }
  }
  return out;
}

/** Per-sample-value terms of the YUV -> RGB sums, for the per-pixel loops. */
interface YuvTables {
  Y: Float32Array;
  RV: Float32Array;
  GU: Float32Array;
  GV: Float32Array;
  BU: Float32Array;
}
const tableCache = new Map<string, YuvTables>();

function tablesFor(m: YuvMatrix): YuvTables {
  const key = `${m.kr},${m.kb},${m.fullRange}`;
  let t = tableCache.get(key);
  if (!t) {
    const c = yuvCoefficients(m);
    t = { Y: new Float32Array(256), RV: new Float32Array(256), GU: new Float32Array(256), GV: new Float32Array(256), BU: new Float32Array(256) };
    for (let i = 0; i < 256; i++) {
      const ch = (i - 128) * c.cScale;
      t.Y[i] = (i - c.yOff) * c.yScale;
      t.RV[i] = c.rv * ch;
      t.GU[i] = c.gu * ch;
      t.GV[i] = c.gv * ch;
      t.BU[i] = c.bu * ch;
    }
    tableCache.set(key, t);
  }
  return t;
}

/** RGB24 to an I420 frame (chroma: the mean of each 2 x 2 block). For tests and tools. */
export function rgbToYuv(rgb: Uint8Array, width: number, height: number, matrix: YuvMatrix, out?: Uint8Array): Uint8Array {
  if (width % 2 || height % 2) throw new RangeError(`I420 needs even sizes, got ${width}x${height}`);
  const dst = out ?? new Uint8Array((width * height * 3) / 2);
  const c = yuvCoefficients(matrix);
  const cw = width >> 1;
  const uOff = width * height;
  const vOff = uOff + cw * (height >> 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      dst[y * width + x] = clamp8(c.yOff + (c.kr * rgb[p]! + c.kg * rgb[p + 1]! + c.kb * rgb[p + 2]!) / c.yScale);
    }
  }
  for (let j = 0; j < height >> 1; j++) {
    for (let i = 0; i < cw; i++) {
      let su = 0;
      let sv = 0;
      for (let k = 0; k < 4; k++) {
        const p = ((2 * j + (k >> 1)) * width + 2 * i + (k & 1)) * 3;
        const l = c.kr * rgb[p]! + c.kg * rgb[p + 1]! + c.kb * rgb[p + 2]!;
        su += (rgb[p + 2]! - l) * c.uScale;
        sv += (rgb[p]! - l) * c.vScale;
      }
      dst[uOff + j * cw + i] = clamp8(128 + su / 4);
      dst[vOff + j * cw + i] = clamp8(128 + sv / 4);
    }
  }
  return dst;
}

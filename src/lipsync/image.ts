/**
 * Pixel <-> tensor conversion for the lip-sync models (internal). Crops are RGB24 row-major;
 * tensors are float32 in a model card's layout, channel order and value range.
 */
import { MOUTH_MASK_RECT, mouthMask } from '../canonical/masks.js';
import { warpAffineBicubic } from '../canonical/warp.js';
import { AvdubError, ErrorCode } from '../errors.js';
import type { CardImageSpec, FractionRect, ValueRange } from './model-card.js';
import type { CanonicalCrop } from './types.js';

export interface TensorImageFormat {
  size: number;
  layout: CardImageSpec['layout'];
  channelOrder: CardImageSpec['channelOrder'];
  range: ValueRange;
}

/** Integer pixel rectangle [x0, x1) x [y0, y1). */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * A `size` x `size` mask, 1 where a pixel's centre lies inside `rect` (the face stack's
 * `mouthMask` rule), or outside it when `invert`.
 */
export function rectMask(size: number, rect: FractionRect, invert = false): Uint8Array {
  // mouthMask's `rect` parameter is typed as the frozen 001 constant (literal numbers); any
  // rectangle of the same shape works.
  const r = { x1: rect[0], y1: rect[1], x2: rect[2], y2: rect[3] } as unknown as typeof MOUTH_MASK_RECT;
  const m = mouthMask(size, undefined, 1, r);
  if (invert) for (let i = 0; i < m.length; i++) m[i] = m[i] ? 0 : 1;
  return m;
}

/** The integer pixel box of a fraction rectangle in a `size` image (at least one pixel). */
export function pixelBox(size: number, rect: FractionRect): PixelBox {
  const x0 = Math.min(size - 1, Math.max(0, Math.round(rect[0] * size)));
  const y0 = Math.min(size - 1, Math.max(0, Math.round(rect[1] * size)));
  const x1 = Math.max(x0 + 1, Math.min(size, Math.round(rect[2] * size)));
  const y1 = Math.max(y0 + 1, Math.min(size, Math.round(rect[3] * size)));
  return { x0, y0, x1, y1 };
}

/** Checks a crop is a square RGB24 image. */
export function checkCrop(name: string, crop: unknown): asserts crop is CanonicalCrop {
  const c = crop as Partial<CanonicalCrop> | undefined;
  const ok =
    c !== null &&
    typeof c === 'object' &&
    c.data instanceof Uint8Array &&
    Number.isInteger(c.width) &&
    Number.isInteger(c.height) &&
    c.width! > 0 &&
    c.width === c.height &&
    c.data.length === c.width! * c.height! * 3;
  if (!ok) {
    const shown = c && typeof c === 'object' ? `{ width: ${c.width}, height: ${c.height}, data: ${c.data?.constructor?.name}(${c.data?.length}) }` : String(c);
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a square RGB24 crop { data: Uint8Array(w*h*3), width, height } for ${name} but received ${shown}`, {
      details: { option: name },
    });
  }
}

/** Bicubic resize of a square RGB24 image to `size` (returned as is when already that size). */
export function resizeSquare(img: CanonicalCrop, size: number): CanonicalCrop {
  if (img.width === size && img.height === size) return img;
  const s = img.width / size;
  return { data: warpAffineBicubic(img, [s, 0, 0, 0, s, 0], size, size), width: size, height: size };
}

/** Bicubic resample of the `box` region of `img` to a `size` x `size` image. */
export function extractRegion(img: CanonicalCrop, box: PixelBox, size: number): CanonicalCrop {
  const sx = (box.x1 - box.x0) / size;
  const sy = (box.y1 - box.y0) / size;
  return { data: warpAffineBicubic(img, [sx, 0, box.x0, 0, sy, box.y0], size, size), width: size, height: size };
}

/** Resamples `patch` onto the `box` region of `dst` (in place). */
export function pasteRegion(dst: CanonicalCrop, patch: CanonicalCrop, box: PixelBox): void {
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  const scaled = warpAffineBicubic(patch, [patch.width / w, 0, 0, 0, patch.height / h, 0], w, h);
  for (let y = 0; y < h; y++) {
    dst.data.set(scaled.subarray(y * w * 3, (y + 1) * w * 3), ((box.y0 + y) * dst.width + box.x0) * 3);
  }
}

/**
 * Writes an RGB24 `size` x `size` image as tensor values at `offset` (one image: 3 * size^2
 * values). Where `mask[p]` is non-zero the pixel's three values are `fill` instead.
 */
export function writeImage(src: Uint8Array, fmt: TensorImageFormat, dst: Float32Array, offset: number, mask?: Uint8Array, fill = 0): void {
  const n = fmt.size * fmt.size;
  const [lo, hi] = fmt.range;
  const k = (hi - lo) / 255;
  const bgr = fmt.channelOrder === 'bgr';
  if (fmt.layout === 'channels-first') {
    const c0 = offset + (bgr ? 2 : 0) * n;
    const c1 = offset + n;
    const c2 = offset + (bgr ? 0 : 2) * n;
    for (let p = 0, q = 0; p < n; p++, q += 3) {
      if (mask && mask[p]) {
        dst[c0 + p] = fill;
        dst[c1 + p] = fill;
        dst[c2 + p] = fill;
      } else {
        dst[c0 + p] = lo + k * src[q]!;
        dst[c1 + p] = lo + k * src[q + 1]!;
        dst[c2 + p] = lo + k * src[q + 2]!;
      }
    }
  } else {
    const r = bgr ? 2 : 0;
    const b = bgr ? 0 : 2;
    for (let p = 0, q = 0; p < n; p++, q += 3) {
      const o = offset + q;
      if (mask && mask[p]) {
        dst[o] = fill;
        dst[o + 1] = fill;
        dst[o + 2] = fill;
      } else {
        dst[o + r] = lo + k * src[q]!;
        dst[o + 1] = lo + k * src[q + 1]!;
        dst[o + b] = lo + k * src[q + 2]!;
      }
    }
  }
}

/** Reads one tensor image at `offset` back to RGB24 (values mapped from `fmt.range`, clamped, rounded). */
export function readImage(src: ArrayLike<number>, offset: number, fmt: TensorImageFormat, dst?: Uint8Array): Uint8Array {
  const n = fmt.size * fmt.size;
  const out = dst ?? new Uint8Array(n * 3);
  const [lo, hi] = fmt.range;
  const k = 255 / (hi - lo);
  const bgr = fmt.channelOrder === 'bgr';
  const px = (v: number): number => {
    const x = (v - lo) * k;
    // NaN (a broken model) becomes 0 rather than poisoning the frame silently as garbage.
    return x >= 255 ? 255 : x > 0 ? Math.round(x) : 0;
  };
  if (fmt.layout === 'channels-first') {
    const c0 = offset + (bgr ? 2 : 0) * n;
    const c1 = offset + n;
    const c2 = offset + (bgr ? 0 : 2) * n;
    for (let p = 0, q = 0; p < n; p++, q += 3) {
      out[q] = px(src[c0 + p]!);
      out[q + 1] = px(src[c1 + p]!);
      out[q + 2] = px(src[c2 + p]!);
    }
  } else {
    const r = bgr ? 2 : 0;
    const b = bgr ? 0 : 2;
    for (let p = 0, q = 0; p < n; p++, q += 3) {
      const o = offset + q;
      out[q] = px(src[o + r]!);
      out[q + 1] = px(src[o + 1]!);
      out[q + 2] = px(src[o + b]!);
    }
  }
  return out;
}

/**
 * Writes one audio window (band-major `bands x frames`, as `LipsyncInputFrame.audio`) at
 * `offset`, transposed for a `frames-bands` model; `undefined` writes silence.
 */
export function writeAudio(
  src: Float32Array | undefined,
  bands: number,
  frames: number,
  layout: 'bands-frames' | 'frames-bands',
  silence: number,
  dst: Float32Array,
  offset: number,
): void {
  const n = bands * frames;
  if (!src) {
    dst.fill(silence, offset, offset + n);
  } else if (layout === 'bands-frames') {
    dst.set(src, offset);
  } else {
    for (let m = 0; m < bands; m++) for (let k = 0; k < frames; k++) dst[offset + k * bands + m] = src[m * frames + k]!;
  }
}

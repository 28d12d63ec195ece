import { warpAffineBicubic } from '../canonical/warp.js';
import { AvdubError, ErrorCode } from '../errors.js';
import { composeAffine, invertAffine, type Affine, type RgbImage } from '../face/image.js';
import { is } from '../util/validate.js';
import { reinhardTransfer } from './color.js';
import { yuvCoefficients, yuvToRgb, type YuvImage, type YuvMatrix } from '../media/yuv.js';

export interface RendererOptions {
  /**
   * Match the generated mouth's colour statistics to the original frame's in the same region
   * (Reinhard, 003 s3.3). Helps when the generated crop comes from a different lighting.
   * @default false
   */
  colorTransfer?: boolean;
}

export const defaultRendererOptions: Required<RendererOptions> = { colorTransfer: false };

/** The frame rectangle a render touched (pixels outside it are unchanged). */
export interface RenderBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Pastes generated canonical crops back into full-resolution frames (001 s5): inverse affine
 * with bicubic resampling, a Gaussian-feathered polygon mask, and an alpha blend. Only the
 * mask's bounding box in the frame is touched; every pixel where the mask is 0 stays
 * bit-identical to the input (tested).
 */
export class Renderer {
  readonly options: Required<RendererOptions>;
  private warped = new Uint8Array(0);
  private original = new Uint8Array(0);
  private alpha = new Float32Array(0);

  constructor(options: RendererOptions = {}) {
    this.options = { ...defaultRendererOptions, ...options };
  }

  /**
   * Composites `generated` into `frame` in place.
   * @param cropToFrame maps crop pixel coordinates to frame pixel coordinates (the
   *   canonicalizer's inverse transform).
   * @param mask alpha in crop space, one float in [0, 1] per crop pixel (see `featheredPolygonMask`).
   * @param opacity scales the mask, for cross-fades at the edges of a track.
   * @returns the touched box, or null when nothing was visible.
   */
  render(frame: RgbImage, generated: RgbImage, cropToFrame: Affine, mask: Float32Array, opacity = 1): RenderBox | null {
    is.number('opacity', opacity, 0, 1);
    if (mask.length !== generated.width * generated.height) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a mask of ${generated.width * generated.height} values but received ${mask.length}`);
    }
    if (opacity === 0) return null;
    const box = supportBox(mask, generated.width, generated.height, cropToFrame, frame.width, frame.height, false);
    if (!box) return null;
    const { x: bx, y: by, width: bw, height: bh } = box;
    const ex = bx + bw;
    const frameToCrop = invertAffine(cropToFrame);
    const n = bw * bh;
    if (this.warped.length < n * 3) {
      this.warped = new Uint8Array(n * 3);
      this.original = new Uint8Array(n * 3);
      this.alpha = new Float32Array(n);
    }
    const warped = this.warped.subarray(0, n * 3);
    const alpha = this.alpha.subarray(0, n);
    warpAffineBicubic(generated, composeAffine(frameToCrop, [1, 0, bx, 0, 1, by]), bw, bh, warped);

    const visible = maskAlphaInFrame(mask, generated.width, generated.height, frameToCrop, box, alpha, opacity);
    if (visible === 0) return null;

    const stride = frame.width * 3;
    if (this.options.colorTransfer) {
      const original = this.original.subarray(0, n * 3);
      for (let v = 0; v < bh; v++) original.set(frame.data.subarray((by + v) * stride + bx * 3, (by + v) * stride + ex * 3), v * bw * 3);
      reinhardTransfer(warped, original, alpha);
    }
    const out = frame.data;
    for (let v = 0; v < bh; v++) {
      let o = (by + v) * stride + bx * 3;
      for (let u = 0; u < bw; u++, o += 3) {
        const al = alpha[v * bw + u]!;
        if (al <= 0) continue; // outside the support: leave the pixel exactly as it was
        const w = (v * bw + u) * 3;
        for (let k = 0; k < 3; k++) {
          const src = out[o + k]!;
          out[o + k] = Math.round(src + al * (warped[w + k]! - src));
        }
      }
    }
    return box;
  }

  /**
   * `render` for an I420 frame, in place: the generated crop is warped and blended as RGB would
   * be, in Y'CbCr (the blend is linear, so blending after the matrix is the same as before it):
   * luma per pixel with the pixel's alpha; chroma per 2 x 2 block, with the block's mean alpha
   * and the alpha-weighted mean of the generated chroma. Luma where the mask is 0, and chroma of
   * blocks where it is 0 at all four pixels, stay bit-identical. The box is aligned to even
   * coordinates. `matrix`: the frame's (`yuvMatrixFor`).
   */
  renderYuv(frame: YuvImage, generated: RgbImage, cropToFrame: Affine, mask: Float32Array, opacity: number, matrix: YuvMatrix): RenderBox | null {
    is.number('opacity', opacity, 0, 1);
    if (mask.length !== generated.width * generated.height) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a mask of ${generated.width * generated.height} values but received ${mask.length}`);
    }
    if (opacity === 0) return null;
    const box = supportBox(mask, generated.width, generated.height, cropToFrame, frame.width, frame.height, true);
    if (!box) return null;
    const { x: bx, y: by, width: bw, height: bh } = box;
    const frameToCrop = invertAffine(cropToFrame);
    const n = bw * bh;
    if (this.warped.length < n * 3) {
      this.warped = new Uint8Array(n * 3);
      this.original = new Uint8Array(n * 3);
      this.alpha = new Float32Array(n);
    }
    const warped = this.warped.subarray(0, n * 3);
    const alpha = this.alpha.subarray(0, n);
    warpAffineBicubic(generated, composeAffine(frameToCrop, [1, 0, bx, 0, 1, by]), bw, bh, warped);
    const visible = maskAlphaInFrame(mask, generated.width, generated.height, frameToCrop, box, alpha, opacity);
    if (visible === 0) return null;
    if (this.options.colorTransfer) reinhardTransfer(warped, yuvToRgb(frame, matrix, box, this.original), alpha);

    const c = yuvCoefficients(matrix);
    const { width: W, height: H, data } = frame;
    for (let v = 0; v < bh; v++) {
      const row = (by + v) * W + bx;
      for (let u = 0; u < bw; u++) {
        const al = alpha[v * bw + u]!;
        if (al <= 0) continue; // outside the support: leave the sample exactly as it was
        const w = (v * bw + u) * 3;
        const yg = c.yOff + (c.kr * warped[w]! + c.kg * warped[w + 1]! + c.kb * warped[w + 2]!) / c.yScale;
        const src = data[row + u]!;
        const val = src + al * (yg - src);
        data[row + u] = val <= 0 ? 0 : val >= 255 ? 255 : Math.round(val);
      }
    }
    const cw = W >> 1;
    const uOff = W * H;
    const vOff = uOff + cw * (H >> 1);
    for (let j = 0; j < bh >> 1; j++) {
      for (let i = 0; i < bw >> 1; i++) {
        let sa = 0;
        let su = 0;
        let sv = 0;
        for (let k = 0; k < 4; k++) {
          const p = (2 * j + (k >> 1)) * bw + 2 * i + (k & 1);
          const al = alpha[p]!;
          if (al <= 0) continue;
          const w = p * 3;
          const r = warped[w]!;
          const b = warped[w + 2]!;
          const l = c.kr * r + c.kg * warped[w + 1]! + c.kb * b;
          sa += al;
          su += al * (b - l) * c.uScale;
          sv += al * (r - l) * c.vScale;
        }
        if (sa <= 0) continue;
        const q = ((by >> 1) + j) * cw + (bx >> 1) + i;
        const m = sa / 4;
        const u0 = data[uOff + q]!;
        const v0 = data[vOff + q]!;
        const nu = u0 + m * (128 + su / sa - u0);
        const nv = v0 + m * (128 + sv / sa - v0);
        data[uOff + q] = nu <= 0 ? 0 : nu >= 255 ? 255 : Math.round(nu);
        data[vOff + q] = nv <= 0 ? 0 : nv >= 255 ? 255 : Math.round(nv);
      }
    }
    return box;
  }
}

/**
 * Bounding box in the frame of the mask's support in crop space (clipped to the frame), or null
 * when nothing of it is inside. `even`: grown to even coordinates, for 4:2:0 chroma blocks.
 */
function supportBox(mask: Float32Array, cw: number, ch: number, cropToFrame: Affine, fw: number, fh: number, even: boolean): RenderBox | null {
  // Bounding box of the mask's support in crop space, mapped to the frame.
  let mx0 = cw;
  let my0 = ch;
  let mx1 = -1;
  let my1 = -1;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      if (mask[y * cw + x]! > 0) {
        if (x < mx0) mx0 = x;
        if (x > mx1) mx1 = x;
        if (y < my0) my0 = y;
        if (y > my1) my1 = y;
      }
    }
  }
  if (mx1 < 0) return null;
  const corners = [
    [mx0, my0],
    [mx1 + 1, my0],
    [mx0, my1 + 1],
    [mx1 + 1, my1 + 1],
  ].map(([x, y]) => [cropToFrame[0] * x! + cropToFrame[1] * y! + cropToFrame[2], cropToFrame[3] * x! + cropToFrame[4] * y! + cropToFrame[5]]);
  // One pixel of margin: the bilinear mask lookup reaches half a crop pixel past the support.
  const scale = Math.hypot(cropToFrame[0], cropToFrame[3]);
  const margin = Math.ceil(scale) + 1;
  const bx = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0]!))) - margin);
  const by = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1]!))) - margin);
  const ex = Math.min(fw, Math.ceil(Math.max(...corners.map((c) => c[0]!))) + margin);
  const ey = Math.min(fh, Math.ceil(Math.max(...corners.map((c) => c[1]!))) + margin);
  const bw = ex - bx;
  const bh = ey - by;
  if (bw <= 0 || bh <= 0) return null;
  if (even) {
    const x0 = bx & ~1;
    const y0 = by & ~1;
    return { x: x0, y: y0, width: Math.min(fw, ex + (ex & 1)) - x0, height: Math.min(fh, ey + (ey & 1)) - y0 };
  }
  return { x: bx, y: by, width: bw, height: bh };
}

/**
 * The crop-space mask seen from the frame: for each pixel of `box`, the mask sampled bilinearly
 * at the pixel centre mapped into the crop (0 outside the crop), times `opacity`. Returns how many
 * pixels are non-zero. The renderer blends with it; the evaluation uses its support to check that
 * nothing outside it changed, so both must use this one definition.
 */
export function maskAlphaInFrame(
  mask: Float32Array,
  cw: number,
  ch: number,
  frameToCrop: Affine,
  box: RenderBox,
  out: Float32Array,
  opacity = 1,
): number {
  const [a, b, c, d, e, f] = frameToCrop;
  const m = (x: number, y: number): number => (x < 0 || y < 0 || x >= cw || y >= ch ? 0 : mask[y * cw + x]!);
  let visible = 0;
  for (let v = 0; v < box.height; v++) {
    const fy = box.y + v + 0.5;
    for (let u = 0; u < box.width; u++) {
      const fx = box.x + u + 0.5;
      const sx = a * fx + b * fy + c - 0.5;
      const sy = d * fx + e * fy + f - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const tx = sx - x0;
      const ty = sy - y0;
      let val: number;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < cw && y0 + 1 < ch) {
        const p = y0 * cw + x0;
        val = (1 - ty) * ((1 - tx) * mask[p]! + tx * mask[p + 1]!) + ty * ((1 - tx) * mask[p + cw]! + tx * mask[p + cw + 1]!);
      } else {
        val = (1 - ty) * ((1 - tx) * m(x0, y0) + tx * m(x0 + 1, y0)) + ty * ((1 - tx) * m(x0, y0 + 1) + tx * m(x0 + 1, y0 + 1));
      }
      const al = val * opacity;
      out[v * box.width + u] = al;
      if (al > 0) visible++;
    }
  }
  return visible;
}

import { warpAffineBicubic } from '../canonical/warp.js';
import { AvdubError, ErrorCode } from '../errors.js';
import { composeAffine, invertAffine, type Affine, type RgbImage } from '../face/image.js';
import { is } from '../util/validate.js';
import { reinhardTransfer } from './color.js';

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
    const cw = generated.width;
    const ch = generated.height;
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
    const ex = Math.min(frame.width, Math.ceil(Math.max(...corners.map((c) => c[0]!))) + margin);
    const ey = Math.min(frame.height, Math.ceil(Math.max(...corners.map((c) => c[1]!))) + margin);
    const bw = ex - bx;
    const bh = ey - by;
    if (bw <= 0 || bh <= 0) return null;

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

    const visible = maskAlphaInFrame(mask, cw, ch, frameToCrop, { x: bx, y: by, width: bw, height: bh }, alpha, opacity);
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
    return { x: bx, y: by, width: bw, height: bh };
  }
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
      const val = (1 - ty) * ((1 - tx) * m(x0, y0) + tx * m(x0 + 1, y0)) + ty * ((1 - tx) * m(x0, y0 + 1) + tx * m(x0 + 1, y0 + 1));
      const al = val * opacity;
      out[v * box.width + u] = al;
      if (al > 0) visible++;
    }
  }
  return visible;
}

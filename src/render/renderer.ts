import { warpAffineBicubic, warpPlaneBicubic } from '../canonical/warp.js';
import { AvdubError, ErrorCode } from '../errors.js';
import { composeAffine, invertAffine, type Affine, type RgbImage } from '../face/image.js';
import { is } from '../util/validate.js';
import { reinhardTransfer } from './color.js';
import { clamp8, yuvCoefficients, yuvToRgb, type YuvImage, type YuvMatrix } from '../media/yuv.js';

export interface RendererOptions {
  /**
   * Match the generated mouth's colour statistics to the original frame's in the same region
   * (Reinhard, 003 s3.3). Helps when the generated crop comes from a different lighting.
   * @default false
   */
  colorTransfer?: boolean;
  /**
   * The generated crops' pixels never change once rendered (a patch model's bank crops): their
   * Y'CbCr conversion is then kept per buffer (a WeakMap by identity) and reused whenever the
   * same crop comes again, as a personalized model's bank entries do across a video. Leave it
   * off when a buffer may be refilled with other pixels. @default false
   */
  cacheCrops?: boolean;
}

export const defaultRendererOptions: Required<RendererOptions> = { colorTransfer: false, cacheCrops: false };

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
  private planes = { y: new Uint8Array(0), u: new Uint8Array(0), v: new Uint8Array(0), blockAlpha: new Float32Array(0) };
  private cropPlanes?: { y: Uint8Array; u: Uint8Array; v: Uint8Array };
  private readonly converted = new WeakMap<Uint8Array, { y: Uint8Array; u: Uint8Array; v: Uint8Array; matrix: YuvMatrix }>();
  private readonly scratch = { buffer: new Float32Array(0) };

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
    const p = this.patchYuv(generated, cropToFrame, mask, opacity, matrix, frame, this.options.colorTransfer ? frame : undefined);
    if (!p) return null;
    const { x: bx, y: by, width: bw, height: bh } = p.box;
    const { width: W, height: H, data } = frame;
    for (let v = 0; v < bh; v++) {
      const row = (by + v) * W + bx;
      for (let u = 0; u < bw; u++) {
        const al = p.alpha[v * bw + u]!;
        if (al <= 0) continue; // outside the support: leave the sample exactly as it was
        const src = data[row + u]!;
        const val = src + al * (p.y[v * bw + u]! - src);
        data[row + u] = clamp8(val);
      }
    }
    const cw = W >> 1;
    const uOff = W * H;
    const vOff = uOff + cw * (H >> 1);
    const hw = bw >> 1;
    for (let j = 0; j < bh >> 1; j++) {
      for (let i = 0; i < hw; i++) {
        const m = p.blockAlpha[j * hw + i]!;
        if (m <= 0) continue;
        const q = ((by >> 1) + j) * cw + (bx >> 1) + i;
        const u0 = data[uOff + q]!;
        const v0 = data[vOff + q]!;
        const nu = u0 + m * (p.u[j * hw + i]! - u0);
        const nv = v0 + m * (p.v[j * hw + i]! - v0);
        data[uOff + q] = clamp8(nu);
        data[vOff + q] = clamp8(nv);
      }
    }
    return p.box;
  }

  /**
   * The same render as an 8-bit yuva420p patch for ffmpeg's overlay filter, written at the top
   * left of `canvas` (`canvasWidth x canvasHeight`, planes Y, U, V, A): luma and chroma are the
   * generated crop's, alpha is the mask's (x 255; the overlay takes a chroma block's alpha as the
   * mean of its four). The canvas's alpha is 0 elsewhere. `box` is the frame rectangle the patch
   * covers (even, at most the canvas's size; the overlay goes at its corner); it must hold the
   * mask's whole support (`frameBoxOfCropRect` gives such a box). Returns false when nothing
   * is visible (the canvas is then fully transparent).
   */
  renderYuvaPatch(
    canvas: Uint8Array,
    canvasWidth: number,
    canvasHeight: number,
    box: RenderBox,
    generated: RgbImage,
    cropToFrame: Affine,
    mask: Float32Array,
    opacity: number,
    matrix: YuvMatrix,
  ): boolean {
    const area = canvasWidth * canvasHeight;
    const aOff = (area * 3) / 2;
    if (canvas.length !== (area * 5) / 2) throw new RangeError(`Expected a ${canvasWidth}x${canvasHeight} yuva420p canvas of ${(area * 5) / 2} bytes but received ${canvas.length}`);
    if (box.width > canvasWidth || box.height > canvasHeight || (box.x | box.y | box.width | box.height) % 2) throw new RangeError('The box must be even-aligned and fit the canvas');
    canvas.fill(0, aOff);
    const p = this.patchYuv(generated, cropToFrame, mask, opacity, matrix, undefined, undefined, box);
    if (!p) return false;
    const { width: bw, height: bh } = p.box;
    // The planes are 8-bit already: rows are copied; alpha is scaled to 0-255.
    for (let v = 0; v < bh; v++) {
      const k0 = v * bw;
      const o0 = v * canvasWidth;
      canvas.set(p.y.subarray(k0, k0 + bw), o0);
      for (let u = 0; u < bw; u++) canvas[aOff + o0 + u] = Math.round(p.alpha[k0 + u]! * 255);
    }
    const hc = canvasWidth >> 1;
    const hw = bw >> 1;
    const uOff = area;
    const vOff = area + (area >> 2);
    for (let j = 0; j < bh >> 1; j++) {
      canvas.set(p.u.subarray(j * hw, (j + 1) * hw), uOff + j * hc);
      canvas.set(p.v.subarray(j * hw, (j + 1) * hw), vOff + j * hc);
    }
    return true;
  }

  /** The whole crop's Y'CbCr planes, converted once per buffer and matrix (`cacheCrops`). */
  private cropYuv(generated: RgbImage, matrix: YuvMatrix, c: ReturnType<typeof yuvCoefficients>): { y: Uint8Array; u: Uint8Array; v: Uint8Array } {
    const hit = this.converted.get(generated.data);
    if (hit && hit.matrix === matrix) return hit;
    const n = generated.width * generated.height;
    const planes = { y: new Uint8Array(n), u: new Uint8Array(n), v: new Uint8Array(n), matrix };
    rgbToYuvPlanes(generated.data, generated.width, { x0: 0, y0: 0, x1: generated.width, y1: generated.height }, c, planes);
    this.converted.set(generated.data, planes);
    return planes;
  }

  /**
   * The generated crop over a frame box in Y'CbCr, with the alpha to blend it by: luma and alpha
   * per pixel, chroma and the mean alpha per 2 x 2 block. The crop is converted to Y'CbCr at its
   * own resolution first, and each plane is warped (bicubic) straight to its grid in the frame:
   * luma to the box's pixels, chroma to its blocks' centres. That is half the taps of warping RGB
   * to every pixel and converting there (the blend is linear, so blending after the matrix is
   * the same as before it). With colour transfer (which works in RGB) the crop is warped as RGB
   * and converted per pixel, chroma as the block's alpha-weighted mean. `box` defaults to the
   * mask's support (`supportBox`, even-aligned) in a `bounds`-sized frame. Null when nothing is
   * visible. The arrays are reused by the next call.
   */
  private patchYuv(
    generated: RgbImage,
    cropToFrame: Affine,
    mask: Float32Array,
    opacity: number,
    matrix: YuvMatrix,
    bounds?: { width: number; height: number },
    colorFrom?: YuvImage,
    given?: RenderBox,
  ): { box: RenderBox; y: Uint8Array; alpha: Float32Array; u: Uint8Array; v: Uint8Array; blockAlpha: Float32Array } | null {
    is.number('opacity', opacity, 0, 1);
    const { width: cw, height: ch } = generated;
    if (mask.length !== cw * ch) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a mask of ${cw * ch} values but received ${mask.length}`);
    }
    if (opacity === 0) return null;
    const box = given ?? supportBox(mask, cw, ch, cropToFrame, bounds!.width, bounds!.height, true);
    if (!box) return null;
    const { x: bx, y: by, width: bw, height: bh } = box;
    const frameToCrop = invertAffine(cropToFrame);
    const n = bw * bh;
    const hw = bw >> 1;
    const nb = hw * (bh >> 1);
    if (this.alpha.length < n) {
      this.alpha = new Float32Array(n);
      this.planes = { y: new Uint8Array(n), u: new Uint8Array(n >> 2), v: new Uint8Array(n >> 2), blockAlpha: new Float32Array(n >> 2) };
    }
    const alpha = this.alpha.subarray(0, n);
    const visible = maskAlphaInFrame(mask, cw, ch, frameToCrop, box, alpha, opacity);
    if (visible === 0) return null;
    const y = this.planes.y.subarray(0, n);
    const pu = this.planes.u.subarray(0, nb);
    const pv = this.planes.v.subarray(0, nb);
    const blockAlpha = this.planes.blockAlpha.subarray(0, nb);
    for (let j = 0; j < bh >> 1; j++) {
      for (let i = 0; i < hw; i++) {
        const p = 2 * j * bw + 2 * i;
        blockAlpha[j * hw + i] = (alpha[p]! + alpha[p + 1]! + alpha[p + bw]! + alpha[p + bw + 1]!) / 4;
      }
    }
    const c = yuvCoefficients(matrix);
    const toBox = composeAffine(frameToCrop, [1, 0, bx, 0, 1, by]);
    if (!colorFrom) {
      const cached = this.options.cacheCrops ? this.cropYuv(generated, matrix, c) : undefined;
      // Else the crop's Y'CbCr (4:4:4) over the part of it the box samples (bicubic reach: 2 px).
      const cp = cached ?? (this.cropPlanes ??= { y: new Uint8Array(0), u: new Uint8Array(0), v: new Uint8Array(0) });
      if (cp.y.length < cw * ch) {
        cp.y = new Uint8Array(cw * ch);
        cp.u = new Uint8Array(cw * ch);
        cp.v = new Uint8Array(cw * ch);
      }
      let x0 = cw;
      let y0 = ch;
      let x1 = 0;
      let y1 = 0;
      for (const [fx, fy] of [[bx, by], [bx + bw, by], [bx, by + bh], [bx + bw, by + bh]] as const) {
        const sx = frameToCrop[0] * fx + frameToCrop[1] * fy + frameToCrop[2];
        const sy = frameToCrop[3] * fx + frameToCrop[4] * fy + frameToCrop[5];
        x0 = Math.min(x0, Math.floor(sx) - 3);
        x1 = Math.max(x1, Math.ceil(sx) + 3);
        y0 = Math.min(y0, Math.floor(sy) - 3);
        y1 = Math.max(y1, Math.ceil(sy) + 3);
      }
      if (!cached) rgbToYuvPlanes(generated.data, cw, { x0: Math.max(0, x0), y0: Math.max(0, y0), x1: Math.min(cw, x1), y1: Math.min(ch, y1) }, c, cp);
      warpPlaneBicubic({ data: cp.y, offset: 0, width: cw, height: ch }, toBox, bw, bh, y, this.scratch);
      // Block (i, j) is centred on frame pixel (bx + 2i + 1, by + 2j + 1).
      const toBlocks = composeAffine(frameToCrop, [2, 0, bx, 0, 2, by]);
      warpPlaneBicubic({ data: cp.u, offset: 0, width: cw, height: ch }, toBlocks, hw, bh >> 1, pu, this.scratch);
      warpPlaneBicubic({ data: cp.v, offset: 0, width: cw, height: ch }, toBlocks, hw, bh >> 1, pv, this.scratch);
      return { box, y, alpha, u: pu, v: pv, blockAlpha };
    }
    if (this.warped.length < n * 3) {
      this.warped = new Uint8Array(n * 3);
      this.original = new Uint8Array(n * 3);
    }
    const warped = this.warped.subarray(0, n * 3);
    warpAffineBicubic(generated, toBox, bw, bh, warped);
    reinhardTransfer(warped, yuvToRgb(colorFrom, matrix, box, this.original), alpha);
    for (let k = 0; k < n; k++) {
      const w = k * 3;
      y[k] = clamp8(c.yOff + (c.kr * warped[w]! + c.kg * warped[w + 1]! + c.kb * warped[w + 2]!) / c.yScale);
    }
    for (let j = 0; j < bh >> 1; j++) {
      for (let i = 0; i < hw; i++) {
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
        const q = j * hw + i;
        pu[q] = sa > 0 ? clamp8(128 + su / sa) : 128;
        pv[q] = sa > 0 ? clamp8(128 + sv / sa) : 128;
      }
    }
    return { box, y, alpha, u: pu, v: pv, blockAlpha };
  }
}

/** Y'CbCr (4:4:4, 8-bit) of an RGB24 image's rectangle [x0, x1) x [y0, y1), into full-size planes. */
function rgbToYuvPlanes(
  rgb: Uint8Array,
  width: number,
  r: { x0: number; y0: number; x1: number; y1: number },
  c: ReturnType<typeof yuvCoefficients>,
  out: { y: Uint8Array; u: Uint8Array; v: Uint8Array },
): void {
  for (let yy = r.y0; yy < r.y1; yy++) {
    for (let xx = r.x0; xx < r.x1; xx++) {
      const q = yy * width + xx;
      const red = rgb[3 * q]!;
      const blue = rgb[3 * q + 2]!;
      const l = c.kr * red + c.kg * rgb[3 * q + 1]! + c.kb * blue;
      const yv = c.yOff + l / c.yScale;
      const uv = 128 + (blue - l) * c.uScale;
      const vv = 128 + (red - l) * c.vScale;
      out.y[q] = clamp8(yv);
      out.u[q] = clamp8(uv);
      out.v[q] = clamp8(vv);
    }
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
  return frameBoxOfCropRect({ x0: mx0, y0: my0, x1: mx1 + 1, y1: my1 + 1 }, cropToFrame, fw, fh, even);
}

/**
 * The frame box (clipped to the frame; `even`: grown to even coordinates) that holds every pixel
 * a crop-space rectangle [x0, x1) x [y0, y1) (crop pixels) can reach through `cropToFrame`, with
 * the margin of the renderer's bilinear mask lookup. The render of a mask whose support lies in
 * the rectangle touches nothing outside it: the ffmpeg compositor sizes and places its patches
 * with it before any mask is rasterised.
 */
export function frameBoxOfCropRect(
  rect: { x0: number; y0: number; x1: number; y1: number },
  cropToFrame: Affine,
  fw: number,
  fh: number,
  even: boolean,
): RenderBox | null {
  const { x0: mx0, y0: my0, x1: mx1, y1: my1 } = rect;
  const corners = [
    [mx0, my0],
    [mx1, my0],
    [mx0, my1],
    [mx1, my1],
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

import { AvdubError, ErrorCode } from '../errors.js';
import { applyAffine, invertAffine, type Affine, type FaceImage, type RgbImage } from '../face/image.js';
import { MESH_POINT_COUNT } from '../face/landmarks.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import { is } from '../util/validate.js';
import { mouthMask, mouthMaskRect, renderPolygon, trainingPolygon, type PixelRect } from './masks.js';
import { fitSimilarity, similarityToAffine, type Similarity } from './procrustes.js';
import { CANONICAL_TEMPLATE, type FaceTemplate } from './template.js';
import { warpAffineBicubic, warpPlaneBicubic } from './warp.js';
import { halfChromaToRgb, type YuvImage, type YuvMatrix } from '../media/yuv.js';

export interface FaceCanonicalizerOptions {
  /** Side of the square canonical crop in pixels (001: 256). @default 256 */
  size: number;
  /** Alignment template; its coordinates are fractions of `size`. @default CANONICAL_TEMPLATE */
  template: FaceTemplate;
}

export const defaultFaceCanonicalizerOptions: FaceCanonicalizerOptions = { size: 256, template: CANONICAL_TEMPLATE };

/** How a frame maps to its canonical crop. */
export interface CanonicalTransform {
  /** Crop side in pixels. */
  size: number;
  /** Frame pixels -> crop pixels (the similarity as a 2x3 affine). */
  toCrop: Affine;
  /** Crop pixels -> frame pixels: the inverse, for putting a generated crop back. */
  toFrame: Affine;
  similarity: Similarity;
  /** RMS distance, in crop pixels, between the aligned landmarks and the template. */
  residual: number;
}

export interface CanonicalFace {
  /** size x size RGB24. */
  crop: RgbImage;
  transform: CanonicalTransform;
}

/**
 * View canonicalization (001 s3.1.1): a least-squares similarity from the eye and nose-top
 * landmarks only to a fixed template (lip and chin landmarks never steer the crop: 001
 * s3.1.2), a bicubic crop, and its inverse for rendering.
 */
export class FaceCanonicalizer {
  readonly options: FaceCanonicalizerOptions;
  private readonly indices: Int32Array;
  private readonly target: Float64Array;
  private readonly src: Float64Array;
  private readonly scratch = { buffer: new Float32Array(0) };
  private planes?: [Uint8Array, Uint8Array, Uint8Array];

  constructor(options: DeepPartial<FaceCanonicalizerOptions> = {}) {
    const o = mergeOptions(defaultFaceCanonicalizerOptions, options as Partial<FaceCanonicalizerOptions>);
    is.integer('size', o.size, 16, 4096);
    if (!o.template || o.template.points.length < 2) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a template with at least 2 points');
    }
    for (const p of o.template.points) is.integer('template point index', p.index, 0, MESH_POINT_COUNT - 1);
    this.options = o;
    this.indices = Int32Array.from(o.template.points, (p) => p.index);
    this.target = Float64Array.from(o.template.points.flatMap((p) => [p.x * o.size, p.y * o.size]));
    this.src = new Float64Array(this.target.length);
  }

  get size(): number {
    return this.options.size;
  }

  /** The landmark indices that steer the crop. */
  get alignmentIndices(): readonly number[] {
    return Array.from(this.indices);
  }

  /** Fits the frame -> crop similarity from 468 landmarks (packed x, y, z in frame pixels). */
  transform(landmarks: ArrayLike<number>): CanonicalTransform {
    if (landmarks.length < MESH_POINT_COUNT * 3) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected ${MESH_POINT_COUNT * 3} landmark values but received ${landmarks.length}`);
    }
    const src = this.src;
    for (let k = 0; k < this.indices.length; k++) {
      const i = this.indices[k]!;
      src[2 * k] = landmarks[3 * i]!;
      src[2 * k + 1] = landmarks[3 * i + 1]!;
    }
    const similarity = fitSimilarity(src, this.target);
    const toCrop = similarityToAffine(similarity);
    let sq = 0;
    for (let k = 0; k < this.indices.length; k++) {
      const [x, y] = applyAffine(toCrop, src[2 * k]!, src[2 * k + 1]!);
      sq += (x - this.target[2 * k]!) ** 2 + (y - this.target[2 * k + 1]!) ** 2;
    }
    return { size: this.size, toCrop, toFrame: invertAffine(toCrop), similarity, residual: Math.sqrt(sq / this.indices.length) };
  }

  /** The size x size bicubic crop for a transform. `out` (RGB24) is reused when given. */
  crop(frame: RgbImage, transform: CanonicalTransform, out?: Uint8Array): RgbImage {
    const n = this.size;
    return { data: warpAffineBicubic(frame, transform.toFrame, n, n, out, this.scratch), width: n, height: n };
  }

  /**
   * The same crop straight from an I420 frame, never converting the frame as a whole: Y is
   * warped bicubically at the crop's size, U and V at half of it (chroma is half resolution in
   * the source too; each chroma sample then serves a 2 x 2 block of the crop, as in `yuvToRgb`),
   * then converted with `matrix`. Matches `crop` of the frame converted to RGB within a few levels.
   */
  cropYuv(frame: YuvImage, transform: CanonicalTransform, matrix: YuvMatrix, out?: Uint8Array): RgbImage {
    const n = this.size;
    const h = (n + 1) >> 1;
    const planes = (this.planes ??= [new Uint8Array(n * n), new Uint8Array(h * h), new Uint8Array(h * h)]);
    const { width: W, height: H, data } = frame;
    const m = transform.toFrame;
    warpPlaneBicubic({ data, offset: 0, width: W, height: H }, m, n, n, planes[0], this.scratch);
    // Half-size output pixel c sits at crop position 2c; the chroma plane at frame position / 2.
    const chroma: Affine = [m[0], m[1], m[2] / 2, m[3], m[4], m[5] / 2];
    const cw = W >> 1;
    const ch = H >> 1;
    warpPlaneBicubic({ data, offset: W * H, width: cw, height: ch }, chroma, h, h, planes[1], this.scratch);
    warpPlaneBicubic({ data, offset: W * H + cw * ch, width: cw, height: ch }, chroma, h, h, planes[2], this.scratch);
    const rgb = out ?? new Uint8Array(n * n * 3);
    return { data: halfChromaToRgb(planes[0], planes[1], planes[2], n, matrix, rgb), width: n, height: n };
  }

  /** The crop of an RGB24 frame (`crop`) or of an I420 one with its matrix (`cropYuv`). */
  cropFace(frame: FaceImage, transform: CanonicalTransform, out?: Uint8Array): RgbImage {
    return 'yuv' in frame ? this.cropYuv(frame, transform, frame.yuv, out) : this.crop(frame, transform, out);
  }

  /** transform + crop in one call (`cropFace`). */
  canonicalize(frame: FaceImage, landmarks: ArrayLike<number>, out?: Uint8Array): CanonicalFace {
    const transform = this.transform(landmarks);
    return { crop: this.cropFace(frame, transform, out), transform };
  }

  /** Landmarks in crop pixels (z scaled by the same factor). */
  toCanonical(landmarks: ArrayLike<number>, transform: CanonicalTransform, out?: Float32Array): Float32Array {
    const n = landmarks.length / 3;
    const res = out ?? new Float32Array(n * 3);
    const [a, b, c, d, e, f] = transform.toCrop;
    const s = transform.similarity.scale;
    for (let i = 0; i < n; i++) {
      const x = landmarks[3 * i]!;
      const y = landmarks[3 * i + 1]!;
      res[3 * i] = a * x + b * y + c;
      res[3 * i + 1] = d * x + e * y + f;
      res[3 * i + 2] = landmarks[3 * i + 2]! * s;
    }
    return res;
  }

  /** Crop points (packed x, y) back to frame pixels. */
  toFrame(points: ArrayLike<number>, transform: CanonicalTransform, out?: Float32Array): Float32Array {
    const n = points.length / 2;
    const res = out ?? new Float32Array(n * 2);
    const [a, b, c, d, e, f] = transform.toFrame;
    for (let i = 0; i < n; i++) {
      const x = points[2 * i]!;
      const y = points[2 * i + 1]!;
      res[2 * i] = a * x + b * y + c;
      res[2 * i + 1] = d * x + e * y + f;
    }
    return res;
  }

  /** The 001 mouth rectangle in crop pixels. */
  mouthRect(): PixelRect {
    return mouthMaskRect(this.size);
  }

  /** The mouth rectangle as a size x size mask (255 inside). */
  mouthMask(out?: Uint8Array): Uint8Array {
    return mouthMask(this.size, out);
  }

  /** Training polygon (convex hull, crop pixels) from canonical landmarks. */
  trainingPolygon(canonical: ArrayLike<number>): Float32Array {
    return trainingPolygon(canonical, this.size);
  }

  /** The slightly smaller rendering polygon (crop pixels) from canonical landmarks. */
  renderPolygon(canonical: ArrayLike<number>): Float32Array {
    return renderPolygon(canonical, this.size);
  }
}

import { AvdubError, ErrorCode } from '../errors.js';
import { loadOrt } from '../runtime/session.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import { is } from '../util/validate.js';
import { letterboxAreaResize, type FaceImage } from './image.js';
import { loadFaceModel, type FaceModelRuntimeOptions, type LoadedFaceModel } from './session.js';

/** An axis-aligned box in frame pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Point = [number, number];

/**
 * BlazeFace's six keypoints, in the order the model emits them. "Right" and "left" are the
 * subject's: the right eye appears on the image's left in an unmirrored video.
 */
export const BLAZEFACE_KEYPOINTS = Object.freeze([
  'rightEye',
  'leftEye',
  'noseTip',
  'mouthCenter',
  'rightEarTragion',
  'leftEarTragion',
] as const);

export interface FaceDetection {
  box: Box;
  /** Sigmoid confidence in [0, 1]. */
  score: number;
  /** Six keypoints in frame pixels, ordered as BLAZEFACE_KEYPOINTS. */
  keypoints: Point[];
}

export interface FaceDetectorOptions extends FaceModelRuntimeOptions {
  /**
   * Side of the square, letterboxed detector input. The packaged BlazeFace graph was exported
   * at 256 (MediaPipe's anchors at strides 16 and 32 give 16x16x2 + 8x8x6 = 896 anchors there);
   * 128 runs the same weights four times cheaper and finds faces larger than about a tenth
   * of the frame. Must be a multiple of 32.
   * @default 256
   */
  inputSize: number;
  /** Minimum confidence for a detection. @default 0.5 */
  minScore: number;
  /** Overlap (IoU) above which two detections are the same face. @default 0.3 */
  iouThreshold: number;
  /** At most this many faces per frame. @default 8 */
  maxFaces: number;
  /**
   * `weighted` blends overlapping candidates by score (MediaPipe's choice: steadier boxes);
   * `hard` keeps the best and drops the rest.
   * @default 'weighted'
   */
  nms: 'weighted' | 'hard';
}

export const defaultFaceDetectorOptions: FaceDetectorOptions = {
  inputSize: 256,
  minScore: 0.5,
  iouThreshold: 0.3,
  maxFaces: 8,
  nms: 'weighted',
};

/** MediaPipe BlazeFace anchor layout: strides and anchors per cell. */
export const BLAZEFACE_ANCHOR_SPEC = Object.freeze({ strides: [16, 32], anchorsPerCell: [2, 6] });

/**
 * Anchor centres in input pixels, [x0, y0, x1, y1, ...], in the order of the model's outputs
 * (stride 16 first, row-major, anchors of a cell adjacent). 896 for a 256-pixel input.
 */
export function generateAnchors(inputSize: number, spec = BLAZEFACE_ANCHOR_SPEC): Float32Array {
  const out: number[] = [];
  spec.strides.forEach((stride, i) => {
    const cells = Math.ceil(inputSize / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let n = 0; n < spec.anchorsPerCell[i]!; n++) out.push(stride * (x + 0.5), stride * (y + 0.5));
      }
    }
  });
  return Float32Array.from(out);
}

/** Intersection over union of two boxes. */
export function iou(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Non-maximum suppression. Candidates are taken best first; each one absorbs every remaining
 * candidate overlapping it by more than `threshold`. `weighted` returns the score-weighted
 * mean box and keypoints of each group (the group's best score), `hard` the best member.
 */
export function nonMaxSuppression(
  candidates: FaceDetection[],
  threshold: number,
  mode: 'weighted' | 'hard' = 'weighted',
  maxOut = Infinity,
): FaceDetection[] {
  const rest = [...candidates].sort((a, b) => b.score - a.score);
  const out: FaceDetection[] = [];
  while (rest.length && out.length < maxOut) {
    const best = rest[0]!;
    const group: FaceDetection[] = [];
    for (let i = rest.length - 1; i >= 0; i--) {
      if (i === 0 || iou(best.box, rest[i]!.box) > threshold) group.push(...rest.splice(i, 1));
    }
    if (mode === 'hard' || group.length === 1) {
      out.push(best);
      continue;
    }
    let w = 0;
    const box = { x: 0, y: 0, width: 0, height: 0 };
    const kps = best.keypoints.map((): Point => [0, 0]);
    for (const d of group) {
      w += d.score;
      box.x += d.score * d.box.x;
      box.y += d.score * d.box.y;
      box.width += d.score * d.box.width;
      box.height += d.score * d.box.height;
      d.keypoints.forEach((k, j) => {
        kps[j]![0] += d.score * k[0];
        kps[j]![1] += d.score * k[1];
      });
    }
    out.push({
      score: best.score,
      box: { x: box.x / w, y: box.y / w, width: box.width / w, height: box.height / w },
      keypoints: kps.map(([x, y]): Point => [x / w, y / w]),
    });
  }
  return out;
}

/**
 * Decodes BlazeFace outputs into candidate detections in input pixels. `regressors` holds 16
 * values per anchor: box centre offset (x, y), box size (w, h), then 6 keypoint offsets, all
 * in input pixels relative to the anchor centre.
 */
export function decodeDetections(logits: Float32Array, regressors: Float32Array, anchors: Float32Array, minScore: number): FaceDetection[] {
  const n = anchors.length / 2;
  if (logits.length !== n || regressors.length !== n * 16) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `BlazeFace output sizes ${logits.length}/${regressors.length} do not match ${n} anchors`);
  }
  // sigmoid(x) >= minScore  <=>  x >= logit(minScore): skip the exp for most anchors.
  const minLogit = Math.log(minScore / (1 - minScore));
  const out: FaceDetection[] = [];
  for (let i = 0; i < n; i++) {
    const l = logits[i]!;
    if (!(l >= minLogit)) continue;
    const ax = anchors[2 * i]!;
    const ay = anchors[2 * i + 1]!;
    const r = i * 16;
    const cx = ax + regressors[r]!;
    const cy = ay + regressors[r + 1]!;
    const w = regressors[r + 2]!;
    const h = regressors[r + 3]!;
    const keypoints: Point[] = [];
    for (let k = 0; k < 6; k++) keypoints.push([ax + regressors[r + 4 + 2 * k]!, ay + regressors[r + 5 + 2 * k]!]);
    out.push({
      score: 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, l)))),
      box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h },
      keypoints,
    });
  }
  return out;
}

/**
 * BlazeFace face detector (MediaPipe, converted from the TF.js graph in `@vladmandic/human`).
 * One call letterboxes the frame into the model input with an area filter, runs the model,
 * decodes the 896 anchors and merges overlapping candidates.
 */
export class FaceDetector {
  readonly options: FaceDetectorOptions;
  readonly anchors: Float32Array;
  private readonly input: Float32Array;

  private constructor(
    private readonly loaded: LoadedFaceModel,
    options: FaceDetectorOptions,
  ) {
    this.options = options;
    this.anchors = generateAnchors(options.inputSize);
    this.input = new Float32Array(3 * options.inputSize * options.inputSize);
  }

  static async create(options: DeepPartial<FaceDetectorOptions> = {}): Promise<FaceDetector> {
    const o = mergeOptions(defaultFaceDetectorOptions, options);
    is.integer('inputSize', o.inputSize, 32, 1024);
    if (o.inputSize % 32) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a multiple of 32 for inputSize but received ${o.inputSize}`);
    is.number('minScore', o.minScore, 0.001, 0.999);
    is.number('iouThreshold', o.iouThreshold, 0, 1);
    is.integer('maxFaces', o.maxFaces, 1, 100);
    is.oneOf('nms', o.nms, ['weighted', 'hard']);
    const loaded = await loadFaceModel('blazeface', o);
    return new FaceDetector(loaded, o);
  }

  /** Where the model runs (after any `auto` fallback). */
  get device(): string {
    return this.loaded.device;
  }

  /** Detects faces in a frame (RGB24, or I420 with its matrix); coordinates are frame pixels. */
  async detect(frame: FaceImage): Promise<FaceDetection[]> {
    const size = this.options.inputSize;
    const lb = letterboxAreaResize(frame, size, this.input, 2 / 255, -1);
    const ort = await loadOrt();
    const [inName] = this.loaded.model.inputs.map((i) => i.name);
    const feeds = { [inName!]: new ort.Tensor('float32', this.input, [1, 3, size, size]) };
    const res = await this.loaded.session.run(feeds);
    // Two heads per stride: scores [1, n, 1] and regressors [1, n, 16]. The stride-16 head
    // always has more anchors (s^2/128 against s^2/171), so sorting by count restores the
    // anchor order.
    const outs = Object.values(res).map((t) => ({ data: t.data as Float32Array, dims: t.dims }));
    const byCount = (a: { dims: readonly number[] }, b: { dims: readonly number[] }): number => b.dims[1]! - a.dims[1]!;
    const scores = outs.filter((t) => t.dims[2] === 1).sort(byCount);
    const boxes = outs.filter((t) => t.dims[2] === 16).sort(byCount);
    if (scores.length !== 2 || boxes.length !== 2) throw new AvdubError(ErrorCode.MODEL_LOAD, 'Unexpected BlazeFace outputs');
    const logits = concat(scores[0]!.data, scores[1]!.data);
    const regressors = concat(boxes[0]!.data, boxes[1]!.data);
    const candidates = decodeDetections(logits, regressors, this.anchors, this.options.minScore);
    const merged = nonMaxSuppression(candidates, this.options.iouThreshold, this.options.nms, this.options.maxFaces);
    // Input pixels -> frame pixels.
    const s = 1 / lb.scale;
    return merged.map((d) => ({
      score: d.score,
      box: { x: (d.box.x - lb.padX) * s, y: (d.box.y - lb.padY) * s, width: d.box.width * s, height: d.box.height * s },
      keypoints: d.keypoints.map(([x, y]): Point => [(x - lb.padX) * s, (y - lb.padY) * s]),
    }));
  }
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

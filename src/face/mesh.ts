import { AvdubError, ErrorCode } from '../errors.js';
import { loadOrt } from '../runtime/session.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import { is } from '../util/validate.js';
import type { FaceDetection } from './detector.js';
import { warpSupersampledPlanar, type Affine, type FaceImage } from './image.js';
import { MESH_POINT_COUNT } from './landmarks.js';
import { loadFaceModel, type FaceModelRuntimeOptions, type LoadedFaceModel } from './session.js';

/**
 * A rotated square region of the frame: centre and side in frame pixels, and the roll of the
 * face in radians (the angle of the line from the right eye to the left eye, image y down).
 * Cropping it with that rotation undone gives the mesh model an upright face.
 */
export interface FaceRoi {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

export interface MeshResult {
  /** 468 points, packed x, y, z, in frame pixels (z: relative depth, same scale as x). */
  landmarks: Float32Array;
  /** The model's face-presence confidence ("faceflag") in [0, 1]. */
  confidence: number;
  roi: FaceRoi;
}

export interface FaceMeshOptions extends FaceModelRuntimeOptions {
  /**
   * The ROI is this many times the face (the detector box, or the landmarks' bounds when
   * tracking). MediaPipe's value.
   * @default 1.5
   */
  roiScale: number;
  /**
   * Average several bilinear samples per input pixel when the crop shrinks the frame by more
   * than 2x (a face in 1080p video), so the 192-pixel input does not alias: aliasing turns
   * into landmark jitter.
   * @default true
   */
  antialias: boolean;
}

export const defaultFaceMeshOptions: FaceMeshOptions = { roiScale: 1.5, antialias: true };

/** Side of the FaceMesh input. */
export const MESH_INPUT_SIZE = 192;

/** The affine map from ROI crop pixels (0..outSize) to frame pixels. */
export function roiToFrame(roi: FaceRoi, outSize: number): Affine {
  const s = roi.size / outSize;
  const cos = Math.cos(roi.angle) * s;
  const sin = Math.sin(roi.angle) * s;
  const h = outSize / 2;
  return [cos, -sin, roi.cx - cos * h + sin * h, sin, cos, roi.cy - sin * h - cos * h];
}

/** The ROI for a fresh detection: box centre, rotation from the two eye keypoints. */
export function roiFromDetection(d: FaceDetection, scale = defaultFaceMeshOptions.roiScale): FaceRoi {
  const [re, le] = [d.keypoints[0]!, d.keypoints[1]!];
  return {
    cx: d.box.x + d.box.width / 2,
    cy: d.box.y + d.box.height / 2,
    size: Math.max(d.box.width, d.box.height) * scale,
    angle: Math.atan2(le[1] - re[1], le[0] - re[0]),
  };
}

/**
 * The ROI that tracks a face from its previous landmarks: rotation from the outer eye corners
 * (33 -> 263, as MediaPipe), then the landmarks' bounds in that rotated frame, squared and
 * scaled.
 */
export function roiFromLandmarks(landmarks: ArrayLike<number>, scale = defaultFaceMeshOptions.roiScale): FaceRoi {
  const angle = Math.atan2(landmarks[3 * 263 + 1]! - landmarks[3 * 33 + 1]!, landmarks[3 * 263]! - landmarks[3 * 33]!);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  let u0 = Infinity;
  let u1 = -Infinity;
  let v0 = Infinity;
  let v1 = -Infinity;
  for (let i = 0; i < MESH_POINT_COUNT; i++) {
    const x = landmarks[3 * i]!;
    const y = landmarks[3 * i + 1]!;
    const u = cos * x + sin * y;
    const v = -sin * x + cos * y;
    if (u < u0) u0 = u;
    if (u > u1) u1 = u;
    if (v < v0) v0 = v;
    if (v > v1) v1 = v;
  }
  const uc = (u0 + u1) / 2;
  const vc = (v0 + v1) / 2;
  return { cx: cos * uc - sin * vc, cy: sin * uc + cos * vc, size: Math.max(u1 - u0, v1 - v0) * scale, angle };
}

/**
 * MediaPipe FaceMesh (468 landmarks), converted from the TF.js graph in `@vladmandic/human`.
 * Each face is cropped from its ROI with the roll undone, all faces of a frame run as one
 * batch, and the points are mapped back to frame pixels.
 */
export class FaceMesh {
  readonly options: FaceMeshOptions;
  private input = new Float32Array(0);
  private readonly meshOutput: string;
  private readonly flagOutput: string;

  private constructor(
    private readonly loaded: LoadedFaceModel,
    options: FaceMeshOptions,
  ) {
    this.options = options;
    const outs = loaded.model.outputs;
    const mesh = outs.find((o) => o.shape[1] === MESH_POINT_COUNT * 3);
    const flag = outs.find((o) => o.shape[1] === 1);
    if (!mesh || !flag) throw new AvdubError(ErrorCode.MODEL_LOAD, 'The FaceMesh model lacks its mesh or faceflag output');
    this.meshOutput = mesh.name;
    this.flagOutput = flag.name;
  }

  static async create(options: DeepPartial<FaceMeshOptions> = {}): Promise<FaceMesh> {
    const o = mergeOptions(defaultFaceMeshOptions, options);
    is.number('roiScale', o.roiScale, 1, 4);
    is.boolean('antialias', o.antialias);
    return new FaceMesh(await loadFaceModel('facemesh', o), o);
  }

  get device(): string {
    return this.loaded.device;
  }

  /** Runs the mesh on every ROI of one frame, batched. Results are in ROI order. */
  async run(frame: FaceImage, rois: readonly FaceRoi[]): Promise<MeshResult[]> {
    if (rois.length === 0) return [];
    const N = MESH_INPUT_SIZE;
    const per = 3 * N * N;
    if (this.input.length < per * rois.length) this.input = new Float32Array(per * rois.length);
    const maps = rois.map((roi, b) => {
      const m = roiToFrame(roi, N);
      const shrink = roi.size / N;
      const taps = this.options.antialias && shrink >= 2 ? Math.min(4, Math.round(shrink)) : 1;
      warpSupersampledPlanar(frame, m, N, N, this.input, b * per, 1 / 255, 0, taps);
      return m;
    });
    const ort = await loadOrt();
    const data = this.input.length === per * rois.length ? this.input : this.input.subarray(0, per * rois.length);
    const [inName] = this.loaded.model.inputs.map((i) => i.name);
    const res = await this.loaded.session.run({ [inName!]: new ort.Tensor('float32', data, [rois.length, 3, N, N]) });
    const mesh = res[this.meshOutput]!.data as Float32Array;
    const flags = res[this.flagOutput]!.data as Float32Array;
    return rois.map((roi, b) => {
      const m = maps[b]!;
      const zScale = roi.size / N;
      const landmarks = new Float32Array(MESH_POINT_COUNT * 3);
      const base = b * MESH_POINT_COUNT * 3;
      for (let i = 0; i < MESH_POINT_COUNT; i++) {
        const x = mesh[base + 3 * i]!;
        const y = mesh[base + 3 * i + 1]!;
        landmarks[3 * i] = m[0] * x + m[1] * y + m[2];
        landmarks[3 * i + 1] = m[3] * x + m[4] * y + m[5];
        landmarks[3 * i + 2] = mesh[base + 3 * i + 2]! * zScale;
      }
      return { landmarks, confidence: flags[b]!, roi };
    });
  }
}

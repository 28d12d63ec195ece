/**
 * What the analysis pass (pass 1) learns about a video, and its binary cache format.
 */
import { POLYGON_LANDMARKS } from '../canonical/masks.js';
import { templateIndices } from '../canonical/template.js';
import { AvdubError, ErrorCode } from '../errors.js';
import type { HeadPose } from '../face/pose.js';
import type { FaceTrack, FaceTrackInfo, FaceTrackingResult, TrackedFace } from '../face/tracker.js';
import { MESH_POINT_COUNT, NOSE_BASE } from '../face/landmarks.js';

/** One face track, summarised (the report lists every track found). */
export interface TrackSummary {
  id: number;
  /** First and last frame index. */
  start: number;
  end: number;
  /** Frames with this face. */
  frames: number;
  /** Inclusive frame ranges inside [start, end] without the face. */
  gaps: [number, number][];
  /** Median distance between the eye centres, pixels. */
  medianInterocular: number;
  /** The dubbed (main) track: the largest face with the most frames. */
  main: boolean;
}

/**
 * The landmarks the render pass reads: the canonicalizer's alignment points, the render
 * polygon's points and the eye corners. Only these are kept per frame of the main track
 * (27 of 468 points), so a long video's track costs ~0.3 KB per frame instead of 5.6 KB.
 */
export const KEPT_LANDMARKS: readonly number[] = Object.freeze(
  [
    ...new Set([
      ...templateIndices(),
      ...POLYGON_LANDMARKS.earLevel,
      ...POLYGON_LANDMARKS.midNose,
      POLYGON_LANDMARKS.noseTip,
      ...POLYGON_LANDMARKS.chin,
      33, 133, 362, 263, // eye corners: interocular distance, face-jump check
      ...NOSE_BASE, // the personalized model's mouth anchor (mouthAnchor)
    ]),
  ].sort((a, b) => a - b),
);

/** One frame of the main track: smoothed landmarks (frame pixels) and head pose. */
export interface MainFace {
  index: number;
  timestamp: number;
  confidence: number;
  pose: HeadPose;
  /**
   * 468 x (x, y, z), frame pixels, smoothed over time. After the analysis pass only the
   * `KEPT_LANDMARKS` points are filled (the others are 0); frames share one buffer per view
   * (see `compactFaces`), so treat it as read-only.
   */
  landmarks: Float32Array;
}

/** A reference candidate kept during the analysis pass (canonical crop of the main face). */
export interface ReferenceFrame {
  frame: number;
  crop: Uint8Array;
}

export interface VideoAnalysis {
  frameCount: number;
  width: number;
  height: number;
  tracks: TrackSummary[];
  mainTrackId?: number;
  /** The main track's frames, in order. */
  main: MainFace[];
  /** Frame indices where a new shot starts (a cut between frame i - 1 and i). */
  cuts: number[];
  /** Canonical crop side. */
  cropSize: number;
  /** Reference crops for models that take them (empty otherwise). */
  references: ReferenceFrame[];
  /**
   * Every decoded frame's timestamp (seconds, ffmpeg's input timeline, as `readYuvFrames`
   * reports it), in order: `frameCount` values. The render pass's ffmpeg compositor times its
   * patches with them without decoding the video itself.
   */
  timestamps: Float64Array;
}

export function summarizeTracks(result: FaceTrackingResult): TrackSummary[] {
  return result.tracks.map((t: FaceTrack) => ({
    id: t.id,
    start: t.start,
    end: t.end,
    frames: t.faces.length,
    gaps: t.gaps.map(([a, b]) => [a, b] as [number, number]),
    medianInterocular: Math.round(t.medianInterocular * 100) / 100,
    main: t === result.mainTrack,
  }));
}

/** The streaming tracker's track summaries (`finishStream`), as the report lists them. */
export function summarizeTrackInfos(tracks: readonly FaceTrackInfo[], mainId: number | undefined): TrackSummary[] {
  return tracks.map((t) => ({
    id: t.id,
    start: t.start,
    end: t.end,
    frames: t.frames,
    gaps: t.gaps.map(([a, b]) => [a, b] as [number, number]),
    medianInterocular: Math.round(t.medianInterocular * 100) / 100,
    main: t.id === mainId,
  }));
}

/**
 * What the analysis pass keeps per frame of a track while the video streams through the
 * tracker: the `KEPT_LANDMARKS` points, pose, confidence, index and time, in growable typed
 * arrays (~0.37 KB a frame, no object per frame). `mainFaces()` turns it into `MainFace`s.
 */
export class TrackFaceStore {
  private n = 0;
  private index = new Int32Array(256);
  private time = new Float64Array(256);
  /** confidence, yaw, pitch, roll */
  private scalars = new Float64Array(256 * 4);
  private points = new Float32Array(256 * KEPT_LANDMARKS.length * 3);

  get length(): number {
    return this.n;
  }

  push(f: Pick<TrackedFace, 'index' | 'timestamp' | 'confidence' | 'pose' | 'landmarks'>): void {
    const K = KEPT_LANDMARKS.length * 3;
    if (this.n === this.index.length) {
      const cap = this.n * 2;
      this.index = grow(this.index, new Int32Array(cap));
      this.time = grow(this.time, new Float64Array(cap));
      this.scalars = grow(this.scalars, new Float64Array(cap * 4));
      this.points = grow(this.points, new Float32Array(cap * K));
    }
    const k = this.n++;
    this.index[k] = f.index;
    this.time[k] = f.timestamp;
    this.scalars.set([f.confidence, f.pose.yaw, f.pose.pitch, f.pose.roll], 4 * k);
    const o = k * K;
    const lm = f.landmarks;
    KEPT_LANDMARKS.forEach((p, j) => {
      this.points[o + 3 * j] = lm[3 * p]!;
      this.points[o + 3 * j + 1] = lm[3 * p + 1]!;
      this.points[o + 3 * j + 2] = lm[3 * p + 2]!;
    });
  }

  /** The stored frames as MainFaces (over one exact-size copy of the points). */
  mainFaces(): MainFace[] {
    const faces: Omit<MainFace, 'landmarks'>[] = [];
    const sc = this.scalars;
    for (let k = 0; k < this.n; k++) {
      faces.push({ index: this.index[k]!, timestamp: this.time[k]!, confidence: sc[4 * k]!, pose: { yaw: sc[4 * k + 1]!, pitch: sc[4 * k + 2]!, roll: sc[4 * k + 3]! } });
    }
    return compactFaces(faces, this.points.slice(0, this.n * KEPT_LANDMARKS.length * 3));
  }
}

function grow<T extends Int32Array | Float32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

export function mainFaces(track: FaceTrack | undefined): MainFace[] {
  if (!track) return [];
  const compact = new Float32Array(track.faces.length * KEPT_LANDMARKS.length * 3);
  track.faces.forEach((f, k) => {
    KEPT_LANDMARKS.forEach((p, j) => {
      const o = (k * KEPT_LANDMARKS.length + j) * 3;
      compact[o] = f.landmarks[3 * p]!;
      compact[o + 1] = f.landmarks[3 * p + 1]!;
      compact[o + 2] = f.landmarks[3 * p + 2]!;
    });
  });
  return compactFaces(
    track.faces.map((f) => ({ index: f.index, timestamp: f.timestamp, confidence: f.confidence, pose: { yaw: f.pose.yaw, pitch: f.pose.pitch, roll: f.pose.roll } })),
    compact,
  );
}

/**
 * Main-track faces over compact storage (`KEPT_LANDMARKS` x 3 floats per frame): each face's
 * `landmarks` is a getter that expands its points into a full 468 x 3 array on access. A face
 * is a small object (index, timestamp, confidence, pose, and a reference into the storage:
 * ~0.15 KB a frame with the points), so a long video's main track stays small.
 */
export function compactFaces(faces: Omit<MainFace, 'landmarks'>[], compact: Float32Array): MainFace[] {
  return faces.map((f, k) => new CompactFace(f.index, f.timestamp, f.confidence, f.pose, compact, k));
}

class CompactFace implements MainFace {
  readonly #store: Float32Array;
  readonly #k: number;

  constructor(
    public index: number,
    public timestamp: number,
    public confidence: number,
    public pose: HeadPose,
    store: Float32Array,
    k: number,
  ) {
    this.#store = store;
    this.#k = k;
  }

  /** 468 x 3, only the kept points filled (a new array per access). */
  get landmarks(): Float32Array {
    return expandLandmarks(this.points);
  }

  /** The kept points (KEPT_LANDMARKS x 3), a view into the storage. */
  get points(): Float32Array {
    const K = KEPT_LANDMARKS.length * 3;
    return this.#store.subarray(this.#k * K, (this.#k + 1) * K);
  }
}

/** The compact points of a face from `compactFaces` (KEPT_LANDMARKS x 3). */
export function keptPoints(face: MainFace): Float32Array {
  if (face instanceof CompactFace) return face.points;
  const out = new Float32Array(KEPT_LANDMARKS.length * 3);
  KEPT_LANDMARKS.forEach((i, j) => out.set(face.landmarks.subarray(3 * i, 3 * i + 3), 3 * j));
  return out;
}

function expandLandmarks(points: Float32Array): Float32Array {
  const full = new Float32Array(MESH_POINT_COUNT * 3);
  KEPT_LANDMARKS.forEach((p, j) => {
    full[3 * p] = points[3 * j]!;
    full[3 * p + 1] = points[3 * j + 1]!;
    full[3 * p + 2] = points[3 * j + 2]!;
  });
  return full;
}

const MAGIC = 'AVDA';

/** 'AVDA', u32 header length, JSON header, frame timestamps (f64), main-track kept landmarks (f32), reference crops (u8). */
export function encodeAnalysis(a: VideoAnalysis): Uint8Array[] {
  const header = Buffer.from(
    JSON.stringify({
      format: 'avdub-analysis',
      version: 3,
      keptLandmarks: KEPT_LANDMARKS,
      frameCount: a.frameCount,
      width: a.width,
      height: a.height,
      tracks: a.tracks,
      mainTrackId: a.mainTrackId ?? null,
      main: a.main.map((f) => ({ index: f.index, timestamp: f.timestamp, confidence: f.confidence, pose: f.pose })),
      cuts: a.cuts,
      cropSize: a.cropSize,
      references: a.references.map((r) => r.frame),
    }),
    'utf8',
  );
  const head = Buffer.alloc(8);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, 4);
  const K = KEPT_LANDMARKS.length * 3;
  const lm = new Float32Array(a.main.length * K);
  a.main.forEach((f, i) => lm.set(keptPoints(f), i * K));
  const ts = a.timestamps;
  return [head, header, Buffer.from(ts.buffer, ts.byteOffset, ts.byteLength), Buffer.from(lm.buffer, lm.byteOffset, lm.byteLength), ...a.references.map((r) => r.crop)];
}

export function decodeAnalysis(buf: Buffer): VideoAnalysis {
  const corrupt = (): AvdubError => new AvdubError(ErrorCode.MODEL_LOAD, 'Corrupt analysis cache entry');
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== MAGIC) throw corrupt();
  const len = buf.readUInt32LE(4);
  let h: {
    format: string;
    version: number;
    keptLandmarks: number[];
    frameCount: number;
    width: number;
    height: number;
    tracks: TrackSummary[];
    mainTrackId: number | null;
    main: Omit<MainFace, 'landmarks'>[];
    cuts: number[];
    cropSize: number;
    references: number[];
  };
  try {
    h = JSON.parse(buf.toString('utf8', 8, 8 + len));
  } catch {
    throw corrupt();
  }
  if (h.format !== 'avdub-analysis' || h.version !== 3 || h.keptLandmarks.join() !== KEPT_LANDMARKS.join()) throw corrupt();
  let o = 8 + len;
  const tsBytes = h.frameCount * 8;
  if (!(h.frameCount >= 0) || buf.length < o + tsBytes) throw corrupt();
  const timestamps = new Float64Array(h.frameCount);
  new Uint8Array(timestamps.buffer).set(buf.subarray(o, o + tsBytes));
  o += tsBytes;
  const K = KEPT_LANDMARKS.length * 3;
  const lmBytes = h.main.length * K * 4;
  if (buf.length < o + lmBytes) throw corrupt();
  // Copy into an aligned buffer (the Buffer's offset may not be a multiple of 4).
  const lm = new Float32Array(h.main.length * K);
  new Uint8Array(lm.buffer).set(buf.subarray(o, o + lmBytes));
  o += lmBytes;
  const main = compactFaces(h.main, lm);
  const cropBytes = h.cropSize * h.cropSize * 3;
  const references: ReferenceFrame[] = h.references.map((frame) => {
    if (buf.length < o + cropBytes) throw corrupt();
    const crop = new Uint8Array(buf.subarray(o, o + cropBytes));
    o += cropBytes;
    return { frame, crop };
  });
  return {
    frameCount: h.frameCount,
    width: h.width,
    height: h.height,
    tracks: h.tracks,
    mainTrackId: h.mainTrackId ?? undefined,
    main,
    cuts: h.cuts,
    cropSize: h.cropSize,
    references,
    timestamps,
  };
}

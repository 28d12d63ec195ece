import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import type { ReadFramesOptions } from '../media/frames.js';
import { readFaceFrames } from './face-frames.js';
import { probeMedia, requireVideo } from '../media/probe.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import { ProgressMeter, type OperationOptions } from '../util/progress.js';
import { is } from '../util/validate.js';
import { FaceDetector, defaultFaceDetectorOptions, iou, type Box, type FaceDetection, type FaceDetectorOptions } from './detector.js';
import type { FaceImage } from './image.js';
import { interocularDistance, landmarkBounds, MESH_POINT_COUNT } from './landmarks.js';
import { FaceMesh, defaultFaceMeshOptions, roiFromDetection, roiFromLandmarks, type FaceMeshOptions, type FaceRoi } from './mesh.js';
import { headPose, type HeadPose } from './pose.js';
import type { FaceModelRuntimeOptions } from './session.js';
import { defaultSmoothingOptions, gaussianSmooth, GaussianStreamSmoother, OneEuroFilter, type SmoothingOptions } from './smoothing.js';

/** One face in one frame of a track. */
export interface TrackedFace {
  /** Frame index (0-based, in decode order). */
  index: number;
  /** Frame timestamp in seconds. */
  timestamp: number;
  /** 468 landmarks, packed x, y, z, frame pixels, smoothed over time per the tracker options. */
  landmarks: Float32Array;
  /** The unsmoothed landmarks (only when `keepRaw`). */
  raw?: Float32Array;
  /** FaceMesh face-presence confidence. */
  confidence: number;
  /** Bounds of the (smoothed) landmarks. */
  box: Box;
  /** Head pose from the smoothed landmarks, degrees. */
  pose: HeadPose;
}

/**
 * One face followed through the video. `faces` holds the frames where it was seen, in order;
 * frames between `start` and `end` where it was not seen are listed in `gaps` (a black frame,
 * an occlusion): a gap, never an error.
 */
export interface FaceTrack {
  id: number;
  /** First and last frame index with this face. */
  start: number;
  end: number;
  faces: TrackedFace[];
  /** Inclusive frame ranges inside [start, end] without the face. */
  gaps: [number, number][];
  /** Median distance between the eye centres, pixels: the face's size. */
  medianInterocular: number;
}

/** A face of a streaming tracker (`stream: true`): a TrackedFace and its track. */
export interface SmoothedFace extends TrackedFace {
  trackId: number;
}

/** A track as a streaming tracker keeps it: everything but the per-frame faces. */
export interface FaceTrackInfo {
  id: number;
  /** First and last frame index with this face. */
  start: number;
  end: number;
  /** Frames with this face. */
  frames: number;
  /** Inclusive frame ranges inside [start, end] without the face. */
  gaps: [number, number][];
  /** Median distance between the eye centres of the smoothed landmarks, pixels. */
  medianInterocular: number;
}

/** What `finishStream` returns: the faces still held for look-ahead, and the tracks. */
export interface StreamTrackingResult {
  /** The last smoothed faces (those not yet in any `process` result's `final`), per track in frame order. */
  final: SmoothedFace[];
  /** Tracks of at least `minTrackFrames` frames, by first frame (then id): as `finish()`'s. */
  tracks: FaceTrackInfo[];
  /** Chosen by the same rule as `finish()`'s (frames x median eye distance). */
  mainTrack?: FaceTrackInfo;
  frameCount: number;
  width: number;
  height: number;
}

export interface FaceTrackingResult {
  tracks: FaceTrack[];
  /** The largest face with the most frames (score = frames x median eye distance); undefined when no face was found. */
  mainTrack?: FaceTrack;
  /** Frames processed. */
  frameCount: number;
  width: number;
  height: number;
}

/** What `FaceTracker.process` reports for one frame (raw, unsmoothed landmarks). */
export interface FrameFaces {
  index: number;
  timestamp: number;
  /** Whether the detector ran on this frame. */
  detected: boolean;
  faces: {
    trackId: number;
    landmarks: Float32Array;
    /** Causally smoothed landmarks (1-Euro), when `smoothing.method` is 'one-euro'. */
    smoothed?: Float32Array;
    confidence: number;
    roi: FaceRoi;
  }[];
  /**
   * Streaming tracker only (`stream: true`): the smoothed faces that became final with this
   * frame, of any track, each track's in frame order. With Gaussian smoothing a face is final
   * ceil(3 sigma) frames later (or when its track's run of consecutive frames ends); with
   * 1-Euro or no smoothing at once.
   */
  final?: SmoothedFace[];
}

export interface FaceTrackerOptions extends FaceModelRuntimeOptions {
  detector: Omit<FaceDetectorOptions, keyof FaceModelRuntimeOptions>;
  mesh: Omit<FaceMeshOptions, keyof FaceModelRuntimeOptions>;
  /** A tracked face is lost when the mesh's face-presence confidence drops below this. @default 0.5 */
  minConfidence: number;
  /** Run the detector every this many frames to find new faces (0: only when no face is tracked or one is lost). @default 15 */
  redetectInterval: number;
  /** Track at most this many faces at once. @default 4 */
  maxFaces: number;
  /** A lost face that reappears within this many seconds, overlapping its last position, continues its track. @default 2 */
  maxGapSeconds: number;
  /** Overlap (IoU of landmark boxes) for continuing a track after a gap, and for treating two faces as one. @default 0.3 */
  matchIou: number;
  /** Tracks with fewer frames are dropped as spurious. @default 3 */
  minTrackFrames: number;
  smoothing: SmoothingOptions;
  /** Keep the unsmoothed landmarks on every TrackedFace. @default false */
  keepRaw: boolean;
  /**
   * A streaming tracker: nothing is kept per frame. Each `process` result lists in `final` the
   * smoothed faces that became final (bounded look-ahead, see `FrameFaces.final`), and
   * `finishStream()` returns the rest with the tracks as summaries; `finish()` is unavailable.
   * The faces and the main track equal those of `finish()`. @default false
   */
  stream: boolean;
}

/** What `FaceTracker.create` accepts: any subset of the options, nested ones too. */
export type FaceTrackerInit = Partial<Omit<FaceTrackerOptions, 'detector' | 'mesh' | 'smoothing'>> & {
  detector?: Partial<FaceTrackerOptions['detector']>;
  mesh?: Partial<FaceTrackerOptions['mesh']>;
  smoothing?: {
    method?: SmoothingOptions['method'];
    gaussian?: Partial<SmoothingOptions['gaussian']>;
    oneEuro?: Partial<SmoothingOptions['oneEuro']>;
  };
};

export const defaultFaceTrackerOptions: FaceTrackerOptions = {
  detector: {
    inputSize: defaultFaceDetectorOptions.inputSize,
    minScore: defaultFaceDetectorOptions.minScore,
    iouThreshold: defaultFaceDetectorOptions.iouThreshold,
    maxFaces: defaultFaceDetectorOptions.maxFaces,
    nms: defaultFaceDetectorOptions.nms,
  },
  mesh: { roiScale: defaultFaceMeshOptions.roiScale, antialias: defaultFaceMeshOptions.antialias },
  minConfidence: 0.5,
  redetectInterval: 15,
  maxFaces: 4,
  maxGapSeconds: 2,
  matchIou: 0.3,
  minTrackFrames: 3,
  smoothing: defaultSmoothingOptions,
  keepRaw: false,
  stream: false,
};

interface RawObservation {
  index: number;
  timestamp: number;
  landmarks: Float32Array;
  confidence: number;
}

/** Per track, streaming: the open run's smoother and the compact summary. */
interface TrackStream {
  /** Frame index of the last observation pushed into the open run (-1: no open run). */
  lastIndex: number;
  gaussian?: GaussianStreamSmoother<RawObservation>;
  oneEuro?: OneEuroFilter;
  frames: number;
  start: number;
  end: number;
  gaps: [number, number][];
  /** Eye distance of every smoothed face (8 bytes a frame), for the median. */
  iods: number[];
  /** This frame's observation, pushed at the end of `process`. */
  pendingObs?: RawObservation;
}

interface TrackState {
  id: number;
  /** Every observation (batch mode only). */
  observations: RawObservation[];
  stream?: TrackStream;
  /** Landmarks of the last frame the face was seen. */
  last: Float32Array;
  lastBox: Box;
  lastTimestamp: number;
  active: boolean;
  filter?: OneEuroFilter;
}

export interface TrackFacesOptions extends OperationOptions, Pick<ReadFramesOptions, 'ffmpegPath' | 'ffprobePath' | 'start' | 'duration'> {}

/**
 * Streaming face tracker: detect (BlazeFace), then follow each face from its previous mesh
 * (FaceMesh on a roll-aligned crop), re-detecting when a face is lost or every
 * `redetectInterval` frames. Faces are split into tracks; a frame without a face is a gap in
 * its track. Consume frames one at a time with `process`, then call `finish` for the smoothed
 * tracks; or call `track(path)` for a whole file.
 */
export class FaceTracker {
  readonly options: FaceTrackerOptions;
  private states: TrackState[] = [];
  private nextId = 1;
  private frameIndex = 0;
  private lastDetection = -Infinity;
  private width = 0;
  private height = 0;

  private constructor(
    readonly detector: FaceDetector,
    readonly mesh: FaceMesh,
    options: FaceTrackerOptions,
  ) {
    this.options = options;
  }

  static async create(options: FaceTrackerInit = {}): Promise<FaceTracker> {
    const o = mergeOptions(defaultFaceTrackerOptions, options as DeepPartial<FaceTrackerOptions>);
    is.number('minConfidence', o.minConfidence, 0, 1);
    is.integer('redetectInterval', o.redetectInterval, 0);
    is.integer('maxFaces', o.maxFaces, 1, 64);
    is.number('maxGapSeconds', o.maxGapSeconds, 0);
    is.number('matchIou', o.matchIou, 0, 1);
    is.integer('minTrackFrames', o.minTrackFrames, 1);
    is.oneOf('smoothing.method', o.smoothing.method, ['gaussian', 'one-euro', 'none']);
    is.number('smoothing.gaussian.sigma', o.smoothing.gaussian.sigma, 0, 100);
    is.number('smoothing.oneEuro.minCutoff', o.smoothing.oneEuro.minCutoff, 0);
    is.number('smoothing.oneEuro.beta', o.smoothing.oneEuro.beta, 0);
    is.number('smoothing.oneEuro.dCutoff', o.smoothing.oneEuro.dCutoff, 0);
    is.boolean('stream', o.stream);
    const runtime: FaceModelRuntimeOptions = {
      device: o.device,
      threads: o.threads,
      cacheDir: o.cacheDir,
      sourceDir: o.sourceDir,
      signal: o.signal,
      onEvent: o.onEvent,
    };
    const [detector, mesh] = await Promise.all([
      FaceDetector.create({ ...o.detector, ...runtime }),
      FaceMesh.create({ ...o.mesh, ...runtime }),
    ]);
    return new FaceTracker(detector, mesh, o);
  }

  /** Forgets all tracks, to start on another video. */
  reset(): void {
    this.states = [];
    this.nextId = 1;
    this.frameIndex = 0;
    this.lastDetection = -Infinity;
  }

  /**
   * Processes the next frame. `timestamp` defaults to the frame's own (a `Frame` from
   * `readFrames`) or index / 25. Frames must come in order.
   */
  async process(frame: FaceImage & { timestamp?: number }, timestamp?: number): Promise<FrameFaces> {
    const index = this.frameIndex++;
    const t = timestamp ?? frame.timestamp ?? index / 25;
    this.width = frame.width;
    this.height = frame.height;
    const o = this.options;
    const active = this.states.filter((s) => s.active);
    const rois: FaceRoi[] = active.map((s) => roiFromLandmarks(s.last, o.mesh.roiScale));
    const owners: (TrackState | undefined)[] = [...active];
    let detected = false;
    const wantDetect = active.length === 0 || (o.redetectInterval > 0 && index - this.lastDetection >= o.redetectInterval);
    if (wantDetect && active.length < o.maxFaces) {
      detected = true;
      this.addDetections(await this.detect(frame, index), rois, owners, active.map((s) => s.lastBox));
    }
    let results = await this.mesh.run(frame, rois);
    const out: FrameFaces = { index, timestamp: t, detected, faces: [] };
    const accepted = this.accept(results, owners, index, t, out);
    // A face lost in this frame gets a second chance at once: detect again and mesh the new ROIs.
    if (accepted.lost > 0 && !detected && this.states.filter((s) => s.active).length < o.maxFaces) {
      detected = true;
      out.detected = true;
      const keep = this.states.filter((s) => s.active);
      const rois2: FaceRoi[] = [];
      const owners2: (TrackState | undefined)[] = [];
      this.addDetections(await this.detect(frame, index), rois2, owners2, keep.map((s) => boxOfLandmarks(s.last)));
      results = await this.mesh.run(frame, rois2);
      this.accept(results, owners2, index, t, out);
    }
    if (o.stream) {
      const final: SmoothedFace[] = [];
      for (const s of this.states) {
        const st = s.stream!;
        if (st.lastIndex === index) this.streamPush(s, final);
        else if (st.lastIndex >= 0) this.streamEnd(s, final); // its run ended at the frame before
      }
      out.final = final;
    }
    return out;
  }

  /** Streaming: the observation just made joins the track's open run. */
  private streamPush(s: TrackState, final: SmoothedFace[]): void {
    const st = s.stream!;
    const r = st.pendingObs!;
    st.pendingObs = undefined;
    const sm = this.options.smoothing;
    if (sm.method === 'gaussian') {
      st.gaussian ??= new GaussianStreamSmoother<RawObservation>(sm.gaussian.sigma);
      for (const e of st.gaussian.push(r.landmarks, r)) this.emit(s, e.tag, e.value, final);
    } else if (sm.method === 'one-euro') {
      // A fresh filter per run, as finish() does.
      st.oneEuro ??= new OneEuroFilter(sm.oneEuro);
      this.emit(s, r, st.oneEuro.filter(r.landmarks, r.timestamp, faceScale(boxOfLandmarks(r.landmarks))), final);
    } else this.emit(s, r, r.landmarks, final);
  }

  /** Streaming: the track's open run ended; its held faces are final. */
  private streamEnd(s: TrackState, final: SmoothedFace[]): void {
    const st = s.stream!;
    if (st.gaussian) for (const e of st.gaussian.end()) this.emit(s, e.tag, e.value, final);
    st.oneEuro = undefined;
    st.lastIndex = -1;
  }

  private emit(s: TrackState, r: RawObservation, lm: Float32Array, final: SmoothedFace[]): void {
    const st = s.stream!;
    const face: SmoothedFace = {
      trackId: s.id,
      index: r.index,
      timestamp: r.timestamp,
      landmarks: lm,
      confidence: r.confidence,
      box: boxOfLandmarks(lm),
      pose: headPose(lm),
    };
    if (this.options.keepRaw) face.raw = r.landmarks;
    if (st.frames === 0) st.start = r.index;
    else if (r.index > st.end + 1) st.gaps.push([st.end + 1, r.index - 1]);
    st.end = r.index;
    st.frames++;
    st.iods.push(interocularDistance(lm));
    final.push(face);
  }

  private async detect(frame: FaceImage, index: number): Promise<FaceDetection[]> {
    this.lastDetection = index;
    return this.detector.detect(frame);
  }

  /** Detections not already covered by a tracked face become new ROIs. */
  private addDetections(dets: FaceDetection[], rois: FaceRoi[], owners: (TrackState | undefined)[], taken: Box[]): void {
    const room = this.options.maxFaces - owners.length;
    let added = 0;
    for (const d of dets) {
      if (added >= room) break;
      if (taken.some((b) => iou(b, d.box) > this.options.matchIou || contains(b, centre(d.box)))) continue;
      rois.push(roiFromDetection(d, this.options.mesh.roiScale));
      owners.push(undefined);
      taken.push(d.box);
      added++;
    }
  }

  private accept(
    results: { landmarks: Float32Array; confidence: number; roi: FaceRoi }[],
    owners: (TrackState | undefined)[],
    index: number,
    t: number,
    out: FrameFaces,
  ): { lost: number } {
    const o = this.options;
    let lost = 0;
    const seen: Box[] = out.faces.map((f) => boxOfLandmarks(f.landmarks));
    results.forEach((r, k) => {
      let state = owners[k];
      const ok = r.confidence >= o.minConfidence && finiteLandmarks(r.landmarks);
      if (!ok) {
        if (state) {
          state.active = false;
          lost++;
        }
        return;
      }
      const box = boxOfLandmarks(r.landmarks);
      // Two ROIs that converged on one face: keep the first (older tracks come first).
      if (seen.some((b) => iou(b, box) > 0.5)) {
        if (state) {
          state.active = false;
          lost++;
        }
        return;
      }
      if (!state) state = this.resumeOrCreate(box, t);
      seen.push(box);
      state.active = true;
      state.last = r.landmarks;
      state.lastBox = box;
      state.lastTimestamp = t;
      const obs: RawObservation = { index, timestamp: t, landmarks: r.landmarks, confidence: r.confidence };
      if (o.stream) {
        // Pushed into the smoother at the end of `process` (the frame may still resume a lost track).
        state.stream!.pendingObs = obs;
        state.stream!.lastIndex = index;
      } else state.observations.push(obs);
      let smoothed: Float32Array | undefined;
      if (o.smoothing.method === 'one-euro') {
        state.filter ??= new OneEuroFilter(o.smoothing.oneEuro);
        smoothed = state.filter.filter(r.landmarks, t, faceScale(box));
      }
      out.faces.push({ trackId: state.id, landmarks: r.landmarks, smoothed, confidence: r.confidence, roi: r.roi });
    });
    return { lost };
  }

  /** A new face continues a recently lost track at the same place, or starts a new one. */
  private resumeOrCreate(box: Box, t: number): TrackState {
    let best: TrackState | undefined;
    let bestIou = this.options.matchIou;
    for (const s of this.states) {
      if (s.active || t - s.lastTimestamp > this.options.maxGapSeconds) continue;
      const v = iou(s.lastBox, box);
      if (v > bestIou) {
        best = s;
        bestIou = v;
      }
    }
    if (best) {
      // The 1-Euro filter restarts after a gap: the face may have moved.
      best.filter?.reset();
      return best;
    }
    const s: TrackState = { id: this.nextId++, observations: [], last: new Float32Array(0), lastBox: box, lastTimestamp: t, active: true };
    if (this.options.stream) s.stream = { lastIndex: -1, frames: 0, start: 0, end: 0, gaps: [], iods: [] };
    this.states.push(s);
    return s;
  }

  /** The tracks so far, smoothed, with the main track chosen. The tracker can go on afterwards. */
  finish(): FaceTrackingResult {
    const o = this.options;
    if (o.stream) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'A streaming tracker (stream: true) keeps no faces: use finishStream()', {
        details: { option: 'stream' },
      });
    }
    const tracks: FaceTrack[] = [];
    for (const s of this.states) {
      if (s.observations.length < o.minTrackFrames) continue;
      tracks.push(buildTrack(s, o));
    }
    tracks.sort((a, b) => a.start - b.start || a.id - b.id);
    const mainTrack = pickMainTrack(tracks, (t) => t.faces.length);
    return { tracks, mainTrack, frameCount: this.frameIndex, width: this.width, height: this.height };
  }

  /**
   * Streaming tracker (`stream: true`): ends every open run and returns the faces still held
   * for look-ahead, and the tracks as summaries with the main track chosen by `finish()`'s rule.
   * The faces of all `process` results' `final` plus these are `finish()`'s faces, exactly.
   */
  finishStream(): StreamTrackingResult {
    const o = this.options;
    if (!o.stream) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'finishStream() needs a streaming tracker (stream: true); use finish()', {
        details: { option: 'stream' },
      });
    }
    const final: SmoothedFace[] = [];
    for (const s of this.states) this.streamEnd(s, final);
    const tracks: FaceTrackInfo[] = [];
    for (const s of this.states) {
      const st = s.stream!;
      if (st.frames < o.minTrackFrames) continue;
      const iods = Float64Array.from(st.iods).sort();
      tracks.push({
        id: s.id,
        start: st.start,
        end: st.end,
        frames: st.frames,
        gaps: st.gaps.map(([a, b]) => [a, b] as [number, number]),
        medianInterocular: iods[iods.length >> 1] ?? 0,
      });
    }
    tracks.sort((a, b) => a.start - b.start || a.id - b.id);
    const mainTrack = pickMainTrack(tracks, (t) => t.frames);
    return { final, tracks, mainTrack, frameCount: this.frameIndex, width: this.width, height: this.height };
  }

  /** Tracks every frame of a video file (streamed: memory holds one frame plus the tracks). */
  async track(path: string, options: TrackFacesOptions = {}): Promise<FaceTrackingResult> {
    const { signal, onProgress } = options;
    const info = await probeMedia(path, { ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath, signal });
    const video = requireVideo(info);
    this.reset();
    const total = options.start === undefined && options.duration === undefined ? video.frameCount : undefined;
    const meter = new ProgressMeter('track', total, onProgress);
    for await (const frame of readFaceFrames(path, { ...options, info, signal })) {
      throwIfAborted(signal);
      await this.process(frame);
      meter.tick(this.frameIndex);
    }
    const result = this.finish();
    if (result.frameCount === 0) {
      result.width = video.displayWidth;
      result.height = video.displayHeight;
    }
    return result;
  }
}

function buildTrack(s: TrackState, o: FaceTrackerOptions): FaceTrack {
  const obs = s.observations;
  // Smooth each run of consecutive frames on its own: never across a gap.
  const smoothed: Float32Array[] = new Array(obs.length);
  let runStart = 0;
  for (let i = 1; i <= obs.length; i++) {
    if (i === obs.length || obs[i]!.index !== obs[i - 1]!.index + 1) {
      const run = obs.slice(runStart, i);
      const series = run.map((r) => r.landmarks);
      let res: Float32Array[];
      if (o.smoothing.method === 'gaussian') res = gaussianSmooth(series, o.smoothing.gaussian.sigma);
      else if (o.smoothing.method === 'one-euro') {
        const f = new OneEuroFilter(o.smoothing.oneEuro);
        res = run.map((r) => f.filter(r.landmarks, r.timestamp, faceScale(boxOfLandmarks(r.landmarks))));
      } else res = series;
      res.forEach((v, k) => (smoothed[runStart + k] = v));
      runStart = i;
    }
  }
  const faces: TrackedFace[] = obs.map((r, k) => {
    const lm = smoothed[k]!;
    const face: TrackedFace = {
      index: r.index,
      timestamp: r.timestamp,
      landmarks: lm,
      confidence: r.confidence,
      box: boxOfLandmarks(lm),
      pose: headPose(lm),
    };
    if (o.keepRaw) face.raw = r.landmarks;
    return face;
  });
  const gaps: [number, number][] = [];
  for (let i = 1; i < faces.length; i++) {
    if (faces[i]!.index > faces[i - 1]!.index + 1) gaps.push([faces[i - 1]!.index + 1, faces[i]!.index - 1]);
  }
  const iods = faces.map((f) => interocularDistance(f.landmarks)).sort((a, b) => a - b);
  return {
    id: s.id,
    start: faces[0]!.index,
    end: faces[faces.length - 1]!.index,
    faces,
    gaps,
    medianInterocular: iods[iods.length >> 1] ?? 0,
  };
}

/** The main track: the largest face with the most frames (frames x median eye distance; the first on a tie). */
function pickMainTrack<T extends { medianInterocular: number }>(tracks: readonly T[], frames: (t: T) => number): T | undefined {
  let main: T | undefined;
  let bestScore = -1;
  for (const tr of tracks) {
    const score = frames(tr) * tr.medianInterocular;
    if (score > bestScore) {
      bestScore = score;
      main = tr;
    }
  }
  return main;
}

function boxOfLandmarks(l: Float32Array): Box {
  return landmarkBounds(l, MESH_POINT_COUNT);
}

function faceScale(b: Box): number {
  return Math.max(1e-6, (b.width + b.height) / 2);
}

function centre(b: Box): [number, number] {
  return [b.x + b.width / 2, b.y + b.height / 2];
}

function contains(b: Box, [x, y]: [number, number]): boolean {
  return x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + b.height;
}

function finiteLandmarks(l: Float32Array): boolean {
  for (let i = 0; i < l.length; i++) if (!Number.isFinite(l[i]!)) return false;
  return true;
}

/** Tracks the faces of a video file with a tracker made for the call. */
export async function trackFaces(path: string, options: FaceTrackerInit & TrackFacesOptions = {}): Promise<FaceTrackingResult> {
  const { signal, onProgress, ffmpegPath, ffprobePath, start, duration, ...rest } = options;
  const tracker = await FaceTracker.create({ ...rest, signal });
  return tracker.track(path, { signal, onProgress, ffmpegPath, ffprobePath, start, duration });
}

/**
 * The pipeline-level check: the main track, or E_NO_FACE when the video has none. Use this
 * where a face is required (lip-sync); plain tracking reports an empty list instead.
 */
export function requireMainTrack(result: FaceTrackingResult, source = 'the video'): FaceTrack {
  if (!result.mainTrack) {
    throw new AvdubError(ErrorCode.NO_FACE, `No face found in ${source} (${result.frameCount} frames searched)`, {
      details: { frames: result.frameCount },
    });
  }
  return result.mainTrack;
}

/** trackFaces + requireMainTrack: the main face's track, or E_NO_FACE. */
export async function trackMainFace(path: string, options: FaceTrackerInit & TrackFacesOptions = {}): Promise<FaceTrack> {
  return requireMainTrack(await trackFaces(path, options), path);
}

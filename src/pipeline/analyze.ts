/**
 * Pass 1, the analysis pass: one decode of the video that tracks faces (the streaming
 * FaceTracker), detects shot cuts, and at the same time feeds the personalized model's fit and
 * keeps reference candidates, so that fitting costs no decode of its own.
 *
 * The main track is only known at the end (it is the largest face with the most frames), so
 * every live track gets its own `PersonalizedFitter`, fed frame by frame with the tracker's raw
 * (unsmoothed) landmarks of that frame; the canonical crop is made only when the fitter's bank
 * keeps the frame (or a reference candidate is kept), while the frame is still decoded. When
 * the pass ends the main track's fit is solved and the others are dropped. A track that has
 * ended and can no longer become the main one stops being fitted at once, so a crowd of short
 * spurious tracks costs little.
 */
import { FaceCanonicalizer } from '../canonical/canonicalizer.js';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { headPose } from '../face/pose.js';
import { FaceTracker, type FaceTrackerInit, type SmoothedFace } from '../face/tracker.js';
import { interocularDistance } from '../face/landmarks.js';
import type { FfmpegOptions } from '../media/binaries.js';
import { readFaceFrames, type IndexedFaceFrame } from '../face/face-frames.js';
import type { MediaInfo } from '../media/probe.js';
import type { RgbImage } from '../face/image.js';
import { ReferenceSelector } from '../references/selector.js';
import { ProgressMeter, type OperationOptions } from '../util/progress.js';
import { PersonalizedFitter, type PersonalizedFitOptions, type PersonalizedLipsyncModel } from '../lipsync/personalized/model.js';
import { voicedAt, type AudioContext } from '../lipsync/personalized/footage.js';
import { summarizeTrackInfos, TrackFaceStore, type MainFace, type ReferenceFrame, type VideoAnalysis } from './analysis.js';
import { CutDetector } from './plan.js';

/**
 * The footage audio as the fit reads it: per-band statistics, and per video frame (time t,
 * seconds, non-decreasing) the mel window and the voice activity. `StreamingAudio` (src/audio)
 * reads them from a WAV file on disk in bounded memory.
 */
export interface FitAudio {
  stats: { mean: Float32Array; std: Float32Array };
  window: (t: number) => Float32Array;
  voiced: (t: number) => boolean;
}

export interface AnalyzeOptions extends OperationOptions, FfmpegOptions {
  info: MediaInfo;
  tracker: FaceTrackerInit;
  /**
   * Fit the personalized model on the footage (its own audio: in memory, or streamed). The audio
   * may still be on its way: it is awaited when the first frame is fitted, so its decoding
   * overlaps the decoder's and the tracker's start.
   */
  fit?: { audio: AudioContext | FitAudio | Promise<AudioContext | FitAudio>; options: Partial<Omit<PersonalizedFitOptions, 'audioStats'>> };
  /** Keep up to this many reference candidates of the main face (0: none). */
  references: number;
  /** References to choose among the candidates. */
  referenceCount: number;
  /** Shot-cut threshold (mean absolute block-luma difference, 0-255). */
  cutThreshold: number;
  /** Most tracks fitted at once. */
  maxFitTracks: number;
}

export interface AnalyzeResult {
  analysis: VideoAnalysis;
  /** The fitted model of the main track (when `fit` was asked and a main track exists). */
  model?: PersonalizedLipsyncModel;
  /** Why the main track could not be fitted (too little footage, ...). */
  fitError?: unknown;
  /** Frames the fit saw for the main track. */
  fitFrames: number;
  /** Wall time of the decode loop and the final solve; JS time inside the loop by step. */
  seconds: { decodeAndTrack: number; fitSolve: number; track: number; canonicalize: number; cuts: number; fit: number };
}

const MIN_FIT_FRAMES = 20;

interface FitState {
  fitter: PersonalizedFitter;
  frames: number;
  lastIndex: number;
  iodSum: number;
  dropped: boolean;
}

interface RefState {
  stride: number;
  items: { frame: number; crop: Uint8Array; canonical: Float32Array; pose: { yaw: number; pitch: number; roll: number } }[];
}

export async function analyzeVideo(video: string, o: AnalyzeOptions): Promise<AnalyzeResult> {
  const { info, signal } = o;
  const t0 = performance.now();
  // The decoder is started first (next() runs the reader up to its first wait: ffmpeg spawns
  // and opens the input), then the tracker's models load while it does: the two start-ups
  // overlap instead of adding up (~0.2 s each).
  // The decoder's I420, not RGB (readFaceFrames): half the bytes and no conversion in ffmpeg.
  // The tracker and the cut detector sample the planes, crops come from `cropYuv` (as in the
  // render pass). Nothing keeps a frame past its iteration.
  const decoded = readFaceFrames(video, { info, signal, ffmpegPath: o.ffmpegPath, ffprobePath: o.ffprobePath });
  const firstFrame = decoded.next();
  firstFrame.catch(() => {}); // awaited below; a failure before then must not go unhandled
  // Streaming: the tracker keeps no landmarks per frame; the smoothed faces come out a few
  // frames late and only the kept points of each track are stored (the main track is known at the end).
  let tracker: FaceTracker;
  try {
    tracker = await FaceTracker.create({ ...o.tracker, keepRaw: false, stream: true, signal });
  } catch (e) {
    await decoded.return(undefined).catch(() => {}); // stops the decoder
    throw e;
  }
  const stores = new Map<number, TrackFaceStore>();
  const keep = (final: readonly SmoothedFace[] | undefined): void => {
    for (const f of final ?? []) {
      let st = stores.get(f.trackId);
      if (!st) stores.set(f.trackId, (st = new TrackFaceStore()));
      st.push(f);
    }
  };
  const canon = new FaceCanonicalizer();
  const cuts = new CutDetector(o.cutThreshold);
  const cutList: number[] = [];
  const fits = new Map<number, FitState>();
  const refs = new Map<number, RefState>();
  const meter = new ProgressMeter('track', info.video?.frameCount, o.onProgress);
  const fps = info.video && info.video.fps > 0 ? info.video.fps : 25;
  const maxGapFrames = Math.ceil(((o.tracker.maxGapSeconds ?? 2) + 0.5) * fps);
  const startTime = info.video?.startTime ?? 0;
  const fitOptions = o.fit;
  let fitAudio: FitAudio | undefined;
  let frames = 0;
  let timestamps = new Float64Array(1024);
  const sec = { track: 0, canonicalize: 0, cuts: 0, fit: 0 };

  // A dropped fit is no longer fed and is never solved.
  const stopFit = (s: FitState): void => {
    s.dropped = true;
  };

  let pending: Promise<IteratorResult<IndexedFaceFrame, void>> | undefined = firstFrame;
  const frameSource: AsyncIterable<IndexedFaceFrame> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const p = pending ?? decoded.next();
        pending = undefined;
        return p;
      },
      return: (v?: void) => decoded.return(v),
    }),
  };
  for await (const frame of frameSource) {
    throwIfAborted(signal);
    if (frames === timestamps.length) {
      const grown = new Float64Array(frames * 2);
      grown.set(timestamps);
      timestamps = grown;
    }
    timestamps[frames++] = frame.timestamp;
    let tm = performance.now();
    const d = cuts.push(frame);
    if (cuts.isCut(d)) cutList.push(frame.index);
    sec.cuts += performance.now() - tm;
    tm = performance.now();
    const found = await tracker.process(frame);
    keep(found.final);
    sec.track += performance.now() - tm;
    const t = frame.timestamp - startTime;
    let window: Float32Array | undefined;
    let voiced: boolean | undefined;
    for (const face of found.faces) {
      const wantFit = fitOptions !== undefined;
      const wantRef = o.references > 0;
      if (!wantFit && !wantRef) break;
      let fit = wantFit ? fits.get(face.trackId) : undefined;
      if (wantFit && !fitAudio) fitAudio = toFitAudio(await fitOptions.audio);
      if (wantFit && !fit) {
        const live = [...fits.values()].filter((s) => !s.dropped).length;
        if (live < o.maxFitTracks) {
          const fitter = new PersonalizedFitter({ ...fitOptions.options, audioStats: fitAudio!.stats, signal });
          fit = { fitter, frames: 0, lastIndex: frame.index, iodSum: 0, dropped: false };
          fits.set(face.trackId, fit);
        }
      }
      const ref = wantRef ? (refs.get(face.trackId) ?? newRef(refs, face.trackId)) : undefined;
      const keepRef = ref !== undefined && frame.index % ref.stride === 0;
      if ((!fit || fit.dropped) && !keepRef) continue;
      let tc = performance.now();
      const transform = canon.transform(face.landmarks);
      const canonical = canon.toCanonical(face.landmarks, transform);
      const pose = headPose(face.landmarks);
      sec.canonicalize += performance.now() - tc;
      // The crop, made at most once and only when needed: the fit asks for it only if its
      // bank keeps this frame (on a long video, few do), references when one is kept.
      let crop: RgbImage | undefined;
      let cropMs = 0;
      const cropOnce = (): RgbImage => {
        if (!crop) {
          const tk = performance.now();
          crop = canon.cropFace(frame, transform);
          cropMs = performance.now() - tk;
          sec.canonicalize += cropMs;
        }
        return crop;
      };
      if (fit && !fit.dropped) {
        window ??= fitAudio!.window(Math.max(0, t));
        voiced ??= fitAudio!.voiced(t);
        tc = performance.now();
        fit.fitter.add({ index: frame.index, crop: cropOnce, canonicalLandmarks: canonical, pose, audio: window, voiced });
        sec.fit += performance.now() - tc - cropMs;
        fit.frames++;
        fit.lastIndex = frame.index;
        fit.iodSum += interocularDistance(face.landmarks);
      }
      if (keepRef) {
        ref.items.push({ frame: frame.index, crop: cropOnce().data, canonical, pose });
        if (ref.items.length > o.references) {
          // Keep every other candidate: the spacing doubles, memory stays at `references` crops.
          ref.stride *= 2;
          ref.items = ref.items.filter((it) => it.frame % ref.stride === 0);
        }
      }
    }
    // Tracks that ended and cannot win any more stop being fitted.
    if (fitOptions) {
      let best = 0;
      for (const s of fits.values()) if (!s.dropped) best = Math.max(best, s.iodSum);
      for (const s of fits.values()) {
        if (s.dropped || frame.index - s.lastIndex <= maxGapFrames) continue;
        if (s.frames < MIN_FIT_FRAMES || s.iodSum * 2 < best) stopFit(s);
      }
    }
    meter.tick(frames);
  }
  const decodeAndTrack = (performance.now() - t0) / 1000;
  const result = tracker.finishStream();
  keep(result.final);
  if (result.frameCount === 0) {
    result.width = info.video?.displayWidth ?? 0;
    result.height = info.video?.displayHeight ?? 0;
  }
  const mainId = result.mainTrack?.id;
  const main: MainFace[] = mainId !== undefined ? (stores.get(mainId)?.mainFaces() ?? []) : [];
  stores.clear();
  const mainFit = mainId !== undefined ? fits.get(mainId) : undefined;
  const t1 = performance.now();
  let model: PersonalizedLipsyncModel | undefined;
  let fitError: unknown;
  if (fitOptions && mainId !== undefined) {
    if (!mainFit || mainFit.dropped) fitError = new AvdubError(ErrorCode.NO_FACE, 'The main face track was not fitted (too many faces at once)');
    else {
      try {
        model = mainFit.fitter.finish();
      } catch (e) {
        fitError = e;
      }
    }
  }
  throwIfAborted(signal);

  let references: ReferenceFrame[] = [];
  const mainRefs = mainId !== undefined ? refs.get(mainId) : undefined;
  if (mainRefs && mainRefs.items.length > 0 && o.referenceCount > 0) {
    const selector = new ReferenceSelector({ k: o.referenceCount, exclusionFrames: 0 });
    // Dubbing drives the face with new audio, so no frame is a target to exclude (001 s3.1.4's
    // exclusion is about not leaking the target frame during training and self-reenactment).
    const chosen = new Set(selector.select(mainRefs.items.map((it) => ({ frame: it.frame, landmarks: it.canonical, pose: it.pose })), []));
    references = mainRefs.items.filter((it) => chosen.has(it.frame)).map((it) => ({ frame: it.frame, crop: it.crop }));
  }

  const analysis: VideoAnalysis = {
    frameCount: result.frameCount,
    width: result.width,
    height: result.height,
    tracks: summarizeTrackInfos(result.tracks, mainId),
    mainTrackId: mainId,
    main,
    cuts: cutList,
    cropSize: canon.size,
    references,
    timestamps: timestamps.slice(0, frames),
  };
  return {
    analysis,
    model,
    fitError,
    fitFrames: mainFit?.frames ?? 0,
    seconds: {
      decodeAndTrack,
      fitSolve: (performance.now() - t1) / 1000,
      track: sec.track / 1000,
      canonicalize: sec.canonicalize / 1000,
      cuts: sec.cuts / 1000,
      fit: sec.fit / 1000,
    },
  };
}

function toFitAudio(a: AudioContext | FitAudio): FitAudio {
  if ('window' in a) return a;
  return { stats: a.stats, window: (t) => a.frontend.windows(a.mel, [t]), voiced: (t) => voicedAt(a.vad, t) };
}

function newRef(refs: Map<number, RefState>, id: number): RefState {
  const r: RefState = { stride: 1, items: [] };
  refs.set(id, r);
  return r;
}

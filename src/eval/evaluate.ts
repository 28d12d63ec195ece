/**
 * `evaluate()`: the quality harness behind `avdub eval` (design "Evaluation", issue 8; metrics
 * of 001 s7 and 003 s5). On one clip of a speaker it fits the personalized model without a
 * held-out stretch, then measures, for the model and its two baselines in the same run:
 *
 * - self-reenactment: the held-out frames driven by their own audio, against the real frames
 *   (mouth-region PSNR and SSIM, LMD on re-detected lip landmarks, Laplacian sharpness ratio,
 *   landmark jitter, pixels changed outside the render mask);
 * - cross-reenactment: the held-out frames driven by another stretch's audio, against that
 *   stretch's real mouth opening (Pearson correlation and the best audio-visual offset): once
 *   with a fitted stretch's audio (`cross`, as the issue specifies; the model may replay it, so
 *   `replay` is measured too) and once with unseen audio, the held-out halves swapped
 *   (`crossUnseen`);
 * - optionally, viseme consistency when the driving audio is TTS with phoneme timings.
 *
 * Landmarks of generated and real crops go through the same path (FaceMesh on the 256 x 256
 * canonical crop, one fixed ROI per clip), so detector bias cancels and the real frames score
 * PSNR = Infinity, SSIM = 1, LMD = 0 exactly (the `identity` strategy).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { toMonoAt } from '../audio/resample.js';
import { FaceCanonicalizer } from '../canonical/canonicalizer.js';
import { MOUTH_MASK_RECT, mouthMaskRect } from '../canonical/masks.js';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { invertAffine, type Affine, type RgbImage } from '../face/image.js';
import { LIPS, MESH_POINT_COUNT } from '../face/landmarks.js';
import { FaceMesh, roiFromLandmarks, type FaceRoi } from '../face/mesh.js';
import type { HeadPose } from '../face/pose.js';
import type { ModelCacheOptions } from '../face/model-cache.js';
import { trackMainFace, type FaceTrack } from '../face/tracker.js';
import {
  audioContext,
  fitOnVideo,
  footageFrames,
  mouthAnchor,
  voicedAt,
  type AudioContext,
  type PersonalizedFitOptions,
  type PersonalizedGenerateSettings,
  type PersonalizedLipsyncModel,
  type PersonalizedStrategy,
} from '../lipsync/personalized/index.js';
import type { LipsyncInputFrame } from '../lipsync/types.js';
import type { AudioData } from '../media/audio.js';
import { extractAudio } from '../media/audio.js';
import type { FfmpegOptions } from '../media/binaries.js';
import { readFrames } from '../media/frames.js';
import { probeMedia, requireVideo } from '../media/probe.js';
import { featheredPolygonMask } from '../render/mask.js';
import { maskAlphaInFrame, Renderer } from '../render/renderer.js';
import type { Device } from '../runtime/devices.js';
import { AtomicOutput } from '../util/atomic.js';
import type { OperationOptions } from '../util/progress.js';
import { is } from '../util/validate.js';
import { VERSION } from '../version.js';
import { normalizePhoneme,
  bestOffset,
  changedPixelsOutside,
  landmarkJitter,
  lmd,
  mouthOpening,
  pearson,
  psnr,
  sharpnessRatio,
  ssim,
  visemeConsistency,
  type Rect,
  type TimedPhoneme,
} from './metrics.js';
import { contactSheetPng, plotSeriesPng, type Series } from './plots.js';

/**
 * How the evaluated crops are made: the personalized model (`viterbi`), its two baselines
 * (`static-mean`: one mean mouth crop for every frame; `random-bank`: random bank crops with the
 * same continuity), and `identity` (the real crops themselves: the ceiling for self-reenactment
 * and the chance level for cross-reenactment).
 */
export type EvalStrategy = PersonalizedStrategy | 'identity';

export const EVAL_STRATEGIES: readonly EvalStrategy[] = Object.freeze(['viterbi', 'static-mean', 'random-bank', 'identity']);

/**
 * The landmarks LMD and jitter are measured on: the 40 lip points (outer and inner contour,
 * `LIPS`). The jaw is left out: its points sit on the cheek edge, where FaceMesh is least sure
 * and the mouth mask's feathered border lies.
 */
export const EVAL_MOUTH_LANDMARKS: readonly number[] = LIPS;

export interface EvaluateOptions extends OperationOptions, FfmpegOptions, Pick<ModelCacheOptions, 'cacheDir'> {
  /** Fraction of the tracked frames held out at the end of the clip. @default 0.3 */
  heldOutFraction?: number;
  /**
   * Frames just before the held-out stretch that the fit also leaves out, so no audio window
   * or smoothing kernel of a fitted frame reaches into the target (24 mel frames = 0.24 s).
   * @default 10
   */
  guardFrames?: number;
  /** Only the first this many seconds of the clip are used (bounds memory: held-out crops stay in memory). @default 30 */
  maxSeconds?: number;
  /** Strategies measured. @default EVAL_STRATEGIES */
  strategies?: readonly EvalStrategy[];
  /** Seed of the random-bank baseline (seeds seed .. seed + randomBankSeeds - 1 are used). @default 1 */
  seed?: number;
  /**
   * Draws of the random-bank baseline; its scores are the means over them (one draw of a
   * random baseline on a 2-6 s stretch is too noisy to compare with). @default 5
   */
  randomBankSeeds?: number;
  /** Largest audio-visual offset searched, in frames. @default 10 */
  maxLag?: number;
  /** Writes `<clip>.json`, `<clip>-opening.png` and `<clip>-sheet.png` here when given. */
  outDir?: string;
  /** Frames in the contact sheet (each a row: real, then every generated strategy). @default 6 */
  sheetFrames?: number;
  /** Gaussian feather (crop px) of the render polygon mask used for the outside-the-mask check. @default 4 */
  renderFeather?: number;
  /** Where FaceMesh and the model's regressor run. @default 'cpu' */
  device?: Device;
  /** The clip's main face track, when already known (else tracked here). */
  track?: FaceTrack;
  /** Options passed to the fit (bank size, PCA, ridge penalties...). */
  fit?: Partial<Omit<PersonalizedFitOptions, 'audioStats' | 'signal' | 'onProgress'>>;
  /** Generation settings of the personalized model (lag, switch cost...). */
  generate?: Partial<PersonalizedGenerateSettings>;
  /**
   * Driving TTS audio with phoneme timings (e.g. from the espeak provider): the held-out frames
   * (ping-pong when the audio is longer) are driven by it and viseme consistency is measured.
   */
  tts?: { audio: AudioData; phonemes: readonly TimedPhoneme[]; label?: string };
}

export const defaultEvaluateOptions = Object.freeze({
  heldOutFraction: 0.3,
  guardFrames: 10,
  maxSeconds: 30,
  seed: 1,
  randomBankSeeds: 5,
  maxLag: 10,
  sheetFrames: 6,
  renderFeather: 4,
  device: 'cpu' as Device,
});

/** Self-reenactment scores (means over the held-out frames). */
export interface SelfMetrics {
  frames: number;
  /** Mouth-rectangle PSNR, dB; Infinity when identical (null in JSON). */
  psnrMouth: number;
  /** Mouth-rectangle SSIM (luma), 1 when identical. */
  ssimMouth: number;
  /** Lip landmark distance / inter-ocular distance (re-detected on both). */
  lmd: number;
  /** Laplacian variance of the mouth rectangle, generated / real (1: as sharp). */
  sharpnessRatio: number;
  /** Second-difference jitter of the re-detected lip landmarks / inter-ocular distance. */
  jitter: number;
  /** Pearson correlation of the generated and real mouth opening over the stretch. */
  openingCorrelation: number;
  /** Frame pixels changed outside the render mask's support, summed over frames (must be 0). */
  changedOutsideMask: number;
  /** Frames the outside-the-mask check covered. */
  renderChecked: number;
  /** Mean FaceMesh face-presence confidence on the generated crops. */
  meshConfidence: number;
}

/** Cross-reenactment scores. */
export interface CrossMetrics {
  frames: number;
  /** Pearson correlation of the generated mouth opening and the driving stretch's real opening. */
  openingCorrelation: number;
  /** Lag (frames) maximising that correlation; positive: the generated mouth moves later. */
  avOffset: number;
  /** The correlation at `avOffset`. */
  avOffsetCorrelation: number;
  /**
   * `cross` only: fraction of frames whose mouth centre is pixel-identical to B's own frame at
   * the same time (+-1 frame), i.e. the fitted footage played back. High replay means the
   * correlation measures memory of B, not lip-sync.
   */
  replay?: number;
}

/** Viseme consistency under TTS driving audio (see `visemeConsistency`). */
export interface VisemeMetrics {
  frames: number;
  bilabialClosed: number;
  openVowelOpen: number;
  checked: number;
}

export interface StrategyMetrics {
  self: SelfMetrics;
  /** A = held-out frames, B = an equally long stretch of the fitted part (its audio was fitted on). */
  cross: CrossMetrics;
  /** A and B = the two halves of the held-out stretch, each driven by the other's audio (neither fitted on). */
  crossUnseen: CrossMetrics;
  viseme?: VisemeMetrics;
  /** Seconds spent generating and re-detecting for this strategy. */
  seconds: number;
  /**
   * Draws averaged (random-bank: `randomBankSeeds`; the others are deterministic: 1). With
   * several, every score is the mean over draws (the offset: the median) and `spread` gives the
   * standard deviation across draws; the outside-the-mask check, plots and sheet use the first.
   */
  runs?: number;
  spread?: { lmd: number; psnrMouth: number; crossCorrelation: number; crossUnseenCorrelation: number };
}

export interface EvalFrameRange {
  start: number;
  end: number;
  frames: number;
}

export interface EvaluationResult {
  clip: string;
  video: string;
  avdubVersion: string;
  createdAt: string;
  /** Frames of the video (or of its first `maxSeconds`). */
  frames: number;
  fps: number;
  width: number;
  height: number;
  trackedFrames: number;
  /** The self-reenactment target: never seen by the fit. */
  heldOut: EvalFrameRange;
  /** Frames left out of the fit besides the held-out stretch (just before it). */
  guard: { start: number; end: number };
  split: { heldOutFraction: number; guardFrames: number; seed: number; randomBankSeeds: number; maxLag: number };
  fit: {
    frames: number;
    voicedFrames: number;
    bank: number;
    pcaComponents: number;
    pcaExplained: number;
    /** The audio pooling the fit's cross-validation kept, bands x frames (e.g. '20x12'). */
    layout: string;
    lambda: number;
    /** Cross-validated error of the audio -> mouth regression, and of predicting the mean. */
    cvError: number;
    baselineError: number;
  };
  cross: {
    a: EvalFrameRange;
    b: EvalFrameRange & { voicedFraction: number };
    /** B's audio and frames were part of the fit (the default split, per the issue). */
    bInFit: true;
    /** Mean |pose difference| between A and B frames, degrees. */
    poseDelta: HeadPose;
  };
  crossUnseen: { frames: number; shift: number };
  tts?: { label: string; frames: number; seconds: number; phonemes: number };
  mouthLandmarks: string;
  mouthRegion: Rect;
  /** The fixed FaceMesh ROI in canonical crop pixels used to re-detect every crop. */
  redetectionRoi: FaceRoi;
  strategies: Partial<Record<EvalStrategy, StrategyMetrics>>;
  /** Reference statistics of the real held-out mouth (re-detected). */
  reference: { jitter: number; openingMean: number; openingStd: number; meshConfidence: number };
  /** Mouth openings per frame (re-detected), for plots and re-analysis. */
  openings: {
    self: { real: number[] } & Partial<Record<EvalStrategy, number[]>>;
    cross: { real: number[] } & Partial<Record<EvalStrategy, number[]>>;
    crossUnseen: { real: number[] } & Partial<Record<EvalStrategy, number[]>>;
    tts?: Partial<Record<EvalStrategy, number[]>>;
  };
  timing: Record<string, number>;
  outputs?: { json: string; plot: string; sheet: string };
}

/** One frame of real footage kept for the evaluation. */
interface RealFrame {
  index: number;
  timestamp: number;
  crop: RgbImage;
  canonical: Float32Array;
  /** Nose base in the canonical crop (`mouthAnchor`): geometry of the frame, not of its speech. */
  anchor: [number, number];
  pose: HeadPose;
  audio: Float32Array;
  voiced: boolean;
  /** Re-detected landmarks in canonical crop pixels. */
  landmarks: Float32Array;
  confidence: number;
}

/** A pair of real and generated crops with their re-detected landmarks (canonical crop pixels). */
export interface ReenactmentFrame {
  real: RgbImage;
  generated: RgbImage;
  realLandmarks: ArrayLike<number>;
  generatedLandmarks: ArrayLike<number>;
}

/** The 001 mouth rectangle of a `size` crop as an integer pixel rectangle (pixel centres inside). */
export function canonicalMouthRegion(size = 256): Rect {
  const r = mouthMaskRect(size, MOUTH_MASK_RECT);
  return {
    x0: Math.max(0, Math.ceil(r.x0 - 0.5)),
    y0: Math.max(0, Math.ceil(r.y0 - 0.5)),
    x1: Math.min(size, Math.ceil(r.x1 - 0.5)),
    y1: Math.min(size, Math.ceil(r.y1 - 0.5)),
  };
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);

/**
 * Self-reenactment scores of aligned real/generated frames: the metric assembly of `evaluate`,
 * exposed so it can be checked on known cases. Every score is the mean of the per-frame values
 * (so PSNR is Infinity when a frame is identical to its real one, and identical sequences
 * score PSNR Infinity, SSIM 1, LMD 0, sharpness 1); jitter is over the generated sequence.
 */
export function selfReenactmentMetrics(
  frames: readonly ReenactmentFrame[],
  region: Rect = canonicalMouthRegion(frames[0]?.real.width ?? 256),
  indices: readonly number[] = EVAL_MOUTH_LANDMARKS,
): Omit<SelfMetrics, 'changedOutsideMask' | 'renderChecked' | 'meshConfidence'> {
  if (frames.length === 0) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected at least one frame to score');
  const p: number[] = [];
  const s: number[] = [];
  const l: number[] = [];
  const sh: number[] = [];
  const genOpen: number[] = [];
  const realOpen: number[] = [];
  for (const f of frames) {
    p.push(psnr(f.generated, f.real, region));
    s.push(ssim(f.generated, f.real, region));
    l.push(lmd(f.generatedLandmarks, f.realLandmarks, indices));
    sh.push(sharpnessRatio(f.generated, f.real, region));
    genOpen.push(mouthOpening(f.generatedLandmarks));
    realOpen.push(mouthOpening(f.realLandmarks));
  }
  return {
    frames: frames.length,
    psnrMouth: mean(p),
    ssimMouth: mean(s),
    lmd: mean(l),
    sharpnessRatio: mean(sh),
    jitter: landmarkJitter(
      frames.map((f) => f.generatedLandmarks),
      indices,
    ),
    openingCorrelation: pearson(genOpen, realOpen),
  };
}

/** Cross-reenactment scores: correlation of generated and reference opening, and the best offset. */
export function crossReenactmentMetrics(generatedOpening: readonly number[], referenceOpening: readonly number[], maxLag = 10): CrossMetrics {
  const n = Math.min(generatedOpening.length, referenceOpening.length);
  const g = generatedOpening.slice(0, n);
  const r = referenceOpening.slice(0, n);
  const best = bestOffset(g, r, Math.min(maxLag, Math.max(0, n - 3)));
  return { frames: n, openingCorrelation: pearson(g, r), avOffset: best.offset, avOffsetCorrelation: best.correlation };
}

/**
 * Renders `generated` into a copy of `frame` with the Renderer and counts frame pixels changed
 * outside the mask's support (a frame pixel is inside when the crop-space mask, sampled
 * bilinearly at its centre, is > 0). Must be 0.
 */
export function changedOutsideRender(frame: RgbImage, generated: RgbImage, cropToFrame: Affine, mask: Float32Array, renderer = new Renderer()): number {
  const out: RgbImage = { data: new Uint8Array(frame.data), width: frame.width, height: frame.height };
  const box = renderer.render(out, generated, cropToFrame, mask);
  if (!box) return changedPixelsOutside(frame, out, () => false);
  const { x: bx, y: by, width: bw, height: bh } = box;
  // Inside the touched box: the shared metric, with the mask's support in frame pixels.
  const alpha = new Float32Array(bw * bh);
  maskAlphaInFrame(mask, generated.width, generated.height, invertAffine(cropToFrame), box, alpha);
  const support = alpha.map((v) => (v > 0 ? 1 : 0));
  let n = changedPixelsOutside(subImage(frame, box), subImage(out, box), Uint8Array.from(support));
  // Outside the box nothing may change at all: compare rows natively, count only on a mismatch.
  const stride = frame.width * 3;
  const seg = (img: RgbImage, y: number, x0: number, x1: number): Buffer => Buffer.from(img.data.buffer, img.data.byteOffset + y * stride + x0 * 3, (x1 - x0) * 3);
  for (let y = 0; y < frame.height; y++) {
    const parts: [number, number][] = y < by || y >= by + bh ? [[0, frame.width]] : [[0, bx], [bx + bw, frame.width]];
    for (const [x0, x1] of parts) {
      if (x1 <= x0 || seg(frame, y, x0, x1).equals(seg(out, y, x0, x1))) continue;
      for (let x = x0; x < x1; x++) {
        const i = y * stride + x * 3;
        if (frame.data[i] !== out.data[i] || frame.data[i + 1] !== out.data[i + 1] || frame.data[i + 2] !== out.data[i + 2]) n++;
      }
    }
  }
  return n;
}

function subImage(img: RgbImage, box: { x: number; y: number; width: number; height: number }): RgbImage {
  const data = new Uint8Array(box.width * box.height * 3);
  for (let v = 0; v < box.height; v++) {
    const o = ((box.y + v) * img.width + box.x) * 3;
    data.set(img.data.subarray(o, o + box.width * 3), v * box.width * 3);
  }
  return { data, width: box.width, height: box.height };
}

const stdDev = (xs: readonly number[]): number => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};

/** Mean (median for offsets) of several draws of one strategy, with the spread of the key scores. */
function aggregateRuns(runs: readonly StrategyMetrics[]): StrategyMetrics {
  const avg = (f: (m: StrategyMetrics) => number): number => {
    const xs = runs.map(f).filter((x) => !Number.isNaN(x));
    return xs.length ? mean(xs) : Number.NaN;
  };
  const sd = (f: (m: StrategyMetrics) => number): number => stdDev(runs.map(f).filter((x) => !Number.isNaN(x)));
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[(s.length - 1) >> 1]!;
  };
  const cross = (pick: (m: StrategyMetrics) => CrossMetrics): CrossMetrics => ({
    frames: pick(runs[0]!).frames,
    openingCorrelation: avg((m) => pick(m).openingCorrelation),
    avOffset: median(runs.map((m) => pick(m).avOffset)),
    avOffsetCorrelation: avg((m) => pick(m).avOffsetCorrelation),
    ...(pick(runs[0]!).replay !== undefined ? { replay: avg((m) => pick(m).replay!) } : {}),
  });
  const first = runs[0]!;
  const self = Object.fromEntries(Object.keys(first.self).map((k) => [k, avg((m) => m.self[k as keyof SelfMetrics])])) as unknown as SelfMetrics;
  self.frames = first.self.frames;
  return {
    self,
    cross: cross((m) => m.cross),
    crossUnseen: cross((m) => m.crossUnseen),
    ...(first.viseme
      ? {
          viseme: {
            frames: first.viseme.frames,
            checked: first.viseme.checked,
            bilabialClosed: avg((m) => m.viseme!.bilabialClosed),
            openVowelOpen: avg((m) => m.viseme!.openVowelOpen),
          },
        }
      : {}),
    seconds: 0,
    runs: runs.length,
    spread: {
      lmd: sd((m) => m.self.lmd),
      psnrMouth: sd((m) => m.self.psnrMouth),
      crossCorrelation: sd((m) => m.cross.openingCorrelation),
      crossUnseenCorrelation: sd((m) => m.crossUnseen.openingCorrelation),
    },
  };
}

/** Whether two crops have identical pixels in a block at the centre of the mouth rectangle (where the blend is opaque). */
function sameMouthCentre(a: RgbImage, b: RgbImage): boolean {
  if (a.width !== b.width || a.height !== b.height) return false;
  const w = a.width;
  const x0 = Math.round(w * 0.4);
  const x1 = Math.round(w * 0.6);
  const stride = w * 3;
  for (let y = Math.round(a.height * 0.6); y < Math.round(a.height * 0.78); y++) {
    const o = y * stride;
    for (let i = o + x0 * 3; i < o + x1 * 3; i++) if (a.data[i] !== b.data[i]) return false;
  }
  return true;
}

/** Index into a ping-pong (0, 1, ..., n-1, n-2, ..., 1, 0, 1, ...) sequence of n items. */
function pingPong(i: number, n: number): number {
  if (n <= 1) return 0;
  const p = 2 * (n - 1);
  const k = i % p;
  return k < n ? k : p - k;
}

/**
 * Evaluates the personalized lip-sync model on one clip (see the module comment and
 * docs/evaluation.md). Deterministic for a given clip, options and build.
 */
export async function evaluate(video: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const o = { ...defaultEvaluateOptions, ...stripUndefined(options) };
  is.number('heldOutFraction', o.heldOutFraction, 0.05, 0.9);
  is.integer('guardFrames', o.guardFrames, 0, 10000);
  is.number('maxSeconds', o.maxSeconds, 1);
  is.integer('seed', o.seed, 0, 2 ** 32 - 1);
  is.integer('randomBankSeeds', o.randomBankSeeds, 1, 1000);
  is.integer('maxLag', o.maxLag, 0, 1000);
  is.integer('sheetFrames', o.sheetFrames, 1, 100);
  is.number('renderFeather', o.renderFeather, 0.1, 64);
  const strategies = [...(options.strategies ?? EVAL_STRATEGIES)];
  if (strategies.length === 0) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected at least one strategy');
  for (const s of strategies) is.oneOf('strategies[]', s, EVAL_STRATEGIES);
  const { signal, onProgress } = options;
  const ff: FfmpegOptions = { ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath };
  const timing: Record<string, number> = {};
  const t0 = performance.now();
  let tStage = t0;
  const lap = (name: string): void => {
    const now = performance.now();
    timing[name] = round((now - tStage) / 1000, 1000);
    tStage = now;
  };
  const steps = 5 + strategies.length;
  let step = 0;
  const progress = (): void => onProgress?.({ stage: 'eval', done: ++step, total: steps });

  // 1. Probe, track, audio.
  const info = await probeMedia(video, { ...ff, scanFrames: true, signal });
  const v = requireVideo(info);
  const fps = v.fps > 0 ? v.fps : 25;
  let track =
    options.track ??
    (await trackMainFace(info.path, {
      ...ff,
      cacheDir: options.cacheDir,
      device: o.device,
      duration: info.duration > o.maxSeconds ? o.maxSeconds : undefined,
      signal,
      onProgress,
    }));
  const maxFrame = Math.floor(o.maxSeconds * fps) - 1;
  if (track.end > maxFrame) track = { ...track, end: maxFrame, faces: track.faces.filter((f) => f.index <= maxFrame) };
  lap('track');
  progress();
  const audio: AudioContext = audioContext((await extractAudio(info.path, { ...ff, info, signal })).samples);
  lap('audio');

  // 2. The split: the last `heldOutFraction` of the tracked frames, a guard band before it.
  const faces = track.faces;
  const nFit = Math.floor(faces.length * (1 - o.heldOutFraction));
  const heldStart = faces[Math.min(nFit, faces.length - 1)]?.index ?? 0;
  const heldEnd = faces[faces.length - 1]?.index ?? 0;
  const guardStart = Math.max(0, heldStart - o.guardFrames);
  const fitFaces = faces.filter((f) => f.index < guardStart);
  if (faces.length - nFit < 8 || fitFaces.length < 20) {
    throw new AvdubError(
      ErrorCode.INVALID_ARGUMENT,
      `Too few tracked frames to evaluate: ${faces.length} (need at least 20 to fit, after ${o.guardFrames} guard frames, and 8 held out with heldOutFraction ${o.heldOutFraction})`,
      { details: { trackedFrames: faces.length } },
    );
  }
  const heldFaces = faces.slice(nFit);
  // B: the fitted stretch, as long as the held-out one, with the most voiced frames (voice
  // activity only, never the mouth, picks it); ties go to the earliest.
  const nB = Math.min(heldFaces.length, fitFaces.length);
  const voiced = fitFaces.map((f) => (voicedAt(audio.vad, f.timestamp) ? 1 : 0));
  let bPos = 0;
  let bestVoiced = -1;
  let voicedRun = 0;
  for (let i = 0; i < fitFaces.length; i++) {
    voicedRun += voiced[i]!;
    if (i >= nB) voicedRun -= voiced[i - nB]!;
    if (i >= nB - 1 && voicedRun > bestVoiced) {
      bestVoiced = voicedRun;
      bPos = i - nB + 1;
    }
  }
  const bFaces = fitFaces.slice(bPos, bPos + nB);
  const bSet = new Set(bFaces.map((f) => f.index));

  // 3. Fit without the held-out stretch and its guard band.
  const { model } = await fitOnVideo(info.path, {
    ...ff,
    ...options.fit,
    info,
    track,
    audio,
    exclude: [{ start: guardStart, end: Number.MAX_SAFE_INTEGER }],
    signal,
    onProgress,
  });
  const gen: PersonalizedLipsyncModel = options.generate ? model.withSettings(options.generate) : model;
  lap('fit');
  progress();

  // 4. The real frames of A (held out) and B, with their crops, audio windows and voice activity.
  const A: RealFrame[] = [];
  const B: RealFrame[] = [];
  const faceAt = new Map(faces.map((f) => [f.index, f]));
  const lastNeeded = heldEnd;
  for await (const f of footageFrames(info.path, { ...ff, info, track, audio, signal })) {
    throwIfAborted(signal);
    const inA = f.index >= heldStart && f.index <= heldEnd;
    if (inA || bSet.has(f.index)) {
      const face = faceAt.get(f.index)!;
      const real: RealFrame = {
        index: f.index,
        timestamp: face.timestamp,
        crop: f.crop,
        canonical: Float32Array.from(f.canonicalLandmarks),
        anchor: mouthAnchor(f.canonicalLandmarks),
        pose: f.pose,
        audio: f.audio,
        voiced: f.voiced ?? true,
        landmarks: new Float32Array(0),
        confidence: 0,
      };
      (inA ? A : B).push(real);
    }
    if (f.index >= lastNeeded) break;
  }
  lap('collect');
  progress();

  // 5. Re-detect the real mouths, with one ROI for the clip (from the mean canonical
  // landmarks), so the real mouth cannot steer where the generated one is looked for.
  const mesh = await FaceMesh.create({ cacheDir: options.cacheDir, device: o.device });
  const meanCanonical = new Float32Array(MESH_POINT_COUNT * 3);
  for (const r of [...A, ...B]) for (let i = 0; i < meanCanonical.length; i++) meanCanonical[i] = meanCanonical[i]! + r.canonical[i]! / (A.length + B.length);
  const roi = roiFromLandmarks(meanCanonical);
  const detect = async (crop: RgbImage): Promise<{ landmarks: Float32Array; confidence: number }> => {
    const [res] = await mesh.run(crop, [roi]);
    return { landmarks: res!.landmarks, confidence: res!.confidence };
  };
  for (const r of [...A, ...B]) {
    throwIfAborted(signal);
    const d = await detect(r.crop);
    r.landmarks = d.landmarks;
    r.confidence = d.confidence;
  }
  const realOpenA = A.map((r) => mouthOpening(r.landmarks));
  const realOpenB = B.map((r) => mouthOpening(r.landmarks));
  const shift = Math.floor(A.length / 2);
  const realOpenUnseen = A.map((_, i) => realOpenA[(i + shift) % A.length]!);
  lap('redetectReal');

  // Optional TTS driving audio.
  let tts: { frames: LipsyncInputFrame[]; timestamps: number[]; stats: AudioContext['stats']; src: number[] } | undefined;
  if (options.tts) {
    const samples = toMonoAt(options.tts.audio, 16000);
    const ctx = audioContext(samples);
    const count = Math.max(1, Math.ceil((samples.length / 16000) * fps));
    const timestamps = Array.from({ length: count }, (_, i) => i / fps);
    const windows = ctx.frontend.windows(ctx.mel, timestamps);
    const per = windows.length / count;
    const src = timestamps.map((_, i) => pingPong(i, A.length));
    tts = {
      timestamps,
      stats: ctx.stats,
      src,
      frames: timestamps.map((t, i) => ({
        crop: A[src[i]!]!.crop,
        pose: A[src[i]!]!.pose,
        anchor: A[src[i]!]!.anchor,
        audio: windows.slice(i * per, (i + 1) * per),
        voiced: voicedAt(ctx.vad, t),
      })),
    };
  }

  // 6. Every strategy: self, cross, cross on unseen audio (and TTS); re-detect every output.
  const size = A[0]!.crop.width;
  const region = canonicalMouthRegion(size);
  const selfCrops = new Map<EvalStrategy, RgbImage[]>();
  const results: Partial<Record<EvalStrategy, StrategyMetrics>> = {};
  const openings: EvaluationResult['openings'] = {
    self: { real: realOpenA },
    cross: { real: realOpenB },
    crossUnseen: { real: realOpenUnseen },
    ...(tts ? { tts: {} } : {}),
  };
  const run = async (strategy: EvalStrategy, frames: LipsyncInputFrame[], stats: AudioContext['stats'], real: RealFrame[], seed: number): Promise<{ crops: RgbImage[]; landmarks: Float32Array[]; confidence: number[] }> => {
    const crops: RgbImage[] = [];
    const landmarks: Float32Array[] = [];
    const confidence: number[] = [];
    if (strategy === 'identity') {
      for (const r of real) {
        crops.push(r.crop);
        landmarks.push(r.landmarks);
        confidence.push(r.confidence);
      }
      return { crops, landmarks, confidence };
    }
    for await (const out of gen.generate({ frameCount: frames.length, frames, audioStats: stats }, { strategy, seed, device: o.device, signal })) {
      throwIfAborted(signal);
      const d = await detect(out.crop);
      crops.push(out.crop);
      landmarks.push(d.landmarks);
      confidence.push(d.confidence);
    }
    return { crops, landmarks, confidence };
  };
  const nX = Math.min(A.length, B.length);
  const selfFrames = A.map((r) => ({ crop: r.crop, audio: r.audio, pose: r.pose, voiced: r.voiced, anchor: r.anchor }));
  const crossFrames = A.slice(0, nX).map((r, i) => ({ crop: r.crop, pose: r.pose, anchor: r.anchor, audio: B[i]!.audio, voiced: B[i]!.voiced }));
  const unseenFrames = A.map((r, i) => ({ crop: r.crop, pose: r.pose, anchor: r.anchor, audio: A[(i + shift) % A.length]!.audio, voiced: A[(i + shift) % A.length]!.voiced }));
  /** One strategy with one seed: every driving condition, re-detected and scored. */
  const measure = async (strategy: EvalStrategy, seed: number) => {
    const self = await run(strategy, selfFrames, audio.stats, A, seed);
    const scored = selfReenactmentMetrics(
      A.map((r, i) => ({ real: r.crop, generated: self.crops[i]!, realLandmarks: r.landmarks, generatedLandmarks: self.landmarks[i]! })),
      region,
    );
    const crossRun = strategy === 'identity' ? undefined : await run(strategy, crossFrames, audio.stats, A, seed);
    // Replay: the output shows B's own mouth pixels at (about) the same time. The fit saw B, so
    // a model can score on `cross` by playing B's footage back rather than by reading the audio.
    const replay = crossRun ? mean(crossRun.crops.map((c, i) => ([i - 1, i, i + 1].some((j) => j >= 0 && j < nX && sameMouthCentre(c, B[j]!.crop)) ? 1 : 0))) : 0;
    const op: { self: number[]; cross: number[]; unseen: number[]; tts?: number[] } = {
      self: self.landmarks.map((l) => mouthOpening(l)),
      cross: (crossRun ? crossRun.landmarks : A.slice(0, nX).map((r) => r.landmarks)).map((l) => mouthOpening(l)),
      unseen: (strategy === 'identity' ? A.map((r) => r.landmarks) : (await run(strategy, unseenFrames, audio.stats, A, seed)).landmarks).map((l) => mouthOpening(l)),
    };
    let viseme: VisemeMetrics | undefined;
    if (tts && options.tts) {
      const t = strategy === 'identity' ? tts.src.map((k) => A[k]!.landmarks) : (await run(strategy, tts.frames, tts.stats, A, seed)).landmarks;
      op.tts = t.map((l) => mouthOpening(l));
      viseme = { frames: op.tts.length, ...visemeConsistency(op.tts, tts.timestamps, normalizePhonemes(options.tts.phonemes)) };
    }
    const metrics: StrategyMetrics = {
      self: { ...scored, changedOutsideMask: 0, renderChecked: 0, meshConfidence: mean(self.confidence) },
      cross: { ...crossReenactmentMetrics(op.cross, realOpenB, o.maxLag), replay },
      crossUnseen: crossReenactmentMetrics(op.unseen, realOpenUnseen, o.maxLag),
      ...(viseme ? { viseme } : {}),
      seconds: 0,
    };
    return { metrics, crops: self.crops, op };
  };
  for (const strategy of strategies) {
    const ts = performance.now();
    // A random baseline is one draw of a random variable: score the mean over several seeds.
    const seeds = strategy === 'random-bank' ? Array.from({ length: o.randomBankSeeds }, (_, k) => o.seed + k) : [o.seed];
    const runs: Awaited<ReturnType<typeof measure>>[] = [];
    for (const seed of seeds) runs.push(await measure(strategy, seed));
    const first = runs[0]!;
    selfCrops.set(strategy, first.crops);
    openings.self[strategy] = first.op.self;
    openings.cross[strategy] = first.op.cross;
    openings.crossUnseen[strategy] = first.op.unseen;
    if (first.op.tts) openings.tts![strategy] = first.op.tts;
    results[strategy] = { ...(runs.length === 1 ? first.metrics : aggregateRuns(runs.map((r) => r.metrics))), seconds: round((performance.now() - ts) / 1000, 1000) };
    lap(`strategy:${strategy}`);
    progress();
  }

  // 7. Render each self-reenactment crop into its real frame; count pixels changed outside the mask.
  const canon = new FaceCanonicalizer({ size });
  const renderer = new Renderer();
  const startTs = Math.max(0, A[0]!.timestamp - 2 / fps);
  for await (const frame of readFrames(info.path, { ...ff, info, start: startTs, signal })) {
    throwIfAborted(signal);
    const hit = nearestFrame(A, frame.timestamp, 0.5 / fps);
    if (hit === undefined) {
      if (frame.timestamp > A[A.length - 1]!.timestamp + 1 / fps) break;
      continue;
    }
    const r = A[hit]!;
    const face = faceAt.get(r.index)!;
    const transform = canon.transform(face.landmarks);
    const mask = featheredPolygonMask(canon.renderPolygon(r.canonical), size, size, o.renderFeather);
    for (const strategy of strategies) {
      const crop = selfCrops.get(strategy)![hit]!;
      results[strategy]!.self.changedOutsideMask += changedOutsideRender(frame, crop, transform.toFrame, mask, renderer);
      results[strategy]!.self.renderChecked++;
    }
    if (hit === A.length - 1) break;
  }
  lap('renderCheck');
  progress();

  const crossA = A.slice(0, Math.min(A.length, B.length));
  const poseDelta = {
    yaw: mean(crossA.map((r, i) => Math.abs(r.pose.yaw - B[i]!.pose.yaw))),
    pitch: mean(crossA.map((r, i) => Math.abs(r.pose.pitch - B[i]!.pose.pitch))),
    roll: mean(crossA.map((r, i) => Math.abs(r.pose.roll - B[i]!.pose.roll))),
  };
  const p = gen.profile;
  const clip = basename(info.path);
  const result: EvaluationResult = {
    clip,
    video: info.path,
    avdubVersion: VERSION,
    createdAt: new Date().toISOString(),
    frames: Math.min(v.frameCount ?? Math.round(info.duration * fps), maxFrame + 1),
    fps: round(fps, 1000),
    width: v.width,
    height: v.height,
    trackedFrames: faces.length,
    heldOut: { start: heldStart, end: heldEnd, frames: A.length },
    guard: { start: guardStart, end: heldStart - 1 },
    split: { heldOutFraction: o.heldOutFraction, guardFrames: o.guardFrames, seed: o.seed, randomBankSeeds: o.randomBankSeeds, maxLag: o.maxLag },
    fit: {
      frames: p.fit.frames,
      voicedFrames: p.fit.voicedFrames,
      bank: p.bank.length,
      pcaComponents: p.pca.k,
      pcaExplained: p.pca.explained,
      layout: `${p.layout.melBands / p.layout.bandPool}x${p.layout.windowFrames / p.layout.framePool}`,
      lambda: p.regressor.lambda,
      cvError: p.regressor.cvError,
      baselineError: p.regressor.baselineError,
    },
    cross: {
      a: { start: crossA[0]!.index, end: crossA[crossA.length - 1]!.index, frames: crossA.length },
      b: {
        start: B[0]?.index ?? -1,
        end: B[B.length - 1]?.index ?? -1,
        frames: B.length,
        voicedFraction: B.length ? B.filter((r) => r.voiced).length / B.length : 0,
      },
      bInFit: true,
      poseDelta,
    },
    crossUnseen: { frames: A.length, shift },
    ...(tts && options.tts
      ? { tts: { label: options.tts.label ?? 'tts', frames: tts.frames.length, seconds: tts.frames.length / fps, phonemes: options.tts.phonemes.length } }
      : {}),
    mouthLandmarks: `LIPS: ${EVAL_MOUTH_LANDMARKS.length} lip points (outer + inner contour), re-detected by FaceMesh on the canonical crops`,
    mouthRegion: region,
    redetectionRoi: roi,
    strategies: results,
    reference: {
      jitter: landmarkJitter(
        A.map((r) => r.landmarks),
        EVAL_MOUTH_LANDMARKS,
      ),
      openingMean: mean(realOpenA),
      openingStd: stdDev(realOpenA),
      meshConfidence: mean(A.map((r) => r.confidence)),
    },
    openings,
    timing,
  };

  // 8. Outputs, each written atomically.
  if (options.outDir) {
    const stem = basename(clip, extname(clip));
    const plot = await writeOpeningPlot(join(options.outDir, `${stem}-opening.png`), result, strategies);
    const sheet = await writeSheet(join(options.outDir, `${stem}-sheet.png`), A, selfCrops, strategies, o.sheetFrames);
    const jsonPath = join(options.outDir, `${stem}.json`);
    result.outputs = { json: jsonPath, plot, sheet };
    lap('outputs');
    result.timing.total = round((performance.now() - t0) / 1000, 1000);
    result.outputs.json = await writeJsonAtomic(jsonPath, result);
  } else {
    result.timing.total = round((performance.now() - t0) / 1000, 1000);
  }
  progress();
  return result;
}

/** IPA phonemes as TTS engines report them carry stress marks (ˈɑː): strip them before the viseme lookup. */
export function normalizePhonemes(phonemes: readonly TimedPhoneme[]): TimedPhoneme[] {
  return phonemes.map((p) => ({ ...p, text: normalizePhoneme(p.text) }));
}

function nearestFrame(frames: readonly RealFrame[], t: number, tolerance: number): number | undefined {
  let lo = 0;
  let hi = frames.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid]!.timestamp < t) lo = mid + 1;
    else hi = mid;
  }
  let best: number | undefined;
  for (const k of [lo - 1, lo]) {
    if (k < 0 || k >= frames.length) continue;
    const d = Math.abs(frames[k]!.timestamp - t);
    if (d <= tolerance && (best === undefined || d < Math.abs(frames[best]!.timestamp - t))) best = k;
  }
  return best;
}

const round = (x: number, k: number): number => Math.round(x * k) / k;

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const COLORS: Record<string, string> = {
  real: '#000000',
  viterbi: '#d62728',
  'static-mean': '#1f77b4',
  'random-bank': '#2ca02c',
};

/** JSON with non-finite numbers as null (JSON has no Infinity): see docs/evaluation.md. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<string> {
  const out = await AtomicOutput.open(path);
  try {
    await writeFile(out.tempPath, `${JSON.stringify(value, null, 2)}\n`);
    return await out.commit();
  } catch (e) {
    await out.discard();
    throw e;
  }
}

/** Three panels (self, cross, cross on unseen audio): generated opening of each strategy against the real one. */
async function writeOpeningPlot(path: string, r: EvaluationResult, strategies: readonly EvalStrategy[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'avdub-eval-'));
  try {
    const panels: [string, { real: number[] } & Partial<Record<EvalStrategy, number[]>>][] = [
      [`self: held-out frames ${r.heldOut.start}-${r.heldOut.end}`, r.openings.self],
      [`cross: frames ${r.cross.a.start}-${r.cross.a.end}, audio of ${r.cross.b.start}-${r.cross.b.end} (fitted)`, r.openings.cross],
      ['cross, unseen audio: held-out halves swapped', r.openings.crossUnseen],
    ];
    const pngs: Buffer[] = [];
    for (const [k, [title, op]] of panels.entries()) {
      const series: Series[] = [{ label: 'real', values: op.real, color: COLORS.real! }];
      for (const s of strategies) if (s !== 'identity' && op[s]) series.push({ label: s, values: op[s]!, color: COLORS[s] ?? '#888888' });
      const file = join(dir, `p${k}.png`);
      await plotSeriesPng(file, series, { title: `${r.clip} ${title}`, width: 1200, height: 300, yLabel: 'mouth opening / inter-ocular' });
      pngs.push(await sharp(file).toBuffer());
    }
    const metas = await Promise.all(pngs.map((b) => sharp(b).metadata()));
    const width = Math.max(...metas.map((m) => m.width ?? 0));
    const height = metas.reduce((s, m) => s + (m.height ?? 0), 0);
    let top = 0;
    const composites = pngs.map((input, i) => {
      const c = { input, left: 0, top };
      top += metas[i]!.height ?? 0;
      return c;
    });
    const png = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(composites).png().toBuffer();
    const out = await AtomicOutput.open(path);
    try {
      await writeFile(out.tempPath, png);
      return await out.commit();
    } catch (e) {
      await out.discard();
      throw e;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rows of evenly spaced held-out frames: the real crop, then each strategy's crop. */
async function writeSheet(
  path: string,
  A: readonly RealFrame[],
  crops: Map<EvalStrategy, RgbImage[]>,
  strategies: readonly EvalStrategy[],
  count: number,
): Promise<string> {
  const shown = strategies.filter((s) => s !== 'identity');
  const n = Math.max(1, Math.min(count, A.length));
  const frames: RgbImage[] = [];
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.round(((i + 0.5) * A.length) / n - 0.5);
    frames.push(A[k]!.crop);
    labels.push(`real #${A[k]!.index}`);
    for (const s of shown) {
      frames.push(crops.get(s)![k]!);
      labels.push(s);
    }
  }
  return contactSheetPng(path, frames, { columns: 1 + shown.length, cellWidth: 192, labels });
}

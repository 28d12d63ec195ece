/**
 * The `personalized` LipsyncModel: the default, fitted on the speaker's own footage (001 s3.2
 * fine-tunes on the video itself; 004 trains on one short video), with no downloaded weights.
 *
 * Fit: per tracked frame, the mouth shape (lip + jaw landmarks, canonical), the head pose, the
 * audio window (normalised per recording) and the canonical crop. A ridge regression maps audio
 * to a PCA code of the mouth shape; it is exported as an ONNX graph and runs through `runtime/`.
 * A bounded bank keeps real mouth crops chosen for coverage of shapes and poses.
 *
 * Generate: predict the code sequence for new audio, smooth it, force the speaker's rest shape
 * in silence, then choose a real bank crop per frame by Viterbi (continuity: consecutive
 * source frames cost nothing). The output is real pixels, never an average of crops.
 */
import { mouthMask } from '../../canonical/masks.js';
import { AvdubError, ErrorCode, throwIfAborted } from '../../errors.js';
import { LIPS } from '../../face/landmarks.js';
import type { HeadPose } from '../../face/pose.js';
import { OnnxGraphBuilder } from '../../onnx/graph.js';
import { featheredPolygonMask } from '../../render/mask.js';
import { createSession, loadOrt } from '../../runtime/session.js';
import type { Device } from '../../runtime/devices.js';
import { ProgressMeter, type OperationOptions } from '../../util/progress.js';
import { is } from '../../util/validate.js';
import type {
  CanonicalCrop,
  LipsyncAudioSpec,
  LipsyncGenerateOptions,
  LipsyncInput,
  LipsyncInputFrame,
  LipsyncModel,
  LipsyncPatchInput,
  LipsyncOutputFrame,
  LipsyncReferenceSpec,
} from '../types.js';
import { CoverageBank } from './bank.js';
import {
  DEFAULT_AUDIO_LAYOUTS,
  mouthAnchor,
  MOUTH_SHAPE_POINTS,
  audioFeature,
  audioFeatureSize,
  mouthShape,
  shapeOpening,
  type AudioFeatureLayout,
  type MelBandStats,
} from './features.js';
import { MomentAccumulator, pcaEncode, pcaFromMoments, type Pca } from './pca.js';
import { RidgeAccumulator } from './ridge.js';
import { MouthWarper } from './warp.js';

/** One tracked frame of the speaker's footage. */
export interface FitFrame {
  /** Frame index in the footage (consecutive frames play back as a run). */
  index: number;
  /** Canonical crop (256 x 256 RGB24). */
  crop: CanonicalCrop;
  /** 468 landmarks in canonical crop coordinates (x, y, z per point). */
  canonicalLandmarks: ArrayLike<number>;
  pose: HeadPose;
  /** The frame's `paper` audio window (80 x 24, band-major) from the footage's own audio. */
  audio: Float32Array;
  /** Speech at this frame (from voice activity); silent frames teach the rest shape. */
  voiced?: boolean;
}

export interface PersonalizedFitOptions extends OperationOptions {
  /** Per-band statistics of the footage's whole audio track (`melBandStats`). */
  audioStats: MelBandStats;
  /** Most crops kept in the bank. @default 200 */
  bankSize?: number;
  /** Pose weight in the bank's coverage distance: canonical px per degree. @default 1 */
  bankPoseWeight?: number;
  /** Fraction of mouth-shape variance the PCA code keeps. @default 0.97 */
  pcaVariance?: number;
  /** Most PCA components. @default 8 */
  pcaMaxComponents?: number;
  /** Ridge penalties tried by cross-validation. */
  lambdas?: number[];
  /**
   * How far predictions are rescaled towards the training codes' variance where the regressor
   * has skill: 0 keeps ridge's shrunk (least-squares) predictions, 1 matches the variance.
   * Shrunk predictions minimise the landmark error; rescaled ones make the crop choice follow
   * the audio. @default 1
   */
  deshrinkPower?: number;
  /**
   * One fixed pooling of the 80 x 24 window into regression features, instead of choosing
   * among `layouts`.
   */
  layout?: AudioFeatureLayout;
  /**
   * Candidate poolings: each gets its own ridge (streamed statistics, O(d²) each) and the one
   * with the lowest cross-validated error on the fitted frames is kept. Overrides `layout`.
   * @default DEFAULT_AUDIO_LAYOUTS (when `layout` is not given either)
   */
  layouts?: readonly AudioFeatureLayout[];
  name?: string;
}

export interface PersonalizedGenerateSettings {
  /** Frames of look-ahead before a frame's crop is decided (fixed-lag Viterbi). @default 25 */
  lag: number;
  /** Gaussian smoothing of the predicted codes over time, in frames. @default 1 */
  smoothSigma: number;
  /** Viterbi cost of jumping to a non-consecutive source frame. @default 3 */
  switchCost: number;
  /** Viterbi cost per frame of holding one crop during speech (0 in silence). @default 1 */
  holdCost: number;
  /**
   * Distance between predicted and bank codes: 'mahalanobis' (each PCA component in units of
   * its own variance), 'euclidean' (squared landmark distance, in units of the mean component
   * variance: the big shape changes count more than small ones, as in LMD) or 'lips' (the same
   * over the lip points only). @default 'euclidean'
   */
  unaryMetric: 'mahalanobis' | 'euclidean' | 'lips';
  /**
   * Shape distance to the ridge's own (least-squares, shrunk) prediction rather than the
   * variance-rescaled one: under uncertainty the crop nearest the conditional mean is the one
   * with the least expected landmark error. The rescaled code still drives `openingWeight`.
   * @default true
   */
  shrunkUnary: boolean;
  /**
   * Weight of the mouth-opening mismatch (inner-lip gap 13-14 along the rescaled prediction,
   * in units of its variance over the training codes) in the crop choice. @default 1
   */
  openingWeight: number;
  /** Weight of head-pose mismatch (per 10 degrees, squared) in the crop choice. @default 1 */
  poseWeight: number;
  /**
   * Weight of the nose-base mismatch (target's `anchor` against the bank entry's, per 4 crop
   * px, squared) in the crop choice: prefer real crops whose mouth already sits where the
   * target's does (the pixels stay as they are). 0 ignores it. Used when the fit's regressor
   * has skill (`regressorHasSkill`). @default 0
   */
  anchorWeight: number;
  /**
   * `anchorWeight` for a speaker whose audio -> mouth regression has no skill (cross-validated
   * error no better than 0.98 x the mean predictor's): its shape term is then only the mean
   * shape, the choice follows pose and continuity, and most of its landmark error is where the
   * mouth sits (docs/lipsync.md), so placement gets the weight. @default 1
   */
  anchorWeightNoSkill: number;
  /** Feather of the mouth-rectangle blend into the target crop, in crop px. @default 6 */
  featherSigma: number;
  /**
   * Warp of the chosen crop (`viterbi` only) toward the frame's target mouth shape: its lip
   * (and jaw) landmarks move by `warpStrength` x (target - own), interpolated by a thin-plate
   * spline anchored to zero on the blend rectangle's border, then one bicubic resample of the
   * real crop. 0 disables it (the crop as chosen). @default 0
   */
  warpStrength: number;
  /** Largest landmark displacement of the warp, crop px (larger ones are scaled down together). @default 8 */
  warpMaxPx: number;
  /**
   * The warp's target shape: the ridge's own, un-rescaled prediction ('shrunk', the conditional
   * mean: least expected landmark error) or the variance-rescaled one ('rescaled'). Silent
   * frames target the rest shape either way. @default 'shrunk'
   */
  warpTarget: 'shrunk' | 'rescaled';
  /** Whether the jaw points (inside the rectangle) are moved too, else only the 40 lip points. @default true */
  warpJaw: boolean;
  /**
   * The warp's one resample of the real crop: 'bicubic' (Keys, a = -0.5: smooth edges, but any
   * sub-pixel shift softens pixel-level texture) or 'nearest' (whole-pixel shifts: no softening,
   * pixels duplicated or dropped along the lines where the rounded shift changes). @default 'bicubic'
   */
  warpResample: 'bicubic' | 'nearest';
  /**
   * Put the chosen mouth at its own offset from the nose base (`LipsyncInputFrame.anchor` and
   * the bank entry's anchor, `mouthAnchor`): a crop cut from a frame with another head pitch or
   * yaw has its mouth higher or lower, left or right, in canonical coordinates than the
   * target's. Applies to every strategy (the baselines share it). Needs both anchors (else
   * nothing moves). Measured on six clips: lower LMD for every strategy, the baselines gaining
   * as much as the model (docs/lipsync.md); off by default for now. @default false
   */
  anchorShift: boolean;
  /** Largest anchor shift per axis, crop px (a larger one is clamped: a tracking glitch). @default 16 */
  anchorMaxShift: number;
  /**
   * How the anchor offset is applied: 'shift' moves the whole blend rectangle's content (the
   * border moves too), 'warp' moves the mouth's landmarks with the `MouthWarper` field, which
   * is zero on the rectangle's border (one resample, `warpResample`). @default 'warp'
   */
  anchorMode: 'shift' | 'warp';
  /** Batch size of the ONNX regressor. @default 64 */
  batch: number;
  /** Where the regressor runs. @default 'cpu' (a 240 x 8 matmul: a GPU would not help) */
  device: Device;
}

export const defaultPersonalizedGenerateSettings: PersonalizedGenerateSettings = {
  lag: 25,
  smoothSigma: 1,
  switchCost: 3,
  holdCost: 1,
  unaryMetric: 'euclidean',
  shrunkUnary: true,
  openingWeight: 1,
  poseWeight: 1,
  anchorWeight: 0,
  anchorWeightNoSkill: 1,
  featherSigma: 6,
  warpStrength: 0,
  warpMaxPx: 8,
  anchorShift: false,
  anchorMaxShift: 16,
  anchorMode: 'warp',
  warpTarget: 'shrunk',
  warpJaw: true,
  warpResample: 'bicubic',
  batch: 64,
  device: 'cpu',
};

/**
 * Whether the audio -> mouth regression predicts better than the mean: its cross-validated
 * error under 0.98 x the mean predictor's. With skill the fit rescales the predictions
 * (`deshrink`); without, the crop choice weighs placement (`anchorWeightNoSkill`).
 */
export function regressorHasSkill(r: { cvError: number; baselineError: number }): boolean {
  return r.cvError < 0.98 * r.baselineError;
}

/** The speaker profile: everything `generate` needs, saved and loaded as one file. */
export interface SpeakerProfile {
  format: 'avdub-speaker-profile';
  version: 1;
  name: string;
  layout: AudioFeatureLayout;
  /** Mouth-shape PCA (landmark space: MOUTH_SHAPE_POINTS x, y). */
  pca: { dim: number; k: number; mean: number[]; components: number[]; variances: number[]; explained: number };
  /** Audio features -> PCA code: code = x W + b. */
  regressor: { d: number; k: number; W: number[]; b: number[]; lambda: number; cvError: number; baselineError: number; deshrink?: number[] };
  /** Code of the speaker's closed, still mouth (from silent frames). */
  restCode: number[];
  /** `anchor`: canonical (x, y) of the source frame's nose base (`mouthAnchor`); absent in profiles written before it. */
  bank: { frame: number; code: number[]; pose: HeadPose; anchor?: [number, number] }[];
  cropSize: number;
  /** Fit facts for reports. */
  fit: { frames: number; voicedFrames: number; seconds: number };
}

/** A fit frame whose crop is made on demand: only frames the bank keeps are cropped. */
export type LazyFitFrame = Omit<FitFrame, 'crop'> & { crop: () => CanonicalCrop };

type BankPayload = { crop: Uint8Array; shape: Float64Array; pose: HeadPose; anchor: [number, number] };

/**
 * The personalized fit, one frame at a time (push): streamed statistics for the PCA and the
 * ridge candidates, the coverage bank, the rest shape. `fitPersonalizedModel` runs it over an
 * iterable; the pipeline's analysis pass feeds it frames as it decodes them, with lazy crops,
 * so that frames the bank turns away are never cropped (on a long video, nearly all of them).
 */
export class PersonalizedFitter {
  private readonly t0 = performance.now();
  private readonly poseW: number;
  private readonly candidates: readonly AudioFeatureLayout[];
  private readonly shapeDim: number;
  private readonly ridges: RidgeAccumulator[];
  private readonly feats: Float64Array[];
  private readonly moments: MomentAccumulator;
  private readonly bank: CoverageBank<BankPayload>;
  // Rest shape: the most closed mouths among silent frames (a bounded reservoir of candidates).
  private readonly rest: { opening: number; shape: Float64Array }[] = [];
  private readonly anyClosed: { opening: number; shape: Float64Array }[] = [];
  private readonly meter: ProgressMeter;
  private n = 0;
  private voiced = 0;
  private cropSize = 0;

  constructor(private readonly options: PersonalizedFitOptions) {
    const bankSize = options.bankSize ?? 200;
    is.integer('bankSize', bankSize, 2, 100000);
    this.poseW = options.bankPoseWeight ?? 1;
    this.candidates = options.layouts?.length ? options.layouts : options.layout ? [options.layout] : DEFAULT_AUDIO_LAYOUTS;
    this.shapeDim = mouthShape(new Float64Array(468 * 3)).length;
    this.ridges = this.candidates.map((l) => new RidgeAccumulator(audioFeatureSize(l), this.shapeDim, 5, 50, { outputOuter: true }));
    this.feats = this.candidates.map((l) => new Float64Array(audioFeatureSize(l)));
    this.moments = new MomentAccumulator(this.shapeDim);
    this.bank = new CoverageBank<BankPayload>(bankSize);
    this.meter = new ProgressMeter('fit', undefined, options.onProgress);
  }

  /** Frames added so far. */
  get frames(): number {
    return this.n;
  }

  /**
   * Adds one frame. A lazy crop (`LazyFitFrame`) is made during this call, and only if the bank
   * keeps the frame; a given crop is copied into the bank when kept.
   */
  add(f: FitFrame | LazyFitFrame): void {
    const { candidates, shapeDim, poseW } = this;
    for (const layout of candidates) {
      if (f.audio.length !== layout.melBands * layout.windowFrames) {
        throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected ${layout.melBands}x${layout.windowFrames} paper audio windows but received ${f.audio.length} values`);
      }
    }
    const shape = mouthShape(f.canonicalLandmarks);
    const anchor = mouthAnchor(f.canonicalLandmarks);
    candidates.forEach((layout, li) => {
      audioFeature(f.audio, this.options.audioStats, layout, this.feats[li]!);
      this.ridges[li]!.add(f.index, this.feats[li]!, shape);
    });
    this.moments.add(shape);
    const opening = shapeOpening(shape);
    if (f.voiced === false) keepClosest(this.rest, { opening, shape });
    keepClosest(this.anyClosed, { opening, shape });
    if (f.voiced) this.voiced++;
    const feature = new Float64Array(shapeDim + 3);
    feature.set(shape);
    feature[shapeDim] = f.pose.yaw * poseW;
    feature[shapeDim + 1] = f.pose.pitch * poseW;
    feature[shapeDim + 2] = f.pose.roll * poseW;
    const payload: BankPayload = { crop: EMPTY, shape, pose: { ...f.pose }, anchor };
    if (this.bank.add({ frame: f.index, feature, payload })) {
      const crop = typeof f.crop === 'function' ? f.crop() : f.crop;
      this.cropSize ||= crop.width;
      // A lazy crop is made for the bank alone; a given one may be the caller's buffer.
      payload.crop = typeof f.crop === 'function' ? crop.data : new Uint8Array(crop.data);
    }
    this.n++;
    this.meter.tick(this.n);
  }

  /** Solves the PCA, the ridge candidates and the rest shape; the fitted model. */
  finish(): PersonalizedLipsyncModel {
    const { options, candidates, ridges, bank, shapeDim, n } = this;
    if (n < 20) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Too little footage to fit the personalized model: ${n} tracked frames (need at least 20)`);
    }
    const pca = pcaFromMoments(this.moments, options.pcaVariance ?? 0.97, options.pcaMaxComponents ?? 8);
    const k = pca.k;
    // Every candidate pooling is solved on the PCA code it will predict (exact statistics,
    // projected: the CV measures the error on what generate uses, at k outputs instead of the
    // landmarks' m); the lowest cross-validated error wins.
    let chosen = 0;
    const solved = ridges.map((r) => r.projectOutputs(pca.components, pca.mean, k).solve(options.lambdas));
    solved.forEach((r, li) => {
      if (r.cvError < solved[chosen]!.cvError) chosen = li;
    });
    const layout = candidates[chosen]!;
    const ridge = ridges[chosen]!;
    const fitted = solved[chosen]!;
    const d = fitted.d;
    // code = x W + b, W (d x k).
    const W = Float64Array.from(fitted.W);
    const b = Float64Array.from(fitted.b);
    // Ridge shrinks predictions toward the mean code; the crop choice then follows pose and
    // continuity instead of the audio. Where cross-validation shows skill, rescale each component
    // so the predicted codes have the training codes' variance (Var(x·w) = wᵀ Σx w, exact from
    // the sufficient statistics). Without skill, leave them shrunk: louder noise helps no one.
    const deshrink = new Float64Array(k).fill(1);
    if (regressorHasSkill(fitted)) {
      const cov = ridge.featureCovariance();
      for (let c = 0; c < k; c++) {
        let v = 0;
        for (let i = 0; i < d; i++) {
          const wi = W[i * k + c]!;
          if (wi === 0) continue;
          for (let j = 0; j < d; j++) v += wi * cov[i * d + j]! * W[j * k + c]!;
        }
        deshrink[c] = v > 1e-12 ? Math.min(4, Math.sqrt(pca.variances[c]! / v)) ** (options.deshrinkPower ?? 1) : 1;
      }
      // Keep the mean prediction where it was: code = (x W + b - m) s + m with m = mean code (0).
      for (let c = 0; c < k; c++) {
        for (let i = 0; i < d; i++) W[i * k + c] = W[i * k + c]! * deshrink[c]!;
        b[c] = b[c]! * deshrink[c]!;
      }
    }
    const restPool = (this.rest.length >= 5 ? this.rest : this.anyClosed).sort((x, y) => x.opening - y.opening);
    const restN = Math.max(1, Math.ceil(restPool.length / 4));
    const restShape = new Float64Array(shapeDim);
    for (let i = 0; i < restN; i++) for (let j = 0; j < shapeDim; j++) restShape[j] = restShape[j]! + restPool[i]!.shape[j]! / restN;
    const entries = bank.entries.slice().sort((x, y) => x.frame - y.frame);
    const profile: SpeakerProfile = {
      format: 'avdub-speaker-profile',
      version: 1,
      name: options.name ?? 'personalized',
      layout,
      pca: {
        dim: pca.dim,
        k,
        mean: Array.from(pca.mean),
        components: Array.from(pca.components),
        variances: Array.from(pca.variances),
        explained: pca.explained,
      },
      regressor: { d, k, W: Array.from(W), b: Array.from(b), lambda: fitted.lambda, cvError: fitted.cvError, baselineError: fitted.baselineError, deshrink: Array.from(deshrink) },
      restCode: Array.from(pcaEncode(pca, restShape)),
      bank: entries.map((e) => ({ frame: e.frame, code: Array.from(pcaEncode(pca, e.payload.shape)), pose: e.payload.pose, anchor: e.payload.anchor })),
      cropSize: this.cropSize,
      fit: { frames: n, voicedFrames: this.voiced, seconds: (performance.now() - this.t0) / 1000 },
    };
    return new PersonalizedLipsyncModel(profile, entries.map((e) => e.payload.crop));
  }
}

const EMPTY = new Uint8Array(0);

function keepClosest(list: { opening: number; shape: Float64Array }[], item: { opening: number; shape: Float64Array }, cap = 64): void {
  list.push(item);
  if (list.length > cap * 2) {
    list.sort((a, b) => a.opening - b.opening);
    list.length = cap;
  }
}

/** Fits the personalized model on the speaker's tracked frames (streamed; bounded memory; see `PersonalizedFitter`). */
export async function fitPersonalizedModel(
  frames: AsyncIterable<FitFrame> | Iterable<FitFrame>,
  options: PersonalizedFitOptions,
): Promise<PersonalizedLipsyncModel> {
  const fitter = new PersonalizedFitter(options);
  for await (const f of frames) {
    throwIfAborted(options.signal);
    fitter.add(f);
  }
  return fitter.finish();
}

/** How `generate` chooses crops: the fitted model, or a baseline for evaluation. */
export type PersonalizedStrategy = 'viterbi' | 'static-mean' | 'random-bank';

export class PersonalizedLipsyncModel implements LipsyncModel {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'personalized';
  readonly audio: LipsyncAudioSpec = { preset: 'paper', melBands: 80, windowFrames: 24, silence: Math.log(1e-6) };
  readonly references: LipsyncReferenceSpec = { min: 0, max: 0, preferred: 0 };
  readonly settings: PersonalizedGenerateSettings;
  private readonly pca: Pca;
  private onnx?: Uint8Array;
  private blend?: Float32Array;

  constructor(
    readonly profile: SpeakerProfile,
    /** Bank crops, in `profile.bank` order. */
    readonly crops: Uint8Array[],
    settings: Partial<PersonalizedGenerateSettings> = {},
  ) {
    this.settings = { ...defaultPersonalizedGenerateSettings, ...settings };
    const p = profile.pca;
    this.pca = {
      dim: p.dim,
      k: p.k,
      mean: Float64Array.from(p.mean),
      components: Float64Array.from(p.components),
      variances: Float64Array.from(p.variances),
      explained: p.explained,
    };
    if (crops.length !== profile.bank.length) {
      throw new AvdubError(ErrorCode.MODEL_LOAD, `Speaker profile has ${profile.bank.length} bank entries but ${crops.length} crops`);
    }
  }

  get name(): string {
    return this.profile.name;
  }

  /**
   * Where the output replaces the input crop: the mouth rectangle (001's training mask),
   * Gaussian-feathered by `featherSigma`. Outside it every output pixel is the input's, so the
   * render pass can skip cropping frames (`generatePatches`).
   */
  get patchAlpha(): Float32Array {
    if (!this.blend) {
      const size = this.profile.cropSize;
      this.blend = featheredPolygonMask(mouthPolygon(mouthMask(size), size), size, size, this.settings.featherSigma);
    }
    return this.blend;
  }

  /** A copy with other generation settings (same fitted profile). */
  withSettings(settings: Partial<PersonalizedGenerateSettings>): PersonalizedLipsyncModel {
    return new PersonalizedLipsyncModel(this.profile, this.crops, { ...this.settings, ...settings });
  }

  /** The audio -> mouth-code regressor as ONNX: window [N, 1920], band mean/std [80] -> code [N, k]. */
  regressorOnnx(): Uint8Array {
    if (this.onnx) return this.onnx;
    const { layout, regressor: r } = this.profile;
    const B = layout.melBands / layout.bandPool;
    const F = layout.windowFrames / layout.framePool;
    const g = new OnnxGraphBuilder('avdub_personalized_regressor');
    g.input('window', ['N', layout.melBands * layout.windowFrames]);
    g.input('band_mean', [layout.melBands]);
    g.input('band_std', [layout.melBands]);
    g.output('code', ['N', r.k]);
    const i64 = (v: number[]) => g.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);
    const col = i64([layout.melBands, 1]);
    const w3 = g.op('Reshape', ['window', i64([-1, layout.melBands, layout.windowFrames])]);
    const norm = g.op('Div', [g.op('Sub', [w3, g.op('Reshape', ['band_mean', col])]), g.op('Reshape', ['band_std', col])]);
    const pooled = g.op('ReduceMean', [g.op('Reshape', [norm, i64([-1, B, layout.bandPool, F, layout.framePool])])], { axes: [2, 4], keepdims: 0 });
    const flat = g.op('Reshape', [pooled, i64([-1, B * F])]);
    const code = g.op('MatMul', [flat, g.constant(Float32Array.from(r.W), [r.d, r.k])]);
    g.op('Add', [code, g.constant(Float32Array.from(r.b), [r.k])], {}, 'code');
    this.onnx = g.toBytes(17, 'avdub personalized lip-sync regressor (fitted on the speaker; see SpeakerProfile)');
    return this.onnx;
  }

  /**
   * Generates one crop per input frame, in order, with bounded memory: frames are decided
   * `lag` frames after they arrive (fixed-lag Viterbi), so at most `lag + 1` input crops are
   * held. Input frames may carry `pose` and `voiced`; `input.audioStats` normalises the new
   * audio (else running statistics of the windows seen so far are used).
   */
  generate(input: LipsyncInput, options: LipsyncGenerateOptions & { strategy?: PersonalizedStrategy; seed?: number } = {}): AsyncGenerator<LipsyncOutputFrame> {
    return this.run(input, options, false);
  }

  /**
   * `generate` without input crops: yields the chosen (shifted or warped) real crop itself, valid
   * inside `patchAlpha`, often a bank buffer (read-only). `generate`'s output is this patch
   * composited into the input crop with `patchAlpha`.
   */
  generatePatches(input: LipsyncPatchInput, options: LipsyncGenerateOptions & { strategy?: PersonalizedStrategy; seed?: number } = {}): AsyncGenerator<LipsyncOutputFrame> {
    return this.run(input, options, true);
  }

  private async *run(
    input: LipsyncInput | LipsyncPatchInput,
    options: LipsyncGenerateOptions & { strategy?: PersonalizedStrategy; seed?: number },
    patchMode: boolean,
  ): AsyncGenerator<LipsyncOutputFrame> {
    const s = this.settings;
    const strategy = options.strategy ?? 'viterbi';
    const { k } = this.pca;
    const bank = this.profile.bank;
    const B = bank.length;
    const meanVar = this.pca.variances.reduce((a, v) => a + v, 0) / Math.max(1, k);
    // The code metric as a k x k quadratic form Q: Mahalanobis (diag 1/variance), Euclidean in
    // landmark space (I / mean variance), or Euclidean over the lip points only (Cₗ Cₗᵀ, the
    // points LMD and the viewer look at; the jaw points are left out), per mean variance.
    const Q = new Float64Array(k * k);
    if (s.unaryMetric === 'lips') {
      const dim = this.pca.dim;
      const nLip = 2 * LIPS.length; // MOUTH_SHAPE_POINTS starts with the lips
      let tr = 0;
      for (let a = 0; a < k; a++) for (let b2 = 0; b2 < k; b2++) {
        let v = 0;
        for (let q = 0; q < nLip; q++) v += this.pca.components[a * dim + q]! * this.pca.components[b2 * dim + q]!;
        Q[a * k + b2] = v;
        if (a === b2) tr += v * this.pca.variances[a]!;
      }
      const norm = Math.max(1e-9, tr / Math.max(1, k));
      for (let i = 0; i < k * k; i++) Q[i] = Q[i]! / norm;
    } else {
      for (let c = 0; c < k; c++) Q[c * k + c] = 1 / Math.max(1e-9, s.unaryMetric === 'euclidean' ? meanVar : this.pca.variances[c]!);
    }
    const diagOnly = s.unaryMetric !== 'lips';
    const quad = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
      let m = 0;
      if (diagOnly) {
        for (let c = 0; c < k; c++) m += (x[c]! - y[c]!) ** 2 * Q[c * k + c]!;
        return m;
      }
      for (let a = 0; a < k; a++) {
        let row = 0;
        for (let b2 = 0; b2 < k; b2++) row += Q[a * k + b2]! * (x[b2]! - y[b2]!);
        m += (x[a]! - y[a]!) * row;
      }
      return m;
    };
    const ort = await loadOrt();
    const { session } = await createSession(this.regressorOnnx(), { device: options.device ?? s.device });
    const size = this.profile.cropSize;
    const rectPoly = mouthPolygon(mouthMask(size), size);
    const blend = this.patchAlpha;
    // Where the blend weight is 1 the output is the chosen crop's pixel exactly: those runs are
    // copied row by row; only the feathered border (0 < weight < 1) is blended per pixel.
    const fullRuns: number[] = []; // [start, end) pixel indices
    const partial: number[] = [];
    for (let y = 0; y < size; y++) {
      let runStart = -1;
      for (let x = 0; x <= size; x++) {
        const a = x < size ? blend[y * size + x]! : 0;
        if (a >= 1) {
          if (runStart < 0) runStart = y * size + x;
          continue;
        }
        if (runStart >= 0) fullRuns.push(runStart, y * size + x);
        runStart = -1;
        if (x < size && a > 0) partial.push(y * size + x);
      }
    }
    const meter = new ProgressMeter('lipsync', input.frameCount, options.onProgress);
    const stats = input.audioStats;
    const running = new RunningBandStats(this.audio.melBands);

    // Pending frames: waiting for a batch prediction, then for smoothing and the Viterbi lag.
    type Pending = { crop?: CanonicalCrop; pose?: HeadPose; voiced?: boolean; anchor?: readonly [number, number]; audio: Float32Array; code?: Float64Array; target?: Float64Array };
    const pending: Pending[] = [];
    let nextIndex = 0; // index of pending[0]
    let predicted = 0; // frames with a raw code
    // Fixed-lag Viterbi over the undecided frames; each decision re-runs forward from the last
    // decided crop, so consecutive decisions stay on one consistent path.
    const undecided: { u: Float64Array; hold: number }[] = [];
    let lastState = -1;
    let decided = 0;
    const rand = seeded(options.seed ?? 1);
    let randomState = Math.floor(rand() * B);

    // Opening direction in code space: opening ≈ const + Σ_c code_c · open_c (the vertical gap
    // of the inner-lip centre points, linear in the shape).
    const up = MOUTH_SHAPE_POINTS.indexOf(13);
    const lo = MOUTH_SHAPE_POINTS.indexOf(14);
    const openDir = new Float64Array(k);
    for (let c = 0; c < k; c++) openDir[c] = this.pca.components[c * this.pca.dim + 2 * lo + 1]! - this.pca.components[c * this.pca.dim + 2 * up + 1]!;
    let openVar = 0;
    for (let c = 0; c < k; c++) openVar += openDir[c]! ** 2 * this.pca.variances[c]!;
    const bankOpen = bank.map((e) => e.code.reduce((a, v, c) => a + v * openDir[c]!, 0));
    const deshrinkOf = this.profile.regressor.deshrink;
    const anchorWeight = regressorHasSkill(this.profile.regressor) ? s.anchorWeight : s.anchorWeightNoSkill;
    const shrunk = new Float64Array(k);
    const unaryFor = (code: Float64Array, pose: HeadPose | undefined, out: Float64Array, silent = false, anchor?: readonly [number, number]): void => {
      for (let c = 0; c < k; c++) shrunk[c] = s.shrunkUnary && !silent && deshrinkOf ? code[c]! / Math.max(1e-6, deshrinkOf[c]!) : code[c]!;
      let open = 0;
      for (let c = 0; c < k; c++) open += code[c]! * openDir[c]!;
      for (let bI = 0; bI < B; bI++) {
        const e = bank[bI]!;
        let u = 0;
        u += quad(shrunk, e.code);
        if (s.openingWeight > 0 && openVar > 1e-12) u += (s.openingWeight * (open - bankOpen[bI]!) ** 2) / openVar;
        if (pose) {
          u += s.poseWeight * (((pose.yaw - e.pose.yaw) / 10) ** 2 + ((pose.pitch - e.pose.pitch) / 10) ** 2 + ((pose.roll - e.pose.roll) / 10) ** 2);
        }
        if (anchor && e.anchor && anchorWeight > 0) u += anchorWeight * (((anchor[0] - e.anchor[0]) / 4) ** 2 + ((anchor[1] - e.anchor[1]) / 4) ** 2);
        out[bI] = u;
      }
    };
    const successor = new Int32Array(B).fill(-1);
    for (let a = 0; a < B - 1; a++) if (bank[a + 1]!.frame === bank[a]!.frame + 1) successor[a] = a + 1;

    /** Transition into every state from `prev` costs (min-trick: O(B) per frame). */
    const transition = (prev: Float64Array, hold: number, u: Float64Array, bp: Int32Array): Float64Array => {
      let minPrev = Infinity;
      let arg = 0;
      for (let bI = 0; bI < B; bI++) if (prev[bI]! < minPrev) {
        minPrev = prev[bI]!;
        arg = bI;
      }
      const next = new Float64Array(B);
      for (let bI = 0; bI < B; bI++) {
        let best = minPrev + s.switchCost;
        let from = arg;
        if (prev[bI]! + hold < best) {
          best = prev[bI]! + hold;
          from = bI;
        }
        next[bI] = best;
        bp[bI] = from;
      }
      for (let a = 0; a < B; a++) {
        const c2 = successor[a]!;
        if (c2 >= 0 && prev[a]! < next[c2]!) {
          next[c2] = prev[a]!;
          bp[c2] = a;
        }
      }
      for (let bI = 0; bI < B; bI++) next[bI] = next[bI]! + u[bI]!;
      return next;
    };
    const step = (code: Float64Array, pose: HeadPose | undefined, silent: boolean, anchor?: readonly [number, number]): void => {
      const u = new Float64Array(B);
      unaryFor(code, pose, u, silent, anchor);
      undecided.push({ u, hold: silent ? 0 : s.holdCost });
    };
    /** The best path through the undecided frames, starting from the last decided state. */
    const bestPath = (): number[] => {
      const bps: Int32Array[] = [];
      let cost: Float64Array;
      if (lastState < 0) cost = Float64Array.from(undecided[0]!.u);
      else {
        const start = new Float64Array(B).fill(Infinity);
        start[lastState] = 0;
        const bp = new Int32Array(B);
        cost = transition(start, undecided[0]!.hold, undecided[0]!.u, bp);
      }
      bps.push(new Int32Array(B));
      for (let t = 1; t < undecided.length; t++) {
        const bp = new Int32Array(B);
        cost = transition(cost, undecided[t]!.hold, undecided[t]!.u, bp);
        bps.push(bp);
      }
      let state = 0;
      for (let bI = 1; bI < B; bI++) if (cost[bI]! < cost[state]!) state = bI;
      const path = [state];
      for (let t = undecided.length - 1; t > 0; t--) {
        state = bps[t]![state]!;
        path.push(state);
      }
      return path.reverse();
    };

    // The warp (viterbi only): the chosen crop's own shape (its code through the PCA) moves
    // toward the frame's target shape.
    const warping = strategy === 'viterbi' && s.warpStrength > 0;
    const anchorWarp = s.anchorShift && s.anchorMode === 'warp';
    const warper = warping || anchorWarp ? new MouthWarper(size, { x0: rectPoly[0]!, y0: rectPoly[1]!, x1: rectPoly[4]!, y1: rectPoly[5]! }, { resample: s.warpResample }) : undefined;
    const warped = warping || anchorWarp ? new Uint8Array(size * size * 3) : undefined;
    const nPts = warping || anchorWarp ? (s.warpJaw ? MOUTH_SHAPE_POINTS.length : LIPS.length) : 0;
    const ownShape = new Float64Array(2 * nPts);
    const toShape = new Float64Array(2 * nPts);
    const decode = (code: ArrayLike<number>, out: Float64Array, add: boolean): void => {
      const dim = this.pca.dim;
      for (let j = 0; j < out.length; j++) {
        let v = add ? this.pca.mean[j]! : 0;
        for (let c = 0; c < k; c++) v += code[c]! * this.pca.components[c * dim + j]!;
        out[j] = v;
      }
    };
    const warpedCrop = (choice: number, target: Float64Array | undefined, offset?: readonly [number, number]): Uint8Array => {
      const src = this.crops[choice]!;
      const own = bank[choice]!.code;
      const diff = new Float64Array(k);
      if (target) for (let c = 0; c < k; c++) diff[c] = s.warpStrength * (target[c]! - own[c]!);
      decode(own, ownShape, true);
      decode(diff, toShape, false); // the displacement, landmark space
      let maxD = 0;
      for (let i = 0; i < nPts; i++) maxD = Math.max(maxD, Math.hypot(toShape[2 * i]!, toShape[2 * i + 1]!));
      const scale = maxD > s.warpMaxPx ? s.warpMaxPx / maxD : 1;
      for (let j = 0; j < toShape.length; j++) toShape[j] = ownShape[j]! + scale * toShape[j]! + (offset ? offset[j % 2]! : 0);
      warper!.warp(src, ownShape, toShape, warped!);
      return warped!;
    };

    const emit = (p: Pending, choice: number, index: number): LipsyncOutputFrame => {
      const own = bank[choice]!.anchor;
      const lim = s.anchorMaxShift;
      const offset: [number, number] | undefined =
        s.anchorShift && p.anchor && own
          ? [Math.max(-lim, Math.min(lim, p.anchor[0] - own[0])), Math.max(-lim, Math.min(lim, p.anchor[1] - own[1]))]
          : undefined;
      const viaWarp = (warping && p.target) || (anchorWarp && offset);
      let patch = viaWarp ? warpedCrop(choice, warping ? p.target : undefined, anchorWarp ? offset : undefined) : this.crops[choice]!;
      // 'shift': whole pixels (no resampling, so no softening): the patch at (x, y) is the source
      // at (x - dx, y - dy), clamped at the crop's edges.
      const dx = offset && !anchorWarp ? Math.round(offset[0]) : 0;
      const dy = offset && !anchorWarp ? Math.round(offset[1]) : 0;
      if (dx !== 0 || dy !== 0) {
        const src = patch;
        patch = new Uint8Array(size * size * 3);
        for (let y = 0; y < size; y++) {
          const sy = Math.max(0, Math.min(size - 1, y - dy));
          for (let x = 0; x < size; x++) {
            const sp = 3 * (sy * size + Math.max(0, Math.min(size - 1, x - dx)));
            const o = 3 * (y * size + x);
            patch[o] = src[sp]!;
            patch[o + 1] = src[sp + 1]!;
            patch[o + 2] = src[sp + 2]!;
          }
        }
      } else if (patchMode && patch === warped) {
        patch = new Uint8Array(patch); // the warp's buffer is reused by the next frame
      }
      if (patchMode) return { index, crop: { data: patch, width: size, height: size } };
      // Composite into the input crop: where the blend weight is 1 the output is the patch's
      // pixel exactly (runs copied row by row); only the feathered border is blended per pixel.
      const out = new Uint8Array(p.crop!.data);
      for (let r = 0; r < fullRuns.length; r += 2) out.set(patch.subarray(3 * fullRuns[r]!, 3 * fullRuns[r + 1]!), 3 * fullRuns[r]!);
      for (const px of partial) {
        const a = blend[px]!;
        for (let c = 0; c < 3; c++) {
          const o = 3 * px + c;
          out[o] = Math.round(out[o]! + a * (patch[o]! - out[o]!));
        }
      }
      return { index, crop: { data: out, width: size, height: size } };
    };

    const chooseBaseline = (code: Float64Array, silent: boolean): number => {
      if (strategy === 'static-mean') return this.staticMeanEntry();
      // random-bank: the same continuity as Viterbi (runs of consecutive source frames), but
      // jumps to a random entry instead of the best-matching one.
      if (!silent && (successor[randomState]! < 0 || rand() < 1 / 12)) randomState = Math.floor(rand() * B);
      else if (!silent) randomState = successor[randomState]!;
      void code;
      return randomState;
    };

    const predictBatch = async (from: number, to: number): Promise<void> => {
      const n = to - from;
      const win = new Float32Array(n * 1920);
      for (let i = 0; i < n; i++) win.set(pending[from - nextIndex + i]!.audio, i * 1920);
      const st = stats ?? running.current();
      const res = await session.run({
        window: new ort.Tensor('float32', win, [n, 1920]),
        band_mean: new ort.Tensor('float32', st.mean, [80]),
        band_std: new ort.Tensor('float32', st.std, [80]),
      });
      const codes = res.code!.data as Float32Array;
      for (let i = 0; i < n; i++) pending[from - nextIndex + i]!.code = Float64Array.from(codes.subarray(i * k, (i + 1) * k));
    };

    const restCode = Float64Array.from(this.profile.restCode);
    const radius = Math.ceil(3 * s.smoothSigma);
    const smoothAt = (i: number, total: number): { code: Float64Array; silent: boolean } => {
      // i: absolute index; uses codes of [i - radius, i + radius] still in `pending`/history.
      const p = pending[i - nextIndex]!;
      const silent = p.voiced === false || (p.voiced === undefined && isSilentWindow(p.audio, stats ?? running.current()));
      if (silent) return { code: restCode, silent: true };
      const out = new Float64Array(k);
      let wsum = 0;
      for (let j = Math.max(0, i - radius); j <= Math.min(total - 1, i + radius); j++) {
        const q = history.get(j);
        if (!q) continue;
        const w = s.smoothSigma > 0 ? Math.exp(-((j - i) ** 2) / (2 * s.smoothSigma ** 2)) : j === i ? 1 : 0;
        for (let c = 0; c < k; c++) out[c] = out[c]! + w * q[c]!;
        wsum += w;
      }
      for (let c = 0; c < k; c++) out[c] = out[c]! / wsum;
      return { code: out, silent: false };
    };
    const history = new Map<number, Float64Array>(); // raw codes, pruned behind the smoothing radius

    const total = input.frameCount;
    let received = 0;
    let stepped = 0;
    const outQueue: Pending[] = []; // stepped, not yet emitted (aligned with back[] tail)
    const advance = async function* (this: PersonalizedLipsyncModel, final: boolean): AsyncGenerator<LipsyncOutputFrame> {
      // Predict in batches.
      while (predicted < received && (final || received - predicted >= s.batch)) {
        const to = Math.min(received, predicted + s.batch);
        await predictBatch(predicted, to);
        for (let i = predicted; i < to; i++) history.set(i, pending[i - nextIndex]!.code!);
        predicted = to;
      }
      // Step Viterbi for frames whose smoothing window is complete.
      while (stepped < predicted && (final || stepped + radius < predicted)) {
        const p = pending[stepped - nextIndex]!;
        const { code, silent } = smoothAt(stepped, final ? predicted : Infinity);
        if (strategy === 'viterbi') {
          step(code, p.pose, silent, p.anchor);
          if (warping) {
            const t = new Float64Array(k);
            for (let c = 0; c < k; c++) t[c] = s.warpTarget === 'shrunk' && !silent && deshrinkOf ? code[c]! / Math.max(1e-6, deshrinkOf[c]!) : code[c]!;
            p.target = t;
          }
        }
        else (p as Pending & { choice?: number }).choice = chooseBaseline(code, silent);
        outQueue.push(p);
        stepped++;
        history.delete(stepped - radius - 2);
      }
      // Emit decided frames.
      const lag = strategy === 'viterbi' ? s.lag : 0;
      while (outQueue.length > (final ? 0 : lag)) {
        let choice: number;
        if (strategy === 'viterbi') {
          if (final) {
            const path = bestPath();
            for (let i = 0; i < outQueue.length; i++) {
              yield emit(outQueue[i]!, path[i]!, decided++);
              meter.tick(decided);
            }
            outQueue.length = 0;
            undecided.length = 0;
            pending.splice(0, pending.length);
            return;
          }
          choice = bestPath()[0]!;
          lastState = choice;
          undecided.shift();
        } else {
          choice = (outQueue[0] as Pending & { choice?: number }).choice!;
        }
        yield emit(outQueue.shift()!, choice, decided++);
        meter.tick(decided);
        pending.shift();
        nextIndex++;
      }
    };

    for await (const f of input.frames) {
      throwIfAborted(options.signal);
      if (f.audio.length !== 1920) {
        throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected 80x24 paper audio windows but received ${f.audio.length} values`);
      }
      const crop = patchMode ? undefined : (f as LipsyncInputFrame).crop;
      if (!patchMode && (crop?.width !== size || crop.height !== size)) {
        throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected ${size}x${size} canonical crops but received ${crop ? `${crop.width}x${crop.height}` : String(crop)}`);
      }
      if (!stats) running.add(f.audio);
      pending.push({ crop, pose: f.pose, voiced: f.voiced, anchor: f.anchor, audio: f.audio });
      received++;
      yield* advance.call(this, false);
    }
    if (received !== total) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected ${total} frames but the input yielded ${received}`);
    }
    if (received > 0) yield* advance.call(this, true);
  }

  /** The bank entry whose code is nearest the mean code (the "static mean mouth" baseline). */
  staticMeanEntry(): number {
    let best = 0;
    let bd = Infinity;
    this.profile.bank.forEach((e, i) => {
      const d = e.code.reduce((s, v, c) => s + (v * v) / Math.max(1e-9, this.pca.variances[c]!), 0);
      if (d < bd) {
        bd = d;
        best = i;
      }
    });
    return best;
  }
}

/** The mouth rectangle of a 0/255 mask as a polygon, for feathering. */
function mouthPolygon(mask: Uint8Array, size: number): number[] {
  let x0 = size;
  let y0 = size;
  let x1 = 0;
  let y1 = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (mask[y * size + x]) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + 1);
    y1 = Math.max(y1, y + 1);
  }
  return [x0, y0, x1, y0, x1, y1, x0, y1];
}

/** Silence: the window's centre frames are far below the recording's mean level. */
function isSilentWindow(window: Float32Array, stats: MelBandStats): boolean {
  let z = 0;
  let n = 0;
  for (let m = 0; m < 80; m++) {
    for (let k2 = 10; k2 < 14; k2++) {
      z += (window[m * 24 + k2]! - stats.mean[m]!) / stats.std[m]!;
      n++;
    }
  }
  return z / n < -1.5;
}

class RunningBandStats {
  private readonly s: Float64Array;
  private readonly s2: Float64Array;
  private n = 0;
  constructor(private readonly bands: number) {
    this.s = new Float64Array(bands);
    this.s2 = new Float64Array(bands);
  }
  add(window: Float32Array): void {
    const W = window.length / this.bands;
    for (let m = 0; m < this.bands; m++) {
      const v = window[m * W + (W >> 1)]!;
      this.s[m] = this.s[m]! + v;
      this.s2[m] = this.s2[m]! + v * v;
    }
    this.n++;
  }
  current(): MelBandStats {
    const mean = new Float32Array(this.bands);
    const std = new Float32Array(this.bands);
    for (let m = 0; m < this.bands; m++) {
      const mu = this.s[m]! / Math.max(1, this.n);
      mean[m] = mu;
      std[m] = Math.sqrt(Math.max(1e-2, this.s2[m]! / Math.max(1, this.n) - mu * mu));
    }
    return { mean, std };
  }
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAGIC = 'AVDP';

/**
 * Saves a fitted model as one file: 'AVDP', a u32 header length, the JSON profile, then the bank
 * crops (raw RGB24). Written to a temporary name and renamed, like every avdub output.
 */
export async function saveSpeakerProfile(model: PersonalizedLipsyncModel, path: string): Promise<string> {
  const { AtomicOutput } = await import('../../util/atomic.js');
  const { writeFile } = await import('node:fs/promises');
  const header = Buffer.from(JSON.stringify(model.profile), 'utf8');
  const head = Buffer.alloc(8);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, 4);
  const out = await AtomicOutput.open(path);
  try {
    // Written piece by piece: no 40 MB concatenation of the bank next to the bank itself.
    await writeFile(out.tempPath, [head, header, ...model.crops]);
    return await out.commit();
  } catch (e) {
    await out.discard();
    throw e;
  }
}

/** Loads a profile saved by `saveSpeakerProfile`. */
export async function loadSpeakerProfile(path: string, settings: Partial<PersonalizedGenerateSettings> = {}): Promise<PersonalizedLipsyncModel> {
  const { readFile } = await import('node:fs/promises');
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (cause) {
    throw new AvdubError(ErrorCode.INPUT_NOT_FOUND, `Speaker profile not found: ${path}`, { cause });
  }
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== MAGIC) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Not an avdub speaker profile: ${path}`);
  }
  const len = buf.readUInt32LE(4);
  let profile: SpeakerProfile;
  try {
    profile = JSON.parse(buf.toString('utf8', 8, 8 + len)) as SpeakerProfile;
  } catch (cause) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Corrupt speaker profile header: ${path}`, { cause });
  }
  if (profile.format !== 'avdub-speaker-profile' || profile.version !== 1) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Unsupported speaker profile format in ${path}`);
  }
  const cropBytes = profile.cropSize * profile.cropSize * 3;
  const crops: Uint8Array[] = [];
  let o = 8 + len;
  for (let i = 0; i < profile.bank.length; i++, o += cropBytes) {
    if (o + cropBytes > buf.length) throw new AvdubError(ErrorCode.MODEL_LOAD, `Truncated speaker profile: ${path}`);
    crops.push(new Uint8Array(buf.subarray(o, o + cropBytes)));
  }
  return new PersonalizedLipsyncModel(profile, crops, settings);
}

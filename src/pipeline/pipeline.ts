/**
 * DubPipeline: one call from a video to a dubbed video (design.md "Data flow").
 *
 * - `dub({ video, to })`: transcript (ASR or a subtitle file), translation (MT or a subtitle
 *   file), TTS per segment, TimingAligner, then the visual path with the dubbed track.
 * - `lipsync({ video, audio })`: the visual path alone, for a finished dubbed track.
 *
 * The visual path decodes the video twice: pass 1 tracks faces, detects shot cuts and fits the
 * personalized model in the same decode (analyze.ts); pass 2 generates the new mouths, pastes
 * them back and encodes (render-pass.ts). Pass 1's results are cached, so a re-run decodes once.
 * See docs/pipeline.md.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { decodeToWav, StreamingAudio } from '../audio/stream.js';
import type { TimingAlignerOptions } from '../audio/timing.js';
import { encodeWav, readWav } from '../audio/wav.js';
import { AvdubError, ErrorCode, abortError, throwIfAborted } from '../errors.js';
import type { FaceTrackerInit } from '../face/tracker.js';
import type { AudioData } from '../media/audio.js';
import type { FfmpegOptions } from '../media/binaries.js';
import { probeMedia, requireAudio, requireVideo, type MediaInfo } from '../media/probe.js';
import { X264_PRESETS, type X264Preset } from '../media/writer.js';
import type { LipsyncModel } from '../lipsync/types.js';
import {
  PersonalizedLipsyncModel,
  loadSpeakerProfile,
  saveSpeakerProfile,
  type PersonalizedFitOptions,
  type PersonalizedGenerateSettings,
} from '../lipsync/personalized/model.js';
import { createDefaultRegistry } from '../providers/defaults.js';
import { espeakVoiceFor, normalizeLanguageTag } from '../providers/languages.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ProviderOptions } from '../providers/spec/shared.js';
import type { SpeechModelV1 } from '../providers/spec/speech.js';
import type { Transcript, TranscriptionModelV1 } from '../providers/spec/transcription.js';
import type { Translation, TranslationModelV1 } from '../providers/spec/translation.js';
import { exportTranslation, subtitleTranscriptionModel, subtitleTranslationModel } from '../providers/subtitles/provider.js';
import { checkInputFile } from '../media/probe.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import type { ProgressEvent } from '../util/progress.js';
import { is } from '../util/validate.js';
import { makeTempDir, sweepStaleTempDirs } from '../util/temp.js';
import { VERSION } from '../version.js';
import { KEPT_LANDMARKS, decodeAnalysis, encodeAnalysis, type VideoAnalysis } from './analysis.js';
import { analyzeVideo } from './analyze.js';
import { StageCache, fileIdentity } from './cache.js';
import { planRuns } from './plan.js';
import { renderPass, type OutputFrameHook, type RenderPassStats } from './render-pass.js';
import type { PipelineReport, SegmentReport, StageReport } from './report.js';
import { prepareDubAudio, type StageFn } from './speech.js';

/** Rendering and run-planning settings. */
export interface PipelineRenderOptions {
  /** Gaussian feather of the render polygon mask, crop pixels (001 s5). @default 4 */
  featherSigma: number;
  /** Frames of cross-fade at each edge of a lip-synced run. @default 5 */
  fadeFrames: number;
  /** Runs of the main track shorter than this are left untouched. @default 8 */
  minRunFrames: number;
  /** A face-centre jump of more than this many eye distances between frames splits a run. @default 0.5 */
  maxJump: number;
  /** Shot-cut threshold: mean absolute change of coarse block luma between frames, 0-255. @default 30 */
  cutThreshold: number;
  /** Reinhard colour transfer of the pasted mouth to the frame (003 s3.3). @default false */
  colorTransfer: boolean;
  /**
   * Who blends the mouths into the frames (`RenderPassOptions.compositor`): `'auto'` lets ffmpeg
   * do it for a patch model (the personalized default) when no colour transfer and no
   * `onFrame` hook need the frames in Node; `'node'` always renders in Node; `'ffmpeg'` fails
   * where ffmpeg cannot. @default 'auto'
   */
  compositor: 'auto' | 'ffmpeg' | 'node';
}

export interface DubPipelineOptions extends FfmpegOptions {
  /** Resolves `asr` / `mt` / `tts` ids. @default createDefaultRegistry() */
  registry?: ProviderRegistry;
  /** Stage cache directory; `false` turns the cache off. @default AVDUB_CACHE_DIR, else ~/.cache/avdub */
  cacheDir?: string | false;
  /** x264 constant rate factor of the output. @default 18 */
  crf: number;
  /** x264 preset of the output. @default 'medium' */
  preset: X264Preset;
  /** Face tracker settings (device, smoothing, detector...). @default {} (the tracker's defaults) */
  tracker: FaceTrackerInit;
  /** Personalized model fit settings. @default {} */
  fit: Partial<Omit<PersonalizedFitOptions, 'audioStats' | 'signal' | 'onProgress'>>;
  /**
   * Personalized model generation settings (crop choice, `anchorShift`, warp...), applied to the
   * fitted or loaded profile; they shape pass 2 only, so a cached analysis is reused. @default {}
   */
  generate: Partial<PersonalizedGenerateSettings>;
  render: PipelineRenderOptions;
  /**
   * Decoded frames held for the model's look-ahead: a number, or 'auto' = as many as fit in
   * `bufferMiB` (at least 16). A model that needs more gets more (see render-pass.ts).
   * @default 'auto'
   */
  maxBufferedFrames: number | 'auto';
  /** @default 256 */
  bufferMiB: number;
  /**
   * Driving audio longer or shorter than the video (lipsync): 'fit' pads it with silence or
   * trims it to the video's duration (reported); 'error' refuses. @default 'fit'
   */
  audioLength: 'fit' | 'error';
  /** Provider ids used when a job names none. */
  providers: { transcription: string; translation: string; speech: string };
}

export const defaultDubPipelineOptions: DubPipelineOptions = {
  crf: 18,
  preset: 'medium',
  tracker: {},
  fit: {},
  generate: {},
  render: { featherSigma: 4, fadeFrames: 5, minRunFrames: 8, maxJump: 0.5, cutThreshold: 30, colorTransfer: false, compositor: 'auto' },
  maxBufferedFrames: 'auto',
  bufferMiB: 256,
  audioLength: 'fit',
  providers: { transcription: 'openai:whisper-1', translation: 'openai:gpt-4o-mini', speech: 'espeak:default' },
};

/** Progress of a pipeline run: one stage at a time (`cached` when the stage was reused). */
export interface PipelineProgressEvent extends ProgressEvent {
  cached?: boolean;
}

/** Options shared by both jobs: the video, the output, the model. */
export interface VisualJob {
  video: string;
  /** Output video (MP4). @default `<video dir>/<stem>.lipsync.mp4` or `<stem>.<lang>.mp4` */
  output?: string;
  /**
   * The lip-sync model. Default: the personalized model, fitted on this video's own footage
   * and speech during the analysis pass (and cached).
   */
  model?: LipsyncModel;
  /** A speaker profile saved earlier (`saveSpeakerProfile`): used instead of fitting. */
  profile?: string;
  /** Save the fitted speaker profile here. */
  saveProfile?: string;
  signal?: AbortSignal;
  onProgress?: (event: PipelineProgressEvent) => void;
  /** Sees every output frame before it is encoded (previews, tests). */
  onFrame?: OutputFrameHook;
}

export interface LipsyncJob extends VisualJob {
  /** The new speech: an audio (or video) file, or samples. */
  audio: string | AudioData;
  /** Overrides the pipeline's `audioLength`. */
  audioLength?: 'fit' | 'error';
}

export interface DubJob extends VisualJob {
  /** Target language (BCP-47). */
  to: string;
  /** Source language hint for ASR. */
  from?: string;
  /** A transcript: a subtitle file (SRT/VTT) or an object; else ASR runs. */
  transcript?: string | Transcript;
  /** A translation: a subtitle file (SRT/VTT) or an object; else MT runs. */
  translation?: string | Translation;
  /** ASR: a registry id (`openai:whisper-1`) or a model object. */
  asr?: string | TranscriptionModelV1;
  /** MT: a registry id (`openai:gpt-4o-mini`, `libretranslate:default`) or a model object. */
  mt?: string | TranslationModelV1;
  /** TTS: a registry id (`espeak:default`) or a model object. */
  tts?: string | SpeechModelV1;
  voice?: string;
  providerOptions?: ProviderOptions;
  timing?: DeepPartial<TimingAlignerOptions>;
  /** Where to write the translated subtitles; `false`: not at all. @default `<output stem>.<lang>.srt` */
  subtitles?: string | false;
}

export interface PipelineResult {
  output: string;
  subtitles?: string;
  report: PipelineReport;
}

/** The audio that drives the mouth: a 16 kHz mono WAV file, read as `length` samples (the video's duration). */
interface DrivingAudio {
  /** 16 kHz mono float WAV in the run's temporary folder, streamed in pass 2. */
  wav16k: string;
  /** Samples of the video's duration: the file is padded with silence or trimmed to this. */
  length: number;
  /** File muxed into the output (the muxer pads/trims it to the video). */
  muxPath: string;
  /** Its probe, when it was probed (an audio file given by path). */
  muxInfo?: MediaInfo;
  duration: number;
  action: 'none' | 'padded' | 'trimmed';
  differenceSeconds: number;
}

interface RunContext {
  signal?: AbortSignal;
  emit: (e: PipelineProgressEvent) => void;
  stage: StageFn;
  stages: StageReport[];
  warnings: string[];
  cache: StageCache;
  tempDir: string;
  info: MediaInfo;
  videoIdentity: string;
  /** The footage's own audio, streamed from a 16 kHz WAV in the temporary folder (undefined: no audio stream). */
  footageAudio: () => Promise<StreamingAudio | undefined>;
  /** The footage audio's samples in memory: only for an ASR provider, which takes the whole recording. */
  footageSamples: () => Promise<Float32Array | undefined>;
  /** Closes the footage audio once nothing needs it. */
  releaseFootage: () => void;
  /** Work left running beside the next stages (cache writes), awaited before the run returns. */
  background: Promise<void>[];
  kind: 'lipsync' | 'dub';
}

const SR = 16000;

interface AnalysisOutcome {
  analysis: VideoAnalysis;
  analysisCached: boolean;
  model: LipsyncModel;
  refCount: number;
  fitInfo?: Record<string, unknown>;
  profilePath?: string;
}

/** How a job plugs into the shared skeleton: `early` runs before pass 1 (cheap checks), `late` after it. */
interface JobSteps {
  early?: (ctx: RunContext) => Promise<void>;
  late: (ctx: RunContext) => Promise<{ driving: DrivingAudio; finish?: (report: PipelineReport, output: string) => Promise<void> }>;
}

export class DubPipeline {
  readonly options: DubPipelineOptions;
  readonly registry: ProviderRegistry;

  constructor(options: DeepPartial<DubPipelineOptions> = {}) {
    const o = mergeOptions(defaultDubPipelineOptions, options);
    is.integer('crf', o.crf, 0, 51);
    is.oneOf('preset', o.preset, X264_PRESETS);
    is.number('render.featherSigma', o.render.featherSigma, 0, 64);
    is.integer('render.fadeFrames', o.render.fadeFrames, 0, 1000);
    is.integer('render.minRunFrames', o.render.minRunFrames, 1, 100000);
    is.number('render.maxJump', o.render.maxJump, 0);
    is.number('render.cutThreshold', o.render.cutThreshold, 0, 256);
    is.boolean('render.colorTransfer', o.render.colorTransfer);
    is.oneOf('render.compositor', o.render.compositor, ['auto', 'ffmpeg', 'node'] as const);
    if (o.maxBufferedFrames !== 'auto') is.integer('maxBufferedFrames', o.maxBufferedFrames, 2, 100000);
    is.number('bufferMiB', o.bufferMiB, 1);
    is.oneOf('audioLength', o.audioLength, ['fit', 'error'] as const);
    if (o.cacheDir !== undefined && o.cacheDir !== false) is.string('cacheDir', o.cacheDir);
    this.options = o;
    this.registry = o.registry ?? createDefaultRegistry();
  }

  /** Visual dubbing only: re-synthesizes the mouth for `audio` and muxes `audio` as the soundtrack. */
  async lipsync(job: LipsyncJob): Promise<PipelineResult> {
    if (typeof job !== 'object' || job === null) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a job object { video, audio }');
    const policy = job.audioLength ?? this.options.audioLength;
    is.oneOf('audioLength', policy, ['fit', 'error'] as const);
    if (typeof job.audio !== 'string' && !(job.audio?.samples instanceof Float32Array)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected audio as a file path or { samples: Float32Array, sampleRate }', { details: { option: 'audio' } });
    }
    let driving: DrivingAudio | undefined;
    return this.run('lipsync', job, {
      // The track is read and its length checked before the analysis pass.
      early: async (ctx) => {
        driving = await ctx.stage('audio', async () => ({ value: await this.drivingAudio(job.audio, policy, ctx), cached: false }));
      },
      late: async () => ({ driving: driving! }),
    });
  }

  /** Full dubbing: transcript, translation, speech, timing, then the visual path. */
  async dub(job: DubJob): Promise<PipelineResult> {
    if (typeof job !== 'object' || job === null) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a job object { video, to }');
    const to = normalizeLanguageTag(job.to, 'to');
    const from = job.from === undefined ? undefined : normalizeLanguageTag(job.from, 'from');
    // Resolve providers and check files before any work.
    const tts = typeof job.tts === 'object' ? job.tts : this.registry.speechModel(job.tts ?? this.options.providers.speech);
    if (tts.provider === 'espeak' && job.voice === undefined) espeakVoiceFor(to); // E_UNSUPPORTED_LANGUAGE now, not after ASR
    let transcriptSrc: Transcript | { model: TranscriptionModelV1; cache: boolean };
    if (typeof job.transcript === 'string') {
      await checkInputFile(job.transcript);
      transcriptSrc = { model: subtitleTranscriptionModel({ path: job.transcript }, from ? { language: from } : {}), cache: false };
    } else if (job.transcript) transcriptSrc = job.transcript;
    else if (job.translation !== undefined && job.asr === undefined) transcriptSrc = { segments: [], language: from ?? 'und' };
    else {
      const model = typeof job.asr === 'object' ? job.asr : this.registry.transcriptionModel(job.asr ?? this.options.providers.transcription);
      transcriptSrc = { model, cache: model.provider !== 'subtitles' };
    }
    let translationSrc: Translation | { model: TranslationModelV1; cache: boolean };
    if (typeof job.translation === 'string') {
      await checkInputFile(job.translation);
      translationSrc = { model: subtitleTranslationModel({ path: job.translation }), cache: false };
    } else if (job.translation) translationSrc = job.translation;
    else {
      const model = typeof job.mt === 'object' ? job.mt : this.registry.translationModel(job.mt ?? this.options.providers.translation);
      translationSrc = { model, cache: model.provider !== 'subtitles' };
    }
    const ids = {
      transcription: 'model' in transcriptSrc ? `${transcriptSrc.model.provider}:${transcriptSrc.model.modelId}` : 'given',
      translation: 'model' in translationSrc ? `${translationSrc.model.provider}:${translationSrc.model.modelId}` : 'given',
      speech: `${tts.provider}:${tts.modelId}`,
    };
    let dubbed: Awaited<ReturnType<typeof prepareDubAudio>> | undefined;
    // The analysis pass runs first: a video without a face fails before any provider is paid.
    const result = await this.run('dub', job, { late: async (ctx) => {
      if ('model' in transcriptSrc && transcriptSrc.model.provider !== 'subtitles' && !ctx.info.audio) {
        requireAudio(ctx.info); // ASR needs the video's speech
      }
      dubbed = await prepareDubAudio({
        videoIdentity: ctx.videoIdentity,
        videoDuration: videoDuration(ctx.info),
        sourceAudio: async () => ({ samples: (await ctx.footageSamples()) ?? new Float32Array(Math.round(videoDuration(ctx.info) * SR)), sampleRate: SR }),
        targetLanguage: to,
        sourceLanguage: from,
        transcript: transcriptSrc,
        translation: translationSrc,
        tts,
        voice: job.voice,
        providerOptions: job.providerOptions,
        timing: job.timing,
        cache: ctx.cache,
        tempDir: ctx.tempDir,
        stage: ctx.stage,
        signal: ctx.signal,
        onProgress: ctx.emit,
      });
      const d = dubbed.track.samples.length / (dubbed.track.channels ?? 1) / dubbed.track.sampleRate;
      // The track is muxed from its file and streamed from its 16 kHz copy; the samples are not needed any more.
      dubbed = { ...dubbed, track: { samples: new Float32Array(0), sampleRate: dubbed.track.sampleRate } };
      ctx.releaseFootage();
      const wav16k = join(ctx.tempDir, 'driving-16k.wav');
      await decodeToWav(dubbed.trackPath, wav16k, { signal: ctx.signal, ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath });
      return {
        driving: { wav16k, length: Math.round(videoDuration(ctx.info) * SR), muxPath: dubbed.trackPath, duration: d, action: 'none', differenceSeconds: round(d - videoDuration(ctx.info)) } satisfies DrivingAudio,
        finish: async (report: PipelineReport, output: string) => {
          const dd = dubbed!;
          report.languages = { source: dd.transcript.language || dd.translation.sourceLanguage || 'und', target: to };
          report.providers = ids;
          report.segments = dd.segments;
          const over = dd.segments.filter((s) => (s.overflowMs ?? 0) > 0);
          report.timing = {
            overflows: over.length,
            overflowMs: round(over.reduce((a, s) => a + (s.overflowMs ?? 0), 0)),
            truncatedMs: round(dd.segments.reduce((a, s) => a + (s.truncatedMs ?? 0), 0)),
            warnings: dd.timingWarnings,
          };
          report.providerWarnings = dd.providerWarnings;
          if (typeof job.transcript === 'string') report.input.transcript = resolve(job.transcript);
          if (typeof job.translation === 'string') report.input.translation = resolve(job.translation);
          if (job.subtitles !== false) {
            const stem = basename(output, extname(output));
            // talk.mp4 -> talk.es.srt; talk.es.mp4 -> talk.es.srt (not talk.es.es.srt)
            const path = job.subtitles ?? join(dirname(output), `${stem.toLowerCase().endsWith(`.${to.toLowerCase()}`) ? stem : `${stem}.${to}`}.srt`);
            const placed = dd.segments
              .filter((s): s is SegmentReport & { placedStart: number; placedEnd: number } => s.status === 'synthesized' && s.placedStart !== undefined)
              .map((s) => ({ id: s.id, start: s.placedStart, end: s.placedEnd, text: s.text, sourceText: s.sourceText }));
            // The subtitles follow the dubbed speech: the placed times, not the original slots.
            report.subtitles = await exportTranslation({ ...dd.translation, segments: placed }, path);
          }
        },
      };
    } }, to);
    return result;
  }

  /** The shared skeleton: probe, validate, cache, visual passes, report. */
  private async run(kind: 'lipsync' | 'dub', job: VisualJob, steps: JobSteps, language?: string): Promise<PipelineResult> {
    const { signal } = job;
    throwIfAborted(signal);
    is.string('video', job.video);
    if (job.model !== undefined && (typeof job.model !== 'object' || typeof job.model.generate !== 'function')) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a LipsyncModel (an object with generate()) for model', { details: { option: 'model' } });
    }
    if (job.model && job.profile) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Pass either model or profile, not both', { details: { option: 'profile' } });
    const peak = new RssSampler();
    try {
      return await this.runInner(kind, job, steps, language, peak);
    } finally {
      peak.stop();
    }
  }

  private async runInner(kind: 'lipsync' | 'dub', job: VisualJob, steps: JobSteps, language: string | undefined, peak: RssSampler): Promise<PipelineResult> {
    const { signal } = job;
    const stages: StageReport[] = [];
    const warnings: string[] = [];
    const emit = (e: PipelineProgressEvent): void => job.onProgress?.(e);
    const stage: StageFn = async (name, work) => {
      throwIfAborted(signal);
      emit({ stage: name, done: 0 });
      const t = performance.now();
      const r = await work();
      const seconds = (performance.now() - t) / 1000;
      stages.push({
        stage: name,
        seconds: round(seconds),
        cached: r.cached,
        ...(r.items !== undefined ? { items: r.items, fps: seconds > 0 ? round(r.items / seconds) : undefined } : {}),
        ...(r.detail ? { detail: r.detail } : {}),
      });
      emit({ stage: name, done: r.items ?? 1, total: r.items ?? 1, cached: r.cached });
      peak.sample();
      return r.value;
    };

    const info = await stage('probe', async () => ({ value: await probeMedia(job.video, { signal, scanFrames: true, ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath }), cached: false }));
    const v = requireVideo(info);
    if (v.displayWidth % 2 || v.displayHeight % 2) {
      throw new AvdubError(ErrorCode.UNSUPPORTED_MEDIA, `Odd frame size ${v.displayWidth}x${v.displayHeight}: H.264 4:2:0 output needs even sizes, and avdub never crops or pads silently`, {
        details: { path: info.path },
      });
    }
    const output = resolve(job.output ?? defaultOutput(info.path, kind === 'dub' ? language! : 'lipsync'));
    if (output === info.path) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `The output would overwrite the input video: ${output}`, { details: { option: 'output' } });
    if (job.profile !== undefined) await checkInputFile(job.profile);
    const cache = await StageCache.open(this.options.cacheDir);
    await cache.sweep();
    await removeStalePartials(output);
    // Folders left by runs that were killed (kill -9 cannot clean up) go first.
    sweepStaleTempDirs();
    const tempDir = makeTempDir('run');
    let closeFootage: (() => void) | undefined;
    const background: Promise<void>[] = [];
    try {
      const videoIdentity = await fileIdentity(info.path);
      // The footage audio is decoded once to a 16 kHz WAV on disk (ffmpeg, soxr: the samples
      // extractAudio gives) and streamed from there: statistics and voice activity in
      // pre-passes, mel windows from a ring (src/audio/stream.ts).
      let footageWav: Promise<string | undefined> | undefined;
      const footageFile = (): Promise<string | undefined> =>
        (footageWav ??= info.audio
          ? decodeToWav(info.path, join(tempDir, 'footage-16k.wav'), { info, signal, sampleRate: SR, ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath }).then(
              () => join(tempDir, 'footage-16k.wav'),
            )
          : Promise.resolve(undefined));
      const footageSamples = async (): Promise<Float32Array | undefined> => {
        const f = await footageFile();
        return f ? (await readWav(f, { signal })).samples : undefined;
      };
      let footage: Promise<StreamingAudio | undefined> | undefined;
      const footageAudio = (): Promise<StreamingAudio | undefined> =>
        (footage ??= footageFile().then((f) => (f ? StreamingAudio.open(f, { preset: 'paper', signal }) : undefined)));
      const releaseFootage = (): void => {
        const f = footage;
        footage = undefined;
        void f?.then((a) => a?.close(), () => {});
      };
      closeFootage = releaseFootage;
      const ctx: RunContext = { signal, emit, stage, stages, warnings, cache, tempDir, info, videoIdentity, footageAudio, footageSamples, releaseFootage, background, kind };

      await steps.early?.(ctx);
      const analyzed = await this.analyzePass(job, ctx, peak);
      const { driving, finish } = await steps.late(ctx);
      const visual = await this.renderVisual(ctx, analyzed, driving, output, job.onFrame, peak);
      await Promise.all(background); // each reports its own failure as a warning
      const report: PipelineReport = {
        format: 'avdub-report',
        version: 1,
        avdub: VERSION,
        job: kind,
        input: { video: info.path, ...(kind === 'lipsync' && typeof (job as LipsyncJob).audio === 'string' ? { audio: resolve((job as LipsyncJob).audio as string) } : {}) },
        output: visual.stats.output,
        video: {
          width: v.displayWidth,
          height: v.displayHeight,
          fps: round(v.fps),
          frames: visual.stats.frames,
          duration: round(videoDuration(info)),
          variableFrameRate: v.variableFrameRate,
        },
        audio: { duration: round(driving.duration), action: driving.action, differenceSeconds: driving.differenceSeconds },
        faces: {
          tracks: visual.analysis.tracks,
          mainTrackId: visual.analysis.mainTrackId ?? null,
          untouchedTracks: visual.analysis.tracks.filter((t) => !t.main).length,
          cuts: visual.analysis.cuts,
          runs: visual.runs.map((r) => ({ start: r.start, end: r.end, startReason: r.startReason, endReason: r.endReason })),
          shortRuns: visual.shortRuns,
        },
        frames: {
          total: visual.stats.frames,
          rendered: visual.stats.rendered,
          crossFaded: visual.stats.crossFaded,
          passedThrough: visual.stats.passedThrough.total,
          passedThroughReasons: {
            noFace: visual.stats.passedThrough.noFace,
            otherFaceOnly: visual.stats.passedThrough.otherFace,
            shortRun: visual.stats.passedThrough.shortRun,
          },
        },
        model: visual.modelInfo,
        passes: { decodes: visual.analysisCached ? 1 : 2, analysisCached: visual.analysisCached },
        stages,
        peakRssMiB: 0,
        warnings,
      };
      if (visual.analysis.tracks.length > 1) {
        warnings.push(`${visual.analysis.tracks.length} face tracks found: track ${visual.analysis.mainTrackId} (the largest face with the most frames) is dubbed, the others are left as they are`);
      }
      if (driving.action !== 'none') {
        warnings.push(
          `The driving audio is ${Math.abs(driving.differenceSeconds).toFixed(3)} s ${driving.action === 'padded' ? 'shorter' : 'longer'} than the video: ` +
            `${driving.action === 'padded' ? 'padded with silence' : 'trimmed'} to ${videoDuration(info).toFixed(3)} s`,
        );
      }
      await finish?.(report, visual.stats.output);
      report.peakRssMiB = peak.stop();
      return { output: visual.stats.output, subtitles: report.subtitles, report };
    } catch (e) {
      if (signal?.aborted && !AvdubError.isInstance(e, ErrorCode.ABORTED)) throw abortError(signal);
      throw e;
    } finally {
      closeFootage?.();
      await Promise.allSettled(background); // nothing keeps writing after the run returns
      await rm(tempDir, { recursive: true, force: true });
    }
  }

  private async drivingAudio(audio: string | AudioData, policy: 'fit' | 'error', ctx: RunContext): Promise<DrivingAudio> {
    const { signal } = ctx;
    let muxPath: string;
    let muxInfo: MediaInfo | undefined;
    const ff = { ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath };
    const wav16k = join(ctx.tempDir, 'driving-16k.wav');
    let n: number;
    // Decoded to a 16 kHz mono WAV on disk (the samples readAudio would give, resampled the same
    // way) and streamed from there in pass 2.
    if (typeof audio === 'string') {
      const ainfo = await probeMedia(audio, { signal, ...ff });
      requireAudio(ainfo);
      n = await decodeToWav(ainfo.path, wav16k, { info: ainfo, sampleRate: SR, signal, ...ff });
      muxPath = ainfo.path;
      muxInfo = ainfo;
    } else {
      is.integer('audio.sampleRate', audio.sampleRate, 1000, 384000);
      muxPath = join(ctx.tempDir, 'driving-audio.wav');
      await writeFile(muxPath, encodeWav(audio, { float: true }));
      n = await decodeToWav(muxPath, wav16k, { sampleRate: SR, signal, ...ff });
    }
    const vd = videoDuration(ctx.info);
    const duration = n / SR;
    const diff = duration - vd;
    // Within one frame (or 20 ms) counts as the same length: containers round durations.
    const fps = ctx.info.video!.fps > 0 ? ctx.info.video!.fps : 25;
    const tolerance = Math.max(1 / fps, 0.02);
    let action: DrivingAudio['action'] = 'none';
    if (Math.abs(diff) > tolerance) {
      if (policy === 'error') {
        throw new AvdubError(
          ErrorCode.INVALID_ARGUMENT,
          `The audio is ${duration.toFixed(3)} s but the video is ${vd.toFixed(3)} s (audioLength: 'error'; use 'fit' to pad with silence or trim)`,
          { details: { option: 'audio', audioDuration: duration, videoDuration: vd } },
        );
      }
      action = diff < 0 ? 'padded' : 'trimmed';
    }
    return { wav16k, length: Math.round(vd * SR), muxPath, ...(muxInfo ? { muxInfo } : {}), duration, action, differenceSeconds: round(diff) };
  }

  /** Model choice, pass 1 (cached) and pass 2. */
  /** Model choice and pass 1 (cached); E_NO_FACE when the video has no face. */
  private async analyzePass(job: VisualJob, ctx: RunContext, peak: RssSampler): Promise<AnalysisOutcome> {
    const { cache, info, signal, stage } = ctx;
    const o = this.options;
    let model: LipsyncModel | undefined = job.model;
    let profilePath: string | undefined;
    if (job.profile) {
      profilePath = resolve(job.profile);
      model = await stage('profile', async () => ({ value: await loadSpeakerProfile(profilePath!), cached: true }));
    }
    const fitting = model === undefined;
    const refSpec = model?.references;
    const refCount = refSpec && (refSpec.preferred > 0 || refSpec.min > 0) ? Math.max(refSpec.min, Math.min(refSpec.max ?? Infinity, refSpec.preferred || refSpec.min)) : 0;
    if (fitting && !info.audio) {
      throw new AvdubError(
        ErrorCode.NO_AUDIO_STREAM,
        `No audio stream in ${info.path}: the personalized lip-sync model learns from the video's own speech. Pass a speaker profile (profile) or your own model`,
        { details: { path: info.path } },
      );
    }

    // Pass 1: cached by the video's identity and everything that shapes it.
    const analysisKey = cache.key('analysis', {
      video: ctx.videoIdentity,
      tracker: o.tracker,
      cutThreshold: o.render.cutThreshold,
      references: refCount,
      fit: fitting ? o.fit : null,
      // The stored per-frame landmarks: a build that keeps other points must not read this one's.
      kept: KEPT_LANDMARKS,
      // Pass 1 samples the decoder's I420 (an earlier build read RGB: landmarks differ slightly).
      decode: 'yuv420p',
    });
    let analysis: VideoAnalysis | undefined;
    let analysisCached = false;
    let fitInfo: Record<string, unknown> | undefined;
    const cachedBuf = await cache.readBuffer('analysis', analysisKey, '.bin');
    const cachedAnalysis = cachedBuf ? decodeAnalysisSafe(cachedBuf) : undefined;
    if (cachedAnalysis) {
      if (!fitting || cachedAnalysis.mainTrackId === undefined) analysisCached = true;
      else {
        const p = await cache.lookup('analysis', analysisKey, '.avdp');
        if (p) {
          try {
            model = await loadSpeakerProfile(p);
            analysisCached = true;
          } catch {
            model = undefined; // a damaged entry: analyse again
          }
        }
      }
      if (analysisCached) analysis = cachedAnalysis;
    }
    if (analysisCached) {
      ctx.stages.push({ stage: 'track', seconds: 0, cached: true, items: analysis!.frameCount });
      ctx.emit({ stage: 'track', done: analysis!.frameCount, total: analysis!.frameCount, cached: true });
    } else {
      // The footage audio (decode, then band statistics and VAD in pre-passes: ~0.3 s) is not
      // awaited here: pass 1 awaits it at the first frame it fits, so it overlaps the decoder's
      // and the tracker's start-up (docs/pipeline.md, Performance).
      let footage: Promise<StreamingAudio> | undefined;
      if (fitting) {
        footage = ctx.footageAudio().then((a) => {
          if (!a) throw new AvdubError(ErrorCode.NO_AUDIO_STREAM, `No audio stream in ${info.path}`, { details: { path: info.path } });
          return a;
        });
        footage.catch(() => {}); // analyzeVideo awaits it; an early failure must not go unhandled
      }
      const res = await stage('track', async () => {
        const r = await analyzeVideo(info.path, {
          info,
          tracker: o.tracker,
          fit: footage ? { audio: footage, options: o.fit } : undefined,
          references: refCount > 0 ? Math.max(64, refCount * 4) : 0,
          referenceCount: refCount,
          cutThreshold: o.render.cutThreshold,
          maxFitTracks: 4,
          signal,
          onProgress: ctx.emit,
          ffmpegPath: o.ffmpegPath,
          ffprobePath: o.ffprobePath,
        });
        return {
          value: r,
          cached: false,
          items: r.analysis.frameCount,
          detail: {
            fitFrames: r.fitFrames,
            tracks: r.analysis.tracks.length,
            seconds: Object.fromEntries(Object.entries(r.seconds).map(([k, x]) => [k, round(x)])),
          },
        };
      });
      analysis = res.analysis;
      if (fitting && res.model) model = res.model;
      // The cache entries (the speaker profile: ~40 MB) are written while pass 2 starts, not
      // before it (~0.2 s of the serial time between the passes). The analysis is written last:
      // its presence means the whole pass is cached. A failed write costs the next run its
      // reuse, not this run: it becomes a warning.
      const done = analysis;
      const fitted = fitting ? res.model : undefined;
      ctx.background.push(
        (async () => {
          if (fitted) {
            const scratch = cache.scratch('analysis', '.avdp');
            if (scratch) {
              await saveSpeakerProfile(fitted, scratch);
              await cache.adopt('analysis', analysisKey, '.avdp', scratch);
            }
          }
          await cache.write('analysis', analysisKey, '.bin', encodeAnalysis(done));
        })().catch((e: unknown) => {
          ctx.warnings.push(`Pass 1 could not be cached (${e instanceof Error ? e.message : String(e)}): the next run analyses the video again`);
        }),
      );
      if (analysis.mainTrackId !== undefined && fitting && !res.model) {
        const cause = res.fitError;
        throw new AvdubError(
          ErrorCode.NO_FACE,
          `The main face (track ${analysis.mainTrackId}) could not be fitted: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause, details: { frames: analysis.frameCount } },
        );
      }
    }
    if (ctx.kind === 'lipsync') ctx.releaseFootage();
    peak.sample();
    if (analysis!.mainTrackId === undefined) {
      throw new AvdubError(ErrorCode.NO_FACE, `No face found in ${info.path} (${analysis!.frameCount} frames searched)`, {
        details: { frames: analysis!.frameCount, path: info.path },
      });
    }
    const a = analysis!;
    if (model instanceof PersonalizedLipsyncModel) {
      fitInfo = { ...model.profile.fit, bank: model.profile.bank.length, pcaComponents: model.profile.pca.k };
      // A smaller regressor batch shortens the model's look-ahead and so the frames held in memory.
      const settings = { ...o.generate };
      if ((settings.batch ?? model.settings.batch) > 16) settings.batch = 16;
      model = model.withSettings(settings);
    }
    if (job.saveProfile !== undefined) {
      if (!(model instanceof PersonalizedLipsyncModel)) {
        throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'saveProfile needs the personalized model', { details: { option: 'saveProfile' } });
      }
      profilePath = await saveSpeakerProfile(model, job.saveProfile);
    }
    const m = model!;

    return { analysis: a, analysisCached, model: m, refCount, ...(fitInfo ? { fitInfo } : {}), ...(profilePath ? { profilePath } : {}) };
  }

  /** Pass 2: driving audio, runs, render, encode. */
  private async renderVisual(ctx: RunContext, an: AnalysisOutcome, driving: DrivingAudio, output: string, onFrame: OutputFrameHook | undefined, peak: RssSampler) {
    const { signal, stage } = ctx;
    const m = an.model;
    // Audio windows of the new audio in the model's preset, streamed from the 16 kHz WAV:
    // statistics and voice activity in pre-passes, then the windows from a ring of mel frames
    // as pass 2 moves forward (src/audio/stream.ts).
    const drive = await stage('driving-mel', async () => ({
      value: StreamingAudio.open(driving.wav16k, { preset: m.audio.preset, length: driving.length, signal }),
      cached: false,
    }));
    try {
      return await this.renderWith(ctx, an, drive, driving, output, onFrame, peak);
    } finally {
      drive.close();
    }
  }

  private async renderWith(ctx: RunContext, an: AnalysisOutcome, drive: StreamingAudio, driving: DrivingAudio, output: string, onFrame: OutputFrameHook | undefined, peak: RssSampler) {
    const { info, signal, stage } = ctx;
    const o = this.options;
    const { analysis: a, analysisCached, model: m, refCount, fitInfo, profilePath } = an;
    // Plan runs; other tracks' frames for the report.
    const plan = planRuns(a.main, a.cuts, {
      minRunFrames: o.render.minRunFrames,
      fadeFrames: o.render.fadeFrames,
      maxJump: o.render.maxJump,
      frameCount: a.frameCount,
    });
    const other = new Uint8Array(Math.max(1, a.frameCount));
    for (const t of a.tracks) {
      if (t.main) continue;
      for (let i = t.start; i <= t.end && i < other.length; i++) other[i] = 1;
      for (const [g0, g1] of t.gaps) for (let i = g0; i <= g1 && i < other.length; i++) other[i] = 0;
    }
    const frameBytes = info.video!.displayWidth * info.video!.displayHeight * 3;
    const maxBuffered = o.maxBufferedFrames === 'auto' ? Math.max(16, Math.floor((o.bufferMiB * 2 ** 20) / frameBytes)) : o.maxBufferedFrames;
    const cropBytes = a.cropSize * a.cropSize * 3;
    const references = a.references.filter((r) => r.crop.length === cropBytes).map((r) => ({ data: r.crop, width: a.cropSize, height: a.cropSize }));
    if (refCount > 0 && m.references.min > references.length) {
      throw new AvdubError(ErrorCode.NO_FACE, `The model needs ${m.references.min} reference frames but only ${references.length} were found`);
    }

    const stats = await stage<RenderPassStats>('render', async () => {
      const s = await renderPass({
        video: info.path,
        info,
        output,
        audioFrom: driving.muxPath,
        audioFromInfo: driving.muxInfo,
        main: a.main,
        runs: plan.runs,
        otherFaceAt: (i) => other[i] === 1,
        model: m,
        references: refCount > 0 ? references : undefined,
        audioStats: drive.stats,
        audioWindow: (t) => drive.window(Math.max(0, t)),
        voiced: (t) => drive.voiced(t),
        crf: o.crf,
        preset: o.preset,
        featherSigma: o.render.featherSigma,
        colorTransfer: o.render.colorTransfer,
        compositor: o.render.compositor,
        timestamps: a.timestamps,
        maxBufferedFrames: maxBuffered,
        signal,
        onProgress: (e) => {
          ctx.emit(e);
          if (e.done % 32 === 0) peak.sample();
        },
        onFrame,
        ffmpegPath: o.ffmpegPath,
        ffprobePath: o.ffprobePath,
      });
      return {
        value: s,
        cached: false,
        items: s.frames,
        detail: {
          compositor: s.compositor,
          peakBufferedFrames: s.peakBufferedFrames,
          // The frame cap applies to the Node compositor only (ffmpeg's holds no frames in Node).
          ...(s.compositor === 'node' ? { maxBufferedFrames: maxBuffered } : {}),
          seconds: Object.fromEntries(Object.entries(s.seconds).map(([k, x]) => [k, round(x)])),
        },
      };
    });
    return {
      analysis: a,
      analysisCached,
      runs: plan.runs,
      shortRuns: plan.shortRuns,
      stats,
      modelInfo: { kind: m.kind, name: m.name, ...(fitInfo ? { fit: fitInfo } : {}), ...(profilePath ? { profile: profilePath } : {}) },
    };
  }
}

function decodeAnalysisSafe(buf: Buffer): VideoAnalysis | undefined {
  try {
    return decodeAnalysis(buf);
  } catch {
    return undefined;
  }
}

function videoDuration(info: MediaInfo): number {
  const v = info.video!;
  return v.duration > 0 ? v.duration : info.duration;
}

function defaultOutput(video: string, tag: string): string {
  return join(dirname(video), `${basename(video, extname(video))}.${tag}.mp4`);
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Temporary outputs of a run that was killed (`kill -9` cannot clean up): `.<stem>.avdub-*.partial<ext>`
 * beside the output. Removed before a new run for the same output writes its own.
 */
async function removeStalePartials(output: string): Promise<void> {
  const dir = dirname(output);
  const stem = basename(output, extname(output));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const prefix = `.${stem}.avdub-`;
  const suffix = `.partial${extname(output)}`;
  await Promise.all(names.filter((n) => n.startsWith(prefix) && n.endsWith(suffix)).map((n) => rm(join(dir, n), { force: true })));
}

/** Peak resident set size of this process while a run is going on, sampled. */
class RssSampler {
  private peak = process.memoryUsage.rss();
  private readonly timer = setInterval(() => this.sample(), 250);
  constructor() {
    this.timer.unref();
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  /** Stops sampling (idempotent); the peak in MiB. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return Math.round(this.peak / 2 ** 20);
  }
}


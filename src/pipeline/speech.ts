/**
 * The audio half of `dub`: transcript (ASR or a subtitle file), translation (MT or a subtitle
 * file), one TTS clip per segment, and the TimingAligner's track of exactly the video's length.
 * Each provider result is cached by content hash (a subtitle file is re-read every run, so a
 * human edit is picked up at once).
 */
import { join } from 'node:path';
import { encodeWav, decodeWav } from '../audio/wav.js';
import { TimingAligner, type PlannedSegment, type TimingAlignerOptions } from '../audio/timing.js';
import { throwIfAborted } from '../errors.js';
import type { AudioData } from '../media/audio.js';
import type { CallWarning, ProviderOptions } from '../providers/spec/shared.js';
import type { SpeechModelV1 } from '../providers/spec/speech.js';
import type { Transcript, TranscriptionModelV1 } from '../providers/spec/transcription.js';
import type { Translation, TranslationModelV1 } from '../providers/spec/translation.js';
import type { DeepPartial } from '../util/options.js';
import { ProgressMeter, type ProgressCallback } from '../util/progress.js';
import { sha256, stableStringify, type StageCache } from './cache.js';
import type { SegmentReport } from './report.js';

/** Runs one named stage: times it, reports progress start/end, and records it in the report. */
export type StageFn = <T>(name: string, work: () => Promise<{ value: T; cached: boolean; items?: number; detail?: Record<string, unknown> }>) => Promise<T>;

export interface DubAudioOptions {
  videoIdentity: string;
  videoDuration: number;
  /** The video's own audio, 16 kHz mono (silence when it has none). */
  sourceAudio: () => Promise<AudioData>;
  targetLanguage: string;
  sourceLanguage?: string;
  /** A transcript: given (object), or from this model (ASR or a subtitle file). */
  transcript: Transcript | { model: TranscriptionModelV1; cache: boolean };
  translation: Translation | { model: TranslationModelV1; cache: boolean };
  tts: SpeechModelV1;
  voice?: string;
  providerOptions?: ProviderOptions;
  timing?: DeepPartial<TimingAlignerOptions>;
  cache: StageCache;
  /** Where to put the aligned track when the cache is off. */
  tempDir: string;
  stage: StageFn;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface DubAudioResult {
  transcript: Transcript;
  translation: Translation;
  segments: SegmentReport[];
  planned: PlannedSegment[];
  /** The dubbed track: a WAV file (float32) of exactly the video's duration. */
  trackPath: string;
  track: AudioData;
  providerWarnings: CallWarning[];
  timingWarnings: string[];
}

const isModel = <M>(x: unknown): x is { model: M; cache: boolean } => typeof x === 'object' && x !== null && 'model' in x;

export async function prepareDubAudio(o: DubAudioOptions): Promise<DubAudioResult> {
  const { cache, signal, stage } = o;
  const providerWarnings: CallWarning[] = [];

  // 1. Transcript.
  const transcript = await stage('transcribe', async () => {
    if (!isModel<TranscriptionModelV1>(o.transcript)) return { value: o.transcript, cached: false, items: o.transcript.segments.length };
    const { model, cache: useCache } = o.transcript;
    const key = cache.key('transcribe', {
      video: o.videoIdentity,
      provider: model.provider,
      modelId: model.modelId,
      language: o.sourceLanguage,
      providerOptions: o.providerOptions,
    });
    if (useCache) {
      const hit = await cache.readJson<{ transcript: Transcript; warnings: CallWarning[] }>('transcribe', key);
      if (hit) {
        providerWarnings.push(...hit.warnings);
        return { value: hit.transcript, cached: true, items: hit.transcript.segments.length };
      }
    }
    const audio = await o.sourceAudio();
    const r = await model.transcribe({ audio, language: o.sourceLanguage, abortSignal: signal, providerOptions: o.providerOptions });
    providerWarnings.push(...r.warnings);
    if (useCache) await cache.writeJson('transcribe', key, { transcript: r.transcript, warnings: r.warnings });
    return { value: r.transcript, cached: false, items: r.transcript.segments.length, detail: { provider: `${model.provider}:${model.modelId}` } };
  });

  // 2. Translation.
  const translation = await stage('translate', async () => {
    if (!isModel<TranslationModelV1>(o.translation)) return { value: o.translation, cached: false, items: o.translation.segments.length };
    const { model, cache: useCache } = o.translation;
    const key = cache.key('translate', {
      transcript: sha256(stableStringify(transcript)),
      provider: model.provider,
      modelId: model.modelId,
      target: o.targetLanguage,
      providerOptions: o.providerOptions,
    });
    if (useCache) {
      const hit = await cache.readJson<{ translation: Translation; warnings: CallWarning[] }>('translate', key);
      if (hit) {
        providerWarnings.push(...hit.warnings);
        return { value: hit.translation, cached: true, items: hit.translation.segments.length };
      }
    }
    const r = await model.translate({ transcript, targetLanguage: o.targetLanguage, abortSignal: signal, providerOptions: o.providerOptions });
    providerWarnings.push(...r.warnings);
    if (useCache) await cache.writeJson('translate', key, { translation: r.translation, warnings: r.warnings });
    return { value: r.translation, cached: false, items: r.translation.segments.length, detail: { provider: `${model.provider}:${model.modelId}` } };
  });

  // 3. One TTS clip per segment with text.
  const spoken = translation.segments.filter((s) => s.text.trim().length > 0);
  const clipKeys = new Map<string, string>();
  const clips = await stage('synthesize', async () => {
    const out = new Map<string, { clip: AudioData; cached: boolean }>();
    const meter = new ProgressMeter('synthesize', spoken.length, o.onProgress);
    let hits = 0;
    for (const seg of spoken) {
      throwIfAborted(signal);
      const key = cache.key('tts', {
        provider: o.tts.provider,
        modelId: o.tts.modelId,
        text: seg.text,
        language: o.targetLanguage,
        voice: o.voice,
        providerOptions: o.providerOptions,
      });
      clipKeys.set(seg.id, key);
      const hit = await cache.readBuffer('tts', key, '.wav');
      if (hit) {
        out.set(seg.id, { clip: decodeWav(hit), cached: true });
        hits++;
      } else {
        const r = await o.tts.synthesize({ text: seg.text, language: o.targetLanguage, voice: o.voice, abortSignal: signal, providerOptions: o.providerOptions });
        providerWarnings.push(...r.warnings.map((w) => ('segmentId' in w && w.segmentId ? w : { ...w, segmentId: seg.id }) as CallWarning));
        out.set(seg.id, { clip: r.audio, cached: false });
        await cache.write('tts', key, '.wav', encodeWav(r.audio, { float: true }));
      }
      meter.tick(out.size);
    }
    return { value: out, cached: spoken.length > 0 && hits === spoken.length, items: spoken.length, detail: { cachedClips: hits } };
  });

  // 4. Fit the clips into the timeline: one track of exactly the video's duration.
  const aligner = new TimingAligner(o.timing);
  const alignKey = cache.key('align', {
    clips: spoken.map((s) => ({ id: s.id, start: s.start, end: s.end, clip: clipKeys.get(s.id) })),
    duration: o.videoDuration,
    options: aligner.options,
  });
  const aligned = await stage('align', async () => {
    const planHit = await cache.readJson<{ segments: PlannedSegment[]; warnings: string[] }>('align', alignKey);
    const wavPath = planHit ? await cache.lookup('align', alignKey, '.wav') : undefined;
    if (planHit && wavPath) {
      const buf = await cache.readBuffer('align', alignKey, '.wav');
      if (buf) return { value: { planned: planHit.segments, warnings: planHit.warnings, trackPath: wavPath, track: decodeWav(buf) as AudioData }, cached: true, items: spoken.length };
    }
    const r = await aligner.align(
      { segments: spoken.map((s) => ({ id: s.id, start: s.start, end: s.end, clip: clips.get(s.id)!.clip })), duration: o.videoDuration },
      { signal, onProgress: o.onProgress },
    );
    const wav = encodeWav(r.track, { float: true });
    let trackPath = await cache.write('align', alignKey, '.wav', wav);
    if (!trackPath) {
      const { writeFile } = await import('node:fs/promises');
      trackPath = join(o.tempDir, 'dubbed-track.wav');
      await writeFile(trackPath, wav);
    }
    await cache.writeJson('align', alignKey, { segments: r.segments, warnings: r.warnings });
    return { value: { planned: r.segments, warnings: r.warnings, trackPath, track: r.track as AudioData }, cached: false, items: spoken.length };
  });

  const byId = new Map(aligned.planned.map((p) => [p.id, p]));
  const segments: SegmentReport[] = translation.segments.map((s) => {
    const p = byId.get(s.id);
    const base: SegmentReport = { id: s.id, start: s.start, end: s.end, sourceText: s.sourceText, text: s.text, status: p ? 'synthesized' : 'empty' };
    if (!p) return base;
    return {
      ...base,
      clipDuration: round(p.clipDuration),
      factor: Math.round(p.factor * 1e4) / 1e4,
      placedStart: round(p.placedStart),
      placedEnd: round(p.placedEnd),
      shiftMs: p.shiftMs,
      overflowMs: p.overflowMs,
      truncatedMs: p.truncatedMs,
      cached: clips.get(s.id)?.cached,
    };
  });
  return {
    transcript,
    translation,
    segments,
    planned: aligned.planned,
    trackPath: aligned.trackPath,
    track: aligned.track,
    providerWarnings,
    timingWarnings: aligned.warnings,
  };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;

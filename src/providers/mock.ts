/**
 * Mock models for testing code that uses avdub providers, without models, keys or network
 * (conventions 14). Shipped as the `avdub/test` entry; this file imports only the error class
 * and types, so it loads instantly.
 *
 * ```ts
 * import { MockSpeechModel } from 'avdub/test';
 * const tts = new MockSpeechModel();
 * await pipeline.run({ tts, ... });
 * expect(tts.calls[0].text).toBe('Hola');
 * ```
 */
import { abortError } from '../errors.js';
import type { Provider } from './registry.js';
import type { SpeechCallOptions, SpeechModelV1, SpeechResult, SpeechTiming } from './spec/speech.js';
import type { TranscriptionCallOptions, TranscriptionModelV1, TranscriptionResult } from './spec/transcription.js';
import type { TranslationCallOptions, TranslationModelV1, TranslationResult } from './spec/translation.js';

/** A fixed result, a list of results returned in turn (the last one repeats), or a function. */
export type MockBehaviour<O, R> = R | readonly R[] | ((options: O, callIndex: number) => R | Promise<R>);

export interface MockModelSettings<O, R> {
  provider?: string;
  modelId?: string;
  /** What the model returns. Each mock has a sensible default (see its class). */
  result?: MockBehaviour<O, R>;
  /** Milliseconds to wait before answering (aborting the call's signal cuts it short). */
  delayMs?: number;
  /** Make every call reject with this error (after the delay). */
  error?: unknown;
}

abstract class MockModelBase<O extends { abortSignal?: AbortSignal }, R> {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly modelId: string;
  /** Every call's options, in order. */
  readonly calls: O[] = [];
  private readonly settings: MockModelSettings<O, R>;

  protected constructor(provider: string, modelId: string, settings: MockModelSettings<O, R>) {
    this.provider = settings.provider ?? provider;
    this.modelId = settings.modelId ?? modelId;
    this.settings = settings;
  }

  protected async run(options: O, fallback: (options: O) => R): Promise<R> {
    const index = this.calls.length;
    this.calls.push(options);
    const signal = options.abortSignal;
    if (signal?.aborted) throw abortError(signal);
    if (this.settings.delayMs) await delay(this.settings.delayMs, signal);
    if (this.settings.error !== undefined) throw this.settings.error;
    const r = this.settings.result;
    if (r === undefined) return fallback(options);
    if (typeof r === 'function') return (r as (o: O, i: number) => R | Promise<R>)(options, index);
    if (Array.isArray(r)) {
      if (r.length === 0) return fallback(options);
      return r[Math.min(index, r.length - 1)] as R;
    }
    return r as R;
  }
}

/**
 * A transcription model. Default result: one segment `"mock transcript"` spanning the audio,
 * in the call's language (or `en`).
 */
export class MockTranscriptionModel extends MockModelBase<TranscriptionCallOptions, TranscriptionResult> implements TranscriptionModelV1 {
  constructor(settings: MockModelSettings<TranscriptionCallOptions, TranscriptionResult> = {}) {
    super('mock', 'mock-transcription', settings);
  }

  transcribe(options: TranscriptionCallOptions): Promise<TranscriptionResult> {
    return this.run(options, (o) => {
      const a = o.audio;
      const seconds = a && a.sampleRate > 0 ? a.samples.length / (a.channels ?? 1) / a.sampleRate : 0;
      return {
        transcript: { language: o.language ?? 'en', segments: [{ id: '1', start: 0, end: seconds, text: 'mock transcript' }] },
        warnings: [],
      };
    });
  }
}

/** A translation model. Default result: each segment's text prefixed with `[target] `, ids and times kept. */
export class MockTranslationModel extends MockModelBase<TranslationCallOptions, TranslationResult> implements TranslationModelV1 {
  constructor(settings: MockModelSettings<TranslationCallOptions, TranslationResult> = {}) {
    super('mock', 'mock-translation', settings);
  }

  translate(options: TranslationCallOptions): Promise<TranslationResult> {
    return this.run(options, (o) => ({
      translation: {
        sourceLanguage: o.transcript.language,
        targetLanguage: o.targetLanguage,
        segments: o.transcript.segments.map((s) => ({ id: s.id, start: s.start, end: s.end, text: `[${o.targetLanguage}] ${s.text}`, sourceText: s.text })),
      },
      warnings: [],
    }));
  }
}

export interface MockSpeechSettings extends MockModelSettings<SpeechCallOptions, SpeechResult> {
  /** Sample rate of the default audio. @default 16000 */
  sampleRate?: number;
  /** Seconds per character of the default audio at speed 1. @default 0.06 */
  secondsPerCharacter?: number;
}

/**
 * A speech model. Default result: a 220 Hz tone, amplitude-modulated at 4 Hz like syllables,
 * `secondsPerCharacter * text.length / speed` long, with evenly spaced word timings. It is a
 * test signal, not speech.
 */
export class MockSpeechModel extends MockModelBase<SpeechCallOptions, SpeechResult> implements SpeechModelV1 {
  private readonly sampleRate: number;
  private readonly secondsPerCharacter: number;

  constructor(settings: MockSpeechSettings = {}) {
    super('mock', 'mock-speech', settings);
    this.sampleRate = settings.sampleRate ?? 16000;
    this.secondsPerCharacter = settings.secondsPerCharacter ?? 0.06;
  }

  synthesize(options: SpeechCallOptions): Promise<SpeechResult> {
    return this.run(options, (o) => mockSpeech(o.text, this.sampleRate, (this.secondsPerCharacter * Array.from(o.text).length) / (o.speed ?? 1)));
  }
}

function mockSpeech(text: string, sampleRate: number, seconds: number): SpeechResult {
  const n = Math.round(Math.max(0, seconds) * sampleRate);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    samples[i] = 0.3 * Math.sin(2 * Math.PI * 220 * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t));
  }
  const words = text.split(/\s+/).filter(Boolean);
  const per = words.length ? seconds / words.length : 0;
  const timings: SpeechTiming[] = words.map((w, i) => ({ kind: 'word', text: w, start: i * per, end: (i + 1) * per }));
  return { audio: { samples, sampleRate, channels: 1 }, timings, warnings: [] };
}

/**
 * A registry provider serving the three mocks for any model id:
 * `createRegistry({ mock: mockProvider() }).speechModel('mock:anything')`.
 */
export function mockProvider(
  models: { transcription?: TranscriptionModelV1; translation?: TranslationModelV1; speech?: SpeechModelV1 } = {},
): Provider {
  const transcription = models.transcription ?? new MockTranscriptionModel();
  const translation = models.translation ?? new MockTranslationModel();
  const speech = models.speech ?? new MockSpeechModel();
  return {
    acceptsAnyModelId: true,
    knownModels: { transcription: [transcription.modelId], translation: [translation.modelId], speech: [speech.modelId] },
    transcriptionModel: () => transcription,
    translationModel: () => translation,
    speechModel: () => speech,
  };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

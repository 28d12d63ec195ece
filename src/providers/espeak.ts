import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { is } from '../util/validate.js';
import { espeakVoiceFor, normalizeLanguageTag } from './languages.js';
import type { Provider } from './registry.js';
import type { CallWarning } from './spec/shared.js';
import type { SpeechCallOptions, SpeechModelV1, SpeechResult, SpeechTiming } from './spec/speech.js';

/**
 * Offline text-to-speech with eSpeak-NG compiled to WebAssembly
 * (`@echogarden/espeak-ng-emscripten`, voices and dictionaries bundled: no network, no system
 * package). Robotic but intelligible in ~100 languages, and it reports word and phoneme
 * events, so the timings it returns are the engine's own, not estimates.
 */

export const ESPEAK_PROVIDER = 'espeak';
const PACKAGE = '@echogarden/espeak-ng-emscripten';

/** espeak-ng clamps its rate to this range (words per minute); values outside it change nothing. */
export const ESPEAK_RATE_RANGE = [80, 450] as const;

export interface EspeakSettings {
  /** Speaking rate in words per minute (espeak's own unit). `speed` in a call multiplies it. @default 175 */
  rate?: number;
  /** Base pitch, 0-99. @default 50 */
  pitch?: number;
  /** Pitch variation, 0-99 (0 is a monotone). @default 50 */
  pitchRange?: number;
  /** Which timings to return. @default 'both' */
  timings?: 'word' | 'phoneme' | 'both' | 'none';
}

export const defaultEspeakSettings: Required<EspeakSettings> = { rate: 175, pitch: 50, pitchRange: 50, timings: 'both' };

/** One event as the WASM build reports it (`audio_position` in ms, `text_position` 1-based). */
export interface EspeakEvent {
  type: string;
  text_position: number;
  word_length: number;
  audio_position: number;
  id?: string | number;
}

interface EspeakWorker {
  set_voice(name: string): number;
  set_rate(wpm: number): void;
  set_pitch(pitch: number): void;
  set_range(range: number): void;
  get_samplerate(): number;
  list_voices(): { name: string; identifier: string; languages: { priority: number; name: string }[] }[];
  synthesize(text: string, callback: (samples: Int16Array, events: EspeakEvent[]) => number | boolean): void;
}

interface Engine {
  worker: EspeakWorker;
  sampleRate: number;
}

let engine: Promise<Engine> | undefined;

/** Loads the WASM engine once per process, on first use (conventions 12). */
function loadEngine(): Promise<Engine> {
  if (engine) return engine;
  engine = (async () => {
    let mod: { default?: (arg?: object) => Promise<{ eSpeakNGWorker: new () => EspeakWorker }> };
    try {
      // A variable specifier keeps bundlers from inlining the 24 MB engine and TypeScript from
      // asking for type declarations the package does not ship.
      const specifier: string = PACKAGE;
      mod = await import(specifier);
    } catch (cause) {
      throw new AvdubError(ErrorCode.MODEL_LOAD, `espeak-ng TTS needs the npm package ${PACKAGE}: npm install ${PACKAGE}`, { cause });
    }
    try {
      const instance = await mod.default!();
      const worker = new instance.eSpeakNGWorker();
      return { worker, sampleRate: worker.get_samplerate() };
    } catch (cause) {
      throw new AvdubError(ErrorCode.MODEL_LOAD, `Cannot start the espeak-ng WASM engine from ${PACKAGE}`, { cause });
    }
  })();
  engine.catch(() => {
    engine = undefined; // a failed load may be retried
  });
  return engine;
}

/** The voices the bundled espeak-ng has (identifier, name, languages). */
export async function listEspeakVoices(): Promise<{ identifier: string; name: string; languages: string[] }[]> {
  const { worker } = await loadEngine();
  return worker.list_voices().map((v) => ({ identifier: v.identifier, name: v.name, languages: v.languages.map((l) => l.name) }));
}

/**
 * A {@link SpeechModelV1} on espeak-ng. The voice comes from the call's `language` (BCP-47,
 * through the table in `languages.ts`; unknown -> `E_UNSUPPORTED_LANGUAGE` listing the
 * supported tags) unless `voice` names an espeak voice. Returns 22.05 kHz mono audio with word
 * and phoneme timings from the engine's events. `providerOptions.espeak` may override `rate`,
 * `pitch` and `pitchRange` per call.
 */
export function espeakSpeechModel(settings: EspeakSettings = {}): SpeechModelV1 {
  const base = { ...defaultEspeakSettings, ...stripUndefined(settings) };
  validate(base);
  return {
    specificationVersion: 'v1',
    provider: ESPEAK_PROVIDER,
    modelId: 'default',
    async synthesize(options: SpeechCallOptions): Promise<SpeechResult> {
      throwIfAborted(options.abortSignal);
      if (typeof options?.text !== 'string') throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a string for text');
      const language = normalizeLanguageTag(options.language);
      const voice = options.voice ?? espeakVoiceFor(language).voice;
      is.string('voice', voice);
      is.optional(is.number, 'speed', options.speed, 0.1, 10);
      const own = options.providerOptions?.[ESPEAK_PROVIDER] ?? {};
      const s = { ...base, ...pick(own, ['rate', 'pitch', 'pitchRange', 'timings']) } as Required<EspeakSettings>;
      validate(s);
      const warnings: CallWarning[] = [];
      let wpm = Math.round(s.rate * (options.speed ?? 1));
      const [lo, hi] = ESPEAK_RATE_RANGE;
      if (wpm < lo || wpm > hi) {
        warnings.push({
          type: 'unsupported-setting',
          setting: 'speed',
          details: `espeak-ng speaks at ${lo}-${hi} words per minute; ${wpm} was clamped to ${Math.min(hi, Math.max(lo, wpm))}`,
        });
        wpm = Math.min(hi, Math.max(lo, wpm));
      }
      const { worker, sampleRate } = await loadEngine();
      throwIfAborted(options.abortSignal);
      const meta = { voice, wordsPerMinute: wpm, pitch: s.pitch, pitchRange: s.pitchRange };
      if (options.text.trim() === '') {
        return { audio: { samples: new Float32Array(0), sampleRate, channels: 1 }, timings: [], warnings, providerMetadata: { espeak: meta } };
      }
      if (worker.set_voice(voice) !== 0) {
        throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `espeak-ng has no voice ${JSON.stringify(voice)} (see listEspeakVoices())`, {
          details: { voice },
        });
      }
      // Set after the voice: selecting a voice resets the prosody parameters.
      worker.set_rate(wpm);
      worker.set_pitch(s.pitch);
      worker.set_range(s.pitchRange);
      const chunks: Int16Array[] = [];
      const events: EspeakEvent[] = [];
      // Synchronous: the whole text is rendered before this returns (segments are short).
      worker.synthesize(options.text, (samples, evs) => {
        if (samples.length) chunks.push(samples);
        for (const e of evs) events.push(e);
        return 0;
      });
      throwIfAborted(options.abortSignal);
      let total = 0;
      for (const c of chunks) total += c.length;
      const out = new Float32Array(total);
      let at = 0;
      for (const c of chunks) {
        for (let i = 0; i < c.length; i++) out[at + i] = c[i]! / 32768;
        at += c.length;
      }
      const duration = total / sampleRate;
      const result: SpeechResult = {
        audio: { samples: out, sampleRate, channels: 1 },
        warnings,
        providerMetadata: { espeak: meta },
      };
      if (s.timings !== 'none') result.timings = timingsFromEvents(options.text, events, duration, s.timings);
      return result;
    },
  };
}

/**
 * Word and phoneme timings from espeak events (`audio_position` in ms, `text_position` 1-based
 * in code points). A phoneme lasts until the next phoneme, pause mark or word; a word from its
 * event to the end of its last phoneme, so words never overlap. Words that espeak reports at the same text position (it does
 * not segment Japanese, for example) are merged into one.
 */
export function timingsFromEvents(
  text: string,
  events: readonly EspeakEvent[],
  duration: number,
  which: 'word' | 'phoneme' | 'both' = 'both',
): SpeechTiming[] {
  const chars = Array.from(text);
  const sec = (ms: number): number => Math.min(duration, Math.max(0, ms / 1000));
  // Drop repeated word events for one text position, so they neither split a word nor end a phoneme.
  const marks: EspeakEvent[] = [];
  let lastWordPos = -1;
  for (const e of events) {
    if (e.type === 'word') {
      if (e.text_position === lastWordPos) continue;
      lastWordPos = e.text_position;
    } else if (e.type !== 'phoneme' && e.type !== 'end' && e.type !== 'msg_terminated') continue;
    marks.push(e);
  }
  const phonemes: SpeechTiming[] = [];
  const words: (SpeechTiming & { pos: number; lastPhonemeEnd?: number })[] = [];
  for (let k = 0; k < marks.length; k++) {
    const e = marks[k]!;
    if (e.type === 'word') {
      const start = sec(e.audio_position);
      const word = chars.slice(Math.max(0, e.text_position - 1), Math.max(0, e.text_position - 1) + e.word_length).join('');
      words.push({ kind: 'word', text: word, start, end: start, pos: e.text_position });
    } else if (e.type === 'phoneme' && typeof e.id === 'string' && e.id !== '') {
      const start = sec(e.audio_position);
      // Ends at the next mark: the next phoneme, a pause, the end, or the next word (whose event
      // can come before its first phoneme's, e.g. during a stop's closure).
      const next = marks[k + 1];
      const end = next ? sec(next.audio_position) : duration;
      if (end <= start) continue;
      phonemes.push({ kind: 'phoneme', text: e.id, start, end });
      const w = words[words.length - 1];
      if (w) w.lastPhonemeEnd = end;
    }
  }
  const wordTimings: SpeechTiming[] = words.map((w, i) => {
    const next = words[i + 1];
    const end = w.lastPhonemeEnd ?? (next ? next.start : duration);
    return { kind: 'word', text: w.text, start: w.start, end: Math.max(w.start, end) };
  });
  if (which === 'word') return wordTimings;
  if (which === 'phoneme') return phonemes;
  return [...wordTimings, ...phonemes].sort((a, b) => a.start - b.start || (a.kind === 'word' ? -1 : 1));
}

export interface EspeakProvider extends Provider {
  speechModel(modelId: string): SpeechModelV1;
}

/** The espeak provider for the registry: `espeak:default`. */
export function createEspeak(settings: EspeakSettings = {}): EspeakProvider {
  const model = espeakSpeechModel(settings);
  return {
    knownModels: { speech: ['default'] },
    speechModel: (id) => {
      if (id !== 'default') {
        throw new AvdubError(ErrorCode.UNKNOWN_MODEL_ID, `espeak has one model, "default", not ${JSON.stringify(id)}; pick voices with "language" or "voice"`);
      }
      return model;
    },
  };
}

function validate(s: Required<EspeakSettings>): void {
  is.number('rate', s.rate, ESPEAK_RATE_RANGE[0], ESPEAK_RATE_RANGE[1]);
  is.integer('pitch', s.pitch, 0, 99);
  is.integer('pitchRange', s.pitchRange, 0, 99);
  is.oneOf('timings', s.timings, ['word', 'phoneme', 'both', 'none'] as const);
}

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

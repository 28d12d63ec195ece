import { AvdubError, ErrorCode, throwIfAborted } from '../../errors.js';
import { decodeAudio } from '../../media/decode.js';
import { is } from '../../util/validate.js';
import { asrLanguageToTag, languageName, normalizeLanguageTag, primaryLanguage } from '../languages.js';
import type { Provider } from '../registry.js';
import type { SpeechCallOptions, SpeechModelV1, SpeechResult } from '../spec/speech.js';
import type { AudioData, CallWarning, JSONObject } from '../spec/shared.js';
import type { TranscriptionCallOptions, TranscriptionModelV1, TranscriptionResult, TranscriptSegment } from '../spec/transcription.js';
import type { TranslationCallOptions, TranslationModelV1, TranslationResult, TranslationSegment } from '../spec/translation.js';
import { decodeWav as decodePcmWav, encodeWav } from '../../audio/wav.js';
import { toMono } from '../../audio/resample.js';

/** A PCM WAV response decoded, or undefined for anything else (which goes through ffmpeg). */
function decodeWav(bytes: Uint8Array): AudioData | undefined {
  const riff = bytes.length >= 12 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...bytes.subarray(8, 12)) === 'WAVE';
  if (!riff) return undefined;
  try {
    return decodePcmWav(bytes);
  } catch {
    return undefined;
  }
}
import { mapLimit, ownOptions, translationCall } from './common.js';
import {
  fetchWithRetry,
  joinUrl,
  parseJsonBody,
  resolveApiKey,
  unexpectedResponse,
  validateBaseUrl,
  validateHttpSettings,
  type HttpRequest,
  type HttpSettings,
} from './fetch.js';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * Settings of an OpenAI-compatible endpoint: OpenAI itself, or a local server with the same
 * routes (whisper.cpp server, llama.cpp server, vLLM, LocalAI, Ollama's /v1...).
 */
export interface OpenAISettings extends HttpSettings {
  /** Bearer key. Default: `OPENAI_API_KEY`. Required for api.openai.com, optional elsewhere. */
  apiKey?: string;
  /** Up to and including `/v1`. Default: `OPENAI_BASE_URL`, else `https://api.openai.com/v1`. */
  baseURL?: string;
  /** Provider id: what results report as `provider` and the `providerOptions` key read. @default 'openai' */
  name?: string;
}

interface Resolved {
  name: string;
  baseURL: string;
  http: HttpSettings;
  apiKey: () => string | undefined;
}

function resolve(settings: OpenAISettings): Resolved {
  validateHttpSettings(settings);
  const name = settings.name ?? 'openai';
  is.string('name', name);
  const baseURL = settings.baseURL ?? (process.env.OPENAI_BASE_URL || OPENAI_DEFAULT_BASE_URL);
  validateBaseUrl('baseURL', baseURL);
  if (settings.apiKey !== undefined && typeof settings.apiKey !== 'string') {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a string for apiKey');
  }
  const { apiKey: _key, baseURL: _base, name: _name, ...http } = settings;
  // Read at call time, so a key set after construction is used and none is kept in a closure
  // that could end up serialized.
  const apiKey = (): string | undefined => {
    const key = resolveApiKey(settings.apiKey, 'OPENAI_API_KEY');
    if (!key && new URL(baseURL).hostname === 'api.openai.com') {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `${name}: no API key; pass apiKey or set OPENAI_API_KEY`);
    }
    return key;
  };
  return { name, baseURL, http, apiKey };
}

async function call(r: Resolved, path: string, body: HttpRequest['body'], json: boolean, signal?: AbortSignal) {
  const key = r.apiKey();
  const request: HttpRequest = {
    provider: r.name,
    url: joinUrl(r.baseURL, path),
    method: 'POST',
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(json ? { 'content-type': 'application/json' } : {}),
    },
    body,
    secrets: [key],
    ...(signal ? { abortSignal: signal } : {}),
  };
  const res = await fetchWithRetry(request, r.http);
  return { res, request };
}

// ---------------------------------------------------------------------------------------------
// Transcription: POST /audio/transcriptions, verbose_json segments.

export interface OpenAITranscriptionSettings {
  /**
   * Longest audio sent in one request, in seconds. Longer audio is cut at the quietest 50 ms
   * near each boundary and the segments are joined with their offsets. The upload is also kept
   * under OpenAI's 25 MB limit. @default 600
   */
  maxChunkSeconds?: number;
}

/** Speech recognition through `POST {baseURL}/audio/transcriptions` (`response_format=verbose_json`). */
export function openaiTranscription(
  modelId = 'whisper-1',
  settings: OpenAISettings & OpenAITranscriptionSettings = {},
): TranscriptionModelV1 {
  is.string('modelId', modelId);
  const { maxChunkSeconds = 600, ...rest } = settings;
  is.number('maxChunkSeconds', maxChunkSeconds, 1, 7200);
  const r = resolve(rest);
  return {
    specificationVersion: 'v1',
    provider: r.name,
    modelId,
    async transcribe(options: TranscriptionCallOptions): Promise<TranscriptionResult> {
      throwIfAborted(options.abortSignal);
      const audio = checkAudio(options.audio);
      const language = options.language !== undefined ? normalizeLanguageTag(options.language) : undefined;
      const extra = ownOptions(options.providerOptions, r.name);
      const warnings: CallWarning[] = [];
      const maxSamples = Math.min(Math.round(maxChunkSeconds * audio.sampleRate), Math.floor(24_000_000 / 2));
      const chunks = splitAudio(audio, maxSamples);
      const segments: TranscriptSegment[] = [];
      let detected: string | undefined;
      let rawLanguage: string | undefined;
      for (const chunk of chunks) {
        throwIfAborted(options.abortSignal);
        const wav = encodeWav({ samples: chunk.samples, sampleRate: audio.sampleRate }, { bitDepth: 16 });
        const body = (): FormData => {
          const form = new FormData();
          form.append('file', new Blob([wav], { type: 'audio/wav' }), 'audio.wav');
          form.append('model', modelId);
          form.append('response_format', 'verbose_json');
          form.append('timestamp_granularities[]', 'segment');
          if (language && language !== 'und') form.append('language', asrLanguageCode(language));
          for (const [k, v] of Object.entries(extra)) {
            if (v === undefined || v === null) continue;
            form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
          }
          return form;
        };
        const { res, request } = await call(r, '/audio/transcriptions', body, false, options.abortSignal);
        const data = parseJsonBody(res, request);
        if (typeof data !== 'object' || data === null) throw unexpectedResponse(r.name, 'expected a JSON object', data);
        const d = data as { segments?: unknown; text?: unknown; language?: unknown; duration?: unknown };
        if (rawLanguage === undefined && typeof d.language === 'string') rawLanguage = d.language;
        detected ??= asrLanguageToTag(d.language);
        const offset = chunk.offset / audio.sampleRate;
        const chunkSeconds = chunk.samples.length / audio.sampleRate;
        if (Array.isArray(d.segments)) {
          for (const s of d.segments as unknown[]) {
            const seg = s as { start?: unknown; end?: unknown; text?: unknown };
            if (typeof seg?.start !== 'number' || typeof seg.end !== 'number' || typeof seg.text !== 'string') {
              throw unexpectedResponse(r.name, 'segment without numeric start/end and text', s);
            }
            const text = seg.text.replace(/\s+/g, ' ').trim();
            if (!text) continue;
            const start = offset + Math.max(0, seg.start);
            const end = offset + Math.min(Math.max(seg.end, seg.start), chunkSeconds);
            segments.push({ id: String(segments.length + 1), start, end: Math.max(start, end), text });
          }
        } else if (typeof d.text === 'string') {
          warnings.push({
            type: 'other',
            message: `${r.name}: the response has no segments (does the server support verbose_json?); the chunk's text became one segment`,
          });
          const text = d.text.replace(/\s+/g, ' ').trim();
          if (text) segments.push({ id: String(segments.length + 1), start: offset, end: offset + chunkSeconds, text });
        } else {
          throw unexpectedResponse(r.name, 'expected "segments" or "text"', data);
        }
      }
      if (rawLanguage !== undefined && detected === undefined) {
        warnings.push({ type: 'other', message: `${r.name}: unrecognised language ${JSON.stringify(rawLanguage)} in the response` });
      }
      const meta: JSONObject = { chunks: chunks.length };
      if (rawLanguage !== undefined) meta.language = rawLanguage;
      return {
        transcript: { segments, language: detected ?? language ?? 'und' },
        warnings,
        providerMetadata: { [r.name]: meta },
      };
    },
  };
}

/** What Whisper-style servers want for `language`: ISO 639-1 where one exists. */
function asrLanguageCode(tag: string): string {
  const p = primaryLanguage(tag);
  return p === 'cmn' ? 'zh' : p;
}

function checkAudio(audio: AudioData | undefined): Required<AudioData> {
  if (!audio || !(audio.samples instanceof Float32Array)) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected audio as { samples: Float32Array, sampleRate }');
  }
  is.integer('audio.sampleRate', audio.sampleRate, 1000, 384000);
  is.optional(is.integer, 'audio.channels', audio.channels, 1, 8);
  if (audio.samples.length === 0) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected non-empty audio to transcribe');
  return toMono(audio);
}

/** Cuts mono audio into pieces of at most `max` samples, each cut at a quiet 50 ms stretch. */
export function splitAudio(audio: Required<AudioData>, max: number): { offset: number; samples: Float32Array }[] {
  const n = audio.samples.length;
  if (n <= max) return [{ offset: 0, samples: audio.samples }];
  const out: { offset: number; samples: Float32Array }[] = [];
  const win = Math.max(1, Math.round(audio.sampleRate * 0.05));
  let start = 0;
  while (n - start > max) {
    // Search the last fifth of the window for the 50 ms stretch with the least energy.
    const from = start + Math.floor(max * 0.8);
    const to = start + max - win;
    let bestAt = start + max;
    let best = Infinity;
    for (let at = from; at <= to; at += win) {
      let e = 0;
      for (let i = at; i < at + win; i++) e += audio.samples[i]! * audio.samples[i]!;
      if (e < best) {
        best = e;
        bestAt = at + (win >> 1);
      }
    }
    out.push({ offset: start, samples: audio.samples.subarray(start, bestAt) });
    start = bestAt;
  }
  out.push({ offset: start, samples: audio.samples.subarray(start) });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Translation: POST /chat/completions, one conversation per segment.

export interface OpenAIChatTranslationSettings {
  /**
   * Speaking rate used to estimate how long a translation takes to say, in characters per
   * second (spaces excluded): one number, or per primary language. A heuristic, not a
   * measurement; pass `estimateSeconds` to use your TTS instead.
   * @default { default: 14, ja: 8, zh: 5, yue: 5, ko: 7 }
   */
  charsPerSecond?: number | Record<string, number>;
  /** Estimate the spoken length of `text` yourself (e.g. by synthesizing it). */
  estimateSeconds?: (text: string, language: string) => number | Promise<number>;
  /**
   * A translation is over budget when its estimate exceeds the segment's slot times this. The
   * time-fit stage can speed speech up by 1.25 (design: Timing), so that is the default.
   * @default 1.25
   */
  tolerance?: number;
  /** How many times to ask for a shorter version of an over-budget segment. @default 2 */
  maxShortenAttempts?: number;
  /** Segments translated at once. @default 4 */
  concurrency?: number;
  /** Neighbouring source segments shown as context on each side. @default 1 */
  contextSegments?: number;
  /** Replaces the default system prompt; `{source}` and `{target}` are filled in. */
  systemPrompt?: string;
}

const DEFAULT_CPS: Record<string, number> = { default: 14, ja: 8, zh: 5, yue: 5, ko: 7 };

const DEFAULT_SYSTEM_PROMPT =
  'You translate spoken dialogue from {source} to {target} for dubbing. Translate the line the user ' +
  'gives you, keeping its meaning, tone and register, and keep it about as long as the original, ' +
  'because it must be spoken in the same time. Reply with the translation only: no quotes, notes ' +
  'or explanations.';

/**
 * Machine translation through `POST {baseURL}/chat/completions`, one request per segment (ids,
 * times and speakers are kept), with neighbouring lines as context. A translation whose
 * estimated spoken length is over its slot is sent back with a request for a shorter version
 * (001 s4: dubbing needs translations close in length to the original); what is still over
 * budget after `maxShortenAttempts` comes back as an `over-budget` warning.
 */
export function openaiChatTranslation(
  modelId = 'gpt-4o-mini',
  settings: OpenAISettings & OpenAIChatTranslationSettings = {},
): TranslationModelV1 {
  is.string('modelId', modelId);
  const {
    charsPerSecond,
    estimateSeconds,
    tolerance = 1.25,
    maxShortenAttempts = 2,
    concurrency = 4,
    contextSegments = 1,
    systemPrompt = DEFAULT_SYSTEM_PROMPT,
    ...rest
  } = settings;
  is.number('tolerance', tolerance, 1, 10);
  is.integer('maxShortenAttempts', maxShortenAttempts, 0, 5);
  is.integer('concurrency', concurrency, 1, 64);
  is.integer('contextSegments', contextSegments, 0, 10);
  is.string('systemPrompt', systemPrompt);
  if (typeof charsPerSecond === 'number') is.number('charsPerSecond', charsPerSecond, 1, 100);
  if (estimateSeconds !== undefined && typeof estimateSeconds !== 'function') {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a function for estimateSeconds');
  }
  const cps: Record<string, number> =
    typeof charsPerSecond === 'number' ? { default: charsPerSecond } : { ...DEFAULT_CPS, ...charsPerSecond };
  const r = resolve(rest);

  const estimate = async (text: string, language: string): Promise<number> => {
    if (estimateSeconds) return Number(await estimateSeconds(text, language));
    const rate = cps[primaryLanguage(language)] ?? cps.default ?? 14;
    return text.replace(/\s+/g, '').length / rate;
  };

  return {
    specificationVersion: 'v1',
    provider: r.name,
    modelId,
    async translate(options: TranslationCallOptions): Promise<TranslationResult> {
      throwIfAborted(options.abortSignal);
      const { target, source, transcript } = translationCall(options);
      const extra = ownOptions(options.providerOptions, r.name);
      const system = systemPrompt
        .replace(/\{source\}/g, languageName(source))
        .replace(/\{target\}/g, languageName(target));
      // Indexed by segment, so warnings come out in segment order whatever finishes first.
      const overBudget: (CallWarning | undefined)[] = [];
      let promptTokens = 0;
      let completionTokens = 0;
      let requests = 0;
      const segs = transcript.segments;

      const complete = async (messages: { role: string; content: string }[], signal: AbortSignal): Promise<string> => {
        requests++;
        const payload = JSON.stringify({ model: modelId, messages, ...extra });
        const { res, request } = await call(r, '/chat/completions', () => payload, true, signal);
        const data = parseJsonBody(res, request) as {
          choices?: { message?: { content?: unknown } }[];
          usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
        };
        if (typeof data?.usage?.prompt_tokens === 'number') promptTokens += data.usage.prompt_tokens;
        if (typeof data?.usage?.completion_tokens === 'number') completionTokens += data.usage.completion_tokens;
        const content = data?.choices?.[0]?.message?.content;
        const text = Array.isArray(content)
          ? content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('')
          : content;
        if (typeof text !== 'string') throw unexpectedResponse(r.name, 'expected choices[0].message.content', data);
        return text;
      };

      const out = await mapLimit(segs, concurrency, options.abortSignal, async (seg, i, signal): Promise<TranslationSegment> => {
        const base: TranslationSegment = { id: seg.id, start: seg.start, end: seg.end, text: '', sourceText: seg.text };
        if (seg.speaker !== undefined) base.speaker = seg.speaker;
        if (!seg.text.trim()) return base;
        const before = segs.slice(Math.max(0, i - contextSegments), i).map((s) => s.text);
        const after = segs.slice(i + 1, i + 1 + contextSegments).map((s) => s.text);
        let user = '';
        if (before.length) user += `Previous lines (context only, do not translate):\n${before.join('\n')}\n\n`;
        if (after.length) user += `Next lines (context only, do not translate):\n${after.join('\n')}\n\n`;
        user += `Line to translate:\n${seg.text}`;
        const messages = [
          { role: 'system', content: system },
          { role: 'user', content: user },
        ];
        let text = cleanReply(await complete(messages, signal), seg.text);
        if (!text) {
          throw new AvdubError(ErrorCode.PROVIDER, `${r.name}: empty translation for segment "${seg.id}"`, {
            details: { provider: r.name, segmentId: seg.id },
          });
        }
        const budget = seg.end - seg.start;
        if (budget > 0) {
          let best = text;
          let bestSeconds = await estimate(text, target);
          for (let attempt = 0; attempt < maxShortenAttempts && bestSeconds > budget * tolerance; attempt++) {
            const rate = bestSeconds > 0 ? best.replace(/\s+/g, '').length / bestSeconds : 14;
            const maxChars = Math.max(1, Math.floor(budget * tolerance * rate));
            messages.push({ role: 'assistant', content: text || best });
            messages.push({
              role: 'user',
              content:
                `That takes about ${bestSeconds.toFixed(1)} s to say, but the line must fit in ${budget.toFixed(1)} s. ` +
                `Give a shorter ${languageName(target)} version of at most ${maxChars} characters that keeps the essential meaning. ` +
                'Reply with the translation only.',
            });
            text = cleanReply(await complete(messages, signal), seg.text);
            if (!text) continue;
            const seconds = await estimate(text, target);
            if (seconds < bestSeconds) {
              best = text;
              bestSeconds = seconds;
            }
          }
          text = best;
          if (bestSeconds > budget * tolerance) {
            overBudget[i] = { type: 'over-budget', segmentId: seg.id, estimatedSeconds: round3(bestSeconds), budgetSeconds: round3(budget) };
          }
        }
        return { ...base, text };
      });
      return {
        translation: { segments: out, sourceLanguage: source, targetLanguage: target },
        warnings: overBudget.filter((w): w is CallWarning => w !== undefined),
        providerMetadata: { [r.name]: { requests, promptTokens, completionTokens } },
      };
    },
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Trims the reply and removes quotes the model added around it. */
function cleanReply(reply: string, source: string): string {
  let t = reply.trim();
  const pairs: [string, string][] = [['"', '"'], ['“', '”'], ['«', '»'], ['「', '」'], ["'", "'"]];
  for (const [open, close] of pairs) {
    if (t.length >= 2 && t.startsWith(open) && t.endsWith(close) && !source.trim().startsWith(open)) {
      t = t.slice(open.length, t.length - close.length).trim();
      break;
    }
  }
  return t.replace(/\s*\n\s*/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// Speech: POST /audio/speech.

export interface OpenAISpeechSettings {
  /** @default 'alloy' */
  voice?: string;
  /** What to ask the server for. WAV and PCM are decoded here; others through ffmpeg. @default 'wav' */
  responseFormat?: 'wav' | 'pcm' | 'mp3' | 'opus' | 'aac' | 'flac';
  /** Rate of `pcm` responses (OpenAI sends 24 kHz). @default 24000 */
  pcmSampleRate?: number;
}

/** Text-to-speech through `POST {baseURL}/audio/speech`. Gives no timings (the API has none). */
export function openaiSpeech(modelId = 'tts-1', settings: OpenAISettings & OpenAISpeechSettings = {}): SpeechModelV1 {
  is.string('modelId', modelId);
  const { voice = 'alloy', responseFormat = 'wav', pcmSampleRate = 24000, ...rest } = settings;
  is.string('voice', voice);
  is.oneOf('responseFormat', responseFormat, ['wav', 'pcm', 'mp3', 'opus', 'aac', 'flac'] as const);
  is.integer('pcmSampleRate', pcmSampleRate, 8000, 192000);
  const r = resolve(rest);
  return {
    specificationVersion: 'v1',
    provider: r.name,
    modelId,
    async synthesize(options: SpeechCallOptions): Promise<SpeechResult> {
      throwIfAborted(options.abortSignal);
      if (typeof options.text !== 'string') throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a string for text');
      normalizeLanguageTag(options.language);
      is.optional(is.number, 'speed', options.speed, 0.25, 4);
      const extra = ownOptions(options.providerOptions, r.name);
      const chosenVoice = options.voice ?? voice;
      if (!options.text.trim()) {
        return { audio: { samples: new Float32Array(0), sampleRate: pcmSampleRate, channels: 1 }, warnings: [] };
      }
      const payload = JSON.stringify({
        model: modelId,
        input: options.text,
        voice: chosenVoice,
        response_format: responseFormat,
        ...(options.speed !== undefined ? { speed: options.speed } : {}),
        ...extra,
      });
      const { res } = await call(r, '/audio/speech', () => payload, true, options.abortSignal);
      const type = res.headers.get('content-type') ?? '';
      if (/json|text\/html/i.test(type)) {
        throw unexpectedResponse(r.name, `expected audio but got ${type}`, res.body.subarray(0, 300).toString('utf8'));
      }
      let audio: AudioData | undefined;
      if (responseFormat === 'pcm' && !decodeWav(res.body)) {
        const n = res.body.length >> 1;
        const samples = new Float32Array(n);
        for (let i = 0; i < n; i++) samples[i] = res.body.readInt16LE(i * 2) / 32768;
        audio = { samples, sampleRate: pcmSampleRate, channels: 1 };
      } else {
        audio = decodeWav(res.body);
      }
      if (!audio) {
        if (res.body.length === 0) throw unexpectedResponse(r.name, 'empty audio response', '');
        try {
          audio = await decodeAudio(res.body, { signal: options.abortSignal, what: `${r.name} speech (${type || responseFormat})` });
        } catch (cause) {
          if (AvdubError.isInstance(cause, ErrorCode.ABORTED)) throw cause;
          throw new AvdubError(ErrorCode.PROVIDER, `${r.name}: could not decode the speech response (${type || responseFormat})`, {
            cause,
            details: { provider: r.name, contentType: type },
          });
        }
      }
      return {
        audio: toMono(audio),
        warnings: [],
        providerMetadata: { [r.name]: { voice: chosenVoice, format: responseFormat } },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------

export interface OpenAIProvider extends Provider {
  transcriptionModel(modelId: string): TranscriptionModelV1;
  translationModel(modelId: string): TranslationModelV1;
  speechModel(modelId: string): SpeechModelV1;
}

/**
 * An OpenAI-compatible provider for the registry: `openai:whisper-1` (ASR), `openai:gpt-4o-mini`
 * (MT), `openai:tts-1` (TTS). Any model id is accepted, since compatible servers name their own.
 * Per-kind settings go in `transcription`, `translation`, `speech`.
 */
export function createOpenAI(
  settings: OpenAISettings & {
    transcription?: OpenAITranscriptionSettings;
    translation?: OpenAIChatTranslationSettings;
    speech?: OpenAISpeechSettings;
  } = {},
): OpenAIProvider {
  const { transcription, translation, speech, ...shared } = settings;
  resolve(shared); // validate now, not at first use
  return {
    knownModels: { transcription: ['whisper-1'], translation: ['gpt-4o-mini', 'gpt-4o'], speech: ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts'] },
    acceptsAnyModelId: true,
    transcriptionModel: (id) => openaiTranscription(id, { ...shared, ...transcription }),
    translationModel: (id) => openaiChatTranslation(id, { ...shared, ...translation }),
    speechModel: (id) => openaiSpeech(id, { ...shared, ...speech }),
  };
}

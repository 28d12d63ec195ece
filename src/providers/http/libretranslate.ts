import { AvdubError, ErrorCode, throwIfAborted } from '../../errors.js';
import { is } from '../../util/validate.js';
import { normalizeLanguageTag } from '../languages.js';
import type { Provider } from '../registry.js';
import type { CallWarning } from '../spec/shared.js';
import type { TranslationCallOptions, TranslationModelV1, TranslationResult, TranslationSegment } from '../spec/translation.js';
import { ownOptions, translationCall } from './common.js';
import {
  fetchWithRetry,
  joinUrl,
  parseJsonBody,
  resolveApiKey,
  unexpectedResponse,
  validateBaseUrl,
  validateHttpSettings,
  type HttpSettings,
} from './fetch.js';

export const LIBRETRANSLATE_DEFAULT_URL = 'https://libretranslate.com';

export interface LibreTranslateSettings extends HttpSettings {
  /** Server root (without `/translate`). Default: `LIBRETRANSLATE_URL`, else `https://libretranslate.com`. */
  baseURL?: string;
  /** Sent as `api_key` in the body. Default: `LIBRETRANSLATE_API_KEY`; self-hosted servers need none. */
  apiKey?: string;
  /** Segments per request (LibreTranslate accepts an array `q`). @default 25 */
  batchSize?: number;
  /** Provider id. @default 'libretranslate' */
  name?: string;
}

/**
 * LibreTranslate's language code for a BCP-47 tag: the primary subtag, except Traditional
 * Chinese (`zt`). `providerOptions.libretranslate.source/target` override it.
 */
export function libreTranslateCode(tag: string): string {
  const canonical = normalizeLanguageTag(tag);
  const locale = new Intl.Locale(canonical);
  if (locale.language === 'zh' && (locale.script === 'Hant' || ['TW', 'HK', 'MO'].includes(locale.region ?? ''))) return 'zt';
  return locale.language;
}

/**
 * Machine translation through LibreTranslate's `POST /translate` with `format: "text"`,
 * batching segments as an array `q` and keeping ids by position. The source language is the
 * transcript's, or `auto` when it is `und`.
 */
export function libreTranslate(settings: LibreTranslateSettings = {}): TranslationModelV1 {
  validateHttpSettings(settings);
  const { apiKey: keyOption, baseURL: baseOption, batchSize = 25, name = 'libretranslate', ...http } = settings;
  const baseURL = baseOption ?? (process.env.LIBRETRANSLATE_URL || LIBRETRANSLATE_DEFAULT_URL);
  validateBaseUrl('baseURL', baseURL);
  is.integer('batchSize', batchSize, 1, 1000);
  is.string('name', name);
  if (keyOption !== undefined && typeof keyOption !== 'string') {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a string for apiKey');
  }
  return {
    specificationVersion: 'v1',
    provider: name,
    modelId: 'default',
    async translate(options: TranslationCallOptions): Promise<TranslationResult> {
      throwIfAborted(options.abortSignal);
      const { target: targetTag, source: sourceTag, transcript } = translationCall(options);
      const extra = ownOptions(options.providerOptions, name);
      const source = typeof extra.source === 'string' ? extra.source : sourceTag === 'und' ? 'auto' : libreTranslateCode(sourceTag);
      const target = typeof extra.target === 'string' ? extra.target : libreTranslateCode(targetTag);
      const apiKey = resolveApiKey(keyOption, 'LIBRETRANSLATE_API_KEY');
      const warnings: CallWarning[] = [];
      const texts = transcript.segments.map((s) => s.text.trim());
      const todo = texts.map((t, i) => ({ t, i })).filter((x) => x.t !== '');
      const translated = new Array<string>(texts.length).fill('');
      let detected: string | undefined;
      let requests = 0;
      for (let b = 0; b < todo.length; b += batchSize) {
        throwIfAborted(options.abortSignal);
        const batch = todo.slice(b, b + batchSize);
        const payload = JSON.stringify({
          q: batch.map((x) => x.t),
          source,
          target,
          format: 'text',
          ...(apiKey ? { api_key: apiKey } : {}),
        });
        const request = {
          provider: name,
          url: joinUrl(baseURL, '/translate'),
          method: 'POST' as const,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: () => payload,
          secrets: [apiKey],
          ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
        };
        requests++;
        const res = await fetchWithRetry(request, http);
        const data = parseJsonBody(res, request) as { translatedText?: unknown; detectedLanguage?: unknown; error?: unknown };
        const got = data?.translatedText;
        const list = typeof got === 'string' && batch.length === 1 ? [got] : got;
        if (!Array.isArray(list) || list.length !== batch.length || list.some((x) => typeof x !== 'string')) {
          throw unexpectedResponse(name, `expected translatedText with ${batch.length} string(s)`, data, [apiKey]);
        }
        batch.forEach((x, k) => (translated[x.i] = (list[k] as string).trim()));
        const det = Array.isArray(data.detectedLanguage) ? data.detectedLanguage[0] : data.detectedLanguage;
        const lang = (det as { language?: unknown } | undefined)?.language;
        if (detected === undefined && typeof lang === 'string') detected = lang;
      }
      const segments = transcript.segments.map((s, i): TranslationSegment => {
        const seg: TranslationSegment = { id: s.id, start: s.start, end: s.end, text: translated[i]!, sourceText: s.text };
        if (s.speaker !== undefined) seg.speaker = s.speaker;
        if (s.text.trim() !== '' && translated[i] === '') {
          warnings.push({ type: 'other', message: `${name}: empty translation for segment "${s.id}"`, segmentId: s.id });
        }
        return seg;
      });
      let sourceLanguage = sourceTag;
      if (sourceTag === 'und' && detected) {
        try {
          sourceLanguage = normalizeLanguageTag(detected);
        } catch {
          sourceLanguage = 'und';
        }
      }
      return {
        translation: { segments, sourceLanguage, targetLanguage: targetTag },
        warnings,
        providerMetadata: { [name]: { requests, source, target } },
      };
    },
  };
}

export interface LibreTranslateProvider extends Provider {
  translationModel(modelId: string): TranslationModelV1;
}

/** A registry provider with one model, `libretranslate:default`. */
export function createLibreTranslate(settings: LibreTranslateSettings = {}): LibreTranslateProvider {
  const model = libreTranslate(settings);
  return {
    knownModels: { translation: ['default'] },
    translationModel: (id) => {
      if (id !== 'default') {
        throw new AvdubError(ErrorCode.UNKNOWN_MODEL_ID, `LibreTranslate has one model, "default", not ${JSON.stringify(id)}`);
      }
      return model;
    },
  };
}

/**
 * Providers: speech recognition (ASR), translation (MT) and speech synthesis (TTS) behind
 * versioned plain interfaces (`./spec`), a registry with `"provider:model"` ids, and the
 * built-in providers: subtitle files, espeak-ng (offline WASM), OpenAI-compatible HTTP and
 * LibreTranslate. Mocks for tests live in `./mock.ts` (the `avdub/test` entry).
 */
export type * from './spec/index.js';
export {
  createRegistry,
  customProvider,
  type Provider,
  type ProviderRegistry,
  type ModelKind,
  type CreateRegistryOptions,
  type CustomProviderSettings,
} from './registry.js';
export { createDefaultRegistry, createSubtitles, type DefaultRegistrySettings } from './defaults.js';
export {
  ESPEAK_VOICES,
  supportedSpeechLanguages,
  normalizeLanguageTag,
  espeakVoiceFor,
  languageName,
  asrLanguageToTag,
  type EspeakVoiceMatch,
} from './languages.js';
export {
  createEspeak,
  espeakSpeechModel,
  listEspeakVoices,
  defaultEspeakSettings,
  ESPEAK_RATE_RANGE,
  timingsFromEvents,
  type EspeakSettings,
  type EspeakProvider,
  type EspeakEvent,
} from './espeak.js';
export * from './subtitles/index.js';
export * from './http/index.js';
export { decodeAudio, type DecodeAudioOptions } from '../media/decode.js';

/**
 * Provider interfaces (types only, no runtime code). Implement one of these to plug your own
 * ASR, MT or TTS into avdub.
 */
export type {
  AudioData,
  JSONValue,
  JSONObject,
  ProviderOptions,
  ProviderMetadata,
  CallWarning,
  CallOptionsBase,
  CallResultBase,
  ModelIdentity,
} from './shared.js';
export type {
  TranscriptSegment,
  Transcript,
  TranscriptionCallOptions,
  TranscriptionResult,
  TranscriptionModelV1,
  TranscriptionModelV1 as TranscriptionModel,
} from './transcription.js';
export type {
  TranslationSegment,
  Translation,
  TranslationCallOptions,
  TranslationResult,
  TranslationModelV1,
  TranslationModelV1 as TranslationModel,
} from './translation.js';
export type {
  SpeechTiming,
  SpeechCallOptions,
  SpeechResult,
  SpeechModelV1,
  SpeechModelV1 as SpeechModel,
} from './speech.js';

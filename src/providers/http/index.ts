export {
  fetchWithRetry,
  parseJsonBody,
  redact,
  defaultHttpSettings,
  type HttpSettings,
  type HttpRequest,
  type HttpResponse,
} from './fetch.js';
export {
  createOpenAI,
  openaiTranscription,
  openaiChatTranslation,
  openaiSpeech,
  OPENAI_DEFAULT_BASE_URL,
  type OpenAIProvider,
  type OpenAISettings,
  type OpenAITranscriptionSettings,
  type OpenAIChatTranslationSettings,
  type OpenAISpeechSettings,
} from './openai.js';
export {
  createLibreTranslate,
  libreTranslate,
  libreTranslateCode,
  LIBRETRANSLATE_DEFAULT_URL,
  type LibreTranslateSettings,
  type LibreTranslateProvider,
} from './libretranslate.js';

import { createEspeak, type EspeakSettings } from './espeak.js';
import { createLibreTranslate, type LibreTranslateSettings } from './http/libretranslate.js';
import { createOpenAI } from './http/openai.js';
import { createRegistry, type Provider, type ProviderRegistry } from './registry.js';
import { subtitleTranscriptionModel, subtitleTranslationModel, type SubtitleSourceOptions } from './subtitles/provider.js';

/**
 * The subtitle provider for the registry: the model id is the file path, so
 * `subtitles:talk.en.srt` is a transcript and `subtitles:talk.es.vtt` a translation.
 */
export function createSubtitles(options: SubtitleSourceOptions = {}): Provider {
  return {
    knownModels: { transcription: ['<path.srt|.vtt>'], translation: ['<path.srt|.vtt>'] },
    transcriptionModel: (path) => subtitleTranscriptionModel({ path }, options),
    translationModel: (path) => subtitleTranslationModel({ path }, options),
  };
}

export interface DefaultRegistrySettings {
  espeak?: EspeakSettings;
  openai?: Parameters<typeof createOpenAI>[0];
  libretranslate?: LibreTranslateSettings;
  subtitles?: SubtitleSourceOptions;
  /** More providers (yours), added after the built-in ones; same ids replace them. */
  providers?: Record<string, Provider>;
}

/**
 * A registry with the built-in providers: `espeak:default`, `openai:<model>`,
 * `libretranslate:default`, `subtitles:<path>`, plus yours. Nothing is loaded or contacted
 * until a model is used; keys are read from the environment at call time.
 */
export function createDefaultRegistry(settings: DefaultRegistrySettings = {}): ProviderRegistry {
  return createRegistry({
    espeak: createEspeak(settings.espeak),
    openai: createOpenAI(settings.openai),
    libretranslate: createLibreTranslate(settings.libretranslate),
    subtitles: createSubtitles(settings.subtitles),
    ...settings.providers,
  });
}

import { AvdubError, ErrorCode } from '../errors.js';
import type { SpeechModelV1 } from './spec/speech.js';
import type { TranscriptionModelV1 } from './spec/transcription.js';
import type { TranslationModelV1 } from './spec/translation.js';

export type ModelKind = 'transcription' | 'translation' | 'speech';

/**
 * A provider: a factory for the models it offers. Each method returns the model for a model id
 * and throws `E_UNKNOWN_MODEL_ID` (or returns undefined) for an id it does not know.
 */
export interface Provider {
  transcriptionModel?(modelId: string): TranscriptionModelV1 | undefined;
  translationModel?(modelId: string): TranslationModelV1 | undefined;
  speechModel?(modelId: string): SpeechModelV1 | undefined;
  /**
   * Model ids to list in error messages. Providers that accept any id (an OpenAI-compatible
   * server runs whatever model it has) list examples and set `acceptsAnyModelId`.
   */
  readonly knownModels?: Partial<Record<ModelKind, readonly string[]>>;
  readonly acceptsAnyModelId?: boolean;
}

/** Looks models up by `"provider:model"` id. Built by {@link createRegistry}; no global state. */
export interface ProviderRegistry {
  transcriptionModel(id: string): TranscriptionModelV1;
  translationModel(id: string): TranslationModelV1;
  speechModel(id: string): SpeechModelV1;
  /** Registered provider ids. */
  providers(): string[];
  /** The known `"provider:model"` ids of one kind (`"openai:*"` for a provider that takes any id). */
  knownIds(kind: ModelKind): string[];
}

export interface CreateRegistryOptions {
  /** Between provider and model id. Only its first occurrence splits, so model ids may contain it. @default ':' */
  separator?: string;
}

const METHOD = {
  transcription: 'transcriptionModel',
  translation: 'translationModel',
  speech: 'speechModel',
} as const;

/**
 * Builds a registry from providers keyed by id (conventions 2):
 * `createRegistry({ espeak: createEspeak(), openai: createOpenAI({ apiKey }) }).speechModel('espeak:default')`.
 * An unknown id throws `E_UNKNOWN_MODEL_ID` listing the known ones.
 */
export function createRegistry(providers: Record<string, Provider>, options: CreateRegistryOptions = {}): ProviderRegistry {
  const separator = options.separator ?? ':';
  if (typeof separator !== 'string' || separator.length === 0) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a non-empty string for separator');
  }
  if (typeof providers !== 'object' || providers === null) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected an object of providers keyed by id for createRegistry');
  }
  const table = new Map<string, Provider>();
  for (const [id, provider] of Object.entries(providers)) {
    if (id.includes(separator)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Provider id "${id}" must not contain "${separator}"`);
    }
    if (typeof provider !== 'object' || provider === null) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a provider object for "${id}"`);
    }
    table.set(id, provider);
  }

  const knownIds = (kind: ModelKind): string[] => {
    const ids: string[] = [];
    for (const [pid, p] of table) {
      if (typeof p[METHOD[kind]] !== 'function') continue;
      for (const m of p.knownModels?.[kind] ?? []) ids.push(`${pid}${separator}${m}`);
      if (p.acceptsAnyModelId) ids.push(`${pid}${separator}*`);
    }
    return ids;
  };

  function lookup(kind: 'transcription', id: string): TranscriptionModelV1;
  function lookup(kind: 'translation', id: string): TranslationModelV1;
  function lookup(kind: 'speech', id: string): SpeechModelV1;
  function lookup(kind: ModelKind, id: string): TranscriptionModelV1 | TranslationModelV1 | SpeechModelV1 {
    const unknown = (why: string, cause?: unknown): AvdubError => {
      const known = knownIds(kind);
      return new AvdubError(
        ErrorCode.UNKNOWN_MODEL_ID,
        `Unknown ${kind} model id ${JSON.stringify(id)}: ${why}. Known ${kind} models: ${known.length ? known.join(', ') : '(none registered)'}`,
        { cause, details: { id, kind, known } },
      );
    };
    if (typeof id !== 'string') throw unknown(`expected "provider${separator}model"`);
    const at = id.indexOf(separator);
    if (at <= 0 || at === id.length - separator.length) throw unknown(`expected "provider${separator}model"`);
    const pid = id.slice(0, at);
    const modelId = id.slice(at + separator.length);
    const provider = table.get(pid);
    if (!provider) throw unknown(`no provider "${pid}"`);
    const factory = provider[METHOD[kind]] as ((m: string) => unknown) | undefined;
    if (typeof factory !== 'function') throw unknown(`provider "${pid}" has no ${kind} models`);
    let model: unknown;
    try {
      model = factory.call(provider, modelId);
    } catch (e) {
      if (AvdubError.isInstance(e, ErrorCode.UNKNOWN_MODEL_ID)) throw unknown(`provider "${pid}" has no model "${modelId}"`, e);
      throw e;
    }
    if (model === undefined || model === null) throw unknown(`provider "${pid}" has no model "${modelId}"`);
    return model as TranscriptionModelV1;
  }

  return {
    transcriptionModel: (id) => lookup('transcription', id),
    translationModel: (id) => lookup('translation', id),
    speechModel: (id) => lookup('speech', id),
    providers: () => [...table.keys()],
    knownIds,
  };
}

export interface CustomProviderSettings {
  transcriptionModels?: Record<string, TranscriptionModelV1>;
  translationModels?: Record<string, TranslationModelV1>;
  speechModels?: Record<string, SpeechModelV1>;
  /** Asked for ids not listed above. */
  fallback?: Provider;
}

/**
 * A provider made of model objects you already have, e.g. your own TTS:
 * `createRegistry({ mytts: customProvider({ speechModels: { default: myModel } }) })`.
 */
export function customProvider(settings: CustomProviderSettings): Provider {
  const pick = <M>(kind: ModelKind, models: Record<string, M> | undefined, modelId: string): M | undefined => {
    if (models && Object.prototype.hasOwnProperty.call(models, modelId)) return models[modelId];
    const fb = settings.fallback?.[METHOD[kind]] as ((m: string) => M | undefined) | undefined;
    return fb ? fb.call(settings.fallback, modelId) : undefined;
  };
  const list = (kind: ModelKind, models: Record<string, unknown> | undefined): string[] => [
    ...Object.keys(models ?? {}),
    ...(settings.fallback?.knownModels?.[kind] ?? []),
  ];
  const provider: Provider & { knownModels: Partial<Record<ModelKind, readonly string[]>> } = {
    knownModels: {
      transcription: list('transcription', settings.transcriptionModels),
      translation: list('translation', settings.translationModels),
      speech: list('speech', settings.speechModels),
    },
    acceptsAnyModelId: settings.fallback?.acceptsAnyModelId ?? false,
  };
  if (settings.transcriptionModels || settings.fallback?.transcriptionModel) {
    provider.transcriptionModel = (id) => pick('transcription', settings.transcriptionModels, id);
  }
  if (settings.translationModels || settings.fallback?.translationModel) {
    provider.translationModel = (id) => pick('translation', settings.translationModels, id);
  }
  if (settings.speechModels || settings.fallback?.speechModel) {
    provider.speechModel = (id) => pick('speech', settings.speechModels, id);
  }
  return provider;
}

/**
 * Types shared by every provider interface. This folder holds types only (conventions 3):
 * importing it pulls in no runtime code, so a provider package can depend on it alone.
 */
import type { AudioData } from '../../media/audio.js';

export type { AudioData };

/** Any JSON value; provider options and metadata are JSON so they can be logged and cached. */
export type JSONValue = null | string | number | boolean | JSONObject | JSONValue[];
export type JSONObject = { [key: string]: JSONValue | undefined };

/**
 * Provider-specific settings for one call, keyed by provider id (`{ openai: { temperature: 0 } }`).
 * A provider reads only its own key and ignores the others, so one options object can be
 * passed to any provider.
 */
export type ProviderOptions = Record<string, JSONObject>;

/** Provider-specific facts about a call (request ids, the voice used...), keyed by provider id. */
export type ProviderMetadata = Record<string, JSONObject>;

/**
 * A non-fatal problem with a call. Providers never log: they return warnings and the caller
 * decides what to show.
 */
export type CallWarning =
  /** A setting the provider cannot honour (it was ignored or clamped). */
  | { type: 'unsupported-setting'; setting: string; details?: string }
  /** A translated segment whose estimated spoken length is still over its time slot. */
  | { type: 'over-budget'; segmentId: string; estimatedSeconds: number; budgetSeconds: number }
  /** Subtitle input that was repaired or could not be used (line numbers are 1-based). */
  | { type: 'subtitle'; message: string; line?: number; segmentId?: string }
  | { type: 'other'; message: string; segmentId?: string };

/** Options every provider call accepts. */
export interface CallOptionsBase {
  /** Cancels the call; a cancelled call rejects with an `E_ABORTED` error. */
  abortSignal?: AbortSignal;
  /** Settings for one provider, under its id (see {@link ProviderOptions}). */
  providerOptions?: ProviderOptions;
}

/** What every provider result carries besides its payload. */
export interface CallResultBase {
  warnings: CallWarning[];
  providerMetadata?: ProviderMetadata;
}

/** The identity every model object has. */
export interface ModelIdentity {
  /** Version of the interface the object implements; bumped on breaking changes. */
  readonly specificationVersion: 'v1';
  /** Provider id, e.g. `espeak`, `openai`, `subtitles`. Also the key it reads in `providerOptions`. */
  readonly provider: string;
  /** Model id within the provider, e.g. `whisper-1`, `default`, or a subtitle file path. */
  readonly modelId: string;
}

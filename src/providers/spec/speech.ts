import type { AudioData, CallOptionsBase, CallResultBase, ModelIdentity } from './shared.js';

/** When a word or phoneme is heard in the synthesized audio (seconds from its start). */
export interface SpeechTiming {
  kind: 'word' | 'phoneme';
  /** The word as written in the input, or the phoneme symbol (IPA where the engine gives it). */
  text: string;
  start: number;
  end: number;
}

export interface SpeechCallOptions extends CallOptionsBase {
  text: string;
  /** BCP-47 tag of the text's language; picks the voice when `voice` is not given. */
  language: string;
  /** Provider-specific voice name (`alloy`, an espeak voice id...). */
  voice?: string;
  /** Speaking-rate factor: 1 is the provider's normal rate, 2 twice as fast. @default 1 */
  speed?: number;
}

export interface SpeechResult extends CallResultBase {
  /** Mono unless `channels` says otherwise. */
  audio: AudioData;
  /** Word and/or phoneme timings, only when the engine reports them (never estimated). */
  timings?: SpeechTiming[];
}

/** Text-to-speech (TTS), version 1. */
export interface SpeechModelV1 extends ModelIdentity {
  synthesize(options: SpeechCallOptions): Promise<SpeechResult>;
}

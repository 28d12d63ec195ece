import type { CallOptionsBase, CallResultBase, ModelIdentity } from './shared.js';
import type { Transcript } from './transcription.js';

/** A translated segment: same `id`, `start` and `end` as the transcript segment it translates. */
export interface TranslationSegment {
  id: string;
  start: number;
  end: number;
  text: string;
  /** The source text, carried along for review and for the report. */
  sourceText?: string;
  speaker?: string;
}

export interface Translation {
  /** One per transcript segment, in the transcript's order. */
  segments: TranslationSegment[];
  /** BCP-47 tag of the source language; `und` when unknown. */
  sourceLanguage: string;
  /** BCP-47 tag of the target language. */
  targetLanguage: string;
}

export interface TranslationCallOptions extends CallOptionsBase {
  transcript: Transcript;
  /** BCP-47 tag, e.g. `es`, `pt-BR`. */
  targetLanguage: string;
}

export interface TranslationResult extends CallResultBase {
  translation: Translation;
}

/** Machine (or human) translation of a transcript, segment by segment, version 1. */
export interface TranslationModelV1 extends ModelIdentity {
  translate(options: TranslationCallOptions): Promise<TranslationResult>;
}

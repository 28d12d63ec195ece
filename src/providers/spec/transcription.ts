import type { AudioData, CallOptionsBase, CallResultBase, ModelIdentity } from './shared.js';

/** One stretch of speech. Times are seconds from the start of the audio. */
export interface TranscriptSegment {
  /** Unique within the transcript; translations keep it, so it links source and target. */
  id: string;
  start: number;
  end: number;
  /** Plain text: no markup, lines joined with single spaces. */
  text: string;
  /** Speaker label, when the source knows it (WebVTT `<v Name>`). */
  speaker?: string;
}

export interface Transcript {
  /** Ordered by start time. */
  segments: TranscriptSegment[];
  /** BCP-47 tag of the spoken language; `und` when unknown. */
  language: string;
}

export interface TranscriptionCallOptions extends CallOptionsBase {
  /** The speech to transcribe (any sample rate; mono is best). */
  audio: AudioData;
  /** BCP-47 hint of the spoken language; providers detect it when omitted. */
  language?: string;
}

export interface TranscriptionResult extends CallResultBase {
  transcript: Transcript;
}

/** Speech recognition (ASR), version 1. */
export interface TranscriptionModelV1 extends ModelIdentity {
  transcribe(options: TranscriptionCallOptions): Promise<TranscriptionResult>;
}

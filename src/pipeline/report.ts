/**
 * The JSON report of a pipeline run: what was dubbed, how each segment was fitted, which faces
 * were found and which frames were changed. Plain data, `JSON.stringify`-able as is.
 */
import type { CallWarning } from '../providers/spec/shared.js';
import type { TrackSummary } from './analysis.js';

/** One translated segment and how it was fitted into its slot (dub only). */
export interface SegmentReport {
  id: string;
  /** Original slot, seconds. */
  start: number;
  end: number;
  sourceText?: string;
  text: string;
  /** 'empty': no text, nothing spoken; 'synthesized': spoken and placed. */
  status: 'synthesized' | 'empty';
  /** Seconds of synthesized speech (trimmed of leading/trailing silence). */
  clipDuration?: number;
  /** Speed factor applied: > 1 faster, < 1 slower, 1 untouched. */
  factor?: number;
  /** Where the speech is in the dubbed track, seconds. */
  placedStart?: number;
  placedEnd?: number;
  shiftMs?: number;
  /** How far the speech runs beyond its slot and borrowable silence, ms (0: it fits). */
  overflowMs?: number;
  /** Speech cut at the end of the track (only when the whole track cannot hold it), ms. */
  truncatedMs?: number;
  cached?: boolean;
}

export interface StageReport {
  stage: string;
  seconds: number;
  /** The result came from the stage cache. */
  cached: boolean;
  /** Frames (or segments) processed, and their rate. */
  items?: number;
  fps?: number;
  detail?: Record<string, unknown>;
}

export interface PipelineReport {
  format: 'avdub-report';
  version: 1;
  avdub: string;
  job: 'lipsync' | 'dub';
  input: { video: string; audio?: string; transcript?: string; translation?: string };
  output: string;
  /** The translated subtitles written beside the output (dub). */
  subtitles?: string;
  video: { width: number; height: number; fps: number; frames: number; duration: number; variableFrameRate: boolean };
  audio: {
    /** Seconds of the driving audio as given (lipsync) or of the dubbed track (dub). */
    duration: number;
    /** What was done to match the video's duration. */
    action: 'none' | 'padded' | 'trimmed';
    /** Driving audio minus video duration, seconds. */
    differenceSeconds: number;
  };
  /** Dub only. */
  languages?: { source: string; target: string };
  providers?: { transcription?: string; translation?: string; speech?: string };
  segments?: SegmentReport[];
  timing?: { overflows: number; overflowMs: number; truncatedMs: number; warnings: string[] };
  faces: {
    /** Every face track found. The main one is dubbed; the others are left as they are. */
    tracks: TrackSummary[];
    mainTrackId: number | null;
    /** Tracks other than the main one (left untouched). */
    untouchedTracks: number;
    /** Shot cuts detected (frame indices where a shot starts). */
    cuts: number[];
    /** Runs of the main track that were lip-synced. */
    runs: { start: number; end: number; startReason: string; endReason: string }[];
    /** Main-track runs too short to lip-sync (left untouched). */
    shortRuns: number;
  };
  frames: {
    total: number;
    /** Frames whose mouth was replaced at full opacity. */
    rendered: number;
    /** Frames at the edge of a run, blended with the original (cross-fade). */
    crossFaded: number;
    /** Frames written exactly as decoded. */
    passedThrough: number;
    passedThroughReasons: { noFace: number; otherFaceOnly: number; shortRun: number };
  };
  model: { kind: string; name: string; fit?: Record<string, unknown>; profile?: string };
  passes: { decodes: number; analysisCached: boolean };
  stages: StageReport[];
  /** Peak resident memory of the process during the run, MiB. */
  peakRssMiB: number;
  warnings: string[];
  providerWarnings?: CallWarning[];
}

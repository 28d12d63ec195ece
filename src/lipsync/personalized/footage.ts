/**
 * Feeding the personalized model from a video file: the main face track, its canonical crops
 * and landmarks, and the footage's own audio windows and voice activity.
 */
import { MelFrontend, type MelSpectrogram } from '../../audio/mel.js';
import { VoiceActivityDetector, type VadResult } from '../../audio/vad.js';
import { FaceCanonicalizer } from '../../canonical/canonicalizer.js';
import { throwIfAborted } from '../../errors.js';
import { trackMainFace, type FaceTrack, type TrackedFace } from '../../face/tracker.js';
import type { FfmpegOptions } from '../../media/binaries.js';
import { extractAudio } from '../../media/audio.js';
import { readFaceFrames } from '../../face/face-frames.js';
import { probeMedia, type MediaInfo } from '../../media/probe.js';
import type { OperationOptions } from '../../util/progress.js';
import { melBandStats, type MelBandStats } from './features.js';
import { fitPersonalizedModel, type FitFrame, type PersonalizedFitOptions, type PersonalizedLipsyncModel } from './model.js';

/** Audio facts of one recording, computed once and shared by fit, generate and evaluation. */
export interface AudioContext {
  mel: MelSpectrogram;
  stats: MelBandStats;
  vad: VadResult;
  frontend: MelFrontend;
}

export function audioContext(samples: Float32Array, sampleRate = 16000): AudioContext {
  const frontend = new MelFrontend({ preset: 'paper' });
  const mel = frontend.compute({ samples, sampleRate });
  const vad = new VoiceActivityDetector({ sampleRate }).detect({ samples, sampleRate });
  return { mel, stats: melBandStats(mel), vad, frontend };
}

/** Voice activity at time t (seconds). */
export function voicedAt(vad: VadResult, t: number): boolean {
  const k = Math.min(vad.frames.length - 1, Math.max(0, Math.round(t * vad.frameRate)));
  return vad.frames[k] === 1;
}

export interface FootageOptions extends OperationOptions, FfmpegOptions {
  /** Face-model cache folder and device for tracking (see the face stack). */
  cacheDir?: string;
  device?: import('../../runtime/devices.js').Device;
  /** The speaker's track; found with `trackMainFace` when not given. */
  track?: FaceTrack;
  /** Frame ranges (inclusive) left out, e.g. a held-out stretch for self-reenactment. */
  exclude?: { start: number; end: number }[];
  info?: MediaInfo;
  audio?: AudioContext;
  /** Seconds added to each frame's time when taking its audio window (the speaker's A/V offset). */
  audioOffset?: number;
}

/** The tracked frames of `video` as fit input (streamed: one decoded frame at a time). */
export async function* footageFrames(video: string, options: FootageOptions & { track: FaceTrack; audio: AudioContext }): AsyncGenerator<FitFrame> {
  const { track, audio, signal } = options;
  const byIndex = new Map<number, TrackedFace>(track.faces.map((f) => [f.index, f]));
  const canon = new FaceCanonicalizer();
  const excluded = (i: number): boolean => (options.exclude ?? []).some((r) => i >= r.start && i <= r.end);
  // The same frames and crops as the pipeline's analysis pass: I420 where the size allows.
  for await (const frame of readFaceFrames(video, { info: options.info, signal, ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath })) {
    throwIfAborted(signal);
    if (frame.index > track.end) break;
    const face = byIndex.get(frame.index);
    if (!face || excluded(frame.index)) continue;
    const { crop, transform } = canon.canonicalize(frame, face.landmarks);
    const canonical = canon.toCanonical(face.landmarks, transform);
    const window = audio.frontend.windows(audio.mel, [frame.timestamp + (options.audioOffset ?? 0)]);
    yield {
      index: frame.index,
      crop,
      canonicalLandmarks: canonical,
      pose: face.pose,
      audio: window,
      voiced: voicedAt(audio.vad, frame.timestamp),
    };
  }
}

/**
 * Fits the personalized model on a video of the speaker: tracks the main face (unless a track
 * is given), extracts and analyses the audio, and streams the tracked frames into the fit.
 */
export async function fitOnVideo(
  video: string,
  options: FootageOptions & Partial<PersonalizedFitOptions> = {},
): Promise<{ model: PersonalizedLipsyncModel; track: FaceTrack; audio: AudioContext; info: MediaInfo }> {
  const info = options.info ?? (await probeMedia(video, { ...options, scanFrames: true }));
  const track = options.track ?? (await trackMainFace(video, { signal: options.signal, onProgress: options.onProgress, cacheDir: options.cacheDir, device: options.device }));
  const audio = options.audio ?? audioContext((await extractAudio(video, { ...options, info })).samples);
  const model = await fitPersonalizedModel(footageFrames(video, { ...options, info, track, audio }), {
    ...options,
    audioStats: audio.stats,
  });
  return { model, track, audio, info };
}

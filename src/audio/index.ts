/**
 * Audio: WAV I/O, resampling, the mel front end (MelFrontend, presets `paper` and `wav2lip`),
 * voice activity detection, pitch-preserving time stretch and the TimingAligner; streaming
 * from WAV files on disk in bounded memory (stream.ts).
 * Design notes and measurements: docs/audio.md.
 */
export {
  decodeWav,
  encodeWav,
  readWav,
  writeWav,
  readAudio,
  wavInfo,
  defaultEncodeWavOptions,
  defaultReadAudioOptions,
  type WavInfo,
  type EncodeWavOptions,
  type WriteWavOptions,
  type ReadAudioOptions,
} from './wav.js';
export {
  Resampler,
  resample,
  toMono,
  toMonoAt,
  defaultResampleOptions,
  type ResampleOptions,
} from './resample.js';
export {
  MelFrontend,
  MEL_PRESETS,
  defaultMelFrontendOptions,
  hzToMel,
  melToHz,
  melFilterbank,
  type MelConfig,
  type MelPresetName,
  type MelFrontendOptions,
  type MelSpectrogram,
} from './mel.js';
export {
  VoiceActivityDetector,
  defaultVadOptions,
  type VadOptions,
  type VadResult,
  type VadSegment,
  type VadFrameFeatures,
} from './vad.js';
export {
  timeStretch,
  defaultTimeStretchOptions,
  STRETCH_FACTOR_RANGE,
  type StretchEngine,
  type StretchResult,
  type TimeStretchOptions,
} from './stretch.js';
export {
  TimingAligner,
  defaultTimingAlignerOptions,
  trimBounds,
  type TimingSegment,
  type TimingAlignerOptions,
  type TimingPlan,
  type PlannedSegment,
  type AlignInput,
  type AlignOptions,
  type AlignResult,
  type PlanInput,
  type Stretcher,
} from './timing.js';
export {
  StreamingAudio,
  MelWindowStream,
  WavFileSource,
  WavFileWriter,
  arraySource,
  decodeToWav,
  streamMelBandStats,
  type SampleSource,
  type StreamingAudioOptions,
  type DecodeToWavOptions,
} from './stream.js';

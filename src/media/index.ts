export { resolveBinaries, type FfmpegOptions, type ResolvedBinaries } from './binaries.js';
export { liveChildProcessCount } from './process.js';
export {
  probeMedia,
  requireVideo,
  requireAudio,
  checkInputFile,
  type MediaInfo,
  type VideoStreamInfo,
  type AudioStreamInfo,
  type ProbeOptions,
} from './probe.js';
export {
  readFrames,
  readYuvFrames,
  frameGeometry,
  yuvSourceFilters,
  type Frame,
  type YuvFrame,
  type Region,
  type ReadFramesOptions,
  type ReadYuvFramesOptions,
} from './frames.js';
export type { FrameTransport } from './frame-socket.js';
export {
  yuvMatrix,
  yuvMatrixFor,
  yuvCoefficients,
  yuvToRgb,
  rgbToYuv,
  halfChromaToRgb,
  type YuvImage,
  type YuvMatrix,
  type YuvCoefficients,
} from './yuv.js';
export {
  VideoWriter,
  defaultVideoWriterOptions,
  X264_PRESETS,
  type VideoWriterOptions,
  type OverlaySource,
  type X264Preset,
} from './writer.js';
export {
  extractAudio,
  muxAudio,
  defaultExtractAudioOptions,
  type AudioData,
  type ExtractAudioOptions,
  type MuxAudioOptions,
} from './audio.js';
export { toRational, type Rational } from './rational.js';
export { decodeAudio, type DecodeAudioOptions } from './decode.js';

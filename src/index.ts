/**
 * avdub: audiovisual dubbing for Node.
 *
 * Modules: `media` (probe, streaming frame I/O, audio extraction and mux over ffmpeg),
 * `runtime` (onnxruntime execution providers and sessions), `onnx` (graph builder), `audio`
 * (WAV, resampling, MelFrontend, voice activity, time-stretch, TimingAligner), `providers`
 * (ASR/MT/TTS interfaces, registry, subtitles, espeak, HTTP clients), `face` (BlazeFace,
 * FaceMesh, FaceTracker), `canonical` (FaceCanonicalizer, masks), `references`
 * (ReferenceSelector), `lipsync` (LipsyncModel and implementations), `render` (Renderer),
 * `eval` (quality metrics), `pipeline` (DubPipeline: `dub` and `lipsync`), and the cross-cutting errors, validation and progress types.
 *
 * @packageDocumentation
 */
export { AvdubError, ErrorCode, abortError, throwIfAborted, type AvdubErrorOptions } from './errors.js';
export { is, type Is } from './util/validate.js';
export { mergeOptions, type DeepPartial } from './util/options.js';
export { ProgressMeter, type ProgressEvent, type ProgressCallback, type OperationOptions } from './util/progress.js';
export { AtomicOutput } from './util/atomic.js';
export * from './media/index.js';
export * from './runtime/index.js';
export * from './onnx/index.js';
export * from './providers/index.js';
export * from './audio/index.js';
export * from './face/index.js';
export * from './canonical/index.js';
export * from './references/index.js';
export * from './lipsync/index.js';
export * from './render/index.js';
export * from './eval/index.js';
export * from './pipeline/index.js';
export { VERSION } from './version.js';

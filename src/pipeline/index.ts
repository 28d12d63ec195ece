/**
 * The dubbing pipeline: `DubPipeline` (`dub`, `lipsync`), its stage cache, the analysis and
 * render passes, and the report. See docs/pipeline.md.
 */
export {
  DubPipeline,
  defaultDubPipelineOptions,
  type DubPipelineOptions,
  type PipelineRenderOptions,
  type PipelineProgressEvent,
  type VisualJob,
  type LipsyncJob,
  type DubJob,
  type PipelineResult,
} from './pipeline.js';
export { StageCache, defaultCacheDir, fileIdentity, stableStringify, type CacheUse } from './cache.js';
export type { PipelineReport, SegmentReport, StageReport } from './report.js';
export type { TrackSummary, MainFace, VideoAnalysis, ReferenceFrame } from './analysis.js';
export { analyzeVideo, type AnalyzeOptions, type AnalyzeResult, type FitAudio } from './analyze.js';
export { CutDetector, planRuns, type RenderRun, type RunPlan, type RunPlanOptions } from './plan.js';
export { renderPass, type RenderPassOptions, type RenderPassStats, type OutputFrameHook, type OutputFrameInfo, type FrameOutcome } from './render-pass.js';

export {
  psnr,
  ssim,
  luma,
  laplacianVariance,
  sharpnessRatio,
  lmd,
  mouthOpening,
  pearson,
  bestOffset,
  landmarkJitter,
  changedPixelsOutside,
  visemeConsistency,
  BILABIAL_PHONEMES,
  OPEN_VOWEL_PHONEMES,
  type Rect,
  type TimedPhoneme,
} from './metrics.js';
export { plotSeriesPng, contactSheetPng, type Series } from './plots.js';

export {
  fitPersonalizedModel,
  PersonalizedFitter,
  PersonalizedLipsyncModel,
  saveSpeakerProfile,
  loadSpeakerProfile,
  defaultPersonalizedGenerateSettings,
  regressorHasSkill,
  type FitFrame,
  type LazyFitFrame,
  type PersonalizedFitOptions,
  type PersonalizedGenerateSettings,
  type PersonalizedStrategy,
  type SpeakerProfile,
} from './model.js';
export { melBandStats, mouthShape, mouthAnchor, shapeOpening, audioFeature, MOUTH_SHAPE_POINTS, DEFAULT_AUDIO_LAYOUT, DEFAULT_AUDIO_LAYOUTS, type MelBandStats, type AudioFeatureLayout } from './features.js';
export { audioContext, voicedAt, footageFrames, fitOnVideo, type AudioContext, type FootageOptions } from './footage.js';

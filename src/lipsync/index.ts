export type {
  CanonicalCrop,
  LipsyncAudioSpec,
  LipsyncGenerateOptions,
  LipsyncInput,
  LipsyncInputFrame,
  LipsyncModel,
  LipsyncOutputFrame,
  LipsyncPatchInput,
  LipsyncPatchInputFrame,
  LipsyncReferenceSpec,
} from './types.js';
export {
  DEFAULT_BUFFER_FRAMES,
  chunkInputRange,
  planChunks,
  windowSource,
  type ChunkPlan,
  type ChunkPlanOptions,
  type LipsyncChunk,
  type WindowSource,
} from './chunking.js';
export {
  LIPSYNC_CARD_FORMAT,
  card001Sizes,
  checkCardAgainstModel,
  loadModelCard,
  parseModelCard,
  resolveModelCard,
  type Card001Sizes,
  type CardAudioSpec,
  type CardImageSpec,
  type CardMaskSpec,
  type FractionRect,
  type Lipsync001Card,
  type LipsyncModelCard,
  type LipsyncModelCardInput,
  type SessionIo,
  type TensorDim,
  type TensorSpec,
  type ValueRange,
  type Wav2LipCard,
} from './model-card.js';
export { OnnxLipsyncModel, defaultOnnxLipsyncModelOptions, type OnnxLipsyncModelOptions } from './onnx-model.js';
export {
  Wav2LipOnnxModel,
  defaultWav2LipCard,
  defaultWav2LipOnnxModelOptions,
  type Wav2LipOnnxModelOptions,
} from './wav2lip.js';
export {
  PAPER_AUDIO_CHANNELS,
  PAPER_ENCODER_CHANNELS,
  UNTRAINED_REFERENCE_UNET,
  buildUntrainedReferenceUNet,
  defaultReferenceUNetOptions,
  referenceUNetLayout,
  type ReferenceUNet,
  type ReferenceUNetLayout,
  type ReferenceUNetOptions,
} from './reference-architecture.js';
export * from './personalized/index.js';

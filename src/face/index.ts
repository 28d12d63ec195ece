export {
  convertTfjsGraph,
  decodeTfjsWeights,
  SUPPORTED_TFJS_OPS,
  type ConvertTfjsOptions,
  type ConvertedModel,
  type ConvertedIo,
  type TfjsGraphModelJson,
  type TfSignature,
  type TfSignatureEntry,
  type TfNode,
  type TfAttr,
  type TfWeightGroup,
  type TfWeightSpec,
  type TfWeight,
} from './tfjs-to-onnx.js';
export {
  resolveFaceModel,
  defaultModelCacheDir,
  defaultModelSourceDir,
  clearFaceModelMemo,
  FACE_MODEL_NAMES,
  CONVERTER_VERSION,
  type FaceModelName,
  type ModelCacheOptions,
  type CachedFaceModel,
} from './model-cache.js';
export type { FaceModelRuntimeOptions } from './session.js';
export { readFaceFrames, type IndexedFaceFrame, type ReadFaceFramesOptions } from './face-frames.js';
export {
  applyAffine,
  invertAffine,
  composeAffine,
  letterboxAreaResize,
  warpBilinearPlanar,
  warpSupersampledPlanar,
  type Affine,
  type RgbImage,
  type FaceImage,
  type YuvFaceImage,
  type Letterbox,
} from './image.js';
export {
  FaceDetector,
  defaultFaceDetectorOptions,
  generateAnchors,
  decodeDetections,
  nonMaxSuppression,
  iou,
  BLAZEFACE_KEYPOINTS,
  BLAZEFACE_ANCHOR_SPEC,
  type FaceDetection,
  type FaceDetectorOptions,
  type Box,
  type Point,
} from './detector.js';
export {
  FaceMesh,
  defaultFaceMeshOptions,
  roiFromDetection,
  roiFromLandmarks,
  roiToFrame,
  MESH_INPUT_SIZE,
  type FaceMeshOptions,
  type FaceRoi,
  type MeshResult,
} from './mesh.js';
export * from './landmarks.js';
export {
  gaussianKernel,
  gaussianSmooth,
  oneEuroSmooth,
  OneEuroFilter,
  defaultSmoothingOptions,
  type SmoothingMethod,
  type SmoothingOptions,
  type GaussianSmoothingOptions,
  type OneEuroOptions,
  GaussianStreamSmoother,
} from './smoothing.js';
export { drawDot, drawLine, drawPolyline, copyImage, type Rgb } from './overlay.js';
export { headPose, PITCH_OFFSET_DEGREES, type HeadPose } from './pose.js';
export {
  FaceTracker,
  defaultFaceTrackerOptions,
  trackFaces,
  trackMainFace,
  requireMainTrack,
  type FaceTrack,
  type TrackedFace,
  type FaceTrackingResult,
  type FrameFaces,
  type FaceTrackerOptions,
  type FaceTrackerInit,
  type TrackFacesOptions,
  type SmoothedFace,
  type FaceTrackInfo,
  type StreamTrackingResult,
} from './tracker.js';

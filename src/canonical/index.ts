export {
  FaceCanonicalizer,
  defaultFaceCanonicalizerOptions,
  type FaceCanonicalizerOptions,
  type CanonicalTransform,
  type CanonicalFace,
} from './canonicalizer.js';
export { CANONICAL_TEMPLATE, templateIndices, type FaceTemplate, type TemplatePoint } from './template.js';
export { fitSimilarity, similarityToAffine, invertSimilarity, type Similarity } from './procrustes.js';
export { warpAffineBicubic, warpAffineBicubicDirect, warpPlaneBicubic, BICUBIC_A, type Plane } from './warp.js';
export {
  MOUTH_MASK_RECT,
  mouthMaskRect,
  mouthMask,
  facePolygon,
  trainingPolygon,
  renderPolygon,
  convexHull,
  pointInPolygon,
  fillPolygon,
  defaultPolygonOptions,
  POLYGON_LANDMARKS,
  type FacePolygonOptions,
  type PixelRect,
} from './masks.js';

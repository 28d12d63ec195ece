export { Renderer, maskAlphaInFrame, frameBoxOfCropRect, defaultRendererOptions, type RendererOptions, type RenderBox } from './renderer.js';
export { rasterizePolygon, gaussianBlur, featheredPolygonMask } from './mask.js';
export { reinhardTransfer, rgbToLab, labToRgb } from './color.js';

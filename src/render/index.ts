export { Renderer, maskAlphaInFrame, frameBoxOfCropRect, defaultRendererOptions, type RendererOptions, type RenderBox } from './renderer.js';
export { rasterizePolygon, gaussianBlur, featheredPolygonMask, type MaskScratch } from './mask.js';
export { reinhardTransfer, rgbToLab, labToRgb } from './color.js';

export { OnnxGraphBuilder, type AttributeValue, type ElementType, type TensorInit } from './graph.js';

export { OnnxGraphBuilder, type AttributeValue,
  type Dim, type ElementType, type TensorInit } from './graph.js';

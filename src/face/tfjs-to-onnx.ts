import { AvdubError, ErrorCode } from '../errors.js';
import { OnnxGraphBuilder } from '../onnx/graph.js';

/**
 * A converter from TensorFlow.js graph models (model.json + weight shards) to ONNX, for the
 * small convolutional face models that ship inside `@vladmandic/human` (MediaPipe BlazeFace
 * and FaceMesh, Apache-2.0). It covers exactly the ops those graphs use; anything else is an
 * E_MODEL_CONVERSION error naming the op, never a silently wrong model.
 *
 * Layout: TF.js graphs are NHWC; onnxruntime's convolutions are NCHW. Every rank-4 activation
 * is kept in NCHW inside the ONNX graph and transposed back to NHWC only where the layout
 * becomes visible (before a Reshape, at a rank-4 graph output), because a Reshape of NCHW data
 * with NHWC shape constants scrambles the output heads.
 */

/** The parts of a TF.js `model.json` (format `graph-model`) the converter reads. */
export interface TfjsGraphModelJson {
  format?: string;
  modelTopology: { node: TfNode[] };
  weightsManifest: TfWeightGroup[];
  signature?: TfSignature;
  userDefinedMetadata?: { signature?: TfSignature };
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: unknown;
}

export interface TfWeightGroup {
  paths: string[];
  weights: TfWeightSpec[];
}

export interface TfWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number; original_dtype?: string };
}

export interface TfSignatureEntry {
  name: string;
  tensorShape?: { dim?: { size?: string | number }[] };
}
export interface TfSignature {
  inputs?: Record<string, TfSignatureEntry>;
  outputs?: Record<string, TfSignatureEntry>;
}

/** A decoded weight: float32 or int32 values and the TF shape. */
export interface TfWeight {
  data: Float32Array | Int32Array;
  shape: number[];
}

export interface ConvertTfjsOptions {
  /** Graph name written into the model. @default 'converted' */
  name?: string;
  /**
   * Layout of the ONNX graph input. `NHWC` keeps the TF.js contract (a Transpose is inserted);
   * `NCHW` lets callers fill planar tensors directly and skips that transpose.
   * @default 'NHWC'
   */
  inputLayout?: 'NHWC' | 'NCHW';
  /**
   * Rewrites the shape constant of a Reshape (in TF order) before it is written, e.g. to free a
   * batch dimension that the exporter hard-coded to 1. ONNX semantics apply: 0 copies the
   * input dimension, -1 is inferred.
   */
  rewriteReshape?: (nodeName: string, shape: number[]) => number[];
  /**
   * Declare the input's height and width symbolic, so a fully convolutional graph runs at any
   * size (its Reshapes must then not hard-code sizes; see `rewriteReshape`).
   * @default false
   */
  dynamicSpatial?: boolean;
  /** Declare the input's batch dimension symbolic even where the exporter fixed it. @default false */
  dynamicBatch?: boolean;
  /** ONNX opset. @default 13 */
  opset?: number;
}

export interface ConvertedIo {
  /** The ONNX value name (the TF node name without `:0`). */
  name: string;
  /** Shape as declared (NHWC or NCHW for the input, per `inputLayout`); -1 where dynamic. */
  shape: number[];
}

export interface ConvertedModel {
  bytes: Uint8Array;
  inputs: ConvertedIo[];
  outputs: ConvertedIo[];
  /** TF op type -> count, for logs and tests. */
  ops: Record<string, number>;
}

/** Ops this converter understands (besides Const, Placeholder and Identity). */
export const SUPPORTED_TFJS_OPS = Object.freeze([
  'AddV2',
  'DepthwiseConv2dNative',
  'MaxPool',
  'Pad',
  'Relu',
  'Prelu',
  'Reshape',
  'Sigmoid',
  '_FusedConv2D',
] as const);

function conversionError(message: string, details: Record<string, unknown> = {}): AvdubError {
  return new AvdubError(ErrorCode.MODEL_CONVERSION, message, { details });
}

// ---------------------------------------------------------------------------------------------
// Weights

/** IEEE 754 half -> float, via a 64k lookup table built once. */
let halfTable: Float32Array | undefined;
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0) v = frac * 2 ** -24;
    else if (exp === 31) v = frac ? Number.NaN : Number.POSITIVE_INFINITY;
    else v = (1 + frac / 1024) * 2 ** (exp - 15);
    t[h] = sign * v;
  }
  halfTable = t;
  return t;
}

/**
 * Decodes the concatenated weight shards (all groups' paths, in manifest order) into named
 * tensors. float16, uint8 and uint16 quantization are expanded to float32.
 */
export function decodeTfjsWeights(manifest: TfWeightGroup[], shards: Uint8Array | Uint8Array[]): Map<string, TfWeight> {
  const buffer = Array.isArray(shards) ? concatBytes(shards) : shards;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const out = new Map<string, TfWeight>();
  let offset = 0;
  for (const group of manifest) {
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      let bytes: number;
      let data: Float32Array | Int32Array;
      if (q) {
        const width = q.dtype === 'float16' || q.dtype === 'uint16' ? 2 : q.dtype === 'uint8' ? 1 : 0;
        if (!width) throw conversionError(`Unsupported weight quantization ${q.dtype} for ${w.name}`);
        bytes = count * width;
        check(offset + bytes <= buffer.byteLength, w.name);
        const f = new Float32Array(count);
        if (q.dtype === 'float16') {
          const table = halfToFloatTable();
          for (let i = 0; i < count; i++) f[i] = table[view.getUint16(offset + 2 * i, true)]!;
        } else {
          const scale = q.scale ?? 1;
          const min = q.min ?? 0;
          for (let i = 0; i < count; i++) {
            const v = width === 1 ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true);
            f[i] = v * scale + min;
          }
        }
        data = w.dtype === 'int32' ? Int32Array.from(f, Math.round) : f;
      } else if (w.dtype === 'float32') {
        bytes = count * 4;
        check(offset + bytes <= buffer.byteLength, w.name);
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
      } else if (w.dtype === 'int32') {
        bytes = count * 4;
        check(offset + bytes <= buffer.byteLength, w.name);
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i, true);
      } else {
        throw conversionError(`Unsupported weight dtype ${w.dtype} for ${w.name}`);
      }
      out.set(w.name, { data, shape: [...w.shape] });
      offset += bytes;
    }
  }
  if (offset !== buffer.byteLength) {
    throw conversionError(`Weight shards hold ${buffer.byteLength} bytes but the manifest describes ${offset}`);
  }
  return out;

  function check(ok: boolean, name: string): void {
    if (!ok) throw conversionError(`Weight shards are shorter than the manifest (at ${name})`);
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Attributes

function attrString(node: TfNode, key: string): string | undefined {
  const s = node.attr?.[key]?.s;
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}
function attrInts(node: TfNode, key: string): number[] | undefined {
  const l = node.attr?.[key]?.list?.i;
  return l?.map((v) => Number(v));
}
function attrStrings(node: TfNode, key: string): string[] {
  return (node.attr?.[key]?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}
function shapeOf(entry?: { dim?: { size?: string | number }[] }): number[] | undefined {
  return entry?.dim?.map((d) => Number(d.size ?? -1));
}

// ---------------------------------------------------------------------------------------------
// Conversion

interface Value {
  /** ONNX value name. */
  name: string;
  /** True when a rank-4 value is held as NCHW (TF sees it as NHWC). */
  nchw: boolean;
  rank: number;
  /** Set for constants: the TF tensor (consumers lay it out as they need). */
  weight?: TfWeight;
}

/**
 * Converts a TF.js graph model to ONNX bytes. `shards` are the weight files' bytes in manifest
 * order (one `Uint8Array` per path, or all concatenated).
 */
export function convertTfjsGraph(
  model: TfjsGraphModelJson,
  shards: Uint8Array | Uint8Array[],
  options: ConvertTfjsOptions = {},
): ConvertedModel {
  if (model.format !== undefined && model.format !== 'graph-model') {
    throw conversionError(`Expected a TF.js graph model but the format is "${model.format}"`);
  }
  const nodes = model.modelTopology?.node;
  if (!Array.isArray(nodes)) throw conversionError('model.json has no modelTopology.node list');
  const weights = decodeTfjsWeights(model.weightsManifest ?? [], shards);
  const inputLayout = options.inputLayout ?? 'NHWC';
  const g = new OnnxGraphBuilder(options.name ?? 'converted');
  const values = new Map<string, Value>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const ops: Record<string, number> = {};
  const signature = model.signature ?? model.userDefinedMetadata?.signature;

  const ref = (input: string): string => input.replace(/:0$/, '').replace(/^\^/, '');
  const get = (input: string, consumer: TfNode): Value => {
    const v = values.get(ref(input));
    if (!v) throw conversionError(`Node ${consumer.name} reads ${input}, which is not defined before it`, { node: consumer.name });
    return v;
  };
  /** A value in NHWC-compatible TF layout (transposes an NCHW activation back). */
  const asTf = (v: Value): string => (v.nchw ? g.op('Transpose', [v.name], { perm: [0, 2, 3, 1] }) : valueName(v));
  /** Names a constant the way a plain elementwise consumer sees it (TF layout, float). */
  const valueName = (v: Value): string => {
    if (!v.weight) return v.name;
    return g.constant(v.weight.data instanceof Float32Array ? v.weight.data : Float32Array.from(v.weight.data), v.weight.shape);
  };

  // Topological order: TF.js JSON lists nodes in no guaranteed order.
  const order = topoSort(nodes, byName, ref);
  const inputs: ConvertedIo[] = [];
  for (const node of order) {
    ops[node.op] = (ops[node.op] ?? 0) + 1;
    const ins = (node.input ?? []).filter((i) => !i.startsWith('^'));
    switch (node.op) {
      case 'Const': {
        const w = weights.get(node.name);
        if (!w) throw conversionError(`Constant ${node.name} has no weight in the manifest`, { node: node.name });
        values.set(node.name, { name: node.name, nchw: false, rank: w.shape.length, weight: w });
        break;
      }
      case 'Placeholder': {
        const shape = shapeOf(node.attr?.shape?.shape) ?? [];
        if (options.dynamicSpatial && shape.length === 4) shape.splice(1, 2, -1, -1);
        if (options.dynamicBatch && shape.length > 0) shape[0] = -1;
        const names = ['batch', 'height', 'width', 'channels'];
        const dims = shape.map((d, i) => (d < 0 ? (shape.length === 4 ? names[i]! : i === 0 ? 'batch' : `${node.name}_d${i}`) : d));
        if (shape.length === 4) {
          if (inputLayout === 'NCHW') {
            const nchwDims = [dims[0]!, dims[3]!, dims[1]!, dims[2]!];
            g.input(node.name, nchwDims);
            inputs.push({ name: node.name, shape: [shape[0]!, shape[3]!, shape[1]!, shape[2]!] });
            values.set(node.name, { name: node.name, nchw: true, rank: 4 });
          } else {
            g.input(node.name, dims);
            inputs.push({ name: node.name, shape });
            values.set(node.name, { name: g.op('Transpose', [node.name], { perm: [0, 3, 1, 2] }), nchw: true, rank: 4 });
          }
        } else {
          g.input(node.name, dims);
          inputs.push({ name: node.name, shape });
          values.set(node.name, { name: node.name, nchw: false, rank: shape.length });
        }
        break;
      }
      case 'Identity': {
        values.set(node.name, get(ins[0]!, node));
        break;
      }
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative': {
        values.set(node.name, { name: convolution(g, node, ins.map((i) => get(i, node))), nchw: true, rank: 4 });
        break;
      }
      case 'MaxPool': {
        const x = get(ins[0]!, node);
        requireNchw(x, node);
        requireNhwcFormat(node);
        const ksize = attrInts(node, 'ksize') ?? [1, 1, 1, 1];
        const strides = attrInts(node, 'strides') ?? [1, 1, 1, 1];
        const pad = paddingAttrs(node, [ksize[1]!, ksize[2]!]);
        values.set(node.name, {
          name: g.op('MaxPool', [x.name], { kernel_shape: [ksize[1]!, ksize[2]!], strides: [strides[1]!, strides[2]!], ...pad }),
          nchw: true,
          rank: 4,
        });
        break;
      }
      case 'Pad': {
        const x = get(ins[0]!, node);
        const p = get(ins[1]!, node).weight;
        if (!p) throw conversionError(`Pad ${node.name} needs constant paddings`, { node: node.name });
        const rank = p.shape[0]!;
        // TF paddings are [[before, after] per dim]; ONNX wants all befores, then all afters.
        let perm = [...Array(rank).keys()];
        if (x.nchw && rank === 4) perm = [0, 3, 1, 2];
        const pads = new BigInt64Array(2 * rank);
        perm.forEach((tfDim, onnxDim) => {
          pads[onnxDim] = BigInt(p.data[2 * tfDim]!);
          pads[rank + onnxDim] = BigInt(p.data[2 * tfDim + 1]!);
        });
        values.set(node.name, { name: g.op('Pad', [x.name, g.constant(pads, [2 * rank])], { mode: 'constant' }), nchw: x.nchw, rank });
        break;
      }
      case 'AddV2': {
        const [a, b] = [get(ins[0]!, node), get(ins[1]!, node)];
        const nchw = a.nchw || b.nchw;
        values.set(node.name, { name: g.op('Add', [operand(g, a, nchw), operand(g, b, nchw)]), nchw, rank: Math.max(a.rank, b.rank) });
        break;
      }
      case 'Relu':
      case 'Sigmoid': {
        const x = get(ins[0]!, node);
        values.set(node.name, { name: g.op(node.op, [valueName(x)]), nchw: x.nchw, rank: x.rank });
        break;
      }
      case 'Prelu': {
        const x = get(ins[0]!, node);
        const alpha = get(ins[1]!, node);
        values.set(node.name, { name: prelu(g, valueName(x), alpha, x.nchw), nchw: x.nchw, rank: x.rank });
        break;
      }
      case 'Reshape': {
        const x = get(ins[0]!, node);
        const s = get(ins[1]!, node).weight;
        if (!s) throw conversionError(`Reshape ${node.name} needs a constant shape`, { node: node.name });
        let shape = Array.from(s.data, Number);
        if (options.rewriteReshape) shape = options.rewriteReshape(node.name, shape);
        const reshaped = g.op('Reshape', [asTf(x), g.constant(BigInt64Array.from(shape, BigInt), [shape.length])]);
        values.set(
          node.name,
          shape.length === 4
            ? { name: g.op('Transpose', [reshaped], { perm: [0, 3, 1, 2] }), nchw: true, rank: 4 }
            : { name: reshaped, nchw: false, rank: shape.length },
        );
        break;
      }
      default:
        throw conversionError(
          `Unsupported TF.js op ${node.op} (node ${node.name}); supported: ${SUPPORTED_TFJS_OPS.join(', ')}`,
          { node: node.name, op: node.op },
        );
    }
  }

  // Outputs: the signature's, else every node nobody consumes.
  let outputNames: { name: string; shape?: number[] }[];
  const sigOut = signature?.outputs ? Object.values(signature.outputs) : [];
  if (sigOut.length) {
    outputNames = sigOut.map((e) => ({ name: ref(e.name), shape: shapeOf(e.tensorShape) })).sort((a, b) => a.name.localeCompare(b.name));
  } else {
    const consumed = new Set(nodes.flatMap((n) => (n.input ?? []).map(ref)));
    outputNames = nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const').map((n) => ({ name: n.name }));
  }
  const outputs: ConvertedIo[] = [];
  for (const o of outputNames) {
    const v = values.get(o.name);
    if (!v) throw conversionError(`Output ${o.name} is not produced by the graph`);
    g.op('Identity', [asTf(v)], {}, o.name);
    // Symbolic dims: rewritten Reshapes may change sizes the signature states.
    g.output(o.name, Array.from({ length: v.rank }, (_, i) => `${o.name}_d${i}`));
    outputs.push({ name: o.name, shape: o.shape ?? Array(v.rank).fill(-1) });
  }
  return { bytes: g.toBytes(options.opset ?? 13, 'converted from TF.js by avdub'), inputs, outputs, ops };
}

function requireNchw(v: Value, node: TfNode): void {
  if (!v.nchw) throw conversionError(`${node.op} ${node.name} expects a rank-4 NHWC activation`, { node: node.name });
}
function requireNhwcFormat(node: TfNode): void {
  const f = attrString(node, 'data_format');
  if (f !== undefined && f !== 'NHWC') throw conversionError(`${node.op} ${node.name}: data_format ${f} is not supported`, { node: node.name });
}

/** ONNX padding attributes for TF `padding` (SAME maps to SAME_UPPER: TF pads the extra pixel at the end). */
function paddingAttrs(node: TfNode, kernel: [number, number]): Record<string, string | number[]> {
  const padding = attrString(node, 'padding') ?? 'VALID';
  if (padding === 'SAME') return kernel[0] === 1 && kernel[1] === 1 ? { pads: [0, 0, 0, 0] } : { auto_pad: 'SAME_UPPER' };
  if (padding === 'VALID') return { pads: [0, 0, 0, 0] };
  if (padding === 'EXPLICIT') {
    const p = attrInts(node, 'explicit_paddings') ?? [];
    // NHWC pairs: [n0,n1,h0,h1,w0,w1,c0,c1] -> ONNX [h0,w0,h1,w1]
    return { pads: [p[2] ?? 0, p[4] ?? 0, p[3] ?? 0, p[5] ?? 0] };
  }
  throw conversionError(`${node.op} ${node.name}: padding ${padding} is not supported`, { node: node.name });
}

/** Conv / depthwise conv, with the fused BiasAdd and activation of `_FusedConv2D`. */
function convolution(g: OnnxGraphBuilder, node: TfNode, ins: Value[]): string {
  requireNhwcFormat(node);
  const [x, f] = ins;
  if (!x || !f?.weight) throw conversionError(`${node.op} ${node.name} needs an input and a constant filter`, { node: node.name });
  requireNchw(x, node);
  const [kh, kw, cin, cout] = f.weight.shape as [number, number, number, number];
  const src = f.weight.data;
  const strides = attrInts(node, 'strides') ?? [1, 1, 1, 1];
  const dilations = attrInts(node, 'dilations') ?? [1, 1, 1, 1];
  const depthwise = node.op === 'DepthwiseConv2dNative';
  // TF filter [kh, kw, in, out|multiplier] -> ONNX [out, in/group, kh, kw].
  const outCh = depthwise ? cin * cout : cout;
  const inPerGroup = depthwise ? 1 : cin;
  const w = new Float32Array(outCh * inPerGroup * kh * kw);
  for (let y = 0; y < kh; y++) {
    for (let xx = 0; xx < kw; xx++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          const v = src[((y * kw + xx) * cin + i) * cout + o]!;
          const oc = depthwise ? i * cout + o : o;
          const ic = depthwise ? 0 : i;
          w[((oc * inPerGroup + ic) * kh + y) * kw + xx] = v;
        }
      }
    }
  }
  const attrs = {
    kernel_shape: [kh, kw],
    strides: [strides[1]!, strides[2]!],
    dilations: [dilations[1]!, dilations[2]!],
    group: depthwise ? cin : 1,
    ...paddingAttrs(node, [kh, kw]),
  };
  const convInputs = [x.name, g.constant(w, [outCh, inPerGroup, kh, kw])];
  const fused = node.op === '_FusedConv2D' ? attrStrings(node, 'fused_ops') : [];
  let activation: string | undefined;
  if (fused.length) {
    if (fused[0] !== 'BiasAdd') throw conversionError(`_FusedConv2D ${node.name}: fused ops ${fused.join('+')} are not supported`, { node: node.name });
    const bias = ins[2]?.weight;
    if (!bias || bias.data.length !== outCh) throw conversionError(`_FusedConv2D ${node.name}: bias missing or of the wrong size`, { node: node.name });
    convInputs.push(g.constant(Float32Array.from(bias.data), [outCh]));
    activation = fused[1];
    if (fused.length > 2 || (activation !== undefined && activation !== 'Relu' && activation !== 'Prelu')) {
      throw conversionError(`_FusedConv2D ${node.name}: fused ops ${fused.join('+')} are not supported`, { node: node.name });
    }
  }
  const y = g.op('Conv', convInputs, attrs);
  if (activation === 'Relu') return g.op('Relu', [y]);
  if (activation === 'Prelu') {
    // The exporter names the PReLU alpha constants ".../Neg", but they hold alpha itself.
    const alpha = ins[3];
    if (!alpha) throw conversionError(`_FusedConv2D ${node.name}: PReLU alpha missing`, { node: node.name });
    return prelu(g, y, alpha, true);
  }
  return y;
}

/**
 * PReLU written as `Relu(x) + alpha * Min(x, 0)`: the same values up to the sign of zero (for
 * x >= 0 it adds a zero, for x < 0 it adds alpha x to zero), in four vectorised elementwise
 * ops. onnxruntime's PRelu kernel branches per element, which is slow when signs are mixed: in a
 * test graph 1.80 ms against 0.47 ms (identical outputs); in the face mesh on a real face crop it
 * took 1.8 of the 3.5 ms per run, against 0.6 ms on a smooth test image (docs/face.md).
 */
function prelu(g: OnnxGraphBuilder, x: string, alpha: Value, nchw: boolean): string {
  const a = operand(g, alpha, nchw);
  const negative = g.op('Min', [x, g.constant(new Float32Array([0]), [])]);
  return g.op('Add', [g.op('Relu', [x]), g.op('Mul', [a, negative])]);
}

/**
 * An elementwise operand. Constants are re-laid for NCHW broadcasting: a TF constant of shape
 * [..., C] (right-aligned against NHWC) becomes [C, 1, 1] or the full NCHW permutation.
 */
function operand(g: OnnxGraphBuilder, v: Value, nchw: boolean): string {
  if (!v.weight) {
    if (nchw && !v.nchw) throw conversionError('Cannot broadcast a computed lower-rank tensor against an NCHW activation');
    return v.name;
  }
  const data = v.weight.data instanceof Float32Array ? v.weight.data : Float32Array.from(v.weight.data);
  const shape = v.weight.shape;
  if (!nchw || shape.length === 0) return g.constant(data, shape);
  const full = [...Array(4 - Math.min(4, shape.length)).fill(1), ...shape.slice(-4)] as [number, number, number, number];
  const [n, h, w, c] = full;
  const out = new Float32Array(data.length);
  for (let a = 0; a < n; a++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((a * c + k) * h + y) * w + x] = data[((a * h + y) * w + x) * c + k]!;
  // Drop leading 1s so a per-channel constant reads [C, 1, 1].
  const dims = [n, c, h, w];
  while (dims.length > 3 && dims[0] === 1) dims.shift();
  return g.constant(out, dims);
}

function topoSort(nodes: TfNode[], byName: Map<string, TfNode>, ref: (s: string) => string): TfNode[] {
  const state = new Map<string, 1 | 2>();
  const out: TfNode[] = [];
  const visit = (n: TfNode): void => {
    const s = state.get(n.name);
    if (s === 2) return;
    if (s === 1) throw conversionError(`The graph has a cycle at ${n.name}`);
    state.set(n.name, 1);
    const stack: TfNode[] = [];
    for (const i of n.input ?? []) {
      const dep = byName.get(ref(i));
      if (!dep) throw conversionError(`Node ${n.name} reads ${i}, which is not in the graph`, { node: n.name });
      stack.push(dep);
    }
    for (const d of stack) visit(d);
    state.set(n.name, 2);
    out.push(n);
  };
  for (const n of nodes) visit(n);
  return out;
}

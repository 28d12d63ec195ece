import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type ElementType = 'float32' | 'int64' | 'int32';
/** A tensor dimension: a size, or a symbolic name for a dynamic one. */
export type Dim = number | string;
/** Integers become INT attributes; wrap as `{ float: 1 }` to force a FLOAT. */
export type AttributeValue = number | string | number[] | Float32Array | { float: number } | { tensor: TensorInit };

export interface TensorInit {
  data: Float32Array | BigInt64Array | Int32Array;
  dims: number[];
}

const DATA_TYPE: Record<ElementType, number> = { float32: 1, int32: 6, int64: 7 };

function elementType(data: TensorInit['data']): ElementType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'int32';
}

function tensorProto(name: string, t: TensorInit): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.dims, dataType: DATA_TYPE[elementType(t.data)], rawData: bytes };
}

/**
 * A small builder for ONNX graphs, used wherever avdub writes a model itself (converted face
 * models, the fitted personalized lip-sync regressor, the random-weight reference U-Net, device
 * probes). Values are float32 unless given otherwise.
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  input(name: string, shape: Dim[], type: ElementType = 'float32'): string {
    this.inputs.push(valueInfo(name, shape, type));
    return name;
  }

  output(name: string, shape: Dim[], type: ElementType = 'float32'): string {
    this.outputs.push(valueInfo(name, shape, type));
    return name;
  }

  /** Adds a constant tensor and returns its name. */
  constant(data: TensorInit['data'], dims: number[], name = this.unique('const')): string {
    this.initializers.push(tensorProto(name, { data, dims }));
    return name;
  }

  /** Adds a node; returns its output names (one generated name unless `outputs` is given). */
  node(op: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, outputs?: string[]): string[] {
    const outs = outputs ?? [this.unique(op.toLowerCase())];
    this.nodes.push({
      opType: op,
      name: this.unique(`${op}_node`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** One-output convenience form of `node`. */
  op(op: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, output?: string): string {
    return this.node(op, inputs, attrs, output === undefined ? undefined : [output])[0]!;
  }

  unique(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Serializes to ONNX bytes (IR 8, default opset 17). */
  toBytes(opset = 17, docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'avdub',
      docString,
      opsetImport: [{ domain: '', version: opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, shape: Dim[], type: ElementType): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttributeValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v) && !Object.is(v, -0) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (v instanceof Float32Array) return { name, type: T.FLOATS, floats: Array.from(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.TENSOR, t: tensorProto(name, v.tensor) };
}

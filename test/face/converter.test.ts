import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { convertTfjsGraph, decodeTfjsWeights, type TfjsGraphModelJson, type TfNode, type TfWeightSpec } from '../../src/face/tfjs-to-onnx.js';
import { loadOrt } from '../../src/runtime/session.js';

// ---------------------------------------------------------------------------------------------
// A tiny TF.js graph model built by hand, and a plain-TS NHWC reference for every op.

type T4 = { d: Float32Array; s: [number, number, number, number] };

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** Values that float16 holds exactly: multiples of 1/64 in [-1, 1]. */
function halfExact(n: number, r: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.round((r() * 2 - 1) * 64) / 64);
}

function toHalfBits(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24); // subnormal
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | m;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const ints = (...v: number[]) => ({ list: { i: v.map(String) } });

function samePads(size: number, k: number, s: number): [number, number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

function conv(x: T4, w: Float32Array, [kh, kw, cin, cout]: number[], stride: number, padding: 'SAME' | 'VALID', depthwise = false): T4 {
  const [n, H, W, C] = x.s;
  const [oh, pt] = padding === 'SAME' ? samePads(H, kh!, stride) : [Math.ceil((H - kh! + 1) / stride), 0];
  const [ow, pl] = padding === 'SAME' ? samePads(W, kw!, stride) : [Math.ceil((W - kw! + 1) / stride), 0];
  const oc = depthwise ? cin! * cout! : cout!;
  const y = new Float32Array(n * oh! * ow! * oc);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh!; i++)
      for (let j = 0; j < ow!; j++)
        for (let o = 0; o < oc; o++) {
          let acc = 0;
          for (let u = 0; u < kh!; u++)
            for (let v = 0; v < kw!; v++) {
              const yy = i * stride + u - pt!;
              const xx = j * stride + v - pl!;
              if (yy < 0 || xx < 0 || yy >= H || xx >= W) continue;
              if (depthwise) {
                const c = Math.floor(o / cout!);
                const m = o % cout!;
                acc += x.d[((b * H + yy) * W + xx) * C + c]! * w[((u * kw! + v) * cin! + c) * cout! + m]!;
              } else {
                for (let c = 0; c < C; c++) acc += x.d[((b * H + yy) * W + xx) * C + c]! * w[((u * kw! + v) * cin! + c) * cout! + o]!;
              }
            }
          y[((b * oh! + i) * ow! + j) * oc + o] = acc;
        }
  return { d: y, s: [n, oh!, ow!, oc] };
}

function perChannel(x: T4, f: (v: number, c: number) => number): T4 {
  const C = x.s[3];
  return { d: x.d.map((v, i) => f(v, i % C)), s: x.s };
}

function add(a: T4, b: T4): T4 {
  return { d: a.d.map((v, i) => v + b.d[i]!), s: a.s };
}

function maxPool(x: T4, k: number, s: number): T4 {
  const [n, H, W, C] = x.s;
  const [oh, pt] = samePads(H, k, s);
  const [ow, pl] = samePads(W, k, s);
  const y = new Float32Array(n * oh * ow * C);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let c = 0; c < C; c++) {
          let m = -Infinity;
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) {
              const yy = i * s + u - pt;
              const xx = j * s + v - pl;
              if (yy >= 0 && xx >= 0 && yy < H && xx < W) m = Math.max(m, x.d[((b * H + yy) * W + xx) * C + c]!);
            }
          y[((b * oh + i) * ow + j) * C + c] = m;
        }
  return { d: y, s: [n, oh, ow, C] };
}

function pad(x: T4, p: number[]): T4 {
  const [n, H, W, C] = x.s;
  const s: [number, number, number, number] = [n + p[0]! + p[1]!, H + p[2]! + p[3]!, W + p[4]! + p[5]!, C + p[6]! + p[7]!];
  const y = new Float32Array(s[0] * s[1] * s[2] * s[3]);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let c = 0; c < C; c++) y[(((b + p[0]!) * s[1] + i + p[2]!) * s[2] + j + p[4]!) * s[3] + c + p[6]!] = x.d[((b * H + i) * W + j) * C + c]!;
  return { d: y, s };
}

const prelu = (alpha: Float32Array) => (v: number, c: number) => (v >= 0 ? v : v * alpha[c]!);

interface Built {
  model: TfjsGraphModelJson;
  weights: Uint8Array;
  reference: (x: T4) => Float32Array;
}

/** input [1, 8, 7, 3] -> every op the face models use -> Reshape [1, -1]. */
function buildGraph(): Built {
  const r = rng(7);
  const w1 = halfExact(3 * 3 * 3 * 4, r); // float16-quantized filter
  const b1 = halfExact(4, r);
  const dw = Float32Array.from({ length: 3 * 3 * 4 * 2 }, () => r() - 0.5); // multiplier 2
  const w2 = Float32Array.from({ length: 8 * 4 }, () => r() - 0.5);
  const b2 = Float32Array.from({ length: 4 }, () => r() - 0.5);
  const a2 = Float32Array.from([0.1, 0.2, 0.3, 0.25]);
  const w3 = Float32Array.from({ length: 1 * 1 * 4 * 4 }, () => r() - 0.5); // projects conv1 to 4 channels
  const b3 = Float32Array.from({ length: 4 }, () => r() - 0.5);
  const c = Float32Array.from([0.5, -0.5, 0.25, -0.25]);
  const a4 = halfExact(4, r).map((v) => Math.abs(v) / 2);
  const paddings = Int32Array.from([0, 0, 1, 0, 0, 1, 0, 2]); // NHWC order, asymmetric
  const shape = Int32Array.from([1, -1]);

  const specs: { spec: TfWeightSpec; bytes: Uint8Array }[] = [];
  const f32 = (name: string, shape: number[], d: Float32Array) =>
    specs.push({ spec: { name, shape, dtype: 'float32' }, bytes: new Uint8Array(d.buffer.slice(0)) });
  const f16 = (name: string, shape: number[], d: Float32Array) =>
    specs.push({
      spec: { name, shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } },
      bytes: new Uint8Array(Uint16Array.from(d, toHalfBits).buffer),
    });
  const i32 = (name: string, shape: number[], d: Int32Array) =>
    specs.push({ spec: { name, shape, dtype: 'int32' }, bytes: new Uint8Array(d.buffer.slice(0)) });
  f16('w1', [3, 3, 3, 4], w1);
  f16('b1', [4], b1);
  f32('dw', [3, 3, 4, 2], dw);
  f32('w2', [1, 1, 8, 4], w2);
  f32('b2', [4], b2);
  f32('m/p_re_lu/Neg', [1, 1, 4], a2);
  f32('w3', [1, 1, 4, 4], w3);
  f32('b3', [4], b3);
  f32('c', [4], c);
  f16('m/p_re_lu_1/Neg', [1, 1, 4], a4);
  i32('paddings', [4, 2], paddings);
  i32('shape', [2], shape);

  const nhwc = { s: b64('NHWC') };
  const constNode = (name: string): TfNode => ({ name, op: 'Const', attr: {} });
  const fused = (name: string, inputs: string[], ops: string[], stride: number, padding: string): TfNode => ({
    name,
    op: '_FusedConv2D',
    input: inputs,
    attr: { strides: ints(1, stride, stride, 1), padding: { s: b64(padding) }, data_format: nhwc, fused_ops: { list: { s: ops.map(b64) } }, dilations: ints(1, 1, 1, 1) },
  });
  const nodes: TfNode[] = [
    // deliberately out of order: the converter must sort
    { name: 'Identity', op: 'Identity', input: ['out'] },
    { name: 'out', op: 'Reshape', input: ['sig', 'shape'] },
    { name: 'input', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '1' }, { size: '8' }, { size: '7' }, { size: '3' }] } } } },
    ...['w1', 'b1', 'dw', 'w2', 'b2', 'm/p_re_lu/Neg', 'w3', 'b3', 'c', 'm/p_re_lu_1/Neg', 'paddings', 'shape'].map(constNode),
    fused('conv1', ['input', 'w1', 'b1'], ['BiasAdd', 'Relu'], 2, 'SAME'),
    { name: 'dw1', op: 'DepthwiseConv2dNative', input: ['conv1', 'dw'], attr: { strides: ints(1, 1, 1, 1), padding: { s: b64('SAME') }, data_format: nhwc } },
    fused('conv2', ['dw1', 'w2', 'b2', 'm/p_re_lu/Neg'], ['BiasAdd', 'Prelu'], 1, 'VALID'),
    fused('conv3', ['conv1', 'w3', 'b3'], ['BiasAdd'], 1, 'VALID'),
    { name: 'add', op: 'AddV2', input: ['conv2', 'conv3'] },
    { name: 'addc', op: 'AddV2', input: ['add', 'c'] },
    { name: 'prelu', op: 'Prelu', input: ['addc', 'm/p_re_lu_1/Neg'] },
    { name: 'pool', op: 'MaxPool', input: ['prelu'], attr: { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: { s: b64('SAME') }, data_format: nhwc } },
    { name: 'pad', op: 'Pad', input: ['pool', 'paddings'] },
    { name: 'relu', op: 'Relu', input: ['pad'] },
    { name: 'sig', op: 'Sigmoid', input: ['pad'] },
  ];
  const model: TfjsGraphModelJson = {
    format: 'graph-model',
    modelTopology: { node: nodes },
    weightsManifest: [{ paths: ['w.bin'], weights: specs.map((s) => s.spec) }],
    signature: { outputs: { out: { name: 'Identity:0', tensorShape: { dim: [{ size: '1' }, { size: '-1' }] } } } },
  };
  const total = specs.reduce((a, s) => a + s.bytes.byteLength, 0);
  const weights = new Uint8Array(total);
  let o = 0;
  for (const s of specs) {
    weights.set(s.bytes, o);
    o += s.bytes.byteLength;
  }
  const reference = (x: T4): Float32Array => {
    const c1 = perChannel(conv(x, w1, [3, 3, 3, 4], 2, 'SAME'), (v, ch) => Math.max(0, v + b1[ch]!));
    const d1 = conv(c1, dw, [3, 3, 4, 2], 1, 'SAME', true);
    const c2 = perChannel(perChannel(conv(d1, w2, [1, 1, 8, 4], 1, 'VALID'), (v, ch) => v + b2[ch]!), prelu(a2));
    const c3 = perChannel(conv(c1, w3, [1, 1, 4, 4], 1, 'VALID'), (v, ch) => v + b3[ch]!);
    const s = perChannel(add(c2, c3), (v, ch) => v + c[ch]!);
    const p = perChannel(s, prelu(a4));
    const mp = maxPool(p, 3, 2);
    const pd = pad(mp, Array.from(paddings));
    return pd.d.map((v) => 1 / (1 + Math.exp(-v)));
  };
  return { model, weights, reference };
}

async function run(bytes: Uint8Array, name: string, data: Float32Array, dims: number[]): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const ort = await loadOrt();
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ [name]: new ort.Tensor('float32', data, dims) });
  await s.release();
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { data: v.data as Float32Array, dims: v.dims }]));
}

function toNchw(x: T4): Float32Array {
  const [n, H, W, C] = x.s;
  const y = new Float32Array(x.d.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) for (let c = 0; c < C; c++) y[((b * C + c) * H + i) * W + j] = x.d[((b * H + i) * W + j) * C + c]!;
  return y;
}

describe('TF.js graph -> ONNX converter', () => {
  const { model, weights, reference } = buildGraph();
  const r = rng(3);
  const input: T4 = { d: Float32Array.from({ length: 8 * 7 * 3 }, () => r() * 2 - 1), s: [1, 8, 7, 3] };
  const expected = reference(input);

  it('matches a plain-TS NHWC reference for every supported op (NHWC input)', async () => {
    const m = convertTfjsGraph(model, weights);
    expect(m.inputs).toEqual([{ name: 'input', shape: [1, 8, 7, 3] }]);
    expect(m.outputs.map((o) => o.name)).toEqual(['Identity']);
    expect(m.ops).toMatchObject({ _FusedConv2D: 3, DepthwiseConv2dNative: 1, AddV2: 2, Prelu: 1, MaxPool: 1, Pad: 1, Sigmoid: 1, Reshape: 1, Relu: 1 });
    const out = await run(m.bytes, 'input', input.d, [1, 8, 7, 3]);
    const y = out.Identity!;
    expect(y.dims).toEqual([1, expected.length]);
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(y.data[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('takes planar NCHW input when asked, with the same result', async () => {
    const m = convertTfjsGraph(model, weights, { inputLayout: 'NCHW' });
    expect(m.inputs[0]!.shape).toEqual([1, 3, 8, 7]);
    const out = await run(m.bytes, 'input', toNchw(input), [1, 3, 8, 7]);
    const y = out.Identity!.data;
    for (let i = 0; i < expected.length; i++) expect(Math.abs(y[i]! - expected[i]!)).toBeLessThan(1e-5);
  });

  it('rewrites Reshape constants and frees the spatial size', async () => {
    const calls: number[][] = [];
    const m = convertTfjsGraph(model, weights, {
      dynamicSpatial: true,
      dynamicBatch: true,
      rewriteReshape: (_n, shape) => {
        calls.push(shape);
        return [0, -1];
      },
    });
    expect(calls).toEqual([[1, -1]]);
    // A 2-image batch of a larger input runs too (batch copied by the 0 in the shape).
    const big = new Float32Array(2 * 16 * 14 * 3).fill(0.1);
    const out = await run(m.bytes, 'input', big, [2, 16, 14, 3]);
    expect(out.Identity!.dims[0]).toBe(2);
  });

  it('decodes float16, uint8 and float32 weights', () => {
    const halves = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff, 0x8000]);
    const u8 = Uint8Array.from([0, 10, 255]);
    const f = Float32Array.from([1.5]);
    const buf = new Uint8Array(halves.byteLength + u8.byteLength + f.byteLength);
    buf.set(new Uint8Array(halves.buffer), 0);
    buf.set(u8, halves.byteLength);
    buf.set(new Uint8Array(f.buffer), halves.byteLength + u8.byteLength);
    const w = decodeTfjsWeights(
      [
        {
          paths: ['a'],
          weights: [
            { name: 'h', shape: [6], dtype: 'float32', quantization: { dtype: 'float16' } },
            { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
            { name: 'f', shape: [1], dtype: 'float32' },
          ],
        },
      ],
      [buf.subarray(0, 7), buf.subarray(7)], // two shards, split mid-weight
    );
    expect(Array.from(w.get('h')!.data)).toEqual([1, -2, 0.5, 2 ** -24, 65504, -0]);
    expect(Array.from(w.get('q')!.data)).toEqual([-1, 4, 126.5]);
    expect(Array.from(w.get('f')!.data)).toEqual([1.5]);
  });

  it('rejects unsupported ops and short weight files with E_MODEL_CONVERSION', () => {
    const bad = structuredClone(model);
    bad.modelTopology.node.push({ name: 'x', op: 'Softmax', input: ['sig'] });
    const err = (() => {
      try {
        convertTfjsGraph(bad, weights);
      } catch (e) {
        return e;
      }
    })();
    expect(AvdubError.isInstance(err, ErrorCode.MODEL_CONVERSION)).toBe(true);
    expect((err as Error).message).toMatch(/Softmax/);
    expect(() => convertTfjsGraph(model, weights.subarray(0, 100))).toThrow(/shorter than the manifest/);
    expect(() => convertTfjsGraph({ ...model, format: 'layers-model' }, weights)).toThrow(/graph model/);
  });
});

describe('TF.js Prelu -> ONNX', () => {
  it('is written without onnxruntime PRelu (slow on mixed signs) and gives the PReLU values, for any alpha', async () => {
    const alpha = Float32Array.from([-0.8, 0.3, 1.4, 0]); // negative, in [0, 1], above 1, zero
    const model: TfjsGraphModelJson = {
      format: 'graph-model',
      modelTopology: {
        node: [
          { name: 'input', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '1' }, { size: '5' }, { size: '6' }, { size: '4' }] } } } },
          { name: 'alpha', op: 'Const', attr: {} },
          { name: 'prelu', op: 'Prelu', input: ['input', 'alpha'] },
          { name: 'Identity', op: 'Identity', input: ['prelu'] },
        ],
      },
      weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'alpha', shape: [1, 1, 4], dtype: 'float32' }] }],
      signature: { outputs: { out: { name: 'Identity:0', tensorShape: { dim: [{ size: '1' }, { size: '5' }, { size: '6' }, { size: '4' }] } } } },
    };
    const m = convertTfjsGraph(model, new Uint8Array(alpha.buffer.slice(0)));
    expect(Buffer.from(m.bytes).includes('PRelu')).toBe(false);
    const r = rng(11);
    const x = Float32Array.from({ length: 5 * 6 * 4 }, () => (r() * 2 - 1) * 3);
    const y = (await run(m.bytes, 'input', x, [1, 5, 6, 4])).Identity!.data;
    // Exactly, up to the sign of zero (alpha 0 times a negative: PRelu gives -0, the sum +0).
    x.forEach((v, i) => expect(y[i]! + 0).toBe((v >= 0 ? v : Math.fround(v * alpha[i % 4]!)) + 0));
  });
});

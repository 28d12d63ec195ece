/**
 * The 001 lip-sync U-Net (s3.1.3, Tables 5-7, eq. 6) written as an ONNX graph with seeded
 * random weights: for contract tests and throughput benchmarks of `OnnxLipsyncModel`. It is
 * UNTRAINED: its output is noise shaped like a face crop, never lip-sync, and it is never a
 * default. docs/lipsync-contracts.md lists each layer and every simplification.
 *
 * Graph (S = 256, E = 512 at the paper's size):
 *   masked_frames [B,T,3,S,S] -> input encoder (9 ResNet-v2 blocks, Table 5) -> skips + e_in [E]
 *   references [B,N,3,S,S]    -> reference encoder (same architecture, own weights) -> skips + e_ref [N,E]
 *   audio [B,T,80,24]         -> audio encoder (2 residual Conv1D blocks, Table 6, global pool) -> a [E]
 *   attention (eq. 6): alpha_n = softmax_n(-sigmoid(a . e_ref_n)); R = sum alpha_n e_ref_n, and the
 *     same weights combine the reference encoder's skip features
 *   temporal network: concat(e_in, R, a) [3E] -> Conv1D(k3, E) -> ReLU -> Conv1D(k3, E) -> ReLU over T
 *   decoder (Table 7): 9 residual blocks from 1x1 up to SxS, nearest x2 upsampling after each but
 *     the last; before each block after the first, concat(decoder, input-encoder skip,
 *     attended reference skip, audio features from a residual MLP broadcast to the resolution)
 *   sigmoid -> frames [B,T,3,S,S] in [0, 1]
 */
import { AvdubError, ErrorCode } from '../errors.js';
import { OnnxGraphBuilder } from '../onnx/graph.js';
import { mergeOptions, type DeepPartial } from '../util/options.js';
import { is } from '../util/validate.js';
import { DEFAULT_BUFFER_FRAMES } from './chunking.js';
import { parseModelCard, type Lipsync001Card } from './model-card.js';

/** The name says what it is: random weights, not a lip-sync model. */
export const UNTRAINED_REFERENCE_UNET = 'untrained-reference-unet';

/** Table 5: output channels of the 9 encoder blocks (block 1 stride 1, the rest stride 2). */
export const PAPER_ENCODER_CHANNELS: readonly number[] = Object.freeze([16, 32, 64, 128, 256, 256, 512, 512, 512]);
/** Table 6: the audio encoder's input width (64) and its two residual Conv1D blocks (128, 512). */
export const PAPER_AUDIO_CHANNELS: readonly number[] = Object.freeze([64, 128, 512]);

export interface ReferenceUNetOptions {
  /**
   * Side of the square crops, a power of two from 4 to 256. Below 256 the encoder keeps the
   * first log2(size) + 1 blocks of Table 5 (still down to 1 x 1) and the decoder mirrors them.
   * @default 256 (001)
   */
  imageSize: number;
  /** Multiplies every channel count (at least 2 channels per layer remain). @default 1 */
  widthMultiplier: number;
  /** Chunk size M written into the card. @default 30 */
  maxFrames: number;
  /** Buffer frames written into the card. @default 10 (001 s3.2.1) */
  bufferFrames: number;
  /** Seed of the random weights: the same seed gives the same bytes. @default 1 */
  seed: number;
}

export const defaultReferenceUNetOptions: ReferenceUNetOptions = {
  imageSize: 256,
  widthMultiplier: 1,
  maxFrames: 30,
  bufferFrames: DEFAULT_BUFFER_FRAMES,
  seed: 1,
};

export interface ReferenceUNet {
  /** `untrained-reference-unet` (with its size when reduced). */
  name: string;
  /** The ONNX model. */
  bytes: Uint8Array;
  /** Its model card (contract 001, `untrained: true`). */
  card: Lipsync001Card;
  /** Trainable parameters (weights and biases, batch-norm affine and statistics). */
  parameters: number;
  layout: ReferenceUNetLayout;
}

const MEL_BANDS = 80;
const AUDIO_FRAMES = 24;

/** mulberry32: a small seeded PRNG, so the same options give the same model. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Net {
  readonly g: OnnxGraphBuilder;
  parameters = 0;
  private readonly uniform: () => number;
  private spare: number | undefined;

  constructor(name: string, seed: number) {
    this.g = new OnnxGraphBuilder(name);
    this.uniform = rng(seed);
  }

  private normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = Math.max(this.uniform(), 1e-12);
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A random weight tensor with N(0, std^2) entries. */
  weight(dims: number[], std: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = this.normal() * std;
    this.parameters += n;
    return this.g.constant(w, dims);
  }

  private vector(n: number, centre: number, spread: number): string {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = centre + spread * this.normal();
    this.parameters += n;
    return this.g.constant(v, [n]);
  }

  int64(values: number[]): string {
    return this.g.constant(BigInt64Array.from(values.map(BigInt)), [values.length]);
  }

  /**
   * Conv (1-D when `kernel` has one entry, 2-D with two) with He-normal weights scaled by
   * `gain`, and a small random bias.
   */
  conv(x: string, cin: number, cout: number, kernel: number[], stride = 1, gain = 1): string {
    const fanIn = cin * kernel.reduce((a, b) => a * b, 1);
    const w = this.weight([cout, cin, ...kernel], gain * Math.sqrt(2 / fanIn));
    const b = this.vector(cout, 0, 0.01);
    const pads = kernel.map((k) => (k - 1) >> 1);
    return this.g.op('Conv', [x, w, b], {
      kernel_shape: kernel,
      strides: kernel.map(() => stride),
      pads: [...pads, ...pads],
    });
  }

  /** Batch norm in inference form (what a trained export holds): scale ~1, shift ~0, mean 0, var 1. */
  norm(x: string, c: number): string {
    const scale = this.vector(c, 1, 0.05);
    const shift = this.vector(c, 0, 0.05);
    const mean = this.vector(c, 0, 0);
    const variance = this.vector(c, 1, 0);
    return this.g.op('BatchNormalization', [x, scale, shift, mean, variance], { epsilon: 1e-5 });
  }

  relu(x: string): string {
    return this.g.op('Relu', [x]);
  }

  /**
   * A ResNet-v2 block as 001 s3.1.3 describes it: two Norm-Conv-ReLU layers (the first with the
   * block's stride), plus a shortcut (identity, or a strided 1x1 conv when the shape changes).
   * The last decoder block leaves out the final ReLU so the sigmoid after it sees both signs.
   */
  resBlock(x: string, cin: number, cout: number, kernel: number[], stride: number, finalRelu = true): string {
    let h = this.relu(this.conv(this.norm(x, cin), cin, cout, kernel, stride));
    // Half gain on the second conv keeps the random network's activations from growing
    // block after block (nothing normalises them: the batch-norm statistics are fixed).
    h = this.conv(this.norm(h, cout), cout, cout, kernel, 1, 0.5);
    if (finalRelu) h = this.relu(h);
    const shortcut =
      cin === cout && stride === 1 ? x : this.conv(x, cin, cout, kernel.map(() => 1), stride, Math.SQRT1_2);
    return this.g.op('Add', [h, shortcut]);
  }

  /** x [rows, in] -> [rows, out]. */
  linear(x: string, cin: number, cout: number, gain = 1): string {
    const w = this.weight([cin, cout], gain * Math.sqrt(2 / cin));
    return this.g.op('Add', [this.g.op('MatMul', [x, w]), this.vector(cout, 0, 0.01)]);
  }

  reshape(x: string, shape: string): string {
    return this.g.op('Reshape', [x, shape]);
  }
}

/** Channel counts and sizes of the U-Net for the given options (no weights built). */
export interface ReferenceUNetLayout {
  name: string;
  imageSize: number;
  /** Output channels of each encoder block (Table 5). */
  encoder: number[];
  /** Spatial size after each encoder block. */
  encoderResolution: number[];
  /** Output channels of each decoder block (Table 7). */
  decoder: number[];
  /** Spatial size each decoder block works at (before its upsampling). */
  decoderResolution: number[];
  /** Per-frame embedding size (512 at the paper's size). */
  embedding: number;
  /** Audio encoder: input projection, residual Conv1D block 1, block 2 (Table 6). */
  audio: number[];
}

function checkOptions(options: DeepPartial<ReferenceUNetOptions>): ReferenceUNetOptions {
  const o = mergeOptions(defaultReferenceUNetOptions, options);
  is.integer('imageSize', o.imageSize, 4, 256);
  if ((o.imageSize & (o.imageSize - 1)) !== 0) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a power of two between 4 and 256 for imageSize but received ${o.imageSize}`, {
      details: { option: 'imageSize' },
    });
  }
  is.number('widthMultiplier', o.widthMultiplier, 1 / 256, 4);
  is.integer('maxFrames', o.maxFrames, 1, 100_000);
  is.integer('bufferFrames', o.bufferFrames, 0, 1000);
  is.integer('seed', o.seed, 0, 2 ** 32 - 1);
  return o;
}

export function referenceUNetLayout(options: DeepPartial<ReferenceUNetOptions> = {}): ReferenceUNetLayout {
  const o = checkOptions(options);
  const S = o.imageSize;
  const L = Math.log2(S) + 1; // encoder blocks: one at full size, then halving down to 1x1
  const width = (c: number): number => Math.max(2, Math.round(c * o.widthMultiplier));
  const encoder = PAPER_ENCODER_CHANNELS.slice(0, L).map(width);
  const E = encoder[L - 1]!;
  const reduced = S !== 256 || o.widthMultiplier !== 1;
  return {
    name: reduced ? `${UNTRAINED_REFERENCE_UNET}-${S}px-w${o.widthMultiplier}` : UNTRAINED_REFERENCE_UNET,
    imageSize: S,
    encoder,
    encoderResolution: encoder.map((_, i) => (i === 0 ? S : S >> i)),
    // Decoder block j works at 2^j and outputs the channels of the encoder level it meets next.
    decoder: Array.from({ length: L }, (_, j) => (j < L - 1 ? encoder[L - 2 - j]! : 3)),
    decoderResolution: Array.from({ length: L }, (_, j) => 2 ** j),
    embedding: E,
    audio: [width(PAPER_AUDIO_CHANNELS[0]!), width(PAPER_AUDIO_CHANNELS[1]!), E],
  };
}

/**
 * Builds the 001 U-Net with random weights. The default is the paper's size (67 M parameters,
 * 0.27 GB of ONNX); use `imageSize` / `widthMultiplier` for small test models.
 */
export function buildUntrainedReferenceUNet(options: DeepPartial<ReferenceUNetOptions> = {}): ReferenceUNet {
  const o = checkOptions(options);
  const layout = referenceUNetLayout(o);
  const { name, encoder: enc, decoder: dec, embedding: E, audio: audioCh } = layout;
  const S = o.imageSize;
  const L = enc.length;

  const net = new Net(name, o.seed);
  const g = net.g;
  const framesIn = g.input('masked_frames', ['B', 'T', 3, S, S]);
  const refsIn = g.input('references', ['B', 'N', 3, S, S]);
  const audioIn = g.input('audio', ['B', 'T', MEL_BANDS, AUDIO_FRAMES]);
  g.output('frames', ['B', 'T', 3, S, S]);

  // Leading dims [B, T] and [B, N], to restore them after the per-image work.
  const BT = g.op('Slice', [g.op('Shape', [framesIn]), net.int64([0]), net.int64([2])]);
  const BN = g.op('Slice', [g.op('Shape', [refsIn]), net.int64([0]), net.int64([2])]);
  const withLead = (lead: string, rest: number[]): string => g.op('Concat', [lead, net.int64(rest)], { axis: 0 });

  // Image encoders (Table 5): block 0 stride 1, then stride 2 down to 1x1. Every block's output
  // is kept for the skip connections.
  const encoder = (x: string): string[] => {
    const feats: string[] = [];
    let h = x;
    let cin = 3;
    for (let i = 0; i < L; i++) {
      h = net.resBlock(h, cin, enc[i]!, [3, 3], i === 0 ? 1 : 2);
      feats.push(h);
      cin = enc[i]!;
    }
    return feats;
  };
  const res = (i: number): number => layout.encoderResolution[i]!;
  const inFeats = encoder(net.reshape(framesIn, net.int64([-1, 3, S, S])));
  const refFeats = encoder(net.reshape(refsIn, net.int64([-1, 3, S, S])));

  // Audio encoder (Table 6). Table 6 starts at 64 channels; a 1x1 Conv1D maps the 80 mel bands
  // to them (our addition: the table does not say how 80 bands become 64).
  let a = net.reshape(audioIn, net.int64([-1, MEL_BANDS, AUDIO_FRAMES]));
  a = net.conv(a, MEL_BANDS, audioCh[0]!, [1]);
  a = net.resBlock(a, audioCh[0]!, audioCh[1]!, [5], 2);
  a = net.resBlock(a, audioCh[1]!, audioCh[2]!, [5], 2);
  a = net.reshape(g.op('GlobalAveragePool', [a]), net.int64([-1, E])); // [BT, E]

  // Soft attention over the reference embeddings keyed by the audio embedding (eq. 6, as
  // written: alpha_n = exp(-sigmoid(A.R_n)) / sum_i exp(-sigmoid(A.R_i))).
  const a3 = net.reshape(a, withLead(BT, [E])); // [B, T, E]
  const eRef = net.reshape(refFeats[L - 1]!, withLead(BN, [E])); // [B, N, E]
  const scores = g.op('MatMul', [a3, g.op('Transpose', [eRef], { perm: [0, 2, 1] })]); // [B, T, N]
  const alpha = g.op('Softmax', [g.op('Neg', [g.op('Sigmoid', [scores])])], { axis: -1 });
  const attended = g.op('MatMul', [alpha, eRef]); // [B, T, E]

  // Joint embedding and the 2-layer temporal CNN (kernel 3, E channels) over T.
  const eIn = net.reshape(inFeats[L - 1]!, withLead(BT, [E]));
  let z = g.op('Concat', [eIn, attended, a3], { axis: 2 }); // [B, T, 3E]
  z = g.op('Transpose', [z], { perm: [0, 2, 1] }); // [B, 3E, T]
  z = net.relu(net.conv(z, 3 * E, E, [3]));
  z = net.relu(net.conv(z, E, E, [3]));
  z = g.op('Transpose', [z], { perm: [0, 2, 1] });
  z = net.reshape(z, net.int64([-1, E, 1, 1])); // [BT, E, 1, 1]

  // Audio features for the decoder: a residual MLP, then one linear head per skip level,
  // broadcast ("upsampled") to that level's resolution.
  const u = g.op('Add', [a, net.linear(net.relu(net.linear(a, E, E)), E, E, 0.5)]);
  const audioSkip = (level: number): string => {
    const c = enc[level]!;
    const r = res(level);
    const v = net.reshape(net.linear(u, E, c), net.int64([-1, c, 1, 1]));
    return g.op('Expand', [v, net.int64([1, c, r, r])]);
  };
  // The attention weights applied to the reference encoder's skip features of a level.
  const refSkip = (level: number): string => {
    const c = enc[level]!;
    const r = res(level);
    const f = net.reshape(refFeats[level]!, withLead(BN, [c * r * r])); // [B, N, c r r]
    return net.reshape(g.op('MatMul', [alpha, f]), net.int64([-1, c, r, r])); // [BT, c, r, r]
  };

  // Decoder (Table 7): block j at 2^j x 2^j; nearest x2 upsampling after every block but the last.
  let h = z;
  let cin = E;
  for (let j = 0; j < L; j++) {
    if (j > 0) {
      const level = L - 1 - j; // encoder block whose output has this resolution
      h = g.op('Concat', [h, inFeats[level]!, refSkip(level), audioSkip(level)], { axis: 1 });
      cin = 4 * enc[level]!;
    }
    const last = j === L - 1;
    h = net.resBlock(h, cin, dec[j]!, [3, 3], 1, !last);
    if (!last) {
      h = g.op('Resize', [h, '', g.constant(new Float32Array([1, 1, 2, 2]), [4])], { mode: 'nearest' });
    }
    cin = dec[j]!;
  }
  const out = g.op('Sigmoid', [h]);
  g.op('Reshape', [out, withLead(BT, [3, S, S])], {}, 'frames');

  const bytes = g.toBytes(17, `${name}: the 001 lip-sync U-Net (Tables 5-7) with seeded random weights (seed ${o.seed}). UNTRAINED: not a lip-sync model.`);
  const card = parseModelCard({
    format: 'avdub-lipsync-model-card',
    version: 1,
    contract: '001',
    name,
    description:
      'UNTRAINED: the 001 reference architecture (Tables 5-7) with random weights, for contract tests and throughput benchmarks only. Its output is not lip-sync.',
    untrained: true,
    inputs: {
      frames: { name: 'masked_frames', shape: ['B', 'T', 3, S, S] },
      references: { name: 'references', shape: ['B', 'N', 3, S, S] },
      audio: { name: 'audio', shape: ['B', 'T', MEL_BANDS, AUDIO_FRAMES] },
    },
    output: { name: 'frames', shape: ['B', 'T', 3, S, S] },
    image: { layout: 'channels-first', channelOrder: 'rgb', inputRange: [0, 1], outputRange: [0, 1] },
    audio: { preset: 'paper', layout: 'bands-frames' },
    referenceMask: 'mouth-only',
    chunk: { maxFrames: o.maxFrames, bufferFrames: o.bufferFrames },
  }) as Lipsync001Card;
  return { name, bytes, card, parameters: net.parameters, layout };
}

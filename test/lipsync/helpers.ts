/** Shared builders for the lip-sync tests: small cards, hand-built graphs, crops. */
import { AvdubError, type ErrorCode } from '../../src/errors.js';
import type { CanonicalCrop, LipsyncInputFrame, LipsyncOutputFrame } from '../../src/lipsync/types.js';
import { OnnxGraphBuilder, type Dim } from '../../src/onnx/graph.js';

export const PAPER_AUDIO = 80 * 24;

export function solidCrop(size: number, rgb: [number, number, number]): CanonicalCrop {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { data, width: size, height: size };
}

/** A crop with pseudo-random pixels (seeded). */
export function noiseCrop(size: number, seed: number): CanonicalCrop {
  const data = new Uint8Array(size * size * 3);
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: size, height: size };
}

export function constAudio(value: number, length = PAPER_AUDIO): Float32Array {
  return new Float32Array(length).fill(value);
}

export async function collect(it: AsyncIterable<LipsyncOutputFrame>): Promise<LipsyncOutputFrame[]> {
  const out: LipsyncOutputFrame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

/** A frame source that records how far it has been read and whether it was closed. */
export function trackedFrames(frames: LipsyncInputFrame[]): {
  iterable: AsyncIterable<LipsyncInputFrame>;
  state: { pulled: number; closed: boolean };
} {
  const state = { pulled: 0, closed: false };
  async function* gen(): AsyncGenerator<LipsyncInputFrame> {
    try {
      for (const f of frames) {
        state.pulled++;
        yield f;
      }
    } finally {
      state.closed = true;
    }
  }
  return { iterable: gen(), state };
}

export async function expectAvdubError(p: Promise<unknown> | (() => unknown), code: ErrorCode, message?: RegExp): Promise<AvdubError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  if (!AvdubError.isInstance(err, code)) {
    throw new Error(`Expected AvdubError ${code} but got ${err instanceof Error ? `${(err as AvdubError).code ?? err.name}: ${err.message}` : String(err)}`);
  }
  if (message && !message.test(err.message)) throw new Error(`Error message ${JSON.stringify(err.message)} does not match ${message}`);
  return err;
}

/** A 001 card for S x S images with the given names/dims; everything else default. */
export function card001(S: number, over: Record<string, unknown> = {}, dims: { B?: Dim; T?: Dim; N?: Dim } = {}): Record<string, unknown> {
  const B = dims.B ?? 'B';
  const T = dims.T ?? 'T';
  const N = dims.N ?? 'N';
  return {
    format: 'avdub-lipsync-model-card',
    version: 1,
    contract: '001',
    name: 'test-001',
    inputs: {
      frames: { name: 'masked_frames', shape: [B, T, 3, S, S] },
      references: { name: 'references', shape: [B, N, 3, S, S] },
      audio: { name: 'audio', shape: [B, T, 80, 24] },
    },
    output: { name: 'frames', shape: [B, T, 3, S, S] },
    audio: { preset: 'paper' },
    chunk: { maxFrames: 4, bufferFrames: 2 },
    ...over,
  };
}

/**
 * The contract graph: a model whose output is a known function of its inputs, so ordering,
 * chunking, buffers and padding can be checked exactly:
 *   out[b, t] = masked[b, t] + mean_n(refs[b, n]) + mean(audio[b, t - 1]) + 2 mean(audio[b, t + 1])
 * (the audio terms are 0 past either end of the window).
 */
export function contractGraph(S: number, dims: { B?: Dim; T?: Dim; N?: Dim } = {}): Uint8Array {
  const B = dims.B ?? 'B';
  const T = dims.T ?? 'T';
  const N = dims.N ?? 'N';
  const g = new OnnxGraphBuilder('contract');
  const x = g.input('masked_frames', [B, T, 3, S, S]);
  const r = g.input('references', [B, N, 3, S, S]);
  const a = g.input('audio', [B, T, 80, 24]);
  g.output('frames', [B, T, 3, S, S]);
  const i64 = (v: number[]): string => g.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);
  const meanRefs = g.op('ReduceMean', [r], { axes: [1], keepdims: 1 }); // [B, 1, 3, S, S]
  const m = g.op('Unsqueeze', [g.op('ReduceMean', [a], { axes: [2, 3], keepdims: 1 }), i64([4])]); // [B, T, 1, 1, 1]
  const prev = g.op('Slice', [g.op('Pad', [m, i64([0, 1, 0, 0, 0, 0, 0, 0, 0, 0])]), i64([0]), i64([-1]), i64([1])]);
  const next = g.op('Slice', [g.op('Pad', [m, i64([0, 0, 0, 0, 0, 0, 1, 0, 0, 0])]), i64([1]), i64([2 ** 31 - 1]), i64([1])]);
  const two = g.constant(new Float32Array([2]), [1]);
  const audio = g.op('Add', [prev, g.op('Mul', [next, two])]);
  g.op('Add', [g.op('Add', [x, meanRefs]), audio], {}, 'frames');
  return g.toBytes();
}

/** out = the masked input frames (optionally channel 0 copied to all three). */
export function identityGraph(S: number, layout: 'channels-first' | 'channels-last' = 'channels-first', channel0 = false): Uint8Array {
  const img = layout === 'channels-first' ? [3, S, S] : [S, S, 3];
  const g = new OnnxGraphBuilder('identity');
  const x = g.input('masked_frames', ['B', 'T', ...img]);
  g.input('references', ['B', 'N', ...img]);
  g.input('audio', ['B', 'T', 80, 24]);
  g.output('frames', ['B', 'T', ...img]);
  if (!channel0) {
    g.op('Identity', [x], {}, 'frames');
  } else {
    const i64 = (v: number[]): string => g.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);
    const axis = layout === 'channels-first' ? 2 : 4;
    const c0 = g.op('Slice', [x, i64([0]), i64([1]), i64([axis])]);
    g.op('Concat', [c0, c0, c0], { axis }, 'frames');
  }
  return g.toBytes();
}

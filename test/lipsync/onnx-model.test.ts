import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { OnnxLipsyncModel } from '../../src/lipsync/onnx-model.js';
import type { LipsyncInputFrame } from '../../src/lipsync/types.js';
import { defaultWav2LipCard } from '../../src/lipsync/wav2lip.js';
import type { ProgressEvent } from '../../src/util/progress.js';
import {
  card001,
  collect,
  constAudio,
  contractGraph,
  expectAvdubError,
  identityGraph,
  noiseCrop,
  solidCrop,
  trackedFrames,
} from './helpers.js';

const S = 16;
const N = 11;
const REFS = [solidCrop(S, [30, 30, 30]), solidCrop(S, [50, 50, 50]), solidCrop(S, [70, 70, 70])];
/** Frame i: solid (v, v + 1, v + 2) with v = 20 + 13i mod 180; audio level p_i = 1 + i mod 5 (in 1/255). */
const v = (i: number): number => 20 + ((13 * i) % 180);
const p = (i: number): number => 1 + (i % 5);
const frames = (n = N, size = S): LipsyncInputFrame[] =>
  Array.from({ length: n }, (_, i) => ({ crop: solidCrop(size, [v(i), v(i) + 1, v(i) + 2]), audio: constAudio(p(i) / 255) }));

/** The mouth rectangle of the 001 appendix at S (pixel centres inside). */
const inMouth = (x: number, y: number, size = S): boolean =>
  x + 0.5 >= 0.08 * size && x + 0.5 < 0.92 * size && y + 0.5 >= 0.28 * size && y + 0.5 < 0.95 * size;

/** What the contract graph must give for frame i of n, pixel (x, y), channel c. */
function expected(i: number, n: number, x: number, y: number, c: number): number {
  const base = inMouth(x, y) ? 50 : v(i) + c; // masked crop + mean of the mouth-only references
  return base + (i > 0 ? p(i - 1) : 0) + 2 * (i < n - 1 ? p(i + 1) : 0); // silence (0) past the track
}

function checkContractOutput(out: { index: number; crop: { data: Uint8Array; width: number } }[], n: number): void {
  expect(out.map((f) => f.index)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const f of out) {
    expect(f.crop.width).toBe(S);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) {
          const got = f.crop.data[(y * S + x) * 3 + c];
          if (got !== expected(f.index, n, x, y, c)) {
            throw new Error(`frame ${f.index} pixel (${x}, ${y}) channel ${c}: got ${got}, expected ${expected(f.index, n, x, y, c)}`);
          }
        }
      }
    }
  }
}

async function contractModel(batchSize: number, over: Record<string, unknown> = {}): Promise<OnnxLipsyncModel> {
  return OnnxLipsyncModel.create({
    model: contractGraph(S),
    card: card001(S, { audio: { preset: 'paper', silence: 0 }, ...over }),
    device: 'cpu',
    batchSize,
  });
}

describe('OnnxLipsyncModel: the 001 contract with a graph of known output', () => {
  it('masks, chunks, pads with silence and discards buffers exactly, at any batch size', async () => {
    for (const batchSize of [1, 2, 3, 5]) {
      const model = await contractModel(batchSize);
      expect(model.kind).toBe('onnx-001');
      expect(model.batchSize).toBe(batchSize);
      const out = await collect(model.generate({ frameCount: N, frames: frames(), references: REFS }));
      checkContractOutput(out, N);
    }
  });

  it('works with a fixed-size model (B = 2, T = 8, N = 3): the last batch is filled up', async () => {
    const dims = { B: 2, T: 8, N: 3 };
    const model = await OnnxLipsyncModel.create({
      model: contractGraph(S, dims),
      card: card001(S, { audio: { preset: 'paper', silence: 0 }, chunk: { bufferFrames: 2 } }, dims),
      device: 'cpu',
      batchSize: 5, // the card's fixed B wins
    });
    expect(model.batchSize).toBe(2);
    expect(model.card.chunk.maxFrames).toBe(4);
    expect(model.references).toEqual({ min: 3, max: 3, preferred: 3 });
    checkContractOutput(await collect(model.generate({ frameCount: N, frames: frames(), references: REFS })), N);
    await expectAvdubError(
      collect(model.generate({ frameCount: N, frames: frames(), references: REFS.slice(0, 2) })),
      ErrorCode.INVALID_ARGUMENT,
      /exactly 3 reference crops/,
    );
  });

  it('handles tracks shorter than a chunk, of exactly one chunk, and of one frame', async () => {
    const model = await contractModel(2);
    for (const n of [1, 3, 4, 8]) {
      checkContractOutput(await collect(model.generate({ frameCount: n, frames: frames(n), references: REFS })), n);
    }
    expect(await collect(model.generate({ frameCount: 0, frames: [], references: REFS }))).toEqual([]);
  });

  it('accepts sync iterables and resizes crops of another size to the model and back', async () => {
    const model = await contractModel(1);
    const out = await collect(model.generate({ frameCount: 3, frames: frames(3, 32), references: REFS }));
    expect(out.map((f) => [f.index, f.crop.width, f.crop.height, f.crop.data.length])).toEqual([
      [0, 32, 32, 32 * 32 * 3],
      [1, 32, 32, 32 * 32 * 3],
      [2, 32, 32, 32 * 32 * 3],
    ]);
    // The top-left corner lies far from the mouth rectangle: resampling a flat area is exact.
    expect(Array.from(out[1]!.crop.data.subarray(0, 3))).toEqual([0, 1, 2].map((c) => expected(1, 3, 0, 0, c)));
  });

  it('reads the value range, mask fill and channels-last layout from the card', async () => {
    const model = await OnnxLipsyncModel.create({
      model: identityGraph(S, 'channels-last'),
      card: card001(S, {
        image: { layout: 'channels-last', inputRange: [-1, 1] },
        inputs: {
          frames: { name: 'masked_frames', shape: ['B', 'T', S, S, 3] },
          references: { name: 'references', shape: ['B', 'N', S, S, 3] },
          audio: { name: 'audio', shape: ['B', 'T', 80, 24] },
        },
        output: { name: 'frames', shape: ['B', 'T', S, S, 3] },
      }),
      device: 'cpu',
    });
    const crop = noiseCrop(S, 7);
    const [out] = await collect(model.generate({ frameCount: 1, frames: [{ crop, audio: constAudio(0) }], references: [crop] }));
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) {
          const i = (y * S + x) * 3 + c;
          // masked pixels hold the fill value 0, which is pixel 127.5 in [-1, 1]
          expect(out!.crop.data[i]).toBe(inMouth(x, y) ? 128 : crop.data[i]);
        }
      }
    }
  });

  it('feeds BGR when the card says so', async () => {
    for (const [order, want] of [['bgr', 30], ['rgb', 200]] as const) {
      const model = await OnnxLipsyncModel.create({
        model: identityGraph(S, 'channels-first', true), // every output channel = input channel 0
        card: card001(S, { image: { channelOrder: order } }),
        device: 'cpu',
      });
      const [out] = await collect(
        model.generate({ frameCount: 1, frames: [{ crop: solidCrop(S, [200, 100, 30]), audio: constAudio(0) }], references: REFS }),
      );
      expect(Array.from(out!.crop.data.subarray(0, 3))).toEqual([want, want, want]);
    }
  });

  it('reads frames lazily: memory is bounded by the batch of chunk windows', async () => {
    const batchSize = 2;
    const model = await contractModel(batchSize);
    const n = 40;
    const { iterable, state } = trackedFrames(frames(n));
    let ahead = 0;
    for await (const f of model.generate({ frameCount: n, frames: iterable, references: REFS })) {
      ahead = Math.max(ahead, state.pulled - f.index);
    }
    // window = 4 + 2 x 2 = 8 positions; a batch of 2 chunks reads at most 4 + 4 + 2 frames
    // past the first frame it yields.
    expect(ahead).toBeLessThanOrEqual(batchSize * 4 + 2);
    expect(ahead).toBeGreaterThan(0);
    expect(state.closed).toBe(true);
  });

  it('reports progress as stage "lipsync" up to the frame count', async () => {
    const model = await contractModel(2);
    const events: ProgressEvent[] = [];
    await collect(model.generate({ frameCount: N, frames: frames(), references: REFS }, { onProgress: (e) => events.push(e) }));
    expect(events.length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ stage: 'lipsync', done: N, total: N });
  });

  it('stops with E_ABORTED and closes the frame source', async () => {
    const model = await contractModel(1);
    const before = new AbortController();
    before.abort();
    await expectAvdubError(
      collect(model.generate({ frameCount: N, frames: frames(), references: REFS }, { signal: before.signal })),
      ErrorCode.ABORTED,
    );

    const ac = new AbortController();
    const { iterable, state } = trackedFrames(frames(40));
    const seen: number[] = [];
    await expectAvdubError(
      (async () => {
        for await (const f of model.generate({ frameCount: 40, frames: iterable, references: REFS }, { signal: ac.signal })) {
          seen.push(f.index);
          if (f.index === 5) ac.abort(new Error('user cancelled'));
        }
      })(),
      ErrorCode.ABORTED,
    );
    expect(seen.at(-1)).toBeLessThan(8); // at most the rest of the chunk already computed
    expect(state.pulled).toBeLessThan(40);
    expect(state.closed).toBe(true);
  });

  it('closes the frame source when the caller stops early', async () => {
    const model = await contractModel(1);
    const { iterable, state } = trackedFrames(frames(40));
    for await (const f of model.generate({ frameCount: 40, frames: iterable, references: REFS })) {
      if (f.index === 2) break;
    }
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(40);
  });

  it('rejects bad input with E_INVALID_ARGUMENT', async () => {
    const model = await contractModel(1);
    const gen = (input: unknown): Promise<unknown> => collect(model.generate(input as never));
    await expectAvdubError(gen({ frameCount: 3, frames: frames(3) }), ErrorCode.INVALID_ARGUMENT, /input\.references/);
    await expectAvdubError(gen({ frameCount: -1, frames: [], references: REFS }), ErrorCode.INVALID_ARGUMENT, /input\.frameCount/);
    await expectAvdubError(gen({ frameCount: 1, frames: 5, references: REFS }), ErrorCode.INVALID_ARGUMENT, /input\.frames/);
    await expectAvdubError(gen({ frameCount: 5, frames: frames(3), references: REFS }), ErrorCode.INVALID_ARGUMENT, /ended after 3 frames/);
    await expectAvdubError(gen({ frameCount: 3, frames: frames(5), references: REFS }), ErrorCode.INVALID_ARGUMENT, /more than input\.frameCount/);
    const badAudio = frames(3);
    badAudio[1] = { ...badAudio[1]!, audio: new Float32Array(80 * 16) };
    await expectAvdubError(gen({ frameCount: 3, frames: badAudio, references: REFS }), ErrorCode.INVALID_ARGUMENT, /Float32Array\(1920\).*frame 1 audio/);
    const badCrop = frames(3);
    badCrop[2] = { ...badCrop[2]!, crop: { data: new Uint8Array(16 * 8 * 3), width: 16, height: 8 } };
    await expectAvdubError(gen({ frameCount: 3, frames: badCrop, references: REFS }), ErrorCode.INVALID_ARGUMENT, /square RGB24 crop/);
    await expectAvdubError(gen({ frameCount: 1, frames: frames(1), references: [{ data: new Uint8Array(3), width: 2, height: 2 }] }), ErrorCode.INVALID_ARGUMENT, /references\[0\]/);
  });

  it('refuses models that do not match their card (E_MODEL_LOAD) and cards of another contract', async () => {
    await expectAvdubError(
      OnnxLipsyncModel.create({ model: contractGraph(S), card: card001(32), device: 'cpu' }),
      ErrorCode.MODEL_LOAD,
      /dimension 3 is 16 in the model but 32 in the card/,
    );
    const renamed = card001(S, { output: { name: 'out', shape: ['B', 'T', 3, S, S] } });
    await expectAvdubError(OnnxLipsyncModel.create({ model: contractGraph(S), card: renamed, device: 'cpu' }), ErrorCode.MODEL_LOAD, /output "out"/);
    await expectAvdubError(
      OnnxLipsyncModel.create({ model: contractGraph(S), card: defaultWav2LipCard, device: 'cpu' }),
      ErrorCode.INVALID_ARGUMENT,
      /Wav2LipOnnxModel/,
    );
    await expectAvdubError(OnnxLipsyncModel.create({ model: new Uint8Array([1, 2, 3]), card: card001(S), device: 'cpu' }), ErrorCode.MODEL_LOAD);
    await expectAvdubError(OnnxLipsyncModel.create({ model: contractGraph(S), card: card001(S), batchSize: 0 }), ErrorCode.INVALID_ARGUMENT, /batchSize/);
  });
});

/**
 * Wav2LipOnnxModel against graphs with Wav2Lip's input/output signature. No real Wav2Lip
 * weights are used: the random-weight graph tests the CONTRACT ONLY (shapes, order, batching,
 * pasting), and small exact graphs test the masking, channel order and mel wiring.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { LipsyncInputFrame } from '../../src/lipsync/types.js';
import { Wav2LipOnnxModel, defaultWav2LipCard } from '../../src/lipsync/wav2lip.js';
import { OnnxGraphBuilder } from '../../src/onnx/graph.js';
import { collect, expectAvdubError, noiseCrop, solidCrop, trackedFrames } from './helpers.js';

const MEL = 80 * 16;
const i64 = (g: OnnxGraphBuilder, v: number[]): string => g.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);

/** Wav2Lip's signature with small random convolutions: face [B,6,96,96] + mel [B,1,80,16] -> [B,3,96,96]. */
function randomWav2LipGraph(names = { face: 'face', mel: 'mel', output: 'output' }, seed = 3): Uint8Array {
  let s = seed;
  const rand = (n: number, scale: number): Float32Array =>
    Float32Array.from({ length: n }, () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return ((s / 2 ** 32) * 2 - 1) * scale;
    });
  const g = new OnnxGraphBuilder('random_wav2lip_signature');
  const face = g.input(names.face, ['B', 6, 96, 96]);
  const mel = g.input(names.mel, ['B', 1, 80, 16]);
  g.output(names.output, ['B', 3, 96, 96]);
  const h = g.op('Relu', [g.op('Conv', [face, g.constant(rand(8 * 6 * 9, 0.3), [8, 6, 3, 3]), g.constant(rand(8, 0.1), [8])], { pads: [1, 1, 1, 1] })]);
  const audio = g.op('Gemm', [g.op('Flatten', [mel]), g.constant(rand(MEL * 8, 0.02), [MEL, 8])]); // [B, 8]
  const mixed = g.op('Add', [h, g.op('Unsqueeze', [audio, i64(g, [2, 3])])]);
  const out = g.op('Conv', [mixed, g.constant(rand(3 * 8 * 9, 0.3), [3, 8, 3, 3]), g.constant(rand(3, 0.1), [3])], { pads: [1, 1, 1, 1] });
  g.op('Sigmoid', [out], {}, names.output);
  return g.toBytes();
}

/** out = face channels [from, from + 3) (+ mean(mel) when `withMel`), or channel `from` copied three times when `single`. */
function sliceGraph(from: number, opts: { single?: boolean; withMel?: boolean } = {}): Uint8Array {
  const g = new OnnxGraphBuilder('slice');
  const face = g.input('face', ['B', 6, 96, 96]);
  const mel = g.input('mel', ['B', 1, 80, 16]);
  g.output('output', ['B', 3, 96, 96]);
  let out: string;
  if (opts.single) {
    const c = g.op('Slice', [face, i64(g, [from]), i64(g, [from + 1]), i64(g, [1])]);
    out = g.op('Concat', [c, c, c], { axis: 1 });
  } else {
    out = g.op('Slice', [face, i64(g, [from]), i64(g, [from + 3]), i64(g, [1])]);
  }
  if (opts.withMel) out = g.op('Add', [out, g.op('ReduceMean', [mel], { axes: [1, 2, 3], keepdims: 1 })]);
  g.op('Identity', [out], {}, 'output');
  return g.toBytes();
}

const frame = (crop = solidCrop(64, [200, 100, 30]), melValue = 0): LipsyncInputFrame => ({ crop, audio: new Float32Array(MEL).fill(melValue) });

/** The face box of the default card in a 64 crop: [0.06, 0.02, 0.94, 0.9] -> x 4..60, y 1..58. */
const BOX = { x0: 4, y0: 1, x1: 60, y1: 58 };
const inBox = (x: number, y: number): boolean => x >= BOX.x0 && x < BOX.x1 && y >= BOX.y0 && y < BOX.y1;

describe('Wav2LipOnnxModel', () => {
  it('random-weight graph of the Wav2Lip signature (tests the contract only): shapes, order, pasting, batching', async () => {
    const bytes = randomWav2LipGraph();
    const model = await Wav2LipOnnxModel.create({ model: bytes, device: 'cpu', batchSize: 4 });
    expect(model.kind).toBe('wav2lip-onnx');
    expect(model.audio).toEqual({ preset: 'wav2lip', melBands: 80, windowFrames: 16, silence: -4 });
    expect(model.references).toEqual({ min: 0, preferred: 0 });
    const input = Array.from({ length: 10 }, (_, i) => frame(noiseCrop(64, i), -4 + i * 0.5));
    const out = await collect(model.generate({ frameCount: 10, frames: input }));
    expect(out.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const f of out) {
      const src = input[f.index]!.crop;
      expect([f.crop.width, f.crop.height]).toEqual([64, 64]);
      let changed = 0;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          for (let c = 0; c < 3; c++) {
            const i = (y * 64 + x) * 3 + c;
            if (!inBox(x, y)) expect(f.crop.data[i]).toBe(src.data[i]); // outside the face box: untouched
            else if (f.crop.data[i] !== src.data[i]) changed++;
          }
        }
      }
      expect(changed).toBeGreaterThan(1000);
    }
    // The input crops are not modified.
    expect(Buffer.from(input[0]!.crop.data).equals(Buffer.from(noiseCrop(64, 0).data))).toBe(true);
    // One frame per run gives the same frames as four.
    const single = await Wav2LipOnnxModel.create({ model: bytes, device: 'cpu', batchSize: 1 });
    const again = await collect(single.generate({ frameCount: 10, frames: input }));
    for (let i = 0; i < 10; i++) expect(Buffer.from(again[i]!.crop.data).equals(Buffer.from(out[i]!.crop.data))).toBe(true);
  });

  it('finds the tensor names of an export by their shapes when no card is given', async () => {
    const model = await Wav2LipOnnxModel.create({
      model: randomWav2LipGraph({ face: 'face_sequences', mel: 'audio_sequences', output: 'predicted' }),
      device: 'cpu',
    });
    expect(model.card.inputs.face.name).toBe('face_sequences');
    expect(model.card.inputs.mel.name).toBe('audio_sequences');
    expect(model.card.output.name).toBe('predicted');
    expect(await collect(model.generate({ frameCount: 2, frames: [frame(), frame()] }))).toHaveLength(2);
    // An explicit card is taken as written, and checked.
    const card = structuredClone(defaultWav2LipCard) as Record<string, any>;
    await expectAvdubError(
      Wav2LipOnnxModel.create({ model: randomWav2LipGraph({ face: 'face_sequences', mel: 'audio_sequences', output: 'predicted' }), card, device: 'cpu' }),
      ErrorCode.MODEL_LOAD,
      /input face "face" is not in the model/,
    );
  });

  it('zeroes the lower half of the face input', async () => {
    const model = await Wav2LipOnnxModel.create({ model: sliceGraph(0), device: 'cpu' }); // out = masked face
    const [out] = await collect(model.generate({ frameCount: 1, frames: [frame()] }));
    const px = (x: number, y: number): number[] => Array.from(out!.crop.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
    expect(px(30, 5)).toEqual([200, 100, 30]); // upper half of the box: the face itself
    expect(px(30, 25)).toEqual([200, 100, 30]);
    expect(px(30, 35)).toEqual([0, 0, 0]); // lower half: masked
    expect(px(10, 55)).toEqual([0, 0, 0]);
    expect(px(2, 35)).toEqual([200, 100, 30]); // outside the box
  });

  it('feeds BGR (channel 0 is blue) and each frame its own mel window', async () => {
    // out = reference channel 0, three times, + mean(mel): the box becomes blue + 10 i per frame.
    const model = await Wav2LipOnnxModel.create({ model: sliceGraph(3, { single: true, withMel: true }), device: 'cpu', batchSize: 3 });
    const input = Array.from({ length: 5 }, (_, i) => frame(solidCrop(64, [200, 100, 30]), (10 * i) / 255));
    const out = await collect(model.generate({ frameCount: 5, frames: input }));
    for (const f of out) {
      const i = (20 * 64 + 30) * 3;
      expect(Array.from(f.crop.data.subarray(i, i + 3))).toEqual([30 + 10 * f.index, 30 + 10 * f.index, 30 + 10 * f.index]);
    }
  });

  it('can take the reference half from input.references', async () => {
    const model = await Wav2LipOnnxModel.create({ model: sliceGraph(3), device: 'cpu', reference: 'references' }); // out = reference
    expect(model.references.min).toBe(1);
    const refs = [solidCrop(64, [10, 20, 30]), solidCrop(64, [40, 50, 60])];
    const out = await collect(model.generate({ frameCount: 3, frames: [frame(), frame(), frame()], references: refs }));
    const at = (k: number): number[] => Array.from(out[k]!.crop.data.subarray((30 * 64 + 30) * 3, (30 * 64 + 30) * 3 + 3));
    expect([at(0), at(1), at(2)]).toEqual([[10, 20, 30], [40, 50, 60], [10, 20, 30]]);
    await expectAvdubError(collect(model.generate({ frameCount: 1, frames: [frame()] })), ErrorCode.INVALID_ARGUMENT, /at least 1 reference/);
  });

  it('aborts with E_ABORTED, closes the source, and rejects bad input', async () => {
    const model = await Wav2LipOnnxModel.create({ model: randomWav2LipGraph(), device: 'cpu', batchSize: 2 });
    const ac = new AbortController();
    const { iterable, state } = trackedFrames(Array.from({ length: 20 }, () => frame()));
    await expectAvdubError(
      (async () => {
        for await (const f of model.generate({ frameCount: 20, frames: iterable }, { signal: ac.signal })) if (f.index === 2) ac.abort();
      })(),
      ErrorCode.ABORTED,
    );
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(20);
    await expectAvdubError(
      collect(model.generate({ frameCount: 1, frames: [{ crop: solidCrop(64, [0, 0, 0]), audio: new Float32Array(80 * 24) }] })),
      ErrorCode.INVALID_ARGUMENT,
      /Float32Array\(1280\)/,
    );
    await expectAvdubError(Wav2LipOnnxModel.create({ model: randomWav2LipGraph(), reference: 'x' as never }), ErrorCode.INVALID_ARGUMENT, /reference/);
  });
});

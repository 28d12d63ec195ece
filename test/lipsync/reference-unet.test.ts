/**
 * The untrained reference U-Net (001 Tables 5-7) at a reduced size, run end to end through
 * OnnxLipsyncModel. Its weights are random: these tests check shapes, wiring, chunk isolation
 * and determinism, never lip-sync quality.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { OnnxLipsyncModel } from '../../src/lipsync/onnx-model.js';
import {
  UNTRAINED_REFERENCE_UNET,
  buildUntrainedReferenceUNet,
  referenceUNetLayout,
} from '../../src/lipsync/reference-architecture.js';
import type { LipsyncInputFrame, LipsyncOutputFrame } from '../../src/lipsync/types.js';
import { loadOrt } from '../../src/runtime/session.js';
import { createSession } from '../../src/runtime/session.js';
import { collect, expectAvdubError, noiseCrop } from './helpers.js';

const SMALL = { imageSize: 32, widthMultiplier: 0.125, maxFrames: 3, bufferFrames: 2 } as const;
const net = buildUntrainedReferenceUNet(SMALL);

function audioWindow(seed: number): Float32Array {
  const a = new Float32Array(80 * 24);
  for (let i = 0; i < a.length; i++) a[i] = -10 + 6 * Math.sin(seed * 1.7 + i * 0.37) + Math.cos(i * seed * 0.11);
  return a;
}
const frames = (n: number, size = 32): LipsyncInputFrame[] =>
  Array.from({ length: n }, (_, i) => ({ crop: noiseCrop(size, 100 + i), audio: audioWindow(i + 1) }));
const refs = [noiseCrop(32, 1), noiseCrop(32, 2), noiseCrop(32, 3)];

function maxDiff(a: LipsyncOutputFrame, b: LipsyncOutputFrame): number {
  let m = 0;
  for (let i = 0; i < a.crop.data.length; i++) m = Math.max(m, Math.abs(a.crop.data[i]! - b.crop.data[i]!));
  return m;
}

describe('reference U-Net layout (001 Tables 5-7)', () => {
  it('has the paper\'s channels and sizes at the default size', () => {
    const l = referenceUNetLayout();
    expect(l.name).toBe(UNTRAINED_REFERENCE_UNET);
    expect(l.name).toContain('untrained');
    expect(l.encoder).toEqual([16, 32, 64, 128, 256, 256, 512, 512, 512]); // Table 5
    expect(l.encoderResolution).toEqual([256, 128, 64, 32, 16, 8, 4, 2, 1]); // 1x1x512 at the end
    expect(l.decoder).toEqual([512, 512, 256, 256, 128, 64, 32, 16, 3]); // Table 7
    expect(l.decoderResolution).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
    expect(l.embedding).toBe(512);
    expect(l.audio).toEqual([64, 128, 512]); // Table 6
  });

  it('shrinks for tests and names the reduced model', () => {
    const l = referenceUNetLayout(SMALL);
    expect(l.encoder).toEqual([2, 4, 8, 16, 32, 32]);
    expect(l.encoderResolution).toEqual([32, 16, 8, 4, 2, 1]);
    expect(l.decoder).toEqual([32, 16, 8, 4, 2, 3]);
    expect(l.name).toBe('untrained-reference-unet-32px-w0.125');
  });

  it('rejects sizes that are not powers of two', async () => {
    await expectAvdubError(() => referenceUNetLayout({ imageSize: 48 }), ErrorCode.INVALID_ARGUMENT, /power of two/);
    await expectAvdubError(() => buildUntrainedReferenceUNet({ widthMultiplier: 0 }), ErrorCode.INVALID_ARGUMENT, /widthMultiplier/);
  });

  it('is deterministic per seed and says it is untrained', () => {
    const again = buildUntrainedReferenceUNet(SMALL);
    expect(Buffer.from(again.bytes).equals(Buffer.from(net.bytes))).toBe(true);
    const other = buildUntrainedReferenceUNet({ ...SMALL, seed: 2 });
    expect(Buffer.from(other.bytes).equals(Buffer.from(net.bytes))).toBe(false);
    expect(net.card.untrained).toBe(true);
    expect(net.card.description).toMatch(/UNTRAINED/);
    expect(net.card.chunk).toEqual({ maxFrames: 3, bufferFrames: 2 });
    expect(net.parameters).toBeGreaterThan(10_000);
  });

  it('takes any batch, chunk length and reference count', async () => {
    const { session } = await createSession(net.bytes, { device: 'cpu' });
    const ort = await loadOrt();
    for (const [B, T, N] of [[1, 1, 1], [2, 5, 3]] as const) {
      const out = await session.run({
        masked_frames: new ort.Tensor('float32', new Float32Array(B * T * 3 * 32 * 32).fill(0.5), [B, T, 3, 32, 32]),
        references: new ort.Tensor('float32', new Float32Array(B * N * 3 * 32 * 32).fill(0.3), [B, N, 3, 32, 32]),
        audio: new ort.Tensor('float32', new Float32Array(B * T * 80 * 24).fill(-5), [B, T, 80, 24]),
      });
      expect(out.frames!.dims).toEqual([B, T, 3, 32, 32]);
      const d = out.frames!.data as Float32Array;
      expect(d.every((x) => x >= 0 && x <= 1)).toBe(true); // sigmoid output
    }
  });
});

describe('OnnxLipsyncModel with the untrained reference U-Net (reduced size)', () => {
  it('generates one crop per frame, in order, in range, and not constant', async () => {
    const model = await OnnxLipsyncModel.create({ model: net.bytes, card: net.card, device: 'cpu' });
    expect(model.untrained).toBe(true);
    expect(model.audio).toMatchObject({ preset: 'paper', melBands: 80, windowFrames: 24 });
    const out = await collect(model.generate({ frameCount: 7, frames: frames(7), references: refs }));
    expect(out.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const f of out) {
      expect([f.crop.width, f.crop.height, f.crop.data.length]).toEqual([32, 32, 32 * 32 * 3]);
      const values = new Set(f.crop.data);
      expect(values.size).toBeGreaterThan(10);
    }
    expect(maxDiff(out[0]!, out[1]!)).toBeGreaterThan(0);
  });

  it('batching chunks gives the same frames as one chunk at a time', async () => {
    const one = await OnnxLipsyncModel.create({ model: net.bytes, card: net.card, device: 'cpu', batchSize: 1 });
    const three = await OnnxLipsyncModel.create({ model: net.bytes, card: net.card, device: 'cpu', batchSize: 3 });
    const a = await collect(one.generate({ frameCount: 10, frames: frames(10), references: refs }));
    const b = await collect(three.generate({ frameCount: 10, frames: frames(10), references: refs }));
    expect(b.map((f) => f.index)).toEqual(a.map((f) => f.index));
    for (let i = 0; i < a.length; i++) expect(maxDiff(a[i]!, b[i]!)).toBeLessThanOrEqual(1);
  });

  it('a frame\'s audio reaches its neighbours through the temporal network, and no other chunk', async () => {
    // 12 frames, M = 3, 2 buffer frames: chunks [0,3) [3,6) [6,9) [9,12) with windows of 7.
    const model = await OnnxLipsyncModel.create({ model: net.bytes, card: net.card, device: 'cpu', batchSize: 2 });
    const base = frames(12);
    const changed = base.map((f, i) => (i === 4 ? { ...f, audio: audioWindow(99) } : f));
    const a = await collect(model.generate({ frameCount: 12, frames: base, references: refs }));
    const b = await collect(model.generate({ frameCount: 12, frames: changed, references: refs }));
    expect(maxDiff(a[4]!, b[4]!)).toBeGreaterThan(0);
    // The 2-layer kernel-3 temporal CNN reaches 2 frames each way; frames whose chunk window
    // does not hold frame 4 (chunk [9,12): window [7,14)) or that are out of reach stay the same.
    for (const i of [0, 1, 7, 8, 9, 10, 11]) expect(maxDiff(a[i]!, b[i]!), `frame ${i}`).toBe(0);
  });

  it('uses the references', async () => {
    const model = await OnnxLipsyncModel.create({ model: net.bytes, card: net.card, device: 'cpu' });
    const a = await collect(model.generate({ frameCount: 2, frames: frames(2), references: refs }));
    const b = await collect(model.generate({ frameCount: 2, frames: frames(2), references: [refs[2]!, refs[0]!, noiseCrop(32, 9)] }));
    expect(maxDiff(a[0]!, b[0]!)).toBeGreaterThan(0);
  });

  it('aborts between runs with E_ABORTED', async () => {
    const model = await OnnxLipsyncModel.create({ model: net.bytes, card: net.card, device: 'cpu' });
    const ac = new AbortController();
    const seen: number[] = [];
    await expectAvdubError(
      (async () => {
        for await (const f of model.generate({ frameCount: 9, frames: frames(9), references: refs }, { signal: ac.signal })) {
          seen.push(f.index);
          ac.abort();
        }
      })(),
      ErrorCode.ABORTED,
    );
    expect(seen).toEqual([0]);
  });
});

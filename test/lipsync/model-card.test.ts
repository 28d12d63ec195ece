import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import {
  card001Sizes,
  checkCardAgainstModel,
  loadModelCard,
  parseModelCard,
  resolveModelCard,
  type Lipsync001Card,
  type Wav2LipCard,
} from '../../src/lipsync/model-card.js';
import { defaultWav2LipCard } from '../../src/lipsync/wav2lip.js';
import { card001, expectAvdubError } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'avdub-card-'));

function withPath(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(obj);
  const keys = path.split('.');
  let o: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  if (value === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = value;
  return copy;
}

describe('lip-sync model cards', () => {
  it('fills in the documented defaults of a minimal 001 card', () => {
    const card = parseModelCard(card001(256)) as Lipsync001Card;
    expect(card.contract).toBe('001');
    expect(card.image).toEqual({ layout: 'channels-first', channelOrder: 'rgb', inputRange: [0, 1], outputRange: [0, 1] });
    expect(card.mask).toEqual({ rect: [0.08, 0.28, 0.92, 0.95], fill: 0 }); // 001 appendix
    expect(card.referenceMask).toBe('mouth-only');
    expect(card.chunk).toEqual({ maxFrames: 4, bufferFrames: 2 });
    expect(card.audio.preset).toBe('paper');
    expect(card.audio.layout).toBe('bands-frames');
    expect(card.audio.silence).toBeCloseTo(Math.log(1e-6), 5);
    expect(card001Sizes(card)).toEqual({ imageSize: 256, batch: undefined, window: undefined, references: undefined, melBands: 80, windowFrames: 24 });
  });

  it('defaults to 10 buffer frames and takes M from a fixed window', () => {
    const card = parseModelCard(card001(64, { chunk: undefined }, { T: 50, B: 2, N: 10 })) as Lipsync001Card;
    expect(card.chunk).toEqual({ maxFrames: 30, bufferFrames: 10 });
    expect(card001Sizes(card)).toMatchObject({ imageSize: 64, batch: 2, window: 50, references: 10 });
  });

  it('keeps explicit ranges, layout and silence', () => {
    const card = parseModelCard(
      card001(32, {
        image: { inputRange: [-1, 1], channelOrder: 'bgr', layout: 'channels-last' },
        inputs: {
          frames: { name: 'f', shape: ['B', 'T', 32, 32, 3] },
          references: { name: 'r', shape: ['B', 3, 32, 32, 3] },
          audio: { name: 'a', shape: ['B', 'T', 24, 80] },
        },
        output: { name: 'o', shape: ['B', 'T', 32, 32, 3] },
        audio: { preset: 'paper', layout: 'frames-bands', silence: -4 },
      }),
    );
    expect(card.image).toEqual({ layout: 'channels-last', channelOrder: 'bgr', inputRange: [-1, 1], outputRange: [-1, 1] });
    expect(card.audio).toEqual({ preset: 'paper', layout: 'frames-bands', silence: -4 });
  });

  it.each([
    ['contract', 'xyz', /card\.contract/],
    ['name', '', /card\.name/],
    ['format', 'other', /card\.format/],
    ['inputs.frames.shape', ['B', 'T', 4, 256, 256], /card\.inputs\.frames\.shape\[2\].*received 4/],
    ['inputs.frames.shape', ['B', 'T', 3, 256, 128], /square/],
    ['inputs.frames.shape', ['B', 3, 256, 256], /5 dimensions/],
    ['inputs.frames.shape', ['B', 'T', 3, 'H', 256], /card\.inputs\.frames\.shape\[3\]/],
    ['inputs.frames.shape', ['B', 0, 3, 256, 256], /positive integer or a symbolic name/],
    ['inputs.audio.shape', ['B', 'T', 80, 16], /24 mel frames per window \(preset "paper"\)/],
    ['inputs.references.shape', ['B', 'N', 3, 128, 128], /images of side 256/],
    ['output.shape', ['B', 'T', 3, 128, 128], /images of side 256/],
    ['output.shape', [2, 'T', 3, 256, 256], /output/],
    ['audio.preset', 'nope', /card\.audio\.preset/],
    ['audio', undefined, /card\.audio/],
    ['image.inputRange', [1, 1], /card\.image\.inputRange/],
    ['image.inputRange', [0], /\[low, high\]/],
    ['image.layout', 'nchw', /card\.image\.layout/],
    ['mask.rect', [0.5, 0.5, 0.4, 0.9], /left < right/],
    ['mask.rect', [0, 0, 1, 1.5], /fraction/],
    ['referenceMask', 'inverse', /card\.referenceMask/],
    ['chunk.maxFrames', undefined, /card\.chunk\.maxFrames/],
    ['chunk.maxFrames', 0, /card\.chunk\.maxFrames/],
    ['chunk.bufferFrames', -1, /card\.chunk\.bufferFrames/],
  ])('rejects %s = %j with E_INVALID_ARGUMENT naming the field', async (path, value, message) => {
    const card = card001(256, { mask: {}, image: {} });
    if (path.startsWith('output.shape') && Array.isArray(value) && value[0] === 2) {
      // a fixed B in the output but a different fixed B in the frames
      (card.inputs as Record<string, { shape: unknown[] }>).frames!.shape[0] = 3;
    }
    await expectAvdubError(() => parseModelCard(withPath(card, path, value)), ErrorCode.INVALID_ARGUMENT, message);
  });

  it('rejects a chunk that does not fit a fixed window', async () => {
    await expectAvdubError(
      () => parseModelCard(card001(64, { chunk: { maxFrames: 40, bufferFrames: 10 } }, { T: 50 })),
      ErrorCode.INVALID_ARGUMENT,
      /at most 30/,
    );
    await expectAvdubError(() => parseModelCard(card001(64, { chunk: { bufferFrames: 30 } }, { T: 50 })), ErrorCode.INVALID_ARGUMENT, /maxFrames/);
  });

  it('parses the default Wav2Lip card', () => {
    const card = parseModelCard(defaultWav2LipCard) as Wav2LipCard;
    expect(card.contract).toBe('wav2lip');
    expect(card.image.channelOrder).toBe('bgr');
    expect(card.mask).toEqual({ rect: [0, 0.5, 1, 1], fill: 0 }); // lower half zeroed
    expect(card.audio.preset).toBe('wav2lip');
    expect(card.audio.silence).toBe(-4);
    expect(card.faceRegion).toHaveLength(4);
  });

  it('checks a Wav2Lip card\'s 6-channel face and 80 x 16 mel', async () => {
    const bad = structuredClone(defaultWav2LipCard) as Record<string, any>;
    bad.inputs.face.shape = ['B', 3, 96, 96];
    await expectAvdubError(() => parseModelCard(bad), ErrorCode.INVALID_ARGUMENT, /card\.inputs\.face\.shape\[1\]/);
    const mel = structuredClone(defaultWav2LipCard) as Record<string, any>;
    mel.inputs.mel.shape = ['B', 1, 80, 24];
    await expectAvdubError(() => parseModelCard(mel), ErrorCode.INVALID_ARGUMENT, /16 mel frames/);
  });

  it('loads card files: E_MODEL_LOAD for bad JSON or content, E_INPUT_NOT_FOUND for a missing file', async () => {
    const good = join(tmp, 'good.json');
    writeFileSync(good, JSON.stringify(card001(128)));
    expect((await loadModelCard(good)).name).toBe('test-001');
    expect((await resolveModelCard(good)).name).toBe('test-001');
    const broken = join(tmp, 'broken.json');
    writeFileSync(broken, '{ "name": ');
    await expectAvdubError(loadModelCard(broken), ErrorCode.MODEL_LOAD, /not valid JSON/);
    const wrong = join(tmp, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ ...card001(128), contract: 'v9' }));
    const e = await expectAvdubError(loadModelCard(wrong), ErrorCode.MODEL_LOAD, /card\.contract/);
    expect(e.message).toContain(wrong);
    await expectAvdubError(loadModelCard(join(tmp, 'missing.json')), ErrorCode.INPUT_NOT_FOUND);
  });

  it('checks a card against the model: names and fixed sizes (E_MODEL_LOAD)', async () => {
    const card = parseModelCard(card001(32));
    const io = {
      inputNames: ['masked_frames', 'references', 'audio'],
      outputNames: ['frames'],
      inputMetadata: [
        { name: 'masked_frames', isTensor: true, shape: ['b', 't', 3, 32, 32] },
        { name: 'references', isTensor: true, shape: ['b', 10, 3, 32, 32] },
        { name: 'audio', isTensor: true, shape: ['b', 't', 80, 24] },
      ],
      outputMetadata: [{ name: 'frames', isTensor: true, shape: ['b', 't', 3, 32, 32] }],
    };
    expect(() => checkCardAgainstModel(card, io)).not.toThrow();
    const e = await expectAvdubError(
      () => checkCardAgainstModel(card, { ...io, inputNames: ['x', 'references', 'audio'] }),
      ErrorCode.MODEL_LOAD,
      /input frames "masked_frames" is not in the model \(it has "x", "references", "audio"\)/,
    );
    expect(e.details.inputs).toEqual(['x', 'references', 'audio']);
    const wrongSize = structuredClone(io);
    wrongSize.outputMetadata[0]!.shape = ['b', 't', 3, 64, 64];
    await expectAvdubError(() => checkCardAgainstModel(card, wrongSize), ErrorCode.MODEL_LOAD, /dimension 3 is 64 in the model but 32/);
    const wrongRank = structuredClone(io);
    wrongRank.inputMetadata[2]!.shape = ['b', 80, 24];
    await expectAvdubError(() => checkCardAgainstModel(card, wrongRank), ErrorCode.MODEL_LOAD, /rank 3/);
  });
});

/**
 * Lip-sync model cards: a small JSON file that says how to feed an ONNX lip-sync model
 * (tensor names and shapes, value ranges, layout, channel order, mask, mel preset, chunking).
 * Sizes come from the tensor shapes (the one place they are written); everything else has a
 * documented default. See docs/lipsync-contracts.md for the schema with examples.
 *
 * Errors: a card object given in code that is wrong is `E_INVALID_ARGUMENT`; a card file that
 * cannot be read or parsed, or a card that does not match its ONNX model, is `E_MODEL_LOAD`.
 */
import { readFile } from 'node:fs/promises';
import { MEL_PRESETS, MelFrontend, type MelPresetName } from '../audio/mel.js';
import { MOUTH_MASK_RECT } from '../canonical/masks.js';
import { AvdubError, ErrorCode } from '../errors.js';
import { is } from '../util/validate.js';
import { DEFAULT_BUFFER_FRAMES } from './chunking.js';

export const LIPSYNC_CARD_FORMAT = 'avdub-lipsync-model-card';

/** A tensor dimension: a fixed size, or a symbolic name for a dynamic one. */
export type TensorDim = number | string;

export interface TensorSpec {
  /** The ONNX input/output name. */
  name: string;
  shape: TensorDim[];
}

/** `[low, high]`: the tensor value that pixel 0 maps to, and pixel 255. */
export type ValueRange = [number, number];

/** A rectangle as fractions of an image side: [left, top, right, bottom]. */
export type FractionRect = [number, number, number, number];

export interface CardImageSpec {
  /** Where the colour axis is: `[.., C, H, W]` or `[.., H, W, C]`. @default 'channels-first' */
  layout: 'channels-first' | 'channels-last';
  /** @default 'rgb' */
  channelOrder: 'rgb' | 'bgr';
  /** Input values for pixel 0 and 255. @default [0, 1] */
  inputRange: ValueRange;
  /** Output values meaning pixel 0 and 255 (clamped, rounded). @default inputRange */
  outputRange: ValueRange;
}

export interface CardAudioSpec {
  /** MelFrontend preset; the window size in the shapes must be the preset's. */
  preset: MelPresetName;
  /** `[.., bands, frames]` or `[.., frames, bands]`. @default 'bands-frames' */
  layout: 'bands-frames' | 'frames-bands';
  /** Value of a silent element (padding). @default the preset's digital silence */
  silence: number;
}

export interface CardMaskSpec {
  /** Masked rectangle, fractions of the model's input image. */
  rect: FractionRect;
  /** Tensor value written into masked pixels. @default 0 ("zeroed") */
  fill: number;
}

interface CardBase {
  format: typeof LIPSYNC_CARD_FORMAT;
  version: 1;
  name: string;
  description?: string;
  /** True for random-weight graphs (the reference architecture): never real lip-sync. */
  untrained?: boolean;
  image: CardImageSpec;
  audio: CardAudioSpec;
  output: TensorSpec;
}

/**
 * The 001 contract: masked crops [B, T, 3, S, S], mouth-only references [B, N, 3, S, S],
 * audio windows [B, T, 80, 24] -> crops [B, T, 3, S, S] (channels-first shown).
 */
export interface Lipsync001Card extends CardBase {
  contract: '001';
  inputs: { frames: TensorSpec; references: TensorSpec; audio: TensorSpec };
  /** Mask on the input crops. @default { rect: [0.08, 0.28, 0.92, 0.95] (001 appendix), fill: 0 } */
  mask: CardMaskSpec;
  /** 'mouth-only': references keep only the mask rectangle (001 fig. 5: "the inverse mask"). @default 'mouth-only' */
  referenceMask: 'mouth-only' | 'none';
  chunk: {
    /** Most frames kept per chunk (M). Required unless T is fixed; then T - 2 * bufferFrames. */
    maxFrames: number;
    /** @default 10 (001 s3.2.1) */
    bufferFrames: number;
  };
}

/** Wav2Lip: face [B, 6, S, S] (lower-half-masked face + reference), mel [B, 1, 80, 16] -> face [B, 3, S, S]. */
export interface Wav2LipCard extends CardBase {
  contract: 'wav2lip';
  inputs: { face: TensorSpec; mel: TensorSpec };
  /** Mask on the face input, fractions of the face image. @default { rect: [0, 0.5, 1, 1], fill: 0 } (lower half zeroed) */
  mask: CardMaskSpec;
  /**
   * The face box in the canonical crop that Wav2Lip sees (its face detector's box: brows to
   * below the chin), fractions of the crop. @default [0.06, 0.02, 0.94, 0.9]
   */
  faceRegion: FractionRect;
}

export type LipsyncModelCard = Lipsync001Card | Wav2LipCard;

/** A card as written in JSON: everything with a default may be left out. */
export type LipsyncModelCardInput = Record<string, unknown>;

const silenceCache = new Map<MelPresetName, number>();
function presetSilence(preset: MelPresetName): number {
  let s = silenceCache.get(preset);
  if (s === undefined) {
    s = new MelFrontend({ preset }).silence;
    silenceCache.set(preset, s);
  }
  return s;
}

function invalid(path: string, expected: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'undefined' : JSON.stringify(value);
  throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Invalid model card: expected ${expected} for ${path} but received ${shown}`, {
    details: { option: path },
  });
}

function obj(path: string, v: unknown, optional = false): Record<string, unknown> {
  if (v === undefined && optional) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(path, 'an object', v);
  return v as Record<string, unknown>;
}

function str(path: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) invalid(path, 'a non-empty string', v);
  return v;
}

function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[], dflt?: T): T {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !allowed.includes(v as T)) invalid(path, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, v);
  return v as T;
}

function num(path: string, v: unknown, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(path, 'a finite number', v);
  return v;
}

function int(path: string, v: unknown, min: number, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) invalid(path, `an integer >= ${min}`, v);
  return v;
}

function range(path: string, v: unknown, dflt: ValueRange): ValueRange {
  if (v === undefined) return [...dflt];
  if (!Array.isArray(v) || v.length !== 2) invalid(path, '[low, high]', v);
  const lo = num(`${path}[0]`, v[0]);
  const hi = num(`${path}[1]`, v[1]);
  if (lo === hi) invalid(path, 'two different values', v);
  return [lo, hi];
}

function rect(path: string, v: unknown, dflt: FractionRect): FractionRect {
  if (v === undefined) return [...dflt];
  if (!Array.isArray(v) || v.length !== 4) invalid(path, '[left, top, right, bottom] fractions', v);
  const r = v.map((x, i) => {
    const n = num(`${path}[${i}]`, x);
    if (n < 0 || n > 1) invalid(`${path}[${i}]`, 'a fraction between 0 and 1', x);
    return n;
  }) as FractionRect;
  if (r[0] >= r[2] || r[1] >= r[3]) invalid(path, 'left < right and top < bottom', v);
  return r;
}

function tensor(path: string, v: unknown, rank: number): TensorSpec {
  const o = obj(path, v);
  const name = str(`${path}.name`, o.name);
  if (!Array.isArray(o.shape) || o.shape.length !== rank) invalid(`${path}.shape`, `an array of ${rank} dimensions`, o.shape);
  const shape = o.shape.map((d, i) => {
    if (typeof d === 'string' && d.length > 0) return d;
    if (typeof d === 'number' && Number.isInteger(d) && d >= 1) return d;
    return invalid(`${path}.shape[${i}]`, 'a positive integer or a symbolic name', d);
  });
  return { name, shape };
}

/** A dimension that must be a fixed size (and equal `want` when given). */
function fixed(path: string, shape: TensorDim[], i: number, want?: number, why = ''): number {
  const d = shape[i];
  if (typeof d !== 'number') invalid(`${path}.shape[${i}]`, `a fixed size${want !== undefined ? ` (${want})` : ''}`, d);
  if (want !== undefined && d !== want) invalid(`${path}.shape[${i}]`, `${want}${why}`, d);
  return d;
}

/** Two dimensions that must agree when both are fixed. */
function same(pathA: string, a: TensorDim | undefined, pathB: string, b: TensorDim | undefined): void {
  if (typeof a === 'number' && typeof b === 'number' && a !== b) {
    invalid(pathB, `${a} (as ${pathA})`, b);
  }
}

function base(o: Record<string, unknown>): Omit<CardBase, 'output'> & { rawOutput: unknown } {
  if (o.format !== undefined && o.format !== LIPSYNC_CARD_FORMAT) invalid('card.format', `"${LIPSYNC_CARD_FORMAT}"`, o.format);
  if (o.version !== undefined && o.version !== 1) invalid('card.version', '1', o.version);
  const name = str('card.name', o.name);
  if (o.description !== undefined) str('card.description', o.description);
  if (o.untrained !== undefined && typeof o.untrained !== 'boolean') invalid('card.untrained', 'a boolean', o.untrained);
  const im = obj('card.image', o.image, true);
  const inputRange = range('card.image.inputRange', im.inputRange, [0, 1]);
  const image: CardImageSpec = {
    layout: oneOf('card.image.layout', im.layout, ['channels-first', 'channels-last'] as const, 'channels-first'),
    channelOrder: oneOf('card.image.channelOrder', im.channelOrder, ['rgb', 'bgr'] as const, 'rgb'),
    inputRange,
    outputRange: range('card.image.outputRange', im.outputRange, inputRange),
  };
  const au = obj('card.audio', o.audio);
  const preset = oneOf('card.audio.preset', au.preset, Object.keys(MEL_PRESETS) as MelPresetName[]);
  const audio: CardAudioSpec = {
    preset,
    layout: oneOf('card.audio.layout', au.layout, ['bands-frames', 'frames-bands'] as const, 'bands-frames'),
    silence: au.silence === undefined ? presetSilence(preset) : num('card.audio.silence', au.silence),
  };
  return {
    format: LIPSYNC_CARD_FORMAT,
    version: 1,
    name,
    ...(o.description !== undefined ? { description: o.description as string } : {}),
    ...(o.untrained !== undefined ? { untrained: o.untrained as boolean } : {}),
    image,
    audio,
    rawOutput: o.output,
  };
}

function mask(path: string, v: unknown, dfltRect: FractionRect): CardMaskSpec {
  const m = obj(path, v, true);
  return { rect: rect(`${path}.rect`, m.rect, dfltRect), fill: num(`${path}.fill`, m.fill, 0) };
}

/** Image axes [C, H, W] or [H, W, C] start at `at`: checks C and H == W, returns the side. */
function imageDims(path: string, shape: TensorDim[], at: number, layout: CardImageSpec['layout'], channels: number): number {
  const [c, h, w] = layout === 'channels-first' ? [at, at + 1, at + 2] : [at + 2, at, at + 1];
  fixed(path, shape, c, channels, layout === 'channels-first' ? ' channels (channels-first layout)' : ' channels (channels-last layout)');
  const side = fixed(path, shape, h);
  fixed(path, shape, w, side, ' (square images)');
  return side;
}

function audioDims(path: string, shape: TensorDim[], at: number, audio: CardAudioSpec): void {
  const p = MEL_PRESETS[audio.preset];
  const [bands, frames] = audio.layout === 'bands-frames' ? [at, at + 1] : [at + 1, at];
  fixed(path, shape, bands, p.nMels, ` mel bands (preset "${audio.preset}")`);
  fixed(path, shape, frames, p.windowFrames, ` mel frames per window (preset "${audio.preset}")`);
}

const RECT_001: FractionRect = [MOUTH_MASK_RECT.x1, MOUTH_MASK_RECT.y1, MOUTH_MASK_RECT.x2, MOUTH_MASK_RECT.y2];
const WAV2LIP_MASK: FractionRect = [0, 0.5, 1, 1];
const WAV2LIP_FACE_REGION: FractionRect = [0.06, 0.02, 0.94, 0.9];

/**
 * Validates a card (parsed JSON or an object) and fills in its defaults. Throws
 * `E_INVALID_ARGUMENT` naming the field: "Invalid model card: expected 3 channels
 * (channels-first layout) for card.inputs.frames.shape[2] but received 4".
 */
export function parseModelCard(value: unknown): LipsyncModelCard {
  const o = obj('card', value);
  const contract = oneOf('card.contract', o.contract, ['001', 'wav2lip'] as const);
  const b = base(o);
  const { rawOutput, ...common } = b;
  const ins = obj('card.inputs', o.inputs);
  if (contract === '001') {
    const frames = tensor('card.inputs.frames', ins.frames, 5);
    const references = tensor('card.inputs.references', ins.references, 5);
    const audio = tensor('card.inputs.audio', ins.audio, 4);
    const output = tensor('card.output', rawOutput, 5);
    const side = imageDims('card.inputs.frames', frames.shape, 2, common.image.layout, 3);
    const refSide = imageDims('card.inputs.references', references.shape, 2, common.image.layout, 3);
    if (refSide !== side) invalid('card.inputs.references.shape', `images of side ${side} (as card.inputs.frames)`, references.shape);
    const outSide = imageDims('card.output', output.shape, 2, common.image.layout, 3);
    if (outSide !== side) invalid('card.output.shape', `images of side ${side} (as card.inputs.frames)`, output.shape);
    audioDims('card.inputs.audio', audio.shape, 2, common.audio);
    for (const [p, s] of [['card.inputs.references.shape[0]', references.shape], ['card.inputs.audio.shape[0]', audio.shape], ['card.output.shape[0]', output.shape]] as const) {
      same('card.inputs.frames.shape[0]', frames.shape[0], p, s[0]);
    }
    for (const [p, s] of [['card.inputs.audio.shape[1]', audio.shape], ['card.output.shape[1]', output.shape]] as const) {
      same('card.inputs.frames.shape[1]', frames.shape[1], p, s[1]);
    }
    const ch = obj('card.chunk', o.chunk, true);
    const bufferFrames = int('card.chunk.bufferFrames', ch.bufferFrames, 0, DEFAULT_BUFFER_FRAMES);
    const T = [frames.shape[1], audio.shape[1], output.shape[1]].find((d): d is number => typeof d === 'number');
    let maxFrames: number;
    if (T !== undefined) {
      maxFrames = int('card.chunk.maxFrames', ch.maxFrames, 1, T - 2 * bufferFrames);
      if (maxFrames < 1 || maxFrames + 2 * bufferFrames > T) {
        invalid('card.chunk.maxFrames', `at most ${T - 2 * bufferFrames} (fixed window of ${T} frames minus 2 x ${bufferFrames} buffer frames), and at least 1`, maxFrames);
      }
    } else {
      maxFrames = int('card.chunk.maxFrames', ch.maxFrames, 1);
    }
    return {
      ...common,
      contract,
      inputs: { frames, references, audio },
      output,
      mask: mask('card.mask', o.mask, RECT_001),
      referenceMask: oneOf('card.referenceMask', o.referenceMask, ['mouth-only', 'none'] as const, 'mouth-only'),
      chunk: { maxFrames, bufferFrames },
    };
  }
  const face = tensor('card.inputs.face', ins.face, 4);
  const mel = tensor('card.inputs.mel', ins.mel, 4);
  const output = tensor('card.output', rawOutput, 4);
  const side = imageDims('card.inputs.face', face.shape, 1, common.image.layout, 6);
  const outSide = imageDims('card.output', output.shape, 1, common.image.layout, 3);
  if (outSide !== side) invalid('card.output.shape', `images of side ${side} (as card.inputs.face)`, output.shape);
  fixed('card.inputs.mel', mel.shape, 1, 1, ' (one mel channel)');
  audioDims('card.inputs.mel', mel.shape, 2, common.audio);
  same('card.inputs.face.shape[0]', face.shape[0], 'card.inputs.mel.shape[0]', mel.shape[0]);
  same('card.inputs.face.shape[0]', face.shape[0], 'card.output.shape[0]', output.shape[0]);
  return {
    ...common,
    contract,
    inputs: { face, mel },
    output,
    mask: mask('card.mask', o.mask, WAV2LIP_MASK),
    faceRegion: rect('card.faceRegion', o.faceRegion, WAV2LIP_FACE_REGION),
  };
}

/** Reads and validates a card file; any failure is `E_MODEL_LOAD` (a missing file `E_INPUT_NOT_FOUND`). */
export async function loadModelCard(path: string): Promise<LipsyncModelCard> {
  is.string('card', path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new AvdubError(ErrorCode.INPUT_NOT_FOUND, `Model card not found: ${path}`, { cause, details: { path } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Model card ${path} is not valid JSON: ${(cause as Error).message}`, { cause, details: { path } });
  }
  try {
    return parseModelCard(json);
  } catch (cause) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Model card ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
}

/** A card given as an object (validated: `E_INVALID_ARGUMENT`) or a path (`E_MODEL_LOAD`). */
export async function resolveModelCard(card: string | LipsyncModelCardInput | LipsyncModelCard): Promise<LipsyncModelCard> {
  return typeof card === 'string' ? loadModelCard(card) : parseModelCard(card);
}

/** The sizes a 001 card implies. */
export interface Card001Sizes {
  /** Side of the model's square images. */
  imageSize: number;
  /** Fixed batch (B), or undefined when dynamic. */
  batch?: number;
  /** Fixed window (T), or undefined when dynamic. */
  window?: number;
  /** Fixed reference count (N), or undefined when any count works. */
  references?: number;
  melBands: number;
  windowFrames: number;
}

export function card001Sizes(card: Lipsync001Card): Card001Sizes {
  const f = card.inputs.frames.shape;
  const imageSize = (card.image.layout === 'channels-first' ? f[3] : f[2]) as number;
  const firstFixed = (...ds: (TensorDim | undefined)[]): number | undefined => ds.find((d): d is number => typeof d === 'number');
  const preset = MEL_PRESETS[card.audio.preset];
  return {
    imageSize,
    batch: firstFixed(f[0], card.inputs.references.shape[0], card.inputs.audio.shape[0], card.output.shape[0]),
    window: firstFixed(f[1], card.inputs.audio.shape[1], card.output.shape[1]),
    references: firstFixed(card.inputs.references.shape[1]),
    melBands: preset.nMels,
    windowFrames: preset.windowFrames,
  };
}

/** The metadata of an onnxruntime session's inputs/outputs, as much as the check needs. */
export interface SessionIo {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata?: readonly { name: string; isTensor: boolean; shape?: readonly (number | string)[] }[];
  outputMetadata?: readonly { name: string; isTensor: boolean; shape?: readonly (number | string)[] }[];
}

/**
 * Checks that a card matches its model: every named input and output exists, and where the
 * model declares a shape, ranks agree and fixed sizes are equal. Throws `E_MODEL_LOAD`.
 */
export function checkCardAgainstModel(card: LipsyncModelCard, io: SessionIo): void {
  const inputs: [string, TensorSpec][] = Object.entries(card.inputs);
  const problems: string[] = [];
  const check = (role: string, spec: TensorSpec, names: readonly string[], meta: SessionIo['inputMetadata']): void => {
    if (!names.includes(spec.name)) {
      problems.push(`${role} "${spec.name}" is not in the model (it has ${names.map((n) => `"${n}"`).join(', ') || 'none'})`);
      return;
    }
    const m = meta?.find((x) => x.name === spec.name);
    const shape = m && m.isTensor ? m.shape : undefined;
    if (!shape || shape.length === 0) return;
    if (shape.length !== spec.shape.length) {
      problems.push(`${role} "${spec.name}" has rank ${shape.length} in the model but ${spec.shape.length} in the card`);
      return;
    }
    shape.forEach((d, i) => {
      const c = spec.shape[i];
      if (typeof d === 'number' && d > 0 && typeof c === 'number' && d !== c) {
        problems.push(`${role} "${spec.name}" dimension ${i} is ${d} in the model but ${c} in the card`);
      }
    });
  };
  for (const [role, spec] of inputs) check(`input ${role}`, spec, io.inputNames, io.inputMetadata);
  check('output', card.output, io.outputNames, io.outputMetadata);
  if (problems.length > 0) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Model card "${card.name}" does not match the model: ${problems.join('; ')}`, {
      details: { problems, inputs: io.inputNames, outputs: io.outputNames },
    });
  }
}

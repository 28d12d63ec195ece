/**
 * `Wav2LipOnnxModel`: runs Wav2Lip-style weights exported to ONNX (the most common open
 * lip-sync weights) in the contract of its inference.py:
 *   face [B, 6, 96, 96]: the face box resized to 96 x 96 with its lower half zeroed, then a
 *     reference face (by default the same unmasked face, as inference.py does), BGR in [0, 1]
 *   mel  [B, 1, 80, 16]: the `wav2lip` MelFrontend preset window of the frame
 *   ->   [B, 3, 96, 96]: the generated face, resized back and pasted into the face box of the
 *        canonical crop (the renderer later keeps only the mouth region).
 * Wav2Lip looks at one frame at a time, so there are no buffer frames: frames are simply
 * batched `batchSize` at a time.
 */
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import type { Device } from '../runtime/devices.js';
import { loadOrt, type RuntimeEvent } from '../runtime/session.js';
import { mergeOptions } from '../util/options.js';
import { ProgressMeter } from '../util/progress.js';
import { is } from '../util/validate.js';
import { checkCrop, extractRegion, pasteRegion, pixelBox, readImage, rectMask, writeAudio, writeImage, type TensorImageFormat } from './image.js';
import {
  LIPSYNC_CARD_FORMAT,
  checkCardAgainstModel,
  parseModelCard,
  resolveModelCard,
  type LipsyncModelCard,
  type LipsyncModelCardInput,
  type SessionIo,
  type Wav2LipCard,
} from './model-card.js';
import { ModelSessions, checkModelSource } from './session.js';
import { FrameWindowReader } from './stream.js';
import type {
  CanonicalCrop,
  LipsyncAudioSpec,
  LipsyncGenerateOptions,
  LipsyncInput,
  LipsyncModel,
  LipsyncOutputFrame,
  LipsyncReferenceSpec,
} from './types.js';

/** The card of a standard Wav2Lip export (`face`/`mel` -> `output`, 96 x 96, BGR, [0, 1]). */
export const defaultWav2LipCard: Readonly<LipsyncModelCardInput> = Object.freeze({
  format: LIPSYNC_CARD_FORMAT,
  version: 1,
  contract: 'wav2lip',
  name: 'wav2lip',
  inputs: {
    face: { name: 'face', shape: ['B', 6, 96, 96] },
    mel: { name: 'mel', shape: ['B', 1, 80, 16] },
  },
  output: { name: 'output', shape: ['B', 3, 96, 96] },
  // inference.py reads frames with OpenCV (BGR) and divides by 255.
  image: { layout: 'channels-first', channelOrder: 'bgr', inputRange: [0, 1], outputRange: [0, 1] },
  audio: { preset: 'wav2lip', layout: 'bands-frames' },
});

export interface Wav2LipOnnxModelOptions {
  /** The ONNX model: a file path or its bytes. */
  model: string | Uint8Array;
  /**
   * Its model card (path or object). Without one, `defaultWav2LipCard` is used, with the
   * tensor names taken from the model when it has one 6-channel and one 1-channel input.
   */
  card?: string | LipsyncModelCardInput | LipsyncModelCard;
  /** @default 'auto' */
  device?: Device;
  /** Frames per run (a card with a fixed B overrides it). @default 16 */
  batchSize?: number;
  /**
   * The second half of the face input: `'frame'` is the frame's own unmasked face (Wav2Lip's
   * inference.py); `'references'` cycles through `input.references` (as its training samples
   * another frame of the same clip). @default 'frame'
   */
  reference?: 'frame' | 'references';
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. @default 0 */
  threads?: number;
  onEvent?: (event: RuntimeEvent) => void;
}

export const defaultWav2LipOnnxModelOptions: Required<Pick<Wav2LipOnnxModelOptions, 'device' | 'batchSize' | 'reference' | 'threads'>> = {
  device: 'auto',
  batchSize: 16,
  reference: 'frame',
  threads: 0,
};

/** Tensor names of a Wav2Lip export found from its shapes: one 6-channel input, one 1-channel, one output. */
function detectNames(io: SessionIo): { face: string; mel: string; output: string } | undefined {
  const meta = io.inputMetadata ?? [];
  const channels = (name: string): number | string | undefined => {
    const m = meta.find((x) => x.name === name);
    return m && m.isTensor && m.shape && m.shape.length === 4 ? m.shape[1] : undefined;
  };
  const face = io.inputNames.filter((n) => channels(n) === 6);
  const mel = io.inputNames.filter((n) => channels(n) === 1);
  if (io.inputNames.length !== 2 || face.length !== 1 || mel.length !== 1 || io.outputNames.length !== 1) return undefined;
  return { face: face[0]!, mel: mel[0]!, output: io.outputNames[0]! };
}

export class Wav2LipOnnxModel implements LipsyncModel {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'wav2lip-onnx';
  readonly name: string;
  readonly card: Wav2LipCard;
  readonly audio: LipsyncAudioSpec;
  readonly references: LipsyncReferenceSpec;
  readonly batchSize: number;
  readonly reference: 'frame' | 'references';
  readonly device: string;
  private readonly size: number;
  private readonly fixedBatch: boolean;
  private readonly sessions: ModelSessions;

  private constructor(card: Wav2LipCard, sessions: ModelSessions, batchSize: number, reference: 'frame' | 'references', device: string) {
    this.card = card;
    this.name = card.name;
    const f = card.inputs.face.shape;
    this.size = (card.image.layout === 'channels-first' ? f[2] : f[1]) as number;
    const fixedB = [f[0], card.inputs.mel.shape[0], card.output.shape[0]].find((d): d is number => typeof d === 'number');
    this.fixedBatch = fixedB !== undefined;
    this.batchSize = fixedB ?? batchSize;
    const mel = card.inputs.mel.shape;
    const [bands, frames] = (card.audio.layout === 'bands-frames' ? [mel[2], mel[3]] : [mel[3], mel[2]]) as [number, number];
    this.audio = { preset: card.audio.preset, melBands: bands, windowFrames: frames, silence: card.audio.silence };
    this.reference = reference;
    this.references = reference === 'references' ? { min: 1, preferred: 10 } : { min: 0, preferred: 0 };
    this.sessions = sessions;
    this.device = device;
  }

  static async create(options: Wav2LipOnnxModelOptions): Promise<Wav2LipOnnxModel> {
    if (typeof options !== 'object' || options === null) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected an options object { model } for Wav2LipOnnxModel.create');
    }
    checkModelSource(options.model);
    const o = mergeOptions(defaultWav2LipOnnxModelOptions, options);
    is.integer('batchSize', o.batchSize, 1, 4096);
    is.integer('threads', o.threads, 0, 1024);
    is.oneOf('reference', o.reference, ['frame', 'references'] as const);
    let card = options.card === undefined ? parseModelCard(defaultWav2LipCard) : await resolveModelCard(options.card);
    if (card.contract !== 'wav2lip') {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Model card "${card.name}" is for the ${card.contract} contract; use OnnxLipsyncModel`, {
        details: { option: 'card', contract: card.contract },
      });
    }
    const sessions = new ModelSessions(options.model, { device: o.device, threads: o.threads, onEvent: options.onEvent });
    const { session, device } = await sessions.get();
    if (options.card === undefined) {
      const found = detectNames(session);
      if (found) {
        card = {
          ...card,
          inputs: { face: { ...card.inputs.face, name: found.face }, mel: { ...card.inputs.mel, name: found.mel } },
          output: { ...card.output, name: found.output },
        };
      }
    }
    checkCardAgainstModel(card, session);
    return new Wav2LipOnnxModel(card, sessions, o.batchSize, o.reference, device);
  }

  generate(input: LipsyncInput, options: LipsyncGenerateOptions = {}): AsyncIterable<LipsyncOutputFrame> {
    return this.run(input, options);
  }

  private checkInput(input: LipsyncInput): void {
    if (typeof input !== 'object' || input === null) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected { frameCount, frames, references? } for input');
    }
    is.integer('input.frameCount', input.frameCount, 0);
    const refs = input.references ?? [];
    if (!Array.isArray(refs)) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected an array of crops for input.references but received ${String(refs)}`);
    }
    if (this.reference === 'references' && refs.length === 0) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, "Expected at least 1 reference crop for input.references (reference: 'references') but received 0", {
        details: { option: 'input.references' },
      });
    }
    refs.forEach((r, i) => checkCrop(`input.references[${i}]`, r));
  }

  private async *run(input: LipsyncInput, options: LipsyncGenerateOptions): AsyncGenerator<LipsyncOutputFrame> {
    this.checkInput(input);
    const { signal, onProgress } = options;
    throwIfAborted(signal);
    const N = input.frameCount;
    if (N === 0) return;
    const card = this.card;
    const { session } = await this.sessions.get(options.device);
    const ort = await loadOrt();
    const S = this.size;
    const plane = S * S;
    const { melBands: F, windowFrames: A } = this.audio;
    const fmt: TensorImageFormat = { size: S, layout: card.image.layout, channelOrder: card.image.channelOrder, range: card.image.inputRange };
    const outFmt: TensorImageFormat = { ...fmt, range: card.image.outputRange };
    const mask = rectMask(S, card.mask.rect);
    const refs = input.references ?? [];
    const refFaces = this.reference === 'references' ? refs.map((r) => extractRegion(r, pixelBox(r.width, card.faceRegion), S)) : [];
    const faceDims = card.image.layout === 'channels-first' ? [6, S, S] : [S, S, 6];
    const outDims = card.image.layout === 'channels-first' ? [3, S, S] : [S, S, 3];
    const melDims = card.audio.layout === 'bands-frames' ? [1, F, A] : [1, A, F];
    const reader = new FrameWindowReader(input, F * A, signal);
    const meter = new ProgressMeter('lipsync', N, onProgress);
    const B = this.batchSize;
    // Channels-last faces interleave 6 channels: build each half in a 3-channel scratch image.
    const half = card.image.layout === 'channels-last' ? new Float32Array(3 * plane) : undefined;
    try {
      for (let f0 = 0; f0 < N; f0 += B) {
        const count = Math.min(B, N - f0);
        const rows = this.fixedBatch ? B : count;
        await reader.fill(f0 + count);
        throwIfAborted(signal);
        const face = new Float32Array(rows * 6 * plane);
        const mel = new Float32Array(rows * F * A);
        const boxes = [];
        for (let b = 0; b < rows; b++) {
          const t = f0 + Math.min(b, count - 1);
          const frame = reader.get(t);
          const box = pixelBox(frame.crop.width, card.faceRegion);
          boxes.push(box);
          const own = extractRegion(frame.crop, box, S);
          const ref = this.reference === 'frame' ? own : refFaces[t % refFaces.length]!;
          this.writeFace(own.data, ref.data, fmt, mask, face, b * 6 * plane, half);
          writeAudio(frame.audio, F, A, card.audio.layout, card.audio.silence, mel, b * F * A);
        }
        const result = await session.run({
          [card.inputs.face.name]: new ort.Tensor('float32', face, [rows, ...faceDims]),
          [card.inputs.mel.name]: new ort.Tensor('float32', mel, [rows, ...melDims]),
        });
        throwIfAborted(signal);
        const out = result[card.output.name];
        const want = [rows, ...outDims];
        if (!out || out.type !== 'float32' || out.dims.length !== want.length || out.dims.some((d, i) => d !== want[i])) {
          throw new AvdubError(
            ErrorCode.MODEL_LOAD,
            `Model "${this.name}" returned ${out ? `${out.type} [${out.dims.join(', ')}]` : 'nothing'} for output "${card.output.name}"; its card says float32 [${want.join(', ')}]`,
            { details: { output: card.output.name } },
          );
        }
        const data = out.data as Float32Array;
        for (let b = 0; b < count; b++) {
          const t = f0 + b;
          const src = reader.get(t).crop;
          const crop: CanonicalCrop = { data: new Uint8Array(src.data), width: src.width, height: src.height };
          const patch = { data: readImage(data, b * 3 * plane, outFmt), width: S, height: S };
          pasteRegion(crop, patch, boxes[b]!);
          yield { index: t, crop };
          meter.tick(t + 1);
          throwIfAborted(signal);
        }
        reader.release(f0 + count);
      }
      await reader.finish();
    } finally {
      await reader.close();
    }
  }

  /** Face input of one frame: masked face in channels 0-2, reference in 3-5. */
  private writeFace(
    own: Uint8Array,
    ref: Uint8Array,
    fmt: TensorImageFormat,
    mask: Uint8Array,
    dst: Float32Array,
    offset: number,
    half: Float32Array | undefined,
  ): void {
    const plane = fmt.size * fmt.size;
    if (!half) {
      writeImage(own, fmt, dst, offset, mask, this.card.mask.fill);
      writeImage(ref, fmt, dst, offset + 3 * plane);
      return;
    }
    for (const [img, c0, m] of [[own, 0, mask], [ref, 3, undefined]] as const) {
      writeImage(img, fmt, half, 0, m, this.card.mask.fill);
      for (let p = 0; p < plane; p++) {
        dst[offset + p * 6 + c0] = half[p * 3]!;
        dst[offset + p * 6 + c0 + 1] = half[p * 3 + 1]!;
        dst[offset + p * 6 + c0 + 2] = half[p * 3 + 2]!;
      }
    }
  }
}

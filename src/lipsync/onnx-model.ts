/**
 * `OnnxLipsyncModel`: a user's neural lip-sync model in the contract of 001, run through
 * onnxruntime on any device:
 *   masked crops [B, T, 3, S, S] + mouth-only references [B, N, 3, S, S]
 *   + audio windows [B, T, 80, 24]  ->  crops [B, T, 3, S, S]
 * with names, value ranges, layout and sizes read from its model card. The track is cut into
 * chunks of at most M frames with buffer frames on each side (001 s3.2.1, s5; see
 * chunking.ts), `batchSize` chunks are stacked into one run, and only the chunks' own frames
 * come back: buffer outputs are discarded.
 */
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import type { Device } from '../runtime/devices.js';
import type { RuntimeEvent } from '../runtime/session.js';
import { loadOrt } from '../runtime/session.js';
import { mergeOptions } from '../util/options.js';
import { ProgressMeter } from '../util/progress.js';
import { is } from '../util/validate.js';
import { planChunks, windowSource, type LipsyncChunk } from './chunking.js';
import { checkCrop, readImage, rectMask, resizeSquare, writeAudio, writeImage, type TensorImageFormat } from './image.js';
import {
  card001Sizes,
  checkCardAgainstModel,
  resolveModelCard,
  type Card001Sizes,
  type Lipsync001Card,
  type LipsyncModelCard,
  type LipsyncModelCardInput,
} from './model-card.js';
import { ModelSessions, checkModelSource } from './session.js';
import { FrameWindowReader } from './stream.js';
import type {
  LipsyncAudioSpec,
  LipsyncGenerateOptions,
  LipsyncInput,
  LipsyncModel,
  LipsyncOutputFrame,
  LipsyncReferenceSpec,
} from './types.js';

export interface OnnxLipsyncModelOptions {
  /** The ONNX model: a file path or its bytes. */
  model: string | Uint8Array;
  /** Its model card: a JSON file path, or the card object. */
  card: string | LipsyncModelCardInput | LipsyncModelCard;
  /** @default 'auto' */
  device?: Device;
  /**
   * Chunks stacked into one run (the B axis). A card with a fixed B overrides it. Each chunk
   * is already M + 2 x buffer frames, so 1 keeps memory smallest; raise it on a GPU.
   * @default 1
   */
  batchSize?: number;
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose (one per physical core). @default 0 */
  threads?: number;
  onEvent?: (event: RuntimeEvent) => void;
}

export const defaultOnnxLipsyncModelOptions: Required<Omit<OnnxLipsyncModelOptions, 'model' | 'card' | 'onEvent'>> = {
  device: 'auto',
  batchSize: 1,
  threads: 0,
};

export class OnnxLipsyncModel implements LipsyncModel {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'onnx-001';
  readonly name: string;
  readonly card: Lipsync001Card;
  readonly audio: LipsyncAudioSpec;
  readonly references: LipsyncReferenceSpec;
  /** Chunks per run. */
  readonly batchSize: number;
  /** The card says the weights are random (the reference architecture). */
  readonly untrained: boolean;
  /** Where the default session runs. */
  readonly device: string;
  private readonly sizes: Card001Sizes;
  private readonly sessions: ModelSessions;

  private constructor(card: Lipsync001Card, sessions: ModelSessions, batchSize: number, device: string) {
    this.card = card;
    this.name = card.name;
    this.sizes = card001Sizes(card);
    this.audio = {
      preset: card.audio.preset,
      melBands: this.sizes.melBands,
      windowFrames: this.sizes.windowFrames,
      silence: card.audio.silence,
    };
    const n = this.sizes.references;
    this.references = n !== undefined ? { min: n, max: n, preferred: n } : { min: 1, preferred: 10 };
    this.batchSize = batchSize;
    this.untrained = card.untrained === true;
    this.sessions = sessions;
    this.device = device;
  }

  /**
   * Loads the card and the model, checks that they match (`E_MODEL_LOAD` otherwise) and
   * starts a session on the device.
   */
  static async create(options: OnnxLipsyncModelOptions): Promise<OnnxLipsyncModel> {
    if (typeof options !== 'object' || options === null) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected an options object { model, card } for OnnxLipsyncModel.create');
    }
    checkModelSource(options.model);
    const o = mergeOptions(defaultOnnxLipsyncModelOptions, options);
    is.integer('batchSize', o.batchSize, 1, 4096);
    is.integer('threads', o.threads, 0, 1024);
    const card = await resolveModelCard(options.card);
    if (card.contract !== '001') {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Model card "${card.name}" is for the ${card.contract} contract; use Wav2LipOnnxModel`, {
        details: { option: 'card', contract: card.contract },
      });
    }
    const sessions = new ModelSessions(options.model, { device: o.device, threads: o.threads, onEvent: options.onEvent });
    const { session, device } = await sessions.get();
    checkCardAgainstModel(card, session);
    const fixedBatch = card001Sizes(card).batch;
    return new OnnxLipsyncModel(card, sessions, fixedBatch ?? o.batchSize, device);
  }

  generate(input: LipsyncInput, options: LipsyncGenerateOptions = {}): AsyncIterable<LipsyncOutputFrame> {
    return this.run(input, options);
  }

  private checkInput(input: LipsyncInput): void {
    if (typeof input !== 'object' || input === null) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected { frameCount, frames, references } for input');
    }
    is.integer('input.frameCount', input.frameCount, 0);
    const refs = input.references;
    const { min, max } = this.references;
    if (!Array.isArray(refs) || refs.length < min || (max !== undefined && refs.length > max)) {
      const want = max === min ? `exactly ${min}` : `at least ${min}`;
      throw new AvdubError(
        ErrorCode.INVALID_ARGUMENT,
        `Expected ${want} reference crops for input.references (model "${this.name}") but received ${Array.isArray(refs) ? refs.length : String(refs)}`,
        { details: { option: 'input.references' } },
      );
    }
    refs.forEach((r, i) => checkCrop(`input.references[${i}]`, r));
  }

  private async *run(input: LipsyncInput, options: LipsyncGenerateOptions): AsyncGenerator<LipsyncOutputFrame> {
    this.checkInput(input);
    const { signal, onProgress } = options;
    throwIfAborted(signal);
    const card = this.card;
    const { imageSize: S, melBands: F, windowFrames: A } = this.sizes;
    const N = input.frameCount;
    const plan = planChunks({
      frameCount: N,
      maxFrames: card.chunk.maxFrames,
      bufferFrames: card.chunk.bufferFrames,
      windowLength: this.sizes.window,
    });
    if (N === 0) return;
    const { session } = await this.sessions.get(options.device);
    const ort = await loadOrt();
    const W = plan.windowLength;
    const B = this.batchSize;
    const fixedBatch = this.sizes.batch !== undefined;
    const imageLen = 3 * S * S;
    const audioLen = F * A;
    const inFmt: TensorImageFormat = { size: S, layout: card.image.layout, channelOrder: card.image.channelOrder, range: card.image.inputRange };
    const outFmt: TensorImageFormat = { ...inFmt, range: card.image.outputRange };
    const frameMask = rectMask(S, card.mask.rect);
    const refMask = card.referenceMask === 'mouth-only' ? rectMask(S, card.mask.rect, true) : undefined;

    // References: masked once, repeated for every chunk of a batch.
    const refs = input.references!;
    const refData = new Float32Array(refs.length * imageLen);
    refs.forEach((r, i) => writeImage(resizeSquare(r, S).data, inFmt, refData, i * imageLen, refMask, card.mask.fill));

    const imageDims = card.image.layout === 'channels-first' ? [3, S, S] : [S, S, 3];
    const audioDims = card.audio.layout === 'bands-frames' ? [F, A] : [A, F];
    const reader = new FrameWindowReader(input, audioLen, signal);
    const meter = new ProgressMeter('lipsync', N, onProgress);
    let done = 0;
    try {
      for (let c0 = 0; c0 < plan.chunks.length; c0 += B) {
        const batch = plan.chunks.slice(c0, c0 + B);
        const rows = fixedBatch ? B : batch.length;
        await reader.fill(Math.min(N, batch.at(-1)!.windowEnd));
        throwIfAborted(signal);
        const frames = new Float32Array(rows * W * imageLen);
        const audio = new Float32Array(rows * W * audioLen);
        const references = new Float32Array(rows * refData.length);
        for (let b = 0; b < rows; b++) {
          // A fixed-B model gets its last batch filled up with copies of the last chunk.
          const chunk = batch[Math.min(b, batch.length - 1)]!;
          this.writeChunk(chunk, N, reader, inFmt, frameMask, frames, audio, b * W, imageLen, audioLen);
          references.set(refData, b * refData.length);
        }
        const feeds = {
          [card.inputs.frames.name]: new ort.Tensor('float32', frames, [rows, W, ...imageDims]),
          [card.inputs.references.name]: new ort.Tensor('float32', references, [rows, refs.length, ...imageDims]),
          [card.inputs.audio.name]: new ort.Tensor('float32', audio, [rows, W, ...audioDims]),
        };
        const result = await session.run(feeds);
        throwIfAborted(signal);
        const out = result[card.output.name];
        const want = [rows, W, ...imageDims];
        if (!out || out.type !== 'float32' || out.dims.length !== want.length || out.dims.some((d, i) => d !== want[i])) {
          throw new AvdubError(
            ErrorCode.MODEL_LOAD,
            `Model "${this.name}" returned ${out ? `${out.type} [${out.dims.join(', ')}]` : 'nothing'} for output "${card.output.name}"; its card says float32 [${want.join(', ')}]`,
            { details: { output: card.output.name } },
          );
        }
        const data = out.data as Float32Array;
        for (let b = 0; b < batch.length; b++) {
          const chunk = batch[b]!;
          for (let t = chunk.start; t < chunk.end; t++) {
            const pos = chunk.outputOffset + (t - chunk.start);
            const size = reader.get(t).crop.width;
            const crop = { data: readImage(data, (b * W + pos) * imageLen, outFmt), width: S, height: S };
            yield { index: t, crop: resizeSquare(crop, size) };
            meter.tick(++done);
            throwIfAborted(signal);
          }
        }
        const next = plan.chunks[c0 + B];
        reader.release(next ? Math.max(0, next.windowStart) : N);
      }
      await reader.finish();
    } finally {
      await reader.close();
    }
  }

  private writeChunk(
    chunk: LipsyncChunk,
    N: number,
    reader: FrameWindowReader,
    fmt: TensorImageFormat,
    mask: Uint8Array,
    frames: Float32Array,
    audio: Float32Array,
    row: number,
    imageLen: number,
    audioLen: number,
  ): void {
    const W = chunk.windowEnd - chunk.windowStart;
    for (let j = 0; j < W; j++) {
      const src = windowSource(chunk, j, N);
      const f = reader.get(src.frame);
      writeImage(resizeSquare(f.crop, fmt.size).data, fmt, frames, (row + j) * imageLen, mask, this.card.mask.fill);
      writeAudio(src.silent ? undefined : f.audio, this.sizes.melBands, this.sizes.windowFrames, this.card.audio.layout, this.card.audio.silence, audio, (row + j) * audioLen);
    }
  }
}

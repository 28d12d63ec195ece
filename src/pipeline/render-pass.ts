/**
 * Pass 2, the render pass: one decode of the video, the lip-sync model run on the main track's
 * runs, the generated crops pasted back with the Renderer, and the frames encoded, all
 * streamed.
 *
 * Three tasks share one event loop:
 * - the decoder copies each frame into a pooled buffer and appends it to a FIFO; for a frame of
 *   a run it also canonicalizes the face (smoothed landmarks) and queues `{ crop, audio window
 *   of the new audio, pose, voiced }` as the model's input;
 * - one generator task per run pulls the model's output crops and attaches each to its frame;
 * - the writer takes the FIFO's head when it is ready (a pass-through frame, or a frame whose
 *   crop has arrived), renders it and hands it to the encoder.
 *
 * A model's output lags its input (the personalized model decides a frame ~25 frames later;
 * an ONNX model works a chunk at a time), so the FIFO holds that many decoded frames. It is
 * capped at `maxBufferedFrames`; past the cap the decoder waits, unless the model is waiting
 * for input itself, in which case the FIFO grows (a model whose lag exceeds the cap would
 * otherwise deadlock). Memory is therefore max(cap, model lag) frames, never the video.
 */
import { FaceCanonicalizer, type CanonicalTransform } from '../canonical/canonicalizer.js';
import { AvdubError, ErrorCode, abortError, throwIfAborted } from '../errors.js';
import type { RgbImage } from '../face/image.js';
import type { FfmpegOptions } from '../media/binaries.js';
import { readYuvFrames } from '../media/frames.js';
import type { MediaInfo } from '../media/probe.js';
import { VideoWriter, type X264Preset } from '../media/writer.js';
import { yuvMatrixFor, type YuvImage } from '../media/yuv.js';
import { mouthAnchor } from '../lipsync/personalized/features.js';
import type { LipsyncInputFrame, LipsyncModel, LipsyncOutputFrame, LipsyncPatchInputFrame } from '../lipsync/types.js';
import { featheredPolygonMask, type MaskScratch } from '../render/mask.js';
import { Renderer, type RenderBox } from '../render/renderer.js';
import { ProgressMeter, type ProgressCallback } from '../util/progress.js';
import type { MainFace } from './analysis.js';
import type { RenderRun } from './plan.js';
import { AsyncQueue, Notifier } from './queue.js';
import { overlayPass, overlayUnavailable } from './overlay-pass.js';
import { is } from '../util/validate.js';

/** Why a frame looks the way it does in the output. */
export type FrameOutcome = 'rendered' | 'cross-faded' | 'no-face' | 'other-face' | 'short-run';

/** What `onFrame` sees for each output frame, before it is encoded. */
export interface OutputFrameInfo {
  index: number;
  timestamp: number;
  outcome: FrameOutcome;
  /** Mask opacity used (1 inside a run, less at its edges, 0 when passed through). */
  opacity: number;
  /** The frame rectangle the renderer touched; every pixel outside it is the input's. */
  box: RenderBox | null;
}

/**
 * Called with each output frame just before it is encoded, as the encoder gets it: I420
 * (`YuvImage`; `yuvToRgb` with `yuvMatrixFor(info.video)` converts it). The buffer is reused
 * afterwards: copy what you keep. Meant for previews and tests.
 */
export type OutputFrameHook = (frame: YuvImage & { index: number; timestamp: number }, info: OutputFrameInfo) => void;

export interface RenderPassOptions extends FfmpegOptions {
  video: string;
  info: MediaInfo;
  output: string;
  /** Audio track muxed into the output (padded/trimmed to the video by the muxer). */
  audioFrom?: string;
  /** Its probe, when the caller has one (`VideoWriterOptions.audioFromInfo`). */
  audioFromInfo?: MediaInfo;
  main: readonly MainFace[];
  runs: readonly RenderRun[];
  /** Per frame index: a face of another track is there (for the report). */
  otherFaceAt: (index: number) => boolean;
  model: LipsyncModel;
  references?: readonly RgbImage[];
  audioStats?: { mean: Float32Array; std: Float32Array };
  /** The model's audio window for a time on the video's timeline (seconds from its start). */
  audioWindow: (t: number) => Float32Array;
  voiced: (t: number) => boolean;
  crf: number;
  preset: X264Preset;
  featherSigma: number;
  colorTransfer: boolean;
  maxBufferedFrames: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  onFrame?: OutputFrameHook;
  /**
   * Every frame's timestamp from the analysis pass (`VideoAnalysis.timestamps`): lets ffmpeg
   * composite (`compositor`) without Node decoding the video.
   */
  timestamps?: Float64Array;
  /**
   * Who blends the generated mouths into the frames. `'ffmpeg'`: one ffmpeg decodes, overlays
   * Node's small per-frame patches and encodes (overlay-pass.ts); needs a patch model
   * (`LipsyncModel.patchAlpha`), `timestamps`, no colour transfer and no `onFrame`. `'node'`:
   * Node decodes, renders into each frame and pipes it to the encoder. `'auto'`: ffmpeg where
   * it can, else Node.
   * @default 'auto'
   */
  compositor?: 'auto' | 'ffmpeg' | 'node';
}

export interface RenderPassStats {
  /** Who composited (see `RenderPassOptions.compositor`). */
  compositor: 'ffmpeg' | 'node';
  frames: number;
  rendered: number;
  crossFaded: number;
  passedThrough: { total: number; noFace: number; otherFace: number; shortRun: number };
  /** Most decoded frames held at once (model lag + writer slack; 0 when ffmpeg composites: Node holds no frames). */
  peakBufferedFrames: number;
  /** Seconds spent in the model's generate (JS thread time, approximate), canonicalize, render, encode writes. */
  seconds: { total: number; canonicalize: number; mask: number; render: number; encodeWait: number };
  output: string;
}

interface Entry {
  index: number;
  timestamp: number;
  data: Uint8Array;
  ready: boolean;
  run?: RenderRun;
  opacity: number;
  transform?: CanonicalTransform;
  canonical?: Float32Array;
  crop?: RgbImage;
}

interface ActiveRun {
  run: RenderRun;
  queue: AsyncQueue<LipsyncInputFrame | LipsyncPatchInputFrame>;
  task: Promise<void>;
}

export async function renderPass(o: RenderPassOptions): Promise<RenderPassStats> {
  const mode = o.compositor ?? 'auto';
  is.oneOf('compositor', mode, ['auto', 'ffmpeg', 'node'] as const);
  if (mode === 'ffmpeg' || (mode === 'auto' && overlayUnavailable(o) === undefined)) return overlayPass(o);
  return nodePass(o);
}

/** Fresh pass statistics. */
export function newRenderStats(compositor: 'ffmpeg' | 'node'): RenderPassStats {
  return {
    compositor,
    frames: 0,
    rendered: 0,
    crossFaded: 0,
    passedThrough: { total: 0, noFace: 0, otherFace: 0, shortRun: 0 },
    peakBufferedFrames: 0,
    seconds: { total: 0, canonicalize: 0, mask: 0, render: 0, encodeWait: 0 },
    output: '',
  };
}

/** Why a frame that is not rendered passes through. */
export function outcomeOf(index: number, main: Map<number, MainFace>, otherFaceAt: (index: number) => boolean): Exclude<FrameOutcome, 'rendered' | 'cross-faded'> {
  return main.has(index) ? 'short-run' : otherFaceAt(index) ? 'other-face' : 'no-face';
}

/** Counts a frame's outcome in the statistics. */
export function countOutcome(stats: RenderPassStats, outcome: FrameOutcome): void {
  if (outcome === 'rendered') stats.rendered++;
  else if (outcome === 'cross-faded') stats.crossFaded++;
  else {
    stats.passedThrough.total++;
    if (outcome === 'short-run') stats.passedThrough.shortRun++;
    else if (outcome === 'other-face') stats.passedThrough.otherFace++;
    else stats.passedThrough.noFace++;
  }
}

/**
 * A patch model's `patchAlpha` (checked to be crop-sized, else `E_MODEL_LOAD`), or undefined for
 * a model that generates whole crops.
 */
export function patchAlphaOf(model: LipsyncModel, size: number): Float32Array | undefined {
  const a = model.patchAlpha && model.generatePatches ? model.patchAlpha : undefined;
  if (a && a.length !== size * size) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Lip-sync model "${model.name}" declares a patchAlpha of ${a.length} values; expected ${size * size}`);
  }
  return a;
}

/** A model's output frame is the next one of its run and crop-sized, else `E_MODEL_LOAD`. */
export function checkModelOutput(model: LipsyncModel, out: LipsyncOutputFrame, expected: number, size: number): void {
  if (out.index !== expected) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Lip-sync model "${model.name}" returned frame ${out.index} where ${expected} was expected`);
  }
  if (out.crop.width !== size || out.crop.height !== size || out.crop.data.length !== size * size * 3) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Lip-sync model "${model.name}" returned a ${out.crop.width}x${out.crop.height} crop; expected ${size}x${size}`);
  }
}

async function nodePass(o: RenderPassOptions): Promise<RenderPassStats> {
  const t0 = performance.now();
  const userSignal = o.signal;
  throwIfAborted(userSignal);
  const video = o.info.video!;
  const width = video.displayWidth;
  const height = video.displayHeight;
  const frameBytes = (width * height * 3) / 2;
  const matrix = yuvMatrixFor(video);
  const ac = new AbortController();
  const onUserAbort = (): void => ac.abort(userSignal?.reason);
  const signal = ac.signal;

  const byIndex = new Map<number, MainFace>();
  for (const f of o.main) byIndex.set(f.index, f);
  const canon = new FaceCanonicalizer();
  const renderer = new Renderer({ colorTransfer: o.colorTransfer });
  const size = canon.size;
  const maskBuf = new Float32Array(size * size);
  const maskScratch: MaskScratch = {};
  // A patch model (the personalized default) never reads the input crop and changes only the
  // pixels under its patchAlpha: frames are then not cropped at all, and the render mask is
  // multiplied by patchAlpha, so the frame keeps its own pixels outside the patch (instead of the
  // crop's resampled copy of them).
  const patchAlpha = patchAlphaOf(o.model, size);
  const notifier = new Notifier();
  const fifo: Entry[] = [];
  let fifoHead = 0; // fifo[fifoHead] is the next frame to write
  const pool: Uint8Array[] = [];
  // Node keeps a reference to a chunk written to a pipe until it is flushed; chunks over the
  // stream's high-water mark (16 KiB) are flushed before `write` resolves (VideoWriter waits
  // for 'drain'), so only buffers at least that large are recycled.
  const recycle = frameBytes >= 65536;
  const stats = newRenderStats('node');
  let failure: unknown;
  let decodeDone = false;
  const active: ActiveRun[] = [];
  const fail = (e: unknown): void => {
    if (failure === undefined) failure = e ?? new Error('render pass failed');
    if (!signal.aborted) ac.abort(failure);
    for (const r of active) r.queue.fail(failure);
    notifier.notify();
  };
  signal.addEventListener('abort', () => fail(abortError(userSignal?.aborted ? userSignal : signal)), { once: true });

  const writer = await VideoWriter.open(o.output, {
    width,
    height,
    fps: video.nominalFrameRate,
    variableFrameRate: video.variableFrameRate,
    crf: o.crf,
    preset: o.preset,
    inputPixelFormat: 'yuv420p',
    color: video.color,
    audioFrom: o.audioFrom,
    audioFromInfo: o.audioFromInfo,
    signal,
    ffmpegPath: o.ffmpegPath,
    ffprobePath: o.ffprobePath,
  });
  userSignal?.addEventListener('abort', onUserAbort, { once: true });
  if (userSignal?.aborted) onUserAbort();
  const meter = new ProgressMeter('render', video.frameCount, o.onProgress);
  const startTime = video.startTime ?? 0;
  let runIdx = 0;
  const runs = o.runs;

  // The model waits for input that the decoder holds back: let the FIFO grow past the cap
  // (only while the writer is stuck on a frame the model has not produced yet).
  const starving = (): boolean => active.some((r) => r.queue.starving);
  const buffered = (): number => fifo.length - fifoHead;

  const startRun = (run: RenderRun): ActiveRun => {
    const queue = new AsyncQueue<LipsyncInputFrame | LipsyncPatchInputFrame>();
    queue.onStarve = () => notifier.notify();
    const ar: ActiveRun = { run, queue, task: Promise.resolve() };
    ar.task = (async () => {
      const input = { frameCount: run.end - run.start + 1, references: o.references, audioStats: o.audioStats };
      const it: AsyncIterable<LipsyncOutputFrame> = patchAlpha
        ? o.model.generatePatches!({ ...input, frames: queue }, { signal })
        : o.model.generate({ ...input, frames: queue as AsyncQueue<LipsyncInputFrame> }, { signal });
      let expected = 0;
      for await (const out of it) {
        checkModelOutput(o.model, out, expected++, size);
        const idx = run.start + out.index;
        const e = fifo[idx - fifo[fifoHead]!.index + fifoHead];
        if (!e || e.index !== idx) throw new Error(`render pass: frame ${idx} is not buffered`);
        e.crop = out.crop;
        e.ready = true;
        notifier.notify();
      }
      if (expected !== run.end - run.start + 1) {
        throw new AvdubError(ErrorCode.MODEL_LOAD, `Lip-sync model "${o.model.name}" returned ${expected} frames for a run of ${run.end - run.start + 1}`);
      }
    })();
    active.push(ar);
    // A finished run leaves `active` (a long video has hundreds of runs).
    ar.task.then(
      () => active.splice(active.indexOf(ar), 1),
      (e) => fail(e),
    );
    return ar;
  };

  const decodeTask = (async () => {
    let current: ActiveRun | undefined;
    // The decoder fills buffers from `pool` and hands them over: the FIFO keeps them without a
    // copy, and the writer returns them once encoded.
    const frames = readYuvFrames(o.video, { info: o.info, bufferPool: recycle ? pool : undefined, signal, ffmpegPath: o.ffmpegPath, ffprobePath: o.ffprobePath });
    for await (const frame of frames) {
      while (buffered() >= o.maxBufferedFrames && !(starving() && !fifo[fifoHead]!.ready) && failure === undefined) await notifier.wait();
      if (failure !== undefined) throw failure;
      const entry: Entry = { index: frame.index, timestamp: frame.timestamp, data: frame.data, ready: true, opacity: 0 };
      while (runIdx < runs.length && runs[runIdx]!.end < frame.index) runIdx++;
      const run = runs[runIdx];
      if (run && frame.index >= run.start && frame.index <= run.end) {
        const face = byIndex.get(frame.index);
        if (!face) throw new Error(`render pass: no main-track face at frame ${frame.index}`);
        if (frame.index === run.start) current = startRun(run);
        const k = frame.index - run.start;
        const tc = performance.now();
        const landmarks = face.landmarks;
        const transform = canon.transform(landmarks);
        const crop = patchAlpha ? undefined : canon.cropYuv(frame, transform, matrix);
        entry.transform = transform;
        entry.canonical = canon.toCanonical(landmarks, transform);
        stats.seconds.canonicalize += (performance.now() - tc) / 1000;
        entry.run = run;
        entry.opacity = run.opacity[k]!;
        entry.ready = false;
        const t = frame.timestamp - startTime;
        fifo.push(entry);
        const input: LipsyncPatchInputFrame = { audio: o.audioWindow(t), pose: face.pose, voiced: o.voiced(t), anchor: mouthAnchor(entry.canonical) };
        current!.queue.push(crop ? { ...input, crop } : input);
        if (frame.index === run.end) current!.queue.close();
      } else {
        fifo.push(entry);
      }
      stats.peakBufferedFrames = Math.max(stats.peakBufferedFrames, buffered());
      notifier.notify();
    }
    for (const r of active) {
      if (!r.queue.isClosed) {
        r.queue.fail(new AvdubError(ErrorCode.CORRUPT_MEDIA, `The video ended before frame ${r.run.end} of the face track (the decode gave fewer frames than the analysis pass)`));
      }
    }
  })()
    .catch(fail)
    .finally(() => {
      decodeDone = true;
      notifier.notify();
    });

  const writeTask = (async () => {
    for (;;) {
      while (failure === undefined && !(buffered() > 0 && fifo[fifoHead]!.ready) && !(decodeDone && buffered() === 0)) await notifier.wait();
      if (failure !== undefined) return;
      if (buffered() === 0) {
        // The decoder finished: any frame still waiting for a model never gets its crop.
        if (fifo.length > fifoHead) throw new Error('render pass: frames left unrendered');
        return;
      }
      const e = fifo[fifoHead]!;
      fifo[fifoHead] = undefined as unknown as Entry;
      fifoHead++;
      if (fifoHead > 256) {
        fifo.splice(0, fifoHead);
        fifoHead = 0;
      }
      notifier.notify();
      const img: YuvImage = { data: e.data, width, height };
      let box: RenderBox | null = null;
      let outcome: FrameOutcome;
      if (e.crop && e.transform && e.canonical) {
        let tm = performance.now();
        const mask = renderMask(canon.renderPolygon(e.canonical), size, o.featherSigma, maskBuf, patchAlpha, maskScratch);
        stats.seconds.mask += (performance.now() - tm) / 1000;
        tm = performance.now();
        box = renderer.renderYuv(img, e.crop, e.transform.toFrame, mask, e.opacity, matrix);
        stats.seconds.render += (performance.now() - tm) / 1000;
        outcome = e.opacity < 1 ? 'cross-faded' : 'rendered';
      } else {
        outcome = outcomeOf(e.index, byIndex, o.otherFaceAt);
      }
      countOutcome(stats, outcome);
      o.onFrame?.({ data: e.data, width, height, index: e.index, timestamp: e.timestamp }, { index: e.index, timestamp: e.timestamp, outcome, opacity: box ? e.opacity : 0, box });
      const tw = performance.now();
      await writer.write(e.data, e.timestamp);
      stats.seconds.encodeWait += (performance.now() - tw) / 1000;
      if (recycle) pool.push(e.data);
      stats.frames++;
      meter.tick(stats.frames);
    }
  })().catch(fail);

  await Promise.all([decodeTask, writeTask]);
  await Promise.allSettled([...active].map((r) => r.task));
  userSignal?.removeEventListener('abort', onUserAbort);
  if (failure !== undefined) {
    await writer.abort();
    if (userSignal?.aborted) throw abortError(userSignal);
    throw failure;
  }
  try {
    stats.output = await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  stats.seconds.total = (performance.now() - t0) / 1000;
  return stats;
}

/**
 * Where `renderMask` of a polygon can be non-zero: the polygon's bounding box grown by the
 * blur's reach, cut to the crop ([x0, x1) x [y0, y1), crop pixels; empty when x1 <= x0 or y1 <= y0).
 */
export function maskSupportRect(polygon: ArrayLike<number>, size: number, sigma: number): { x0: number; y0: number; x1: number; y1: number } {
  const reach = Math.ceil(3 * sigma) + 2;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < polygon.length; i += 2) {
    x0 = Math.min(x0, polygon[i]!);
    x1 = Math.max(x1, polygon[i]!);
    y0 = Math.min(y0, polygon[i + 1]!);
    y1 = Math.max(y1, polygon[i + 1]!);
  }
  return {
    x0: Math.max(0, Math.floor(x0) - reach),
    y0: Math.max(0, Math.floor(y0) - reach),
    x1: Math.min(size, Math.ceil(x1) + reach + 1),
    y1: Math.min(size, Math.ceil(y1) + reach + 1),
  };
}

/**
 * `featheredPolygonMask` over the polygon's bounding box (plus the blur's reach) only, pasted
 * into a full crop-size mask: the same values as the full-size call (outside the box the
 * rasterized polygon and its blur are exactly 0), at a fraction of the cost. `weights` (a patch
 * model's `patchAlpha`, crop-sized) multiply it.
 */
export function renderMask(polygon: Float32Array, size: number, sigma: number, out?: Float32Array, weights?: Float32Array, scratch?: MaskScratch): Float32Array {
  const mask = out ?? new Float32Array(size * size);
  mask.fill(0);
  const { x0: bx, y0: by, x1: ex, y1: ey } = maskSupportRect(polygon, size, sigma);
  if (!(ex > bx && ey > by)) return mask;
  const w = ex - bx;
  const h = ey - by;
  const shifted = new Float32Array(polygon.length);
  for (let i = 0; i < polygon.length; i += 2) {
    shifted[i] = polygon[i]! - bx;
    shifted[i + 1] = polygon[i + 1]! - by;
  }
  const sub = featheredPolygonMask(shifted, w, h, sigma, scratch);
  // The box is cut at the crop's edges exactly where the full-size blur is cut too, so the
  // values match; inside the crop nothing beyond `reach` of the polygon is non-zero.
  for (let y = 0; y < h; y++) mask.set(sub.subarray(y * w, (y + 1) * w), (by + y) * size + bx);
  // A patch model's patchAlpha: only inside the box can the product be non-zero.
  if (weights) for (let y = by; y < ey; y++) for (let x = bx, i = y * size + bx; x < ex; x++, i++) mask[i]! *= weights[i]!;
  return mask;
}

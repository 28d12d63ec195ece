/**
 * Pass 2 with ffmpeg as the compositor: for a patch model (`LipsyncModel.patchAlpha`, the
 * personalized default), Node never sees the video's frames. One ffmpeg process decodes the
 * source, blends a small yuva420p patch into each frame with its overlay filter and encodes,
 * as a plain decode + encode would; Node sends one patch per frame, the mouth rendered into a
 * fixed-size canvas (the largest render box of the video), with the analysis pass's timestamps.
 *
 * Why: in the Node compositor every 1080p frame crosses the kernel twice (decoder -> Node ->
 * encoder, ~3 MB each way) and a second process decodes, all while x264 wants both cores. Here
 * the frames stay inside one ffmpeg, and only ~0.1-0.4 MB a frame crosses.
 *
 * Exactness: a frame's patch carries (just under) the frame's own timestamp, so the overlay's
 * frame sync pairs them; its position comes from x/y expressions of the frame's time, built here
 * from the render boxes (each box is known before rendering: it is the render polygon's
 * bounding box, plus the feather's reach, cut to the model's patch, mapped to the frame). Alpha
 * 0 leaves a pixel exactly as decoded (ffmpeg's blend is d * 255 / 255 there), so frames and
 * pixels outside the boxes are the decoder's, as in the Node compositor. Inside, the blend
 * differs from the Node compositor's by rounding only (alpha in 1/255 steps).
 */
import { FaceCanonicalizer } from '../canonical/canonicalizer.js';
import { AvdubError, ErrorCode, abortError, throwIfAborted } from '../errors.js';
import { yuvSourceFilters } from '../media/frames.js';
import { VideoWriter } from '../media/writer.js';
import { yuvMatrixFor } from '../media/yuv.js';
import { mouthAnchor } from '../lipsync/personalized/features.js';
import type { LipsyncOutputFrame, LipsyncPatchInputFrame } from '../lipsync/types.js';
import { frameBoxOfCropRect, Renderer, type RenderBox } from '../render/renderer.js';
import { ProgressMeter } from '../util/progress.js';
import type { MaskScratch } from '../render/mask.js';
import { Notifier } from './queue.js';
import type { MainFace } from './analysis.js';
import type { RenderRun } from './plan.js';
import { checkModelOutput, countOutcome, maskSupportRect, newRenderStats, outcomeOf, patchAlphaOf, renderMask, type RenderPassOptions, type RenderPassStats } from './render-pass.js';

/** Why the ffmpeg compositor cannot render a pass (undefined: it can). */
export function overlayUnavailable(o: RenderPassOptions): string | undefined {
  const m = o.model;
  if (!m.patchAlpha || !m.generatePatches) return `the model "${m.name}" generates whole crops (no patchAlpha)`;
  if (o.colorTransfer) return 'colour transfer needs the decoded frames in Node';
  if (o.onFrame) return 'an onFrame hook needs the output frames in Node';
  const ts = o.timestamps;
  if (!ts || ts.length === 0) return 'the analysis has no frame timestamps';
  // Matroska timecodes are unsigned: a frame before time 0 could not carry its own patch time.
  if (!(ts[0]! >= 0)) return `the video starts at a negative timestamp (${ts[0]} s)`;
  for (let i = 1; i < ts.length; i++) {
    // Patches are timed 1 microsecond under their frame (Matroska's microsecond timecodes).
    if (!(ts[i]! - ts[i - 1]! >= 4e-6)) return `frame timestamps ${ts[i - 1]} and ${ts[i]} are too close to pair patches with`;
  }
  return undefined;
}

/** Where each run frame's patch goes: boxes per frame of the runs, and the canvas that holds any of them. */
interface Layout {
  boxes: Map<number, RenderBox>;
  width: number;
  height: number;
}

export async function overlayPass(o: RenderPassOptions): Promise<RenderPassStats> {
  const t0 = performance.now();
  const userSignal = o.signal;
  throwIfAborted(userSignal);
  const why = overlayUnavailable(o);
  if (why) throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `The ffmpeg compositor cannot render this pass: ${why}`);
  const video = o.info.video!;
  const W = video.displayWidth;
  const H = video.displayHeight;
  const timestamps = o.timestamps!;
  const N = timestamps.length;
  const matrix = yuvMatrixFor(video);
  const canon = new FaceCanonicalizer();
  const size = canon.size;
  const patchAlpha = patchAlphaOf(o.model, size)!; // present: overlayUnavailable checked
  const byIndex = new Map<number, MainFace>();
  for (const f of o.main) byIndex.set(f.index, f);
  const stats = newRenderStats('ffmpeg');

  // 1. Every run frame's box, before anything renders (the positions go into the filter graph).
  let tc = performance.now();
  const layout = planLayout(o.runs, byIndex, canon, patchAlpha, o.featherSigma, W, H, N);
  stats.seconds.canonicalize += (performance.now() - tc) / 1000;
  const { x, y } = positionExpressions(layout, timestamps);

  const ac = new AbortController();
  const onUserAbort = (): void => ac.abort(userSignal?.reason);
  userSignal?.addEventListener('abort', onUserAbort, { once: true });
  if (userSignal?.aborted) onUserAbort();
  const signal = ac.signal;
  const writer = await VideoWriter.open(o.output, {
    width: layout.width,
    height: layout.height,
    fps: video.nominalFrameRate,
    variableFrameRate: video.variableFrameRate,
    crf: o.crf,
    preset: o.preset,
    inputPixelFormat: 'yuva420p',
    overlay: { source: o.video, streamIndex: video.index, x, y, sourceFilters: yuvSourceFilters(video), expectedFrames: N },
    color: video.color,
    audioFrom: o.audioFrom,
    audioFromInfo: o.audioFromInfo,
    signal,
    ffmpegPath: o.ffmpegPath,
    ffprobePath: o.ffprobePath,
  });
  const meter = new ProgressMeter('render', N, o.onProgress);
  const renderer = new Renderer({ colorTransfer: false, cacheCrops: true });
  const canvasBytes = (layout.width * layout.height * 5) / 2;
  // One transparent canvas for every untouched frame (never written to); rendered ones come from
  // a pool of AHEAD + 1, reused when large enough (see the Node compositor on why 64 KiB).
  const clear = new Uint8Array(canvasBytes);
  const pool: Uint8Array[] = [];
  const recycle = canvasBytes >= 65536;
  // Patches are rendered up to AHEAD frames before the encoder takes them: a patch is several
  // times the pipe's 64 KiB, so writing each before rendering the next would make Node and
  // ffmpeg take turns instead of working at once.
  const AHEAD = 8;
  const notifier = new Notifier();
  let chain: Promise<void> = Promise.resolve();
  let queued = 0;
  let failure: unknown;
  const maskBuf = new Float32Array(size * size);
  const maskScratch: MaskScratch = {};
  const startTime = video.startTime ?? 0;
  // Patch i goes 1 us under frame i (Matroska keeps microseconds), so the overlay pairs them.
  const patchTime = (i: number): number => (Math.floor(timestamps[i]! * 1e6) - 1) / 1e6;
  let next = 0; // next frame index to write

  const write = async (data: Uint8Array, index: number): Promise<void> => {
    const tw = performance.now();
    await writer.write(data, patchTime(index));
    stats.seconds.encodeWait += (performance.now() - tw) / 1000;
    stats.frames++;
    meter.tick(stats.frames);
  };
  /** Queues a patch for the encoder; waits only while AHEAD are queued. `release` runs once it is written. */
  const enqueue = async (data: Uint8Array, index: number, release?: () => void): Promise<void> => {
    while (queued >= AHEAD && failure === undefined) await notifier.wait();
    if (failure !== undefined) throw failure;
    queued++;
    chain = chain.then(async () => {
      try {
        if (failure === undefined) await write(data, index);
      } catch (e) {
        failure ??= e;
      }
      queued--;
      release?.();
      notifier.notify();
    });
  };
  const passThrough = async (until: number): Promise<void> => {
    for (; next < until; next++) {
      throwIfAborted(signal);
      countOutcome(stats, outcomeOf(next, byIndex, o.otherFaceAt));
      await enqueue(clear, next);
    }
  };

  try {
    for (const run of o.runs) {
      if (run.start >= N) break;
      await passThrough(run.start);
      const frames = function* (): Generator<LipsyncPatchInputFrame> {
        for (let i = run.start; i <= run.end; i++) {
          const face = byIndex.get(i);
          if (!face) throw new Error(`render pass: no main-track face at frame ${i}`);
          const transform = canon.transform(face.landmarks);
          const t = timestamps[i]! - startTime;
          yield { audio: o.audioWindow(t), pose: face.pose, voiced: o.voiced(t), anchor: mouthAnchor(canon.toCanonical(face.landmarks, transform)) };
        }
      };
      const frameCount = run.end - run.start + 1;
      let expected = 0;
      const it: AsyncIterable<LipsyncOutputFrame> = o.model.generatePatches!({ frameCount, frames: frames(), references: o.references, audioStats: o.audioStats }, { signal });
      for await (const out of it) {
        checkModelOutput(o.model, out, expected++, size);
        const i = run.start + out.index;
        if (i >= N) continue; // the analysis saw fewer frames than the run claims: nothing to pair with
        throwIfAborted(signal);
        tc = performance.now();
        const face = byIndex.get(i)!;
        const transform = canon.transform(face.landmarks);
        const canonical = canon.toCanonical(face.landmarks, transform);
        stats.seconds.canonicalize += (performance.now() - tc) / 1000;
        let tm = performance.now();
        const mask = renderMask(canon.renderPolygon(canonical), size, o.featherSigma, maskBuf, patchAlpha, maskScratch);
        stats.seconds.mask += (performance.now() - tm) / 1000;
        tm = performance.now();
        const opacity = run.opacity[out.index]!;
        const box = layout.boxes.get(i);
        const canvas = (recycle ? pool.pop() : undefined) ?? new Uint8Array(canvasBytes);
        const visible = box ? renderer.renderYuvaPatch(canvas, layout.width, layout.height, box, out.crop, transform.toFrame, mask, opacity, matrix) : false;
        stats.seconds.render += (performance.now() - tm) / 1000;
        // Counted by run membership, as the Node compositor does (a frame whose mask shows nothing is still a run frame).
        countOutcome(stats, opacity < 1 ? 'cross-faded' : 'rendered');
        await enqueue(visible ? canvas : clear, i, recycle ? () => pool.push(canvas) : undefined);
        next = i + 1;
      }
      if (expected !== frameCount) {
        throw new AvdubError(ErrorCode.MODEL_LOAD, `Lip-sync model "${o.model.name}" returned ${expected} frames for a run of ${frameCount}`);
      }
    }
    await passThrough(N);
    await chain;
    if (failure !== undefined) throw failure;
  } catch (e) {
    await writer.abort();
    await chain; // its pending write fails at once: the encoder is gone
    userSignal?.removeEventListener('abort', onUserAbort);
    if (userSignal?.aborted) throw abortError(userSignal);
    throw e;
  }
  userSignal?.removeEventListener('abort', onUserAbort);
  try {
    stats.output = await writer.close();
  } catch (e) {
    await writer.abort();
    if (userSignal?.aborted) throw abortError(userSignal);
    throw e;
  }
  stats.seconds.total = (performance.now() - t0) / 1000;
  return stats;
}

function planLayout(
  runs: readonly RenderRun[],
  byIndex: Map<number, MainFace>,
  canon: FaceCanonicalizer,
  patchAlpha: Float32Array,
  sigma: number,
  W: number,
  H: number,
  N: number,
): Layout {
  const size = canon.size;
  // The patch's support in the crop: where patchAlpha > 0.
  let px0 = size;
  let py0 = size;
  let px1 = 0;
  let py1 = 0;
  for (let yy = 0; yy < size; yy++) {
    for (let xx = 0; xx < size; xx++) {
      if (patchAlpha[yy * size + xx]! > 0) {
        px0 = Math.min(px0, xx);
        px1 = Math.max(px1, xx + 1);
        py0 = Math.min(py0, yy);
        py1 = Math.max(py1, yy + 1);
      }
    }
  }
  const boxes = new Map<number, RenderBox>();
  let width = 2;
  let height = 2;
  for (const run of runs) {
    for (let i = run.start; i <= Math.min(run.end, N - 1); i++) {
      const face = byIndex.get(i);
      if (!face) continue;
      const transform = canon.transform(face.landmarks);
      // Where renderMask can be non-zero, cut to the patch.
      const m = maskSupportRect(canon.renderPolygon(canon.toCanonical(face.landmarks, transform)), size, sigma);
      const rect = { x0: Math.max(px0, m.x0), y0: Math.max(py0, m.y0), x1: Math.min(px1, m.x1), y1: Math.min(py1, m.y1) };
      if (!(rect.x1 > rect.x0 && rect.y1 > rect.y0)) continue;
      const box = frameBoxOfCropRect(rect, transform.toFrame, W, H, true);
      if (!box) continue;
      boxes.set(i, box);
      width = Math.max(width, box.width);
      height = Math.max(height, box.height);
    }
  }
  return { boxes, width, height };
}

/**
 * The x and y expressions of the overlay: piecewise constant in the frame time `t`, a balanced
 * tree of `if(lt(t, threshold), ...)` over the frames where the position changes (thresholds
 * halfway between two frames' timestamps, so rounding never picks a neighbour's position).
 * Frames without a box keep the previous position (their patch is transparent).
 */
export function positionExpressions(layout: Pick<Layout, 'boxes'>, timestamps: Float64Array): { x: string; y: string } {
  const starts: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < timestamps.length; i++) {
    const b = layout.boxes.get(i);
    if (!b) continue;
    if (xs.length > 0 && xs[xs.length - 1] === b.x && ys[ys.length - 1] === b.y) continue;
    starts.push(i);
    xs.push(b.x);
    ys.push(b.y);
  }
  if (xs.length === 0) return { x: '0', y: '0' };
  const tree = (v: number[], lo: number, hi: number): string => {
    if (hi - lo === 1) return `${v[lo]}`;
    const mid = (lo + hi) >> 1;
    const i = starts[mid]!;
    const threshold = (timestamps[i - 1]! + timestamps[i]!) / 2;
    return `if(lt(t,${threshold.toPrecision(15)}),${tree(v, lo, mid)},${tree(v, mid, hi)})`;
  };
  return { x: tree(xs, 0, xs.length), y: tree(ys, 0, ys.length) };
}

/**
 * Face stack at 1080p (latentsync_demo1: 1080x1920 HEVC, 250 frames), in tracking mode:
 * per frame, FaceTracker.process (re-detect every 15 frames, else the mesh follows the previous
 * landmarks) + FaceCanonicalizer (Procrustes + 256x256 bicubic crop) of the main face.
 * Baseline in the same run: decode only (readFrames alone) of the same clip.
 * Issue target: detect + mesh + canonicalize <= 8 ms per frame on 2 CPU cores.
 *
 * Reported:
 * - isolated: the first 100 frames decoded into memory first, then the face work timed per
 *   frame with nothing else running (the compute cost on 2 cores);
 * - streaming: the face work timed per frame while ffmpeg decodes the next frames on the same
 *   cores (what a pipeline sees), with its parts;
 * - whole-clip throughput of decode + face against decode alone.
 */
import os from 'node:os';
import { join } from 'node:path';
import { readFrames, type Frame } from '../src/media/index.js';
import { FaceTracker, readFaceFrames } from '../src/face/index.js';
import { FaceCanonicalizer } from '../src/canonical/index.js';
import { compare, dataDir, median, time, writeResults } from './lib.js';

const clip = join(dataDir(), 'video', 'latentsync_demo1_video.mp4');
const detectorSize = Number(process.env.AVDUB_BENCH_DETECTOR_SIZE ?? 256);

const tracker = await FaceTracker.create({ detector: { inputSize: detectorSize }, smoothing: { method: 'one-euro' } });
const canon = new FaceCanonicalizer();
const crop = new Uint8Array(256 * 256 * 3);

const perFrame: number[] = [];
const processMs: number[] = [];
const canonMs: number[] = [];
const detectFrames: number[] = [];
let frames = 0;
let faces = 0;

async function decodeOnly(): Promise<void> {
  let n = 0;
  for await (const f of readFrames(clip, { reuseBuffer: true })) n += f.index >= 0 ? 1 : 0;
  frames = n;
}

async function decodeAndTrack(record: boolean): Promise<void> {
  tracker.reset();
  for await (const frame of readFrames(clip, { reuseBuffer: true })) {
    const t0 = performance.now();
    const r = await tracker.process(frame as Frame);
    const t1 = performance.now();
    const face = r.faces[0];
    if (face) canon.canonicalize(frame, face.smoothed ?? face.landmarks, crop);
    const t2 = performance.now();
    if (record) {
      perFrame.push(t2 - t0);
      processMs.push(t1 - t0);
      if (face) canonMs.push(t2 - t1);
      if (r.detected) detectFrames.push(t1 - t0);
      if (face) faces++;
    }
  }
}

await decodeAndTrack(false); // warm-up: model conversion (first run), sessions, JIT

// Isolated: frames in memory, no decoder competing for the cores.
const held: Frame[] = [];
for await (const f of readFrames(clip)) {
  held.push(f);
  if (held.length === 100) break;
}
const isolated: number[] = [];
const isoProcess: number[] = [];
const isoCanon: number[] = [];
// Per-pass medians: the machine may be shared, and the best pass is the least disturbed one.
const passMedians: number[] = [];
for (let pass = 0; pass < 6; pass++) {
  tracker.reset();
  const thisPass: number[] = [];
  for (const frame of held) {
    const t0 = performance.now();
    const r = await tracker.process(frame);
    const t1 = performance.now();
    const face = r.faces[0];
    if (face) canon.canonicalize(frame, face.smoothed ?? face.landmarks, crop);
    const t2 = performance.now();
    if (pass > 0) {
      isolated.push(t2 - t0);
      thisPass.push(t2 - t0);
      if (!r.detected) isoProcess.push(t1 - t0);
      if (face) isoCanon.push(t2 - t1);
    }
  }
  if (pass > 0) passMedians.push(median(thisPass));
}
held.length = 0;
const decode = await time(decodeOnly, 3, 1);
let recording = false;
const track = await time(async () => decodeAndTrack(recording), 3, 0);
recording = true;
await decodeAndTrack(true);

const p = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const extra = {
  loadAverageAtEnd: os.loadavg()[0],
  isolatedPerFrameMs: {
    median: median(isolated),
    mean: isolated.reduce((a, b) => a + b, 0) / isolated.length,
    p90: p(isolated, 0.9),
    frames: isolated.length,
    passMedians,
    bestPassMedian: Math.min(...passMedians),
    trackerProcessWithoutDetectionMedian: median(isoProcess),
    canonicalizeMedian: median(isoCanon),
  },
  clip: 'latentsync_demo1_video.mp4 (1080x1920 HEVC, 25 fps)',
  frames,
  facesFound: faces,
  detectorInputSize: detectorSize,
  perFrameMs: { median: median(perFrame), p90: p(perFrame, 0.9), mean: perFrame.reduce((a, b) => a + b, 0) / perFrame.length },
  trackerProcessMs: { median: median(processMs), p90: p(processMs, 0.9) },
  detectionFramesMs: { count: detectFrames.length, median: median(detectFrames) },
  canonicalizeMs: { median: median(canonMs), p90: p(canonMs, 0.9) },
  decodeOnlyFps: frames / decode.median,
  decodePlusFaceFps: frames / track.median,
};
const c = compare('face stack, tracking mode, 1080p', 'decode + detect/mesh/canonicalize', track, 'decode only (readFrames)', decode, {
  units: { count: frames, label: 'frames' },
  target: '<= 8 ms per frame (face work, isolated)',
  extra,
});
console.log(
  `  isolated per-frame face work (frames in memory): median ${extra.isolatedPerFrameMs.median.toFixed(2)} ms (best pass ${extra.isolatedPerFrameMs.bestPassMedian.toFixed(2)} ms), mean ${extra.isolatedPerFrameMs.mean.toFixed(2)} ms (incl. a detection every 15 frames), p90 ${extra.isolatedPerFrameMs.p90.toFixed(2)} ms`,
);
console.log(
  `    parts: tracker.process without detection ${extra.isolatedPerFrameMs.trackerProcessWithoutDetectionMedian.toFixed(2)} ms, canonicalize ${extra.isolatedPerFrameMs.canonicalizeMedian.toFixed(2)} ms`,
);
console.log(`  streaming per-frame face work: median ${extra.perFrameMs.median.toFixed(2)} ms, p90 ${extra.perFrameMs.p90.toFixed(2)} ms`);
console.log(`    tracker.process median ${extra.trackerProcessMs.median.toFixed(2)} ms (frames with detection: ${detectFrames.length}, median ${extra.detectionFramesMs.median.toFixed(2)} ms)`);
console.log(`    canonicalize (Procrustes + 256x256 bicubic) median ${extra.canonicalizeMs.median.toFixed(2)} ms`);

// Tracking input: the decoder's I420 sampled directly (readFaceFrames, what trackFaces and the
// pipeline use) against RGB24 converted by ffmpeg (readFrames), whole clip, tracker only.
async function trackWhole(yuv: boolean): Promise<void> {
  tracker.reset();
  const frames = yuv ? readFaceFrames(clip) : readFrames(clip, { reuseBuffer: true });
  for await (const frame of frames) await tracker.process(frame);
}
const viaYuv = await time(() => trackWhole(true), 3, 1);
const viaRgb = await time(() => trackWhole(false), 3, 1);
const t = compare('tracking input: I420 planes vs RGB24 from ffmpeg', 'decode I420 + track', viaYuv, 'decode RGB24 + track', viaRgb, {
  units: { count: frames, label: 'frames' },
});
writeResults('face', [c, t]);

/**
 * The personalized lip-sync model (issue 6 benchmark), on the 20 s 1080x1920 sample clip:
 * - fit time per second of footage, against a decode-only pass over the same frames
 *   (readFrames alone) in the same run: the fit adds canonicalization, features, the bank;
 * - generate time per frame (Viterbi), against the static-mean baseline strategy, which shares
 *   everything but the crop search.
 * Tracking is timed separately (it is the face stack's, see face.bench.ts) and excluded.
 */
import { join } from 'node:path';
import { extractAudio, probeMedia, readFrames } from '../src/media/index.js';
import { trackMainFace } from '../src/face/tracker.js';
import { audioContext, fitOnVideo, footageFrames } from '../src/lipsync/personalized/index.js';
import { compare, dataDir, time, writeResults } from './lib.js';

const clip = join(dataDir(), 'video', process.env.BENCH_CLIP ?? 'latentsync_demo2_video.mp4');
const info = await probeMedia(clip, { scanFrames: true });
const seconds = info.video!.frameCount! / info.video!.fps;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
console.log(`clip ${clip}: ${seconds.toFixed(1)} s, ${info.video!.frameCount} frames`);
const t0 = performance.now();
const track = await trackMainFace(clip);
const trackSeconds = (performance.now() - t0) / 1000;
const audio = audioContext((await extractAudio(clip, { info })).samples);

let model!: Awaited<ReturnType<typeof fitOnVideo>>['model'];
const fit = await time(async () => {
  model = (await fitOnVideo(clip, { info, track, audio })).model;
}, RUNS, 0);
const decode = await time(async () => {
  let n = 0;
  for await (const _ of readFrames(clip, { info, reuseBuffer: true })) n++;
  return n;
}, RUNS, 0);
const results = [
  compare('personalized fit vs decode-only pass', 'fitOnVideo (given the track)', fit, 'readFrames over the same clip', decode, {
    units: { count: seconds, label: 'footage-seconds' },
    target: 'fit <= 1x footage duration (20 s clip, 2 cores)',
    extra: { fitSecondsPerFootageSecond: fit.median / seconds, trackingSeconds: trackSeconds },
  }),
];

const frames: { crop: import("../src/lipsync/types.js").CanonicalCrop; audio: Float32Array; pose: { yaw: number; pitch: number; roll: number }; voiced?: boolean }[] = [];
for await (const f of footageFrames(clip, { info, track, audio })) frames.push({ crop: f.crop, audio: f.audio, pose: f.pose, voiced: f.voiced });
const gen = (strategy: 'viterbi' | 'static-mean') => async () => {
  let n = 0;
  for await (const _ of model.generate({ frameCount: frames.length, frames, audioStats: audio.stats }, { strategy })) n++;
  return n;
};
const viterbi = await time(gen('viterbi'), RUNS);
const baseline = await time(gen('static-mean'), RUNS);
results.push(
  compare('personalized generate (Viterbi) vs static-mean baseline', 'generate, strategy viterbi', viterbi, 'generate, strategy static-mean', baseline, {
    units: { count: frames.length, label: 'frames' },
    extra: { msPerFrame: (viterbi.median / frames.length) * 1000, bank: model.profile.bank.length },
  }),
);
console.log(`\nfit: ${(fit.median / seconds).toFixed(2)} s per footage second; generate: ${((viterbi.median / frames.length) * 1000).toFixed(2)} ms/frame; tracking (separate): ${trackSeconds.toFixed(1)} s`);
writeResults('personalized', results);

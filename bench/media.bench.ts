/**
 * Media I/O against plain ffmpeg on the same 1080x1920 HEVC clip, in the same run:
 * - readFrames vs `ffmpeg -f null` decode (issue target: ratio >= 0.8), and vs ffmpeg doing the
 *   same decode + RGB conversion into /dev/null (what readFrames adds over ffmpeg alone);
 * - VideoWriter vs ffmpeg encoding the same raw RGB frames with the same x264 settings;
 * - peak RSS while streaming the clip and a 6x longer loop of it (must not grow with length).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VideoWriter, probeMedia, readFrames, resolveBinaries, type FrameTransport } from '../src/media/index.js';
import { compare, dataDir, time, writeResults } from './lib.js';

const clip = join(dataDir(), 'video', 'latentsync_demo1_video.mp4');
const { ffmpeg } = resolveBinaries();
const ff = (args: string[]): void => {
  execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: 'ignore' });
};
const tmp = mkdtempSync(join(tmpdir(), 'avdub-bench-'));
const info = await probeMedia(clip, { scanFrames: true });
const frames = info.video!.frameCount!;
const W = info.video!.displayWidth;
const H = info.video!.displayHeight;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
console.log(`clip ${clip}: ${W}x${H} ${info.video!.codec}, ${frames} frames`);

async function drain(reuseBuffer: boolean, transport: FrameTransport = 'auto'): Promise<number> {
  let n = 0;
  let sum = 0;
  for await (const f of readFrames(clip, { reuseBuffer, info, transport })) {
    sum += f.data[n % f.data.length]!; // touch the data so nothing is optimised away
    n++;
  }
  if (n !== frames) throw new Error(`read ${n} of ${frames} frames`);
  return sum;
}

const results = [];
const nullDecode = await time(() => ff(['-i', clip, '-f', 'null', '-']), RUNS);
const rgbDecode = await time(
  () => ff(['-i', clip, '-vf', 'format=rgb24', '-vsync', 'passthrough', '-f', 'rawvideo', '/dev/null']),
  RUNS,
);
const reader = await time(() => drain(false), RUNS);
const readerReuse = await time(() => drain(true), RUNS);
// The transport: ffmpeg's stdout (64 KiB chunks copied into frames) against the Unix socket read
// straight into the frame buffers (the default where available).
const readerPipe = await time(() => drain(true, 'pipe'), RUNS);
const units = { count: frames, label: 'frames' };
results.push(compare('readFrames vs ffmpeg -f null decode', 'readFrames (new buffer per frame)', reader, 'ffmpeg -i clip -f null -', nullDecode, { units, target: '>= 0.8' }));
results.push(compare('readFrames (reuseBuffer) vs ffmpeg -f null decode', 'readFrames (reuseBuffer)', readerReuse, 'ffmpeg -i clip -f null -', nullDecode, { units, target: '>= 0.8' }));
results.push(compare('readFrames transport: socket vs stdout pipe', 'readFrames (reuseBuffer, socket)', readerReuse, 'readFrames (reuseBuffer, stdout pipe)', readerPipe, { units }));
results.push(compare('readFrames vs ffmpeg decode+rgb24 to /dev/null', 'readFrames (reuseBuffer)', readerReuse, 'ffmpeg -vf format=rgb24 -f rawvideo /dev/null', rgbDecode, { units }));

// Encoder: the same N raw frames, the same x264 settings, from memory (ours) vs a raw file (ffmpeg).
const N = 75;
const raw = join(tmp, 'frames.rgb');
ff(['-i', clip, '-frames:v', `${N}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', raw]);
const rawBytes = (await import('node:fs')).readFileSync(raw);
const frameBytes = W * H * 3;
const enc = { crf: 18, preset: 'veryfast' as const };
const writer = await time(async () => {
  const w = await VideoWriter.open(join(tmp, 'ours.mp4'), { width: W, height: H, fps: 25, ...enc });
  for (let i = 0; i < N; i++) await w.write(rawBytes.subarray(i * frameBytes, (i + 1) * frameBytes));
  await w.close();
}, Math.max(3, RUNS - 2));
const ffEncode = await time(
  () =>
    ff([
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', raw,
      '-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
      '-c:v', 'libx264', '-preset', enc.preset, '-crf', `${enc.crf}`, '-pix_fmt', 'yuv420p', join(tmp, 'ff.mp4'),
    ]),
  Math.max(3, RUNS - 2),
);
results.push(compare('VideoWriter vs ffmpeg encode of the same RGB frames', `VideoWriter (x264 ${enc.preset}, crf ${enc.crf})`, writer, 'ffmpeg rawvideo -> x264, same settings', ffEncode, { units: { count: N, label: 'frames' } }));

// Memory: peak RSS while streaming 1x and 6x the clip.
const long = join(tmp, 'long.mp4');
ff(['-stream_loop', '5', '-i', clip, '-c', 'copy', long]);
async function peakRss(path: string): Promise<{ frames: number; peakMiB: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  let peak = 0;
  let n = 0;
  for await (const _ of readFrames(path)) {
    if (++n % 10 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  return { frames: n, peakMiB: Math.round(peak / 2 ** 20) };
}
const mem1 = await peakRss(clip);
const mem6 = await peakRss(long);
console.log(`\npeak RSS streaming ${mem1.frames} frames: ${mem1.peakMiB} MiB; ${mem6.frames} frames: ${mem6.peakMiB} MiB`);

writeResults('media', { results, memory: { short: mem1, long: mem6 } });
rmSync(tmp, { recursive: true, force: true });

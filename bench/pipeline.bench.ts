/**
 * End-to-end visual-only lip-sync (DubPipeline.lipsync) on a 1080p clip against plain ffmpeg
 * decoding and re-encoding the same clip with the same encoder settings (libx264, crf 18,
 * preset medium, yuv420p), timed in the same run, interleaved. Target: pipeline time
 * <= 1.5x the baseline. Then peak RSS of the pipeline process on the clip and on the clip
 * looped (ffmpeg -stream_loop, stream copy) to 10 minutes, each in a fresh process.
 *
 *   node node_modules/vite-node/vite-node.mjs bench/pipeline.bench.ts
 *   AVDUB_BENCH_RUNS=3 AVDUB_BENCH_LONG_MINUTES=10 AVDUB_BENCH_SKIP_LONG=1 ...
 *   AVDUB_BENCH_SKIP_TIMING=1: the memory runs only (results in pipeline-memory.json)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveBinaries } from '../src/media/binaries.js';
import { probeMedia } from '../src/media/probe.js';
import { DubPipeline } from '../src/pipeline/pipeline.js';
import type { PipelineReport } from '../src/pipeline/report.js';
import { compare, dataDir, median, writeResults, type Timing } from './lib.js';

const here = fileURLToPath(import.meta.url);
const VIDEO = join(dataDir(), 'video', 'latentsync_demo1_video.mp4');
const AUDIO = join(dataDir(), 'audio', 'latentsync_demo1_audio.wav');
const CRF = 18;
const PRESET = 'medium' as const;

async function lipsyncOnce(video: string, audio: string, out: string, cacheDir: string, preset: string, compositor: 'auto' | 'node' = 'auto'): Promise<PipelineReport> {
  const p = new DubPipeline({ cacheDir, crf: CRF, preset: preset as typeof PRESET, render: { compositor } });
  const r = await p.lipsync({ video, audio, output: out });
  return r.report;
}

// --- child mode: one pipeline run in a fresh process, for memory --------------------------
if (process.argv[2] === '--child') {
  const [, , , video, audio, out, cacheDir, preset] = process.argv;
  const report = await lipsyncOnce(video!, audio!, out!, cacheDir!, preset!);
  const maxRss = process.resourceUsage().maxRSS; // KiB
  process.stdout.write(`\n@@${JSON.stringify({ peakRssMiB: report.peakRssMiB, maxRssMiB: Math.round(maxRss / 1024), frames: report.frames.total, stages: report.stages })}\n`);
  process.exit(0);
}

function ffmpegBaseline(input: string, out: string): number {
  const { ffmpeg } = resolveBinaries();
  const t0 = performance.now();
  // The same x264 settings as the render pass's VideoWriter (I420 in, no colour conversion:
  // the clip is yuv420p, so ffmpeg converts nothing either; its colour tags are copied).
  const r = spawnSync(ffmpeg, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-i', input, '-an',
    '-c:v', 'libx264', '-preset', PRESET, '-crf', `${CRF}`, '-pix_fmt', 'yuv420p',
    '-f', 'mp4', '-y', out,
  ]);
  if (r.status !== 0) throw new Error(`baseline ffmpeg failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

/**
 * The render pass's architecture without any JS: one ffmpeg decodes to raw I420 in Matroska
 * (what `VideoWriter` sends its encoder), a pipe carries it, a second ffmpeg encodes it with the
 * same settings. Not a target, a floor: what two processes cost before any work in Node.
 * (Raw `-f rawvideo` instead of Matroska costs ~2 core-s more here: glibc returns each 3 MB
 * packet of ffmpeg's rawvideo demuxer to the kernel and faults it back in.)
 */
function ffmpegTwoProcess(input: string, out: string): number {
  const { ffmpeg } = resolveBinaries();
  const q = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`;
  const cmd =
    `${q(ffmpeg)} -hide_banner -nostdin -loglevel error -i ${q(input)} -an -c:v rawvideo -pix_fmt yuv420p -f matroska - | ` +
    `${q(ffmpeg)} -hide_banner -nostdin -loglevel error -f matroska -i - ` +
    `-c:v libx264 -preset ${PRESET} -crf ${CRF} -pix_fmt yuv420p -f mp4 -y ${q(out)}`;
  const t0 = performance.now();
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd]);
  if (r.status !== 0) throw new Error(`two-process ffmpeg failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

function child(video: string, audio: string, out: string, cacheDir: string, preset: string): Promise<{ peakRssMiB: number; maxRssMiB: number; frames: number; seconds: number; stages: PipelineReport['stages'] }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, [join(dirnameOf(here), '..', 'node_modules', 'vite-node', 'vite-node.mjs'), here, '--child', video, audio, out, cacheDir, preset], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    c.stdout.on('data', (d: Buffer) => (text += d.toString()));
    c.on('exit', (code) => {
      const line = text.split('\n').find((l) => l.startsWith('@@'));
      if (code !== 0 || !line) reject(new Error(`child exited ${code}: ${text.slice(-2000)}`));
      else resolve({ ...JSON.parse(line.slice(2)), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function dirnameOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/'));
}

const stageTable = (stages: PipelineReport['stages']): Record<string, unknown> =>
  Object.fromEntries(stages.map((s) => [s.stage, { seconds: s.seconds, cached: s.cached, ...(s.fps ? { fps: s.fps } : {}), ...(s.detail ? { detail: s.detail } : {}) }]));

async function main(): Promise<void> {
  if (!existsSync(VIDEO)) throw new Error(`missing ${VIDEO}: set AVDUB_TEST_DATA`);
  const info = await probeMedia(VIDEO, { scanFrames: true });
  const frames = info.video!.frameCount!;
  const work = mkdtempSync(join(tmpdir(), 'avdub-bench-pipeline-'));
  const runs = Number(process.env.AVDUB_BENCH_RUNS ?? 3);
  console.log(`clip: ${VIDEO} (${info.video!.displayWidth}x${info.video!.displayHeight} ${info.video!.codec}, ${frames} frames); ${runs} runs each, interleaved`);
  const results: ReturnType<typeof compare>[] = [];
  try {
    if (!process.env.AVDUB_BENCH_SKIP_TIMING) {
      // Interleaved: baseline, pipeline (cold cache: both passes), baseline, pipeline, ...
      const base: number[] = [];
      const floor: number[] = [];
      const subject: number[] = [];
      const reports: PipelineReport[] = [];
      for (let i = 0; i < runs; i++) {
        base.push(ffmpegBaseline(VIDEO, join(work, 'baseline.mp4')));
        floor.push(ffmpegTwoProcess(VIDEO, join(work, 'floor.mp4')));
        const cache = join(work, `cache-${i}`);
        const t0 = performance.now();
        reports.push(await lipsyncOnce(VIDEO, AUDIO, join(work, 'out.mp4'), cache, PRESET));
        subject.push((performance.now() - t0) / 1000);
        console.log(`  run ${i + 1}: baseline ${base.at(-1)!.toFixed(2)} s, two-process floor ${floor.at(-1)!.toFixed(2)} s, pipeline ${subject.at(-1)!.toFixed(2)} s`);
      }
      // Warm cache: the analysis pass is reused, one decode. Each compositor in turn (the
      // default lets ffmpeg composite; 'node' renders into every frame in Node).
      const warmRuns: number[] = [];
      const warmNode: number[] = [];
      let warmReport: PipelineReport | undefined;
      for (let i = 0; i < runs; i++) {
        let t0 = performance.now();
        warmReport = await lipsyncOnce(VIDEO, AUDIO, join(work, 'out-warm.mp4'), join(work, 'cache-0'), PRESET);
        warmRuns.push((performance.now() - t0) / 1000);
        t0 = performance.now();
        await lipsyncOnce(VIDEO, AUDIO, join(work, 'out-warm-node.mp4'), join(work, 'cache-0'), PRESET, 'node');
        warmNode.push((performance.now() - t0) / 1000);
      }
      const warm = median(warmRuns);
      const timing = (xs: number[]): Timing => ({ runs: xs, median: median(xs) });
      const mid = reports[subject.indexOf([...subject].sort((a, b) => a - b)[subject.length >> 1]!)]!;
      const c = compare('lipsync end to end (1080p) vs ffmpeg decode + encode', 'DubPipeline.lipsync (cold cache)', timing(subject), 'ffmpeg decode + libx264 encode', timing(base), {
        units: { count: frames, label: 'frames' },
        target: 'pipeline time <= 1.5x baseline',
        extra: {
          timeRatio: median(subject) / median(base),
          warmCacheSeconds: warm,
          warmTimeRatio: warm / median(base),
          warmRuns,
          warmNodeCompositor: { runs: warmNode, median: median(warmNode), ratio: median(warmNode) / median(base) },
          twoProcessFloor: { runs: floor, median: median(floor), ratio: median(floor) / median(base) },
          encoder: { crf: CRF, preset: PRESET },
          stagesMedianRun: stageTable(mid.stages),
          stagesWarmRun: stageTable(warmReport!.stages),
          peakRssMiB: mid.peakRssMiB,
        },
      });
      console.log(`  time ratio (pipeline / baseline): ${(median(subject) / median(base)).toFixed(3)}  (warm cache: ${(warm / median(base)).toFixed(3)})`);
      console.log(`  warm runs (${warmRuns.map((x) => x.toFixed(2)).join(', ')} s); with the Node compositor: median ${median(warmNode).toFixed(2)} s = ${(median(warmNode) / median(base)).toFixed(3)}x`);
      console.log(`  two-process floor (ffmpeg decode | ffmpeg encode, no JS): median ${median(floor).toFixed(2)} s = ${(median(floor) / median(base)).toFixed(3)}x baseline`);
      console.log('  stages (median run):');
      for (const s of mid.stages) console.log(`    ${s.stage.padEnd(14)} ${s.seconds.toFixed(2).padStart(7)} s${s.detail ? `  ${JSON.stringify(s.detail)}` : ''}`);
      results.push(c);
    }

    // Memory: short clip vs the clip looped to N minutes, fresh process each.
    const memory: Record<string, unknown> = {};
    if (!process.env.AVDUB_BENCH_SKIP_LONG) {
      const minutes = Number(process.env.AVDUB_BENCH_LONG_MINUTES ?? 10);
      const loops = Math.ceil((minutes * 60) / info.duration);
      const long = join(work, 'long.mp4');
      const { ffmpeg } = resolveBinaries();
      const r = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-stream_loop', `${loops - 1}`, '-i', VIDEO, '-c', 'copy', '-t', `${minutes * 60}`, '-y', long]);
      if (r.status !== 0) throw new Error(`looping failed: ${r.stderr}`);
      const longInfo = await probeMedia(long, { scanFrames: true });
      // The encoder runs in its own process: its preset does not change this process's memory, so
      // the memory runs use 'ultrafast' to keep a 10-minute run short.
      const shortRun = await child(VIDEO, VIDEO, join(work, 'mem-short.mp4'), join(work, 'cache-mem-short'), 'ultrafast');
      console.log(`\nmemory: short (${shortRun.frames} frames): peak RSS ${shortRun.peakRssMiB} MiB (maxRSS ${shortRun.maxRssMiB}), ${shortRun.seconds.toFixed(1)} s`);
      const longRun = await child(long, long, join(work, 'mem-long.mp4'), join(work, 'cache-mem-long'), 'ultrafast');
      console.log(`memory: ${minutes} min (${longRun.frames} frames): peak RSS ${longRun.peakRssMiB} MiB (maxRSS ${longRun.maxRssMiB}), ${longRun.seconds.toFixed(1)} s`);
      Object.assign(memory, {
        short: { frames: shortRun.frames, peakRssMiB: shortRun.peakRssMiB, maxRssMiB: shortRun.maxRssMiB, seconds: shortRun.seconds },
        long: { minutes, frames: longRun.frames, expectedFrames: longInfo.video?.frameCount, peakRssMiB: longRun.peakRssMiB, maxRssMiB: longRun.maxRssMiB, seconds: longRun.seconds, stages: stageTable(longRun.stages) },
        target: 'peak RSS <= 1024 MiB for 10 minutes of 1080p, flat in length',
      });
    }
    writeResults(process.env.AVDUB_BENCH_SKIP_TIMING ? 'pipeline-memory' : 'pipeline', { results, memory });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

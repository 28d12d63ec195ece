/**
 * Throughput of the 001 reference U-Net (UNTRAINED random weights, paper size: 256 x 256
 * crops, Tables 5-7) on the CPU execution provider, at batch sizes 1, 8 and 32.
 *
 * "Batch size b" = b frames per onnxruntime run, laid out as one chunk [B = 1, T = b] with the
 * paper's N = 10 references (encoded once per run, so their cost is shared by the b frames),
 * as OnnxLipsyncModel runs one chunk. The baseline is the same graph at batch 1 in the same
 * run, so the ratios are speedups from batching. A last comparison runs OnnxLipsyncModel end
 * to end (12 kept frames in a 32-frame window: 10 buffer frames each side) against the raw
 * session at the same window, to show what buffer frames and the JS pre/post-processing cost.
 *
 * BENCH_RUNS scales the number of timed runs (default 5: 7 at batch 1, 5 at batch 8, 4 at
 * batch 32 and end to end; under two minutes on 2 cores).
 */
import { OnnxLipsyncModel, buildUntrainedReferenceUNet } from '../src/lipsync/index.js';
import type { LipsyncInputFrame } from '../src/lipsync/index.js';
import { createSession, loadOrt } from '../src/runtime/index.js';
import { compare, time, writeResults, type Timing } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const S = 256;
const N_REFS = 10;

const t0 = performance.now();
const net = buildUntrainedReferenceUNet();
console.log(`${net.name}: ${(net.parameters / 1e6).toFixed(1)} M parameters, ${(net.bytes.length / 2 ** 20).toFixed(0)} MiB ONNX, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const { session, device } = await createSession(net.bytes, { device: 'cpu' });
const ort = await loadOrt();

function randomData(n: number, lo: number, hi: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return a;
}

function feeds(T: number): Record<string, InstanceType<typeof ort.Tensor>> {
  return {
    masked_frames: new ort.Tensor('float32', randomData(T * 3 * S * S, 0, 1, 1), [1, T, 3, S, S]),
    references: new ort.Tensor('float32', randomData(N_REFS * 3 * S * S, 0, 1, 2), [1, N_REFS, 3, S, S]),
    audio: new ort.Tensor('float32', randomData(T * 80 * 24, -14, 2, 3), [1, T, 80, 24]),
  };
}

async function timeBatch(b: number, runs: number): Promise<Timing> {
  const f = feeds(b);
  const t = await time(() => session.run(f), runs, 1);
  console.log(`  batch ${String(b).padStart(2)}: median ${t.median.toFixed(3)} s/run, ${(b / t.median).toFixed(2)} frames/s (runs: ${t.runs.map((x) => x.toFixed(2)).join(', ')})`);
  return t;
}

console.log(`\nCPU execution provider (${device}), [1, b, 3, 256, 256] + ${N_REFS} references:`);
const b1 = await timeBatch(1, Math.max(1, RUNS + 2));
const b8 = await timeBatch(8, Math.max(1, RUNS));
const b32 = await timeBatch(32, Math.max(1, RUNS - 1));

// Timings per frame, so compare() prints frames/s and the throughput ratio directly.
const perFrame = (t: Timing, frames: number): Timing => ({ runs: t.runs.map((x) => x / frames), median: t.median / frames });
const frame = { count: 1, label: 'frames' };
const results = [
  compare('reference U-Net, batch 8 vs batch 1 (CPU EP), seconds per frame', 'batch 8 (1 chunk of 8 frames)', perFrame(b8, 8), 'batch 1 (same graph)', perFrame(b1, 1), {
    units: frame,
  }),
  compare('reference U-Net, batch 32 vs batch 1 (CPU EP), seconds per frame', 'batch 32 (1 chunk of 32 frames)', perFrame(b32, 32), 'batch 1 (same graph)', perFrame(b1, 1), {
    units: frame,
  }),
];

// End to end: 12 frames kept per 32-frame window (10 buffer frames each side, 001 s3.2.1).
const model = await OnnxLipsyncModel.create({
  model: net.bytes,
  card: { ...net.card, chunk: { maxFrames: 12, bufferFrames: 10 } },
  device: 'cpu',
});
const crop = { data: new Uint8Array(S * S * 3).map((_, i) => (i * 31) & 255), width: S, height: S };
const refs = Array.from({ length: N_REFS }, () => crop);
const input = (): LipsyncInputFrame[] => Array.from({ length: 12 }, () => ({ crop, audio: randomData(80 * 24, -14, 2, 4) }));
const e2e = await time(async () => {
  let n = 0;
  for await (const _ of model.generate({ frameCount: 12, frames: input(), references: refs })) n++;
  if (n !== 12) throw new Error(`generated ${n} frames`);
}, Math.max(1, RUNS - 1), 1);
console.log(`  OnnxLipsyncModel 12 kept frames (window 32): median ${e2e.median.toFixed(3)} s, ${(12 / e2e.median).toFixed(2)} kept frames/s`);
const e2eCmp = compare(
  'OnnxLipsyncModel end to end vs raw session at the same window, seconds per frame',
  'OnnxLipsyncModel.generate (per kept frame, 12 of 32)',
  perFrame(e2e, 12),
  'session.run [1, 32] (per frame)',
  perFrame(b32, 32),
  { units: frame, extra: { note: '12/32 = 0.375 is what the buffer frames alone cost; the rest is JS pre/post-processing and noise' } },
);
results.push(e2eCmp);

writeResults('lipsync-reference', {
  model: net.name,
  untrained: true,
  parameters: net.parameters,
  onnxBytes: net.bytes.length,
  device,
  references: N_REFS,
  framesPerSecond: { batch1: 1 / b1.median, batch8: 8 / b8.median, batch32: 32 / b32.median, endToEndKept: 12 / e2e.median },
  comparisons: results,
  cuda: 'not measured: no GPU machine was available to this task',
});

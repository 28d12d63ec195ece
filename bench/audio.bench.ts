/**
 * Audio stack.
 * - MelFrontend (both presets): throughput in seconds of audio per second, against a
 *   straightforward per-frame meyda extraction (`melBands`, 80 bands, 512-sample frames, the
 *   same hop) of the same audio, in the same run. Issue target: >= 1000x real time on one core
 *   (run under `taskset -c 0` for that figure).
 * - Resampler (Kaiser sinc, in-process) against ffmpeg's soxr through a child process.
 * - TimingAligner.plan on a long synthetic timeline.
 * - VoiceActivityDetector: throughput, and its agreement with the hand-tuned reference labels
 *   (test/fixtures/audio/vad_reference.json) on the sample clips, clean and with added white noise.
 *
 *   node node_modules/vite-node/vite-node.mjs bench/audio.bench.ts
 *   taskset -c 0 node node_modules/vite-node/vite-node.mjs bench/audio.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MelFrontend, Resampler, TimingAligner, VoiceActivityDetector, readAudio, type MelPresetName } from '../src/audio/index.js';
import { resolveBinaries } from '../src/media/index.js';
import { compare, dataDir, median, time, writeResults, type Comparison } from './lib.js';

const SECONDS = 60;
const SR = 16000;
const here = dirname(fileURLToPath(import.meta.url));
const results: Record<string, unknown> = {};
const comparisons: Comparison[] = [];

// ---- test audio: 60 s of real speech when the clips are there, else a synthetic mix ----------
async function speech(): Promise<{ samples: Float32Array; source: string }> {
  const path = join(dataDir(), 'audio', 'latentsync_demo2_audio.wav');
  const out = new Float32Array(SECONDS * SR);
  if (existsSync(path)) {
    const a = await readAudio(path);
    for (let i = 0; i < out.length; i++) out[i] = a.samples[i % a.samples.length]!;
    return { samples: out, source: 'latentsync_demo2_audio.wav, looped to 60 s' };
  }
  let s = 1;
  for (let i = 0; i < out.length; i++) {
    s = (s * 16807) % 2147483647;
    const t = i / SR;
    out[i] = 0.2 * Math.sin(2 * Math.PI * 150 * t) * (Math.sin(2 * Math.PI * 2 * t) > 0 ? 1 : 0) + 0.01 * (s / 2147483647 - 0.5);
  }
  return { samples: out, source: 'synthetic (AVDUB_TEST_DATA not found)' };
}
const { samples: audio, source } = await speech();
results.audio = { seconds: SECONDS, sampleRate: SR, source };
console.log(`audio: ${source}`);

// ---- MelFrontend vs per-frame meyda ---------------------------------------------------------
interface MeydaLike {
  bufferSize: number;
  sampleRate: number;
  melBands: number;
  windowingFunction: string;
  extract(f: string, s: Float32Array): unknown;
}
const meyda = createRequire(import.meta.url)('meyda') as MeydaLike;

function meydaMel(x: Float32Array, hop: number): number {
  meyda.bufferSize = 512;
  meyda.sampleRate = SR;
  meyda.melBands = 80;
  meyda.windowingFunction = 'hanning';
  const frames = 1 + Math.floor(x.length / hop);
  const padded = new Float32Array(x.length + 512);
  padded.set(x, 256);
  let check = 0;
  for (let k = 0; k < frames; k++) {
    const bands = meyda.extract('melBands', padded.slice(k * hop, k * hop + 512)) as number[];
    check += bands[0]!;
  }
  return check;
}

for (const preset of ['paper', 'wav2lip'] as MelPresetName[]) {
  const fe = new MelFrontend({ preset });
  const hop = fe.config.hopLength;
  const subject = await time(() => fe.compute(audio), 15, 3);
  const baseline = await time(() => meydaMel(audio, hop), 3, 1);
  const c = compare(
    `MelFrontend '${preset}' (${SECONDS} s of 16 kHz audio)`,
    `MelFrontend.compute (n_fft ${fe.config.nFft}, hop ${hop})`,
    subject,
    `meyda melBands per frame (512, hop ${hop})`,
    baseline,
    { units: { count: SECONDS, label: 's audio' }, target: '>= 1000 s audio/s on one core' },
  );
  const best = Math.min(...subject.runs);
  console.log(`  fastest MelFrontend run: ${(SECONDS / best).toFixed(0)} s audio/s (the machine is shared; the median includes contention)`);
  const mel = fe.compute(audio);
  const nVideo = SECONDS * 25;
  const win = await time(() => fe.windowsForFps(mel, 25, nVideo), 9, 2);
  console.log(`  windows for ${nVideo} video frames at 25 fps: median ${(win.median * 1000).toFixed(2)} ms`);
  comparisons.push(c);
  results[`mel_${preset}`] = {
    realTimeFactor: SECONDS / subject.median,
    bestRealTimeFactor: SECONDS / best,
    meydaRealTimeFactor: SECONDS / baseline.median,
    windowsMsPer1500Frames: win.median * 1000,
  };
}

// ---- Resampler vs ffmpeg soxr ---------------------------------------------------------------
{
  const sr = 48000;
  const x = new Float32Array(SECONDS * sr);
  for (let i = 0; i < x.length; i++) x[i] = audio[Math.floor(i / 3)]!;
  const r = new Resampler(sr, SR);
  const subject = await time(() => r.process(x), 5, 1);
  const { ffmpeg } = resolveBinaries();
  const input = Buffer.from(x.buffer);
  const baseline = await time(
    () =>
      execFileSync(
        ffmpeg,
        ['-loglevel', 'error', '-f', 'f32le', '-ar', `${sr}`, '-ac', '1', '-i', 'pipe:0', '-af', 'aresample=resampler=soxr', '-ar', `${SR}`, '-f', 'f32le', 'pipe:1'],
        { input, maxBuffer: 1 << 30 },
      ),
    5,
    1,
  );
  comparisons.push(
    compare(`Resampler 48 kHz -> 16 kHz (${SECONDS} s)`, `Resampler (Kaiser, ${r.halfTaps * 2} taps)`, subject, 'ffmpeg soxr child process', baseline, {
      units: { count: SECONDS, label: 's audio' },
    }),
  );
}

// ---- TimingAligner.plan ---------------------------------------------------------------------
{
  const segments = Array.from({ length: 2000 }, (_, i) => ({
    id: `s${i}`,
    start: i * 3,
    end: i * 3 + 2.2,
    clipDuration: 1.5 + ((i * 7919) % 100) / 100,
  }));
  const aligner = new TimingAligner();
  const t = await time(() => aligner.plan({ segments, duration: 6000, sampleRate: 48000 }), 9, 2);
  console.log(`\nTimingAligner.plan, 2000 segments over 100 min: median ${(t.median * 1000).toFixed(2)} ms`);
  results.timingPlan = { segments: 2000, medianMs: t.median * 1000 };
}

// ---- VoiceActivityDetector: throughput and accuracy on the sample clips ---------------------
{
  const vad = new VoiceActivityDetector();
  const t = await time(() => vad.detect({ samples: audio, sampleRate: SR }), 3, 1);
  console.log(`\nVoiceActivityDetector (meyda features): ${(SECONDS / t.median).toFixed(0)}x real time`);
  const refPath = join(here, '..', 'test', 'fixtures', 'audio', 'vad_reference.json');
  const ref = JSON.parse(readFileSync(refPath, 'utf8')) as { clips: Record<string, { speech: [number, number][] }> };
  const evaluate = async (label: string, opts: ConstructorParameters<typeof VoiceActivityDetector>[0], snrDb?: number) => {
    const det = new VoiceActivityDetector(opts);
    const tot = { tp: 0, fp: 0, fn: 0, tn: 0 };
    const perClip: Record<string, number> = {};
    for (const [clip, r] of Object.entries(ref.clips)) {
      const path = join(dataDir(), ...clip.split('/'));
      if (!existsSync(path)) return undefined;
      const a = await readAudio(path);
      if (snrDb !== undefined) {
        let p = 0;
        for (const v of a.samples) p += v * v;
        const std = Math.sqrt(p / a.samples.length / 10 ** (snrDb / 10));
        let s = 7;
        for (let i = 0; i < a.samples.length; i += 2) {
          s = (s * 16807) % 2147483647;
          const u1 = s / 2147483647 + 1e-12;
          s = (s * 16807) % 2147483647;
          const u2 = s / 2147483647;
          const m = Math.sqrt(-2 * Math.log(u1));
          a.samples[i]! += std * m * Math.cos(2 * Math.PI * u2);
          if (i + 1 < a.samples.length) a.samples[i + 1]! += std * m * Math.sin(2 * Math.PI * u2);
        }
      }
      const res = det.detect(a);
      const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
      for (let k = 0; k < res.frames.length; k++) {
        const l = r.speech.some(([x0, x1]) => k / 100 >= x0 && k / 100 < x1);
        const p = res.frames[k] === 1;
        if (p && l) c.tp++;
        else if (p) c.fp++;
        else if (l) c.fn++;
        else c.tn++;
      }
      perClip[clip] = (c.tp + c.tn) / res.frames.length;
      for (const k of Object.keys(tot) as (keyof typeof tot)[]) tot[k] += c[k];
    }
    const n = tot.tp + tot.fp + tot.fn + tot.tn;
    const row = {
      accuracy: (tot.tp + tot.tn) / n,
      speechPrecision: tot.tp / (tot.tp + tot.fp),
      speechRecall: tot.tp / (tot.tp + tot.fn),
      silenceRecall: tot.tn / (tot.tn + tot.fp),
      frames: n,
      perClip,
    };
    console.log(
      `  ${label.padEnd(38)} accuracy ${row.accuracy.toFixed(3)}  speech P ${row.speechPrecision.toFixed(3)} R ${row.speechRecall.toFixed(3)}  silence R ${row.silenceRecall.toFixed(3)}`,
    );
    return row;
  };
  console.log('VAD frame agreement with the reference labels (13 clips, 10 ms frames):');
  const energyOnly = { weakEnergyScore: 0.4 }; // the spectral path disabled
  const acc: Record<string, unknown> = {};
  for (const [label, opts, snr] of [
    ['default (energy + spectral), clean', {}, undefined],
    ['energy only, clean', energyOnly, undefined],
    ['default, + white noise 20 dB SNR', {}, 20],
    ['energy only, + white noise 20 dB SNR', energyOnly, 20],
    ['default, + white noise 10 dB SNR', {}, 10],
    ['energy only, + white noise 10 dB SNR', energyOnly, 10],
  ] as const) {
    const row = await evaluate(label, opts, snr);
    if (!row) {
      console.log('  (sample clips not found: set AVDUB_TEST_DATA)');
      break;
    }
    acc[label] = row;
  }
  results.vad = { realTimeFactor: SECONDS / t.median, accuracy: acc };
}

console.log(`\nmedian of MelFrontend real-time factors: ${median(comparisons.slice(0, 2).map((c) => SECONDS / c.subjectTiming.median)).toFixed(0)}x`);
writeResults('audio', { comparisons, ...results });

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MelFrontend, Resampler, VoiceActivityDetector, decodeWav, encodeWav, readAudio, resample, toMono } from '../../src/audio/index.js';
import {
  MelWindowStream,
  StreamingAudio,
  WavFileSource,
  WavFileWriter,
  arraySource,
  decodeToWav,
  streamMelBandStats,
} from '../../src/audio/stream.js';
import { audioContext, voicedAt } from '../../src/lipsync/personalized/footage.js';
import { melBandStats } from '../../src/lipsync/personalized/features.js';
import { audioPath, hasTestData } from '../helpers/data.js';
import { tempDir } from '../helpers/media.js';

const SR = 16000;

function signal(n: number, seed = 3): Float32Array {
  let s = seed;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    const t = i / SR;
    // speech-like bursts (a 140 Hz buzz gated at 3 Hz) over low noise, and a silent stretch
    const gate = Math.sin(2 * Math.PI * 3 * t) > 0 && (t < 1.2 || t > 1.9) ? 1 : 0;
    x[i] = 0.01 * (s / 2147483647 - 0.5) + gate * 0.3 * Math.sin(2 * Math.PI * 140 * t) * Math.sin(2 * Math.PI * 700 * t);
  }
  return x;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const tmp = tempDir('avdub-audio-stream-');
afterAll(() => tmp.cleanup());

describe('MelWindowStream', () => {
  it('gives MelFrontend.windows exactly, for both presets, edges and odd lengths included, from a bounded ring', () => {
    for (const preset of ['paper', 'wav2lip'] as const) {
      const fe = new MelFrontend({ preset });
      for (const n of [37_123, 3 * SR + 77, 150, 0]) {
        const x = signal(n);
        const mel = fe.compute(x);
        const stream = new MelWindowStream(fe, arraySource(x, SR));
        expect(stream.nFrames).toBe(mel.nFrames);
        // video frames at 25 fps (and one past the end), then a jump back
        const times = [...Array.from({ length: Math.ceil((n / SR) * 25) + 3 }, (_, i) => i / 25), 0.5, 0.52];
        let worst = 0;
        for (const t of times) worst = Math.max(worst, maxDiff(stream.window(t), fe.windows(mel, [t])));
        expect(worst).toBeLessThanOrEqual(1e-5);
        expect(worst).toBe(0); // the same arithmetic per frame: bit-identical
      }
    }
  });

  it('computes each mel frame about once going forward', () => {
    const fe = new MelFrontend({ preset: 'paper' });
    const x = signal(10 * SR);
    const stream = new MelWindowStream(fe, arraySource(x, SR));
    for (let i = 0; i < 250; i++) stream.window(i / 25);
    expect(stream.computed).toBeLessThanOrEqual(stream.nFrames + 32);
  });
});

describe('streaming statistics and voice activity', () => {
  it('streamMelBandStats equals melBandStats of the whole spectrogram', () => {
    for (const preset of ['paper', 'wav2lip'] as const) {
      const fe = new MelFrontend({ preset });
      for (const n of [5 * SR + 11, 900]) {
        const x = signal(n, 11);
        const want = melBandStats(fe.compute(x));
        const got = streamMelBandStats(fe, arraySource(x, SR));
        expect(Array.from(got.mean)).toEqual(Array.from(want.mean));
        expect(Array.from(got.std)).toEqual(Array.from(want.std));
      }
    }
  });

  it('VoiceActivityDetector.detectFrom (chunked reads) equals detect', () => {
    const vad = new VoiceActivityDetector();
    const x = signal(25 * SR + 123, 5); // more than one 1024-frame read block
    const want = vad.detect({ samples: x, sampleRate: SR });
    const src = arraySource(x, SR);
    const got = vad.detectFrom((s, d) => src.read(s, d), x.length);
    expect(got).toEqual(want);
    expect(want.speech.length).toBeGreaterThan(0);
  });

  it('StreamingAudio over a WAV file equals audioContext + windows + voicedAt', () => {
    const x = signal(6 * SR + 5, 9);
    const path = join(tmp.dir, 'footage.wav');
    writeFileSync(path, encodeWav({ samples: x, sampleRate: SR }, { float: true }));
    const ctx = audioContext(x, SR);
    const a = StreamingAudio.open(path);
    try {
      expect(Array.from(a.stats.mean)).toEqual(Array.from(ctx.stats.mean));
      expect(Array.from(a.stats.std)).toEqual(Array.from(ctx.stats.std));
      expect(Array.from(a.vadFrames)).toEqual(Array.from(ctx.vad.frames));
      for (let i = 0; i < 6 * 25; i++) {
        const t = i / 25;
        expect(maxDiff(a.window(t), ctx.frontend.windows(ctx.mel, [t]))).toBeLessThanOrEqual(1e-5);
        expect(a.voiced(t)).toBe(voicedAt(ctx.vad, t));
      }
    } finally {
      a.close();
    }
    // `length` pads with silence (as the pipeline's fit to the video's duration)
    const padded = StreamingAudio.open(path, { length: 8 * SR });
    const y = new Float32Array(8 * SR);
    y.set(x);
    const ctx2 = audioContext(y, SR);
    try {
      expect(Array.from(padded.stats.mean)).toEqual(Array.from(ctx2.stats.mean));
      expect(maxDiff(padded.window(7.9), ctx2.frontend.windows(ctx2.mel, [7.9]))).toBe(0);
    } finally {
      padded.close();
    }
  });
});

describe('WAV files in chunks', () => {
  it('WavFileSource reads what decodeWav + toMono give, for PCM 8/16/24/32 and float, stereo averaged', () => {
    const n = 5000;
    const st = new Float32Array(2 * n);
    for (let i = 0; i < st.length; i++) st[i] = Math.sin(i * 0.01) * 0.9 * (i % 2 ? 1 : -0.5);
    for (const enc of [{ bitDepth: 8 }, { bitDepth: 16 }, { bitDepth: 24 }, { bitDepth: 32 }, { float: true }] as const) {
      const path = join(tmp.dir, `s-${JSON.stringify(enc).replace(/\W/g, '')}.wav`);
      const bytes = encodeWav({ samples: st, sampleRate: 22050, channels: 2 }, enc);
      writeFileSync(path, bytes);
      const src = WavFileSource.open(path);
      try {
        expect(src.sampleRate).toBe(22050);
        const got = new Float32Array(n + 20);
        src.read(-10, got); // zeros outside the file
        const want = toMono({ ...decodeWavSync(bytes) }).samples;
        expect(Array.from(got.subarray(10, 10 + n))).toEqual(Array.from(want));
        expect(Array.from(got.subarray(0, 10))).toEqual(new Array(10).fill(0));
      } finally {
        src.close();
      }
    }
  });

  it('Resampler.processBlock equals process, block by block', () => {
    const x = signal(20_000, 2);
    for (const [a, b] of [[44100, 16000], [22050, 16000], [16000, 48000], [11025, 16000]]) {
      const r = new Resampler(a!, b!);
      const want = r.process(x);
      const src = arraySource(x, a!);
      const got = new Float32Array(want.length);
      for (let j = 0; j < want.length; j += 997) got.set(r.processBlock((s, d) => src.read(s, d), x.length, j, Math.min(want.length, j + 997)), j);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it('decodeToWav of a 44.1 kHz stereo WAV gives readAudio\'s samples; WavFileWriter writes a readable file', async () => {
    const n = 44100 * 2 + 17;
    const st = new Float32Array(2 * n);
    for (let i = 0; i < st.length; i++) st[i] = Math.sin(i * 0.003) * 0.5 + (i % 7) * 0.01;
    const input = join(tmp.dir, 'in44.wav');
    writeFileSync(input, encodeWav({ samples: st, sampleRate: 44100, channels: 2 }, { bitDepth: 16 }));
    const out = join(tmp.dir, 'out16.wav');
    const written = await decodeToWav(input, out);
    const want = (await readAudio(input)).samples;
    expect(written).toBe(want.length);
    const got = (await readAudio(out)).samples;
    expect(Array.from(got)).toEqual(Array.from(want));
    // the resampled path agrees with resample(toMono()) too
    expect(Array.from(want)).toEqual(Array.from(resample(toMono({ samples: decodeWavSync(encodeWav({ samples: st, sampleRate: 44100, channels: 2 }, { bitDepth: 16 })).samples, sampleRate: 44100, channels: 2 }), SR).samples));
    const w = WavFileWriter.open(join(tmp.dir, 'w.wav'), SR);
    w.write(Float32Array.of(0.5, -0.25));
    w.write(Float32Array.of(1));
    w.close();
    expect(Array.from((await readAudio(join(tmp.dir, 'w.wav'))).samples)).toEqual([0.5, -0.25, 1]);
  });

  it.skipIf(!hasTestData)('decodeToWav of a real WAV track matches readAudio', async () => {
    const input = audioPath('latentsync_demo1_audio.wav');
    const out = join(tmp.dir, 'real.wav');
    await decodeToWav(input, out);
    const want = (await readAudio(input)).samples;
    const src = WavFileSource.open(out);
    const got = new Float32Array(src.length);
    src.read(0, got);
    src.close();
    expect(got.length).toBe(want.length);
    expect(maxDiff(got, want)).toBe(0);
  });
});

function decodeWavSync(bytes: Uint8Array): { samples: Float32Array; sampleRate: number; channels: number } {
  return decodeWav(bytes);
}

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import {
  MEL_PRESETS,
  MelFrontend,
  hzToMel,
  melFilterbank,
  melToHz,
  resample,
  type MelPresetName,
} from '../../src/audio/index.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'audio');

interface Golden {
  sampleRate: number;
  signals: Record<string, { file: string; samples: number }>;
  mels: Record<string, { file: string; nMels: number; nFrames: number }>;
  windows: Record<string, { fps?: number; count?: number; timestamps?: number[]; starts: number[] }>;
}
const golden = JSON.parse(readFileSync(join(FIX, 'golden.json'), 'utf8')) as Golden;

function f32(file: string): Float32Array {
  const b = readFileSync(join(FIX, file));
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

// Golden values come from test/fixtures/audio/make_golden.py (numpy/scipy, float64).
describe('MelFrontend against golden values from an independent numpy implementation', () => {
  for (const key of Object.keys(golden.mels)) {
    const [preset, signal] = key.split('/') as [MelPresetName, string];
    it(`${key}: every value within 1e-3`, () => {
      const ref = golden.mels[key]!;
      const x = f32(golden.signals[signal]!.file);
      expect(x.length).toBe(golden.signals[signal]!.samples);
      const mel = new MelFrontend({ preset }).compute({ samples: x, sampleRate: golden.sampleRate });
      expect(mel.nMels).toBe(ref.nMels);
      expect(mel.nFrames).toBe(ref.nFrames);
      const want = f32(ref.file);
      expect(mel.data.length).toBe(want.length);
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) {
        expect(Number.isFinite(mel.data[i]!)).toBe(true);
        maxErr = Math.max(maxErr, Math.abs(mel.data[i]! - want[i]!));
      }
      expect(maxErr).toBeLessThan(1e-3);
    });
  }

  it('the golden signal exercises the floor and the clip of the wav2lip normalisation', () => {
    const mel = new MelFrontend({ preset: 'wav2lip' }).compute(f32('signal_long.f32'));
    const values = Array.from(mel.data);
    expect(values.filter((v) => v === -4).length).toBeGreaterThan(100); // the silent stretch
    expect(Math.max(...values)).toBeGreaterThan(2);
  });

  for (const [key, w] of Object.entries(golden.windows)) {
    it(`window indexing ${key} matches the reference`, () => {
      const preset: MelPresetName = key.startsWith('wav2lip') ? 'wav2lip' : 'paper';
      const fe = new MelFrontend({ preset });
      const mel = fe.compute(f32('signal_long.f32'));
      const W = fe.config.windowFrames;
      const M = mel.nMels;
      const batch =
        w.fps !== undefined ? fe.windowsForFps(mel, w.fps, w.count!) : fe.windows(mel, w.timestamps!);
      expect(batch.length).toBe(w.starts.length * M * W);
      for (let i = 0; i < w.starts.length; i++) {
        const s = w.starts[i]!;
        for (const m of [0, 17, 79]) {
          for (let t = 0; t < W; t++) {
            const f = s + t;
            const want = f < 0 || f >= mel.nFrames ? mel.silence : mel.data[m * mel.nFrames + f]!;
            expect(batch[i * M * W + m * W + t]).toBe(want);
          }
        }
      }
      if (w.timestamps) expect(Array.from(fe.windowStarts(mel, w.timestamps))).toEqual(w.starts);
    });
  }
});

describe('MelFrontend presets and windows', () => {
  it('exposes the two presets with the documented parameters', () => {
    expect(MEL_PRESETS.paper).toMatchObject({ sampleRate: 16000, nMels: 80, winLength: 400, hopLength: 160, windowFrames: 24 });
    expect(MEL_PRESETS.wav2lip).toMatchObject({
      nFft: 800, hopLength: 200, winLength: 800, fmin: 55, fmax: 7600, preemphasis: 0.97, windowFrames: 16,
    });
    expect(new MelFrontend({ preset: 'paper' }).frameRate).toBe(100);
    expect(new MelFrontend({ preset: 'wav2lip' }).frameRate).toBe(80);
    expect(() => {
      (MEL_PRESETS.paper as { nMels: number }).nMels = 1;
    }).toThrow();
  });

  it('silence maps to the floor values', () => {
    const paper = new MelFrontend();
    const w2l = new MelFrontend({ preset: 'wav2lip' });
    expect(paper.silence).toBeCloseTo(Math.log(1e-6), 6);
    expect(w2l.silence).toBe(-4);
    const zeros = new Float32Array(1600);
    expect(Array.from(paper.compute(zeros).data).every((v) => v === paper.silence)).toBe(true);
    expect(Array.from(w2l.compute(zeros).data).every((v) => v === -4)).toBe(true);
  });

  it('frame counts follow centred framing: 1 + floor(samples / hop)', () => {
    const fe = new MelFrontend();
    for (const n of [0, 1, 159, 160, 16000, 16001]) {
      expect(fe.compute(new Float32Array(n)).nFrames).toBe(1 + Math.floor(n / 160));
    }
  });

  it('a tone lights up the mel band that contains its frequency', () => {
    const fe = new MelFrontend();
    const sr = 16000;
    const x = new Float32Array(sr);
    for (let i = 0; i < sr; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / sr);
    const mel = fe.compute(x);
    const k = 50;
    let best = 0;
    for (let m = 1; m < mel.nMels; m++) if (mel.data[m * mel.nFrames + k]! > mel.data[best * mel.nFrames + k]!) best = m;
    const fb = melFilterbank(16000, 400, 80, 0, 8000);
    const peakBin = fb[best]!.indexOf(Math.max(...fb[best]!));
    expect(Math.abs(peakBin * 40 - 1000)).toBeLessThanOrEqual(80);
  });

  it('windows are placed by timestamp: a click is centred in the paper window of its frame', () => {
    const fe = new MelFrontend();
    const sr = 16000;
    const x = new Float32Array(3 * sr);
    const tClick = 1.37;
    for (let i = 0; i < 40; i++) x[Math.round(tClick * sr) + i] = 0.8 * Math.sin(i);
    const mel = fe.compute(x);
    const win = fe.windows(mel, [tClick]);
    // energy per window column summed over bands: the peak is at column 12 (W/2)
    const col = new Float64Array(24);
    for (let m = 0; m < 80; m++) for (let t = 0; t < 24; t++) col[t] = col[t]! + win[m * 24 + t]!;
    const peak = col.indexOf(Math.max(...col));
    expect(Math.abs(peak - 12)).toBeLessThanOrEqual(1);
  });

  it('variable frame rate: windows follow the given timestamps, silence padded at both edges', () => {
    const fe = new MelFrontend();
    const x = new Float32Array(16000).map((_, i) => 0.3 * Math.sin(i * 0.05));
    const mel = fe.compute(x);
    const ts = [0, 0.033, 0.071, 0.5, 0.98, 1.2];
    const batch = fe.windows(mel, ts);
    expect(batch.length).toBe(ts.length * 80 * 24);
    // t = 0: 12 frames of silence before the first frame
    for (let t = 0; t < 12; t++) expect(batch[t]).toBe(fe.silence);
    expect(batch[12]).toBe(mel.data[0]);
    // t = 1.2 s is past the end (101 frames): everything from frame 101 on is silence
    const last = 5 * 80 * 24;
    const start = 120 - 12;
    for (let t = 0; t < 24; t++) {
      const f = start + t;
      expect(batch[last + t]).toBe(f < mel.nFrames ? mel.data[f] : fe.silence);
    }
  });

  it('wav2lip windows reproduce inference.py, including the final chunk rule', () => {
    const fe = new MelFrontend({ preset: 'wav2lip' });
    const mel = fe.compute(new Float32Array(16000).map((_, i) => Math.sin(i * 0.01) * 0.2));
    const fps = 25;
    const n = 30; // past the end of 1 s of audio
    const batch = fe.windowsForFps(mel, fps, n);
    for (let i = 0; i < n; i++) {
      let s = Math.trunc(i * (80 / fps));
      if (s + 16 > mel.nFrames) s = mel.nFrames - 16;
      expect(batch[i * 80 * 16 + 5 * 16]).toBe(mel.data[5 * mel.nFrames + s]);
    }
  });

  it('resamples other rates to 16 kHz and averages channels', () => {
    const sr = 48000;
    const n = sr;
    const stereo = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const v = 0.4 * Math.sin((2 * Math.PI * 440 * i) / sr);
      stereo[2 * i] = v;
      stereo[2 * i + 1] = v;
    }
    const fe = new MelFrontend();
    const a = fe.compute({ samples: stereo, sampleRate: sr, channels: 2 });
    const mono16 = resample({ samples: stereo.filter((_, i) => i % 2 === 0), sampleRate: sr }, 16000).samples;
    const b = fe.compute(mono16);
    expect(a.nFrames).toBe(b.nFrames);
    let maxErr = 0;
    for (let i = 0; i < a.data.length; i++) maxErr = Math.max(maxErr, Math.abs(a.data[i]! - b.data[i]!));
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('Slaney mel scale: linear below 1 kHz, logarithmic above, invertible', () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 12);
    expect(hzToMel(500)).toBeCloseTo(7.5, 12);
    expect(hzToMel(6400)).toBeCloseTo(15 + 27, 10);
    for (const f of [0, 55, 440, 999, 1000, 3000, 7600, 8000]) expect(melToHz(hzToMel(f))).toBeCloseTo(f, 8);
    // Slaney norm: each triangle has area ~ 2 / bandwidth * bandwidth / 2 * (bins per Hz)^-1
    const fb = melFilterbank(16000, 512, 40, 0, 8000);
    expect(fb).toHaveLength(40);
    expect(fb[0]!.length).toBe(257);
  });

  it('validates options and inputs with typed errors', () => {
    expect(() => new MelFrontend({ preset: 'nope' as MelPresetName })).toThrow(/one of "paper", "wav2lip"/);
    expect(() => new MelFrontend({ nFft: 401 })).toThrow(/even integer for nFft/);
    expect(() => new MelFrontend({ hopLength: 0 })).toThrow(AvdubError);
    const fe = new MelFrontend();
    expect(() => fe.compute({ samples: [1, 2] as unknown as Float32Array, sampleRate: 16000 })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    const mel = fe.compute(new Float32Array(1000));
    expect(() => fe.windows(mel, [Number.NaN])).toThrow(/timestamps\[0\]/);
    expect(() => new MelFrontend({ preset: 'wav2lip' }).windows(mel, [0])).not.toThrow(); // same band count
    expect(() => new MelFrontend({ nMels: 40 }).windows(mel, [0])).toThrow(/40 bands/);
  });
});

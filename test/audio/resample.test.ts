import { describe, expect, it } from 'vitest';
import { RealFft } from '../../src/audio/fft.js';
import { Resampler, resample, toMono, toMonoAt } from '../../src/audio/index.js';
import { ErrorCode } from '../../src/errors.js';

/** Linear chirp f0 -> f1 over `seconds`; returns samples and the phase/frequency functions. */
function chirp(sr: number, seconds: number, f0: number, f1: number, amp = 0.5) {
  const k = (f1 - f0) / seconds;
  const phase = (t: number): number => 2 * Math.PI * (f0 * t + 0.5 * k * t * t);
  const freq = (t: number): number => f0 + k * t;
  const n = Math.round(sr * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin(phase(i / sr));
  return { x, phase, freq, amp };
}

const db = (ratio: number): number => 10 * Math.log10(ratio);
const energy = (x: ArrayLike<number>, a = 0, b = x.length): number => {
  let e = 0;
  for (let i = a; i < b; i++) e += x[i]! * x[i]!;
  return e;
};

describe('Resampler (Kaiser-windowed sinc, polyphase)', () => {
  it.each([44100, 48000, 22050, 24000])('a sweep above 8 kHz at %i Hz leaves < -60 dB after resampling to 16 kHz', (sr) => {
    const { x } = chirp(sr, 2, 8000, sr / 2 - 100);
    // 20 ms raised-cosine fades: a hard start/stop would put broadband energy in the passband
    const fade = Math.round(0.02 * sr);
    for (let i = 0; i < fade; i++) {
      const g = 0.5 - 0.5 * Math.cos((Math.PI * i) / fade);
      x[i]! *= g;
      x[x.length - 1 - i]! *= g;
    }
    const y = new Resampler(sr, 16000).process(x);
    const ratio = energy(y) / (energy(x) * (16000 / sr)); // per-sample energy, rate-normalised
    expect(db(ratio)).toBeLessThan(-60);
  });

  it.each([44100, 48000, 22050])('a full sweep from %i Hz: aliased energy < -60 dB, the passband is kept', (sr) => {
    const seconds = 3;
    const { x, phase, freq, amp } = chirp(sr, seconds, 20, sr / 2 - 50);
    const y = new Resampler(sr, 16000).process(x);
    expect(y.length).toBe(Math.round((x.length * 16000) / sr));
    const edge = 320; // 20 ms of edge transient left out
    let aliasE = 0;
    let errE = 0;
    let sigE = 0;
    for (let j = edge; j < y.length - edge; j++) {
      const t = j / 16000;
      const f = freq(t);
      if (f >= 8000) aliasE += y[j]! ** 2; // everything here is folded-back energy
      else if (f <= 7000) {
        const ideal = amp * Math.sin(phase(t));
        errE += (y[j]! - ideal) ** 2;
        sigE += ideal * ideal;
      }
    }
    const inputPerSample = (amp * amp) / 2;
    const aliasSamples = y.filter((_, j) => freq(j / 16000) >= 8000).length;
    expect(db(aliasE / (aliasSamples * inputPerSample))).toBeLessThan(-60);
    expect(db(errE / sigE)).toBeLessThan(-60);
  });

  it('upsampling 16 kHz -> 48 kHz leaves no images above the input Nyquist', () => {
    const { x } = chirp(16000, 1, 50, 7000);
    const y = new Resampler(16000, 48000).process(x);
    expect(y.length).toBe(48000);
    const n = 32768;
    const fft = new RealFft(n);
    const frame = new Float64Array(n);
    for (let i = 0; i < n; i++) frame[i] = y[8000 + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
    fft.load(frame);
    const p = new Float64Array(n / 2 + 1);
    fft.spectrum(p, true);
    const binHz = 48000 / n;
    let inBand = 0;
    let images = 0;
    for (let k = 0; k <= n / 2; k++) {
      if (k * binHz < 7500) inBand += p[k]!;
      else if (k * binHz > 8500) images += p[k]!;
    }
    expect(db(images / inBand)).toBeLessThan(-60);
  });

  it('keeps a 1 kHz tone (amplitude and frequency), also on the interpolated-phase path', () => {
    for (const [from, to] of [[44100, 16000], [44100, 16001]] as const) {
      const r = new Resampler(from, to);
      expect(r.exact).toBe(to === 16000);
      const x = new Float32Array(from).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / from));
      const y = r.process(x);
      let err = 0;
      for (let j = 400; j < y.length - 400; j++) err = Math.max(err, Math.abs(y[j]! - 0.5 * Math.sin((2 * Math.PI * 1000 * j) / to)));
      expect(err).toBeLessThan(1e-3);
    }
  });

  it('same rate is a copy; channels are resampled independently and stay interleaved', () => {
    const a = { samples: new Float32Array([0.1, 0.2, 0.3]), sampleRate: 16000 };
    expect(resample(a, 16000)).toBe(a);
    const n = 4800;
    const st = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      st[2 * i] = 0.5 * Math.sin((2 * Math.PI * 300 * i) / 48000);
      st[2 * i + 1] = -0.25;
    }
    const out = resample({ samples: st, sampleRate: 48000, channels: 2 }, 16000);
    expect(out.channels).toBe(2);
    expect(out.samples.length).toBe(2 * 1600);
    for (let j = 200; j < 1400; j++) {
      expect(out.samples[2 * j + 1]).toBeCloseTo(-0.25, 4);
      expect(out.samples[2 * j]).toBeCloseTo(0.5 * Math.sin((2 * Math.PI * 300 * j) / 16000), 3);
    }
  });

  it('downmixes to mono by averaging', () => {
    const m = toMono({ samples: new Float32Array([1, 0, 0.5, 0.5, -1, 1]), sampleRate: 8000, channels: 2 });
    expect(Array.from(m.samples)).toEqual([0.5, 0.5, 0]);
    expect(toMonoAt({ samples: new Float32Array(480), sampleRate: 48000 }, 16000).length).toBe(160);
  });

  it('validates its arguments', () => {
    expect(() => new Resampler(0, 16000)).toThrow(/inputRate/);
    expect(() => new Resampler(44100, 16000, { passband: 1.5 })).toThrow(/passband/);
    expect(() => resample({ samples: new Float32Array(3), sampleRate: 16000, channels: 2 }, 8000)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { timeStretch, type StretchEngine } from '../../src/audio/index.js';
import { ErrorCode } from '../../src/errors.js';
import { liveChildProcessCount } from '../../src/media/index.js';

const SR = 16000;
const BURSTS = [0.3, 0.9, 1.6, 2.2]; // onsets (s), each 0.25 s of a harmonic "vowel"

function bursts(sr = SR, f0 = 180): Float32Array {
  const x = new Float32Array(Math.round(2.6 * sr));
  for (const b of BURSTS) {
    const i0 = Math.round(b * sr);
    const n = Math.round(0.25 * sr);
    for (let i = 0; i < n; i++) {
      const t = i / sr;
      const env = Math.min(1, i / (0.01 * sr), (n - i) / (0.01 * sr)); // 10 ms ramps
      let v = 0;
      for (let h = 1; h <= 6; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
      x[i0 + i] = 0.3 * env * v;
    }
  }
  return x;
}

/** Onsets: first 5 ms frame above -30 dB of the peak after >= 100 ms below it. */
function onsets(y: Float32Array, sr = SR): number[] {
  const hop = Math.round(0.005 * sr);
  const env: number[] = [];
  for (let i = 0; i + hop <= y.length; i += hop) {
    let e = 0;
    for (let j = i; j < i + hop; j++) e += y[j]! * y[j]!;
    env.push(e / hop);
  }
  const thr = Math.max(...env) * 1e-3;
  const out: number[] = [];
  let quiet = 100;
  env.forEach((e, k) => {
    if (e > thr) {
      if (quiet >= 20) out.push((k * hop) / sr);
      quiet = 0;
    } else quiet++;
  });
  return out;
}

/** Fundamental by autocorrelation peak between 80 and 400 Hz. */
function pitch(y: Float32Array, sr = SR): number {
  let best = 0;
  let bestLag = 0;
  for (let lag = Math.floor(sr / 400); lag <= Math.ceil(sr / 80); lag++) {
    let c = 0;
    for (let i = 0; i + lag < y.length; i++) c += y[i]! * y[i + lag]!;
    if (c > best) {
      best = c;
      bestLag = lag;
    }
  }
  return sr / bestLag;
}

describe('timeStretch (ffmpeg, pitch preserved)', () => {
  const cases: [StretchEngine, number][] = [
    ['rubberband', 0.8],
    ['rubberband', 0.9],
    ['rubberband', 1.1],
    ['rubberband', 1.25],
    ['rubberband', 1.5],
    ['atempo', 0.8],
    ['atempo', 1.5],
  ];
  it.each(cases)('%s x%f: exact length, content in place, nothing lost at the ends', async (engine, factor) => {
    const x = bursts();
    const r = await timeStretch({ samples: x, sampleRate: SR }, factor, { engine });
    const target = Math.round(x.length / factor);
    expect(r.targetSamples).toBe(target);
    expect(r.audio.samples.length).toBe(target); // duration error 0 ms (< 10 ms required)
    expect(r.audio.sampleRate).toBe(SR);
    const got = onsets(r.audio.samples);
    expect(got).toHaveLength(BURSTS.length);
    // measured: rubberband within 10 ms, atempo (WSOLA: onsets jitter by a period search) within 30 ms
    const tol = engine === 'rubberband' ? 0.015 : 0.035;
    got.forEach((t, i) => expect(Math.abs(t - BURSTS[i]! / factor)).toBeLessThan(tol));
    // the last burst is all there: its energy scales with its stretched length
    const e = (y: Float32Array, a: number, b: number): number => {
      let s = 0;
      for (let i = Math.round(a * SR); i < Math.round(b * SR); i++) s += y[i]! ** 2;
      return s;
    };
    const inLast = e(x, 2.2, 2.45);
    const outLast = e(r.audio.samples, 2.2 / factor - 0.03, 2.45 / factor + 0.03);
    expect(outLast / (inLast / factor)).toBeGreaterThan(0.6);
    expect(outLast / (inLast / factor)).toBeLessThan(1.4);
  });

  it('keeps the pitch (a resampling speed-up would raise it by the factor)', async () => {
    const x = new Float32Array(SR).map((_, i) => {
      let v = 0;
      for (let h = 1; h <= 4; h++) v += Math.sin((2 * Math.PI * 200 * h * i) / SR) / h;
      return 0.3 * v;
    });
    const r = await timeStretch({ samples: x, sampleRate: SR }, 1.25);
    const p = pitch(r.audio.samples.subarray(2000, 10000));
    expect(Math.abs(p - 200) / 200).toBeLessThan(0.03);
  });

  it('stretches every channel of interleaved stereo', async () => {
    const n = 8000;
    const st = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      st[2 * i] = 0.3 * Math.sin((2 * Math.PI * 300 * i) / SR);
      st[2 * i + 1] = 0;
    }
    const r = await timeStretch({ samples: st, sampleRate: SR, channels: 2 }, 0.8);
    expect(r.audio.channels).toBe(2);
    expect(r.audio.samples.length).toBe(2 * 10000);
    let left = 0;
    let right = 0;
    for (let i = 1000; i < 9000; i++) {
      left += r.audio.samples[2 * i]! ** 2;
      right += r.audio.samples[2 * i + 1]! ** 2;
    }
    expect(right).toBeLessThan(left * 1e-3);
  });

  it('factor 1 is an exact copy without ffmpeg', async () => {
    const x = bursts();
    const r = await timeStretch({ samples: x, sampleRate: SR }, 1);
    expect(r.audio.samples).toEqual(x);
    expect(r.audio.samples).not.toBe(x);
  });

  it('aborts: rejects with E_ABORTED and leaves no ffmpeg running', async () => {
    const ac = new AbortController();
    const p = timeStretch({ samples: new Float32Array(SR * 30), sampleRate: SR }, 1.2, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: ErrorCode.ABORTED });
    expect(liveChildProcessCount()).toBe(0);
  });

  it('validates factor and engine', async () => {
    const a = { samples: new Float32Array(100), sampleRate: SR };
    await expect(timeStretch(a, 3)).rejects.toThrow(/factor/);
    await expect(timeStretch(a, 1.1, { engine: 'sox' as StretchEngine })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });
});

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VoiceActivityDetector, readAudio, type VadResult } from '../../src/audio/index.js';
import { ErrorCode } from '../../src/errors.js';
import { dataPath, hasTestData } from '../helpers/data.js';

const SR = 16000;

/** Deterministic noise. */
function noise(n: number, amp: number, seed = 1): Float32Array {
  let s = seed;
  return new Float32Array(n).map(() => {
    s = (s * 16807) % 2147483647;
    return amp * (s / 2147483647 - 0.5) * 2;
  });
}

/** A vowel-like sound: 140 Hz harmonics shaped by two formants (700, 1200 Hz), slow wobble. */
function vowel(n: number, amp = 0.2): Float32Array {
  const gains: number[] = [];
  for (let h = 1; h * 140 < 4000; h++) {
    const f = 140 * h;
    gains.push(1 / (1 + ((f - 700) / 150) ** 2) + 0.5 / (1 + ((f - 1200) / 200) ** 2) + 0.05);
  }
  return new Float32Array(n).map((_, i) => {
    const t = i / SR;
    let v = 0;
    gains.forEach((g, k) => (v += g * Math.sin(2 * Math.PI * 140 * (k + 1) * t)));
    return (amp / 2) * v * (0.7 + 0.3 * Math.sin(2 * Math.PI * 3 * t));
  });
}

function speechAt(result: VadResult, t: number): boolean {
  return result.segments.some((s) => s.speech && t >= s.start && t < s.end);
}

describe('VoiceActivityDetector', () => {
  it('finds the speech between pauses in a noisy synthetic track', () => {
    const x = noise(5 * SR, 0.002); // -54 dBFS background
    const truth: [number, number][] = [[0.5, 1.5], [2.0, 2.6], [3.4, 4.6]];
    for (const [a, b] of truth) {
      const v = vowel(Math.round((b - a) * SR));
      for (let i = 0; i < v.length; i++) x[Math.round(a * SR) + i]! += v[i]!;
    }
    const r = new VoiceActivityDetector().detect({ samples: x, sampleRate: SR });
    expect(r.speech).toHaveLength(3);
    r.speech.forEach((s, i) => {
      expect(Math.abs(s.start - truth[i]![0])).toBeLessThan(0.06);
      expect(Math.abs(s.end - truth[i]![1])).toBeLessThan(0.06);
    });
    // segments tile [0, duration] and alternate
    expect(r.segments[0]!.start).toBe(0);
    expect(r.segments.at(-1)!.end).toBeCloseTo(5, 6);
    for (let i = 1; i < r.segments.length; i++) {
      expect(r.segments[i]!.start).toBeCloseTo(r.segments[i - 1]!.end, 9);
      expect(r.segments[i]!.speech).toBe(!r.segments[i - 1]!.speech);
    }
    expect(r.noiseFloorDb).toBeLessThan(-45);
    expect(r.speechLevelDb).toBeGreaterThan(-25);
  });

  it('bridges pauses shorter than minSilenceMs and keeps longer ones', () => {
    const x = new Float32Array(3 * SR);
    x.set(vowel(SR / 2), Math.round(0.2 * SR));
    x.set(vowel(SR / 2), Math.round(0.8 * SR)); // 100 ms pause: bridged
    x.set(vowel(SR / 2), Math.round(1.8 * SR)); // 500 ms pause: kept
    const r = new VoiceActivityDetector().detect({ samples: x, sampleRate: SR });
    expect(r.speech).toHaveLength(2);
    expect(speechAt(r, 0.75)).toBe(true);
    expect(speechAt(r, 1.5)).toBe(false);
    const strict = new VoiceActivityDetector({ minSilenceMs: 50 }).detect({ samples: x, sampleRate: SR });
    expect(strict.speech).toHaveLength(3);
  });

  it('digital silence and steady noise alone are not speech; steady voice alone is', () => {
    const vad = new VoiceActivityDetector();
    expect(vad.detect({ samples: new Float32Array(SR), sampleRate: SR }).speech).toHaveLength(0);
    expect(vad.detect({ samples: noise(2 * SR, 0.05), sampleRate: SR }).speech).toHaveLength(0);
    const v = vad.detect({ samples: vowel(2 * SR), sampleRate: SR });
    expect(v.speech).toHaveLength(1);
    expect(v.speech[0]!.end - v.speech[0]!.start).toBeGreaterThan(1.9);
  });

  it('works at other rates and channel counts (resampled, averaged)', () => {
    const n = 2 * 48000;
    const st = new Float32Array(2 * n);
    const v = vowel(48000 / 2, 0.2);
    for (let i = 0; i < v.length; i++) {
      st[2 * (48000 + i)] = v[i]!; // 1.0-1.5 s, left only
    }
    const r = new VoiceActivityDetector().detect({ samples: st, sampleRate: 48000, channels: 2 });
    expect(r.speech).toHaveLength(1);
    expect(r.speech[0]!.start).toBeCloseTo(1, 1);
    expect(r.duration).toBeCloseTo(2, 6);
  });

  it('validates options (meyda needs power-of-two frames)', () => {
    expect(() => new VoiceActivityDetector({ frameSize: 400 })).toThrow(/power of two/);
    expect(() => new VoiceActivityDetector({ energyScore: 2 })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });
});

interface Reference {
  clips: Record<string, { speech: [number, number][]; duration: number }>;
}

// Reference labels: test/fixtures/audio/vad_reference.py (hand-tuned per-clip energy thresholds).
describe.skipIf(!hasTestData)('VoiceActivityDetector on the sample clips', () => {
  const ref = JSON.parse(
    readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'audio', 'vad_reference.json'), 'utf8'),
  ) as Reference;
  const totals = { agree: 0, frames: 0 };
  const vad = new VoiceActivityDetector();
  for (const [clip, r] of Object.entries(ref.clips)) {
    it(`${clip}: frame agreement with the reference >= 90%`, async () => {
      const audio = await readAudio(dataPath(...clip.split('/')));
      const res = vad.detect(audio);
      let agree = 0;
      for (let k = 0; k < res.frames.length; k++) {
        const t = k / 100;
        const label = r.speech.some(([a, b]) => t >= a && t < b) ? 1 : 0;
        if (label === res.frames[k]) agree++;
      }
      totals.agree += agree;
      totals.frames += res.frames.length;
      expect(agree / res.frames.length).toBeGreaterThanOrEqual(0.9);
    });
  }
  it('overall agreement >= 95%', () => {
    expect(totals.frames).toBeGreaterThan(0);
    expect(totals.agree / totals.frames).toBeGreaterThanOrEqual(0.95);
  });
});

import { describe, expect, it } from 'vitest';
import { TimingAligner, trimBounds, type PlannedSegment, type Stretcher } from '../../src/audio/index.js';
import { ErrorCode } from '../../src/errors.js';
import { liveChildProcessCount } from '../../src/media/index.js';

const SR = 1000; // plan on a 1 ms grid: numbers read as milliseconds

function plan(
  segs: [string, number, number, number][],
  duration: number,
  options: ConstructorParameters<typeof TimingAligner>[0] = {},
): PlannedSegment[] {
  const aligner = new TimingAligner(options);
  return aligner.plan({
    segments: segs.map(([id, start, end, clipDuration]) => ({ id, start, end, clipDuration })),
    duration,
    sampleRate: SR,
  }).segments;
}

function checkInvariants(p: PlannedSegment[], o = { maxSpeedup: 1.25, maxSlowdown: 0.9 }): void {
  const byTime = [...p].sort((a, b) => a.placedStart - b.placedStart);
  for (const s of p) {
    expect(s.factor).toBeLessThanOrEqual(o.maxSpeedup + 1e-12);
    expect(s.factor).toBeGreaterThanOrEqual(o.maxSlowdown - 1e-12);
    expect(Math.abs(s.placedEnd - s.placedStart - s.clipDuration / s.factor)).toBeLessThanOrEqual(1 / SR);
    expect(s.shiftMs).toBeCloseTo((s.placedStart - s.slotStart) * 1000, 6);
  }
  for (let i = 1; i < byTime.length; i++) {
    expect(byTime[i]!.placedStart).toBeGreaterThanOrEqual(byTime[i - 1]!.placedEnd - 1e-9); // never overlapping
  }
}

describe('TimingAligner.plan: fitting clips into slots', () => {
  it('a clip of exactly the slot length is left alone', () => {
    const [a] = plan([['a', 1, 3, 2]], 5);
    expect(a).toMatchObject({ factor: 1, placedStart: 1, placedEnd: 3, shiftMs: 0, overflowMs: 0, truncatedMs: 0 });
  });

  it('a shorter clip starts on time and is slowed down towards the slot, at most to maxSlowdown', () => {
    const [a, b] = plan([['a', 1, 3, 1.9], ['b', 5, 7, 1.5]], 8);
    expect(a!.factor).toBeCloseTo(0.95, 12);
    expect(a).toMatchObject({ placedStart: 1, placedEnd: 3, overflowMs: 0 });
    expect(b!.factor).toBe(0.9);
    expect(b!.placedStart).toBe(5);
    expect(b!.placedEnd).toBeCloseTo(5 + 1.5 / 0.9, 3);
    const [c] = plan([['c', 1, 3, 1.5]], 5, { slowDownToFill: false });
    expect(c).toMatchObject({ factor: 1, placedStart: 1, placedEnd: 2.5 });
  });

  it('a longer clip borrows the pause after it first, at natural speed', () => {
    const [a, b] = plan([['a', 1, 3, 2.5], ['b', 5, 6, 1]], 7);
    expect(a).toMatchObject({ factor: 1, placedStart: 1, placedEnd: 3.5, borrowedAfterMs: 500, borrowedBeforeMs: 0, overflowMs: 0 });
    expect(b).toMatchObject({ factor: 1, placedStart: 5, placedEnd: 6 });
  });

  it('then the pause before it, keeping minGapMs to the neighbours', () => {
    const p = plan([['a', 1, 3, 2.5], ['b', 3.2, 4, 0.8]], 5);
    expect(p[0]).toMatchObject({ factor: 1, borrowedAfterMs: 100, borrowedBeforeMs: 400, shiftMs: -400, overflowMs: 0 });
    expect(p[0]!.placedStart).toBeCloseTo(0.6, 9);
    expect(p[0]!.placedEnd).toBeCloseTo(3.1, 9);
    expect(p[1]!.placedStart - p[0]!.placedEnd).toBeCloseTo(0.1, 9);
    checkInvariants(p);
  });

  it('borrows at most maxBorrowMs per side', () => {
    const [a] = plan([['a', 2, 3, 2]], 6, { maxBorrowMs: 300 });
    // needs 1 s: 300 ms after + 300 ms before, then 2 / 1.6 = 1.25x
    expect(a!.borrowedAfterMs).toBe(300);
    expect(a!.borrowedBeforeMs).toBe(300);
    expect(a!.factor).toBeCloseTo(1.25, 12);
    expect(a!.overflowMs).toBe(0);
  });

  it('with no silence around, speeds up to fill the slot exactly', () => {
    const [a, b] = plan([['a', 0, 2, 2.4], ['b', 2, 4, 2]], 4);
    expect(a).toMatchObject({ placedStart: 0, placedEnd: 2, overflowMs: 0 });
    expect(a!.factor).toBeCloseTo(1.2, 12);
    expect(b).toMatchObject({ factor: 1, placedStart: 2, placedEnd: 4 });
  });

  it('beyond maxSpeedup the clip overflows: reported, never cut, the next segment moves later', () => {
    const p = plan([['a', 0, 2, 3], ['b', 2, 4, 1.5]], 4);
    expect(p[0]).toMatchObject({ factor: 1.25, placedStart: 0, overflowMs: 400, truncatedMs: 0 });
    expect(p[0]!.placedEnd).toBeCloseTo(2.4, 9);
    expect(p[1]!.placedStart).toBeCloseTo(2.5, 9); // 100 ms gap kept
    expect(p[1]).toMatchObject({ factor: 1, shiftMs: 500, overflowMs: 0 });
    checkInvariants(p);
  });

  it('speech past the end of the track is pulled earlier into earlier silence', () => {
    const p = plan([['a', 0, 1, 1], ['b', 3, 4, 3]], 4.2);
    const b = p[1]!;
    expect(b.factor).toBe(1.25);
    expect(b.placedEnd).toBeCloseTo(4.2, 9);
    expect(b.placedStart).toBeCloseTo(1.8, 9);
    expect(b.truncatedMs).toBe(0);
    expect(b.overflowMs).toBe(200); // 200 ms more than its room (slot + 1 s borrowed + the 200 ms tail)
    checkInvariants(p);
  });

  it('impossible: more speech than the whole track holds at maxSpeedup is cut at the end and reported', () => {
    const aligner = new TimingAligner();
    const r = aligner.plan({ segments: [{ id: 'a', start: 0, end: 1, clipDuration: 2 }], duration: 1, sampleRate: SR });
    expect(r.segments[0]).toMatchObject({ factor: 1.25, placedStart: 0, overflowMs: 600, truncatedMs: 600 });
    expect(r.segments[0]!.placedEnd).toBeCloseTo(1.6, 9);
    expect(r.warnings.join('\n')).toMatch(/does not fit/);
    expect(r.warnings.join('\n')).toMatch(/600 ms of speech run past the end/);
    expect(() =>
      new TimingAligner({ onOverflow: 'throw' }).plan({
        segments: [{ id: 'a', start: 0, end: 1, clipDuration: 2 }],
        duration: 1,
        sampleRate: SR,
      }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.TIMING_OVERFLOW }));
  });

  it('keeps the input order in the report and survives unsorted, overlapping slots', () => {
    const r = new TimingAligner().plan({
      segments: [
        { id: 'late', start: 3, end: 4, clipDuration: 1 },
        { id: 'early', start: 0, end: 3.2, clipDuration: 3 },
      ],
      duration: 5,
      sampleRate: SR,
    });
    expect(r.segments.map((s) => s.id)).toEqual(['late', 'early']);
    expect(r.warnings.some((w) => /overlap/.test(w))).toBe(true);
    checkInvariants(r.segments);
  });

  it('random timelines: bounds respected, no overlaps, exact lengths, overflow only when needed', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let trial = 0; trial < 200; trial++) {
      const segs: [string, number, number, number][] = [];
      let t = rnd() * 2;
      const n = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < n; i++) {
        const len = 0.3 + rnd() * 3;
        const clip = len * (0.6 + rnd() * 1.0);
        segs.push([`s${i}`, +t.toFixed(3), +(t + len).toFixed(3), +clip.toFixed(3)]);
        t += len + rnd() * 1.5;
      }
      const duration = +(t + rnd()).toFixed(3);
      const p = plan(segs, duration);
      checkInvariants(p);
      const speech = segs.reduce((a, s) => a + s[3], 0);
      for (const s of p) {
        if (s.truncatedMs > 0) expect(speech / 1.25).toBeGreaterThan(duration - 0.1 * segs.length - 1e-9);
        if (s.overflowMs === 0 && s.truncatedMs === 0) {
          expect(s.placedEnd).toBeLessThanOrEqual(duration + 1e-9);
        }
        expect(s.placedStart).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('validates its input', () => {
    const a = new TimingAligner();
    expect(() => a.plan({ segments: [{ id: 'x', start: 2, end: 1, clipDuration: 1 }], duration: 3 })).toThrow(/segments\[0\]\.end/);
    expect(() =>
      a.plan({
        segments: [
          { id: 'x', start: 0, end: 1, clipDuration: 1 },
          { id: 'x', start: 1, end: 2, clipDuration: 1 },
        ],
        duration: 3,
      }),
    ).toThrow(/Duplicate segment id/);
    expect(() => a.plan({ segments: [], duration: -1 })).toThrow(/duration/);
    expect(() => new TimingAligner({ maxSpeedup: 0.5 })).toThrow(/maxSpeedup/);
    expect(() => new TimingAligner({ onOverflow: 'ignore' as 'report' })).toThrow(/onOverflow/);
  });
});

/** Test stretcher: linear-interpolation resampling to exactly round(n / factor) samples. */
const fakeStretch: Stretcher = async (audio, factor) => {
  const n = Math.round(audio.samples.length / factor);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const pos = (i * audio.samples.length) / n;
    const k = Math.min(audio.samples.length - 1, Math.floor(pos));
    out[i] = audio.samples[k]!;
  }
  return { samples: out, sampleRate: audio.sampleRate, channels: 1 };
};

function block(sr: number, seconds: number, value: number, leadSilence = 0): Float32Array {
  const lead = Math.round(leadSilence * sr);
  const x = new Float32Array(lead + Math.round(seconds * sr));
  x.fill(value, lead);
  return x;
}

describe('TimingAligner.align: rendering the track', () => {
  it('renders a track of exactly the duration, each clip where the plan puts it', async () => {
    const sr = 16000;
    const aligner = new TimingAligner();
    const duration = 3.3337;
    const r = await aligner.align(
      {
        duration,
        segments: [
          { id: 'a', start: 0.2, end: 1.2, clip: { samples: block(sr, 1.2, 0.1), sampleRate: sr } },
          { id: 'b', start: 1.3, end: 2.3, clip: { samples: block(sr, 0.8, 0.2, 0.3), sampleRate: sr } },
          { id: 'c', start: 2.5, end: 3.3, clip: { samples: block(sr, 0.8, 0.3), sampleRate: sr } },
        ],
      },
      { stretcher: fakeStretch },
    );
    expect(r.track.samples.length).toBe(Math.round(duration * sr));
    expect(r.length).toBe(r.track.samples.length);
    const [a, b, c] = r.segments;
    expect(b!.trimmedStartMs).toBeCloseTo(280, 0); // 300 ms of silence, 20 ms kept
    for (const [s, v] of [[a!, 0.1], [b!, 0.2], [c!, 0.3]] as const) {
      const i0 = Math.round(s.placedStart * sr);
      const i1 = Math.round(s.placedEnd * sr);
      // inside: the clip's value (or its kept edge silence); outside just before/after: nothing
      const mid = r.track.samples[Math.round((i0 + i1) / 2)]!;
      expect(mid).toBeCloseTo(v, 6);
      if (i0 > 0) expect(r.track.samples[i0 - 1]).toBe(0);
      if (i1 < r.track.samples.length) expect(r.track.samples[i1]).toBe(0);
    }
    checkInvariants(r.segments);
  });

  it('mixes at the first clip rate unless told otherwise, and resamples other clips', async () => {
    const r = await new TimingAligner({ sampleRate: 8000, trimSilence: false }).align(
      { duration: 1, segments: [{ id: 'a', start: 0, end: 0.5, clip: { samples: block(24000, 0.5, 0.5), sampleRate: 24000 } }] },
      { stretcher: fakeStretch },
    );
    expect(r.track).toMatchObject({ sampleRate: 8000, channels: 1 });
    expect(r.track.samples.length).toBe(8000);
    expect(r.track.samples[2000]).toBeCloseTo(0.5, 3);
  });

  it('reports progress and stops on abort', async () => {
    const events: number[] = [];
    const seg = (id: string, t: number) => ({ id, start: t, end: t + 0.5, clip: { samples: block(16000, 0.6, 0.1), sampleRate: 16000 } });
    await new TimingAligner().align(
      { duration: 3, segments: [seg('a', 0), seg('b', 1), seg('c', 2)] },
      { stretcher: fakeStretch, onProgress: (e) => events.push(e.done) },
    );
    expect(events.at(-1)).toBe(3);
    const ac = new AbortController();
    ac.abort();
    await expect(
      new TimingAligner().align({ duration: 3, segments: [seg('a', 0)] }, { signal: ac.signal, stretcher: fakeStretch }),
    ).rejects.toMatchObject({ code: ErrorCode.ABORTED });
  });

  it('end to end with ffmpeg rubberband: stretched speech lands in its slot, the track is exact', async () => {
    const sr = 16000;
    const tone = (seconds: number, f: number) =>
      new Float32Array(Math.round(seconds * sr)).map((_, i) => 0.3 * Math.sin((2 * Math.PI * f * i) / sr) * Math.min(1, i / 160));
    const r = await new TimingAligner().align({
      duration: 2.5,
      segments: [
        { id: 'fast', start: 0, end: 1, clip: { samples: tone(1.2, 220), sampleRate: sr } }, // needs 1.2x, no room
        { id: 'ok', start: 1, end: 2.5, clip: { samples: tone(1.4, 330), sampleRate: sr } },
      ],
    });
    expect(r.track.samples.length).toBe(40000);
    const fast = r.segments[0]!;
    expect(fast.factor).toBeCloseTo(1.2, 6);
    expect(fast.placedEnd).toBeCloseTo(1, 6);
    expect(fast.overflowMs).toBe(0);
    // energy inside the fast segment's placement, silence in the 100 ms before "ok" starts
    let inside = 0;
    for (let i = 1600; i < 14400; i++) inside += r.track.samples[i]! ** 2;
    expect(inside / 12800).toBeGreaterThan(0.01);
    expect(liveChildProcessCount()).toBe(0);
  });
});

describe('trimBounds', () => {
  it('trims near-silent edges only, keeping a margin', () => {
    const sr = 16000;
    const x = new Float32Array(sr);
    for (let i = 4000; i < 12000; i++) x[i] = 0.5 * Math.sin(i / 5);
    x[100] = 1e-5; // far below -50 dB of the peak: trimmed
    const [a, b] = trimBounds(x, sr, -50, 20);
    expect(a).toBe(4000 - 320);
    expect(b).toBe(12000 + 320);
    expect(trimBounds(new Float32Array(100), sr, -50, 20)).toEqual([0, 0]);
  });
});

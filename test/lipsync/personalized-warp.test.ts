import { describe, expect, it } from 'vitest';
import { MESH_POINT_COUNT } from '../../src/face/landmarks.js';
import { MOUTH_SHAPE_POINTS, fitPersonalizedModel, type FitFrame } from '../../src/lipsync/personalized/index.js';
import { MouthWarper } from '../../src/lipsync/personalized/warp.js';

const SIZE = 128;
const RECT = { x0: 10, y0: 36, x1: 118, y1: 122 };

/** A textured crop with a dark horizontal bar (a "lower lip") at row `barY`. */
function texturedCrop(barY: number): Uint8Array {
  const d = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) {
    const v = 120 + 40 * Math.sin(x * 0.7) * Math.cos(y * 0.5) + (Math.abs(y - barY) < 2 && x > 44 && x < 84 ? -90 : 0);
    d.set([v, v * 0.8, v * 0.6], (y * SIZE + x) * 3);
  }
  return d;
}

/** Row of the darkest pixels in column x (the bar's centre). */
function barRow(d: Uint8Array, x: number): number {
  let best = 0;
  let bv = Infinity;
  for (let y = RECT.y0; y < RECT.y1; y++) if (d[(y * SIZE + x) * 3]! < bv) {
    bv = d[(y * SIZE + x) * 3]!;
    best = y;
  }
  return best;
}

describe('MouthWarper', () => {
  it('no movement: the crop unchanged', () => {
    const src = texturedCrop(80);
    const out = new Uint8Array(src.length);
    const pts = [64, 80, 50, 80, 78, 80];
    expect(new MouthWarper(SIZE, RECT).warp(src, pts, pts, out)).toBe(false);
    expect(Buffer.compare(Buffer.from(out), Buffer.from(src))).toBe(0);
  });

  for (const options of [{}, { basis: 'tps' as const }, { resample: 'nearest' as const }]) {
    it(`moves the points where asked and nothing outside the rectangle (${JSON.stringify(options)})`, () => {
      const src = texturedCrop(80);
      const out = new Uint8Array(src.length);
      const from = [50, 80, 57, 80, 64, 80, 71, 80, 78, 80];
      const to = from.map((v, i) => (i % 2 ? v + 6 : v));
      expect(new MouthWarper(SIZE, RECT, options).warp(src, from, to, out)).toBe(true);
      for (const x of [57, 64, 71]) expect(Math.abs(barRow(out, x) - 86)).toBeLessThanOrEqual(1);
      for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) {
        if (x >= RECT.x0 && x < RECT.x1 && y >= RECT.y0 && y < RECT.y1) continue;
        const o = (y * SIZE + x) * 3;
        expect(out[o]).toBe(src[o]);
      }
      if (!options.basis) {
        // The Gaussian basis is local: far from the moved points the pixels are the source's own.
        for (const [x, y] of [[15, 40], [112, 118], [20, 118]] as const) expect(out[(y * SIZE + x) * 3]).toBe(src[(y * SIZE + x) * 3]);
      }
    });
  }

  it('a full-size (256 x 256) warp of 55 points moves pixels only inside the rectangle (timed in bench, never here)', () => {
    const size = 256;
    const src = new Uint8Array(size * size * 3).map((_, i) => (i * 37) % 251);
    const out = new Uint8Array(src.length);
    const w = new MouthWarper(size, { x0: 20, y0: 72, x1: 236, y1: 243 });
    const from: number[] = [];
    for (let i = 0; i < 55; i++) from.push(90 + (i % 11) * 7, 160 + Math.floor(i / 11) * 8);
    const to = from.map((v, i) => v + (i % 2 ? 3 : -1));
    w.warp(src, from, to, out);
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 3;
        const changed = out[o] !== src[o] || out[o + 1] !== src[o + 1] || out[o + 2] !== src[o + 2];
        if (!changed) continue;
        if (x >= 20 && x < 236 && y >= 72 && y < 243) inside++;
        else outside++;
      }
    }
    expect(outside).toBe(0);
    expect(inside).toBeGreaterThan(1000);
  });
});

/** A speaker whose mouth points lie inside a 128-px crop; the lower points drop with the opening. */
function landmarksFor(o: number): Float32Array {
  const p = new Float32Array(MESH_POINT_COUNT * 3);
  MOUTH_SHAPE_POINTS.forEach((pt, j) => {
    p[3 * pt] = 40 + (j % 11) * 5;
    p[3 * pt + 1] = 70 + Math.floor(j / 11) * 3 + (j % 2 === 0 ? 12 * o : 0);
  });
  return p;
}

function* footage(n: number): Generator<FitFrame> {
  let s = 7;
  const r = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  for (let i = 0; i < n; i++) {
    const silent = Math.floor(i / 40) % 4 === 3;
    const o = silent ? 0 : 0.5 + 0.5 * Math.sin(i / 2.3);
    const audio = new Float32Array(80 * 24);
    for (let m = 0; m < 80; m++) for (let k = 0; k < 24; k++) audio[m * 24 + k] = silent ? -13 : (m < 30 ? -6 + 5 * o : -8) + 0.3 * r();
    yield {
      index: i,
      crop: { data: texturedCrop(Math.round(90 + 12 * o)), width: SIZE, height: SIZE },
      canonicalLandmarks: landmarksFor(o),
      pose: { yaw: 0, pitch: 0, roll: 0 },
      audio,
      voiced: !silent,
    };
  }
}

describe('personalized model: warping the chosen crop', () => {
  const stats = { mean: new Float32Array(80).fill(-6), std: new Float32Array(80).fill(2) };

  it('warpStrength 0 reproduces the unwarped outputs exactly; > 0 changes only the mouth rectangle, for viterbi only', async () => {
    const model = await fitPersonalizedModel(footage(240), { audioStats: stats, bankSize: 60 });
    const frames = [...footage(60)].map((f) => ({ crop: { data: texturedCrop(95), width: SIZE, height: SIZE }, audio: f.audio, pose: f.pose, voiced: f.voiced }));
    const run = async (m: typeof model, strategy?: 'viterbi' | 'static-mean' | 'random-bank'): Promise<Uint8Array[]> => {
      const out: Uint8Array[] = [];
      for await (const f of m.generate({ frameCount: frames.length, frames, audioStats: stats }, { strategy, seed: 2 })) out.push(f.crop.data);
      return out;
    };
    const plain = await run(model);
    const zero = await run(model.withSettings({ warpStrength: 0, warpMaxPx: 3, warpTarget: 'rescaled', warpJaw: false }));
    expect(zero.every((d, i) => Buffer.compare(Buffer.from(d), Buffer.from(plain[i]!)) === 0)).toBe(true);
    const warped = model.withSettings({ warpStrength: 1 });
    const w = await run(warped);
    let changed = 0;
    w.forEach((d, i) => {
      for (let p = 0; p < SIZE * SIZE; p++) {
        if (d[3 * p] === plain[i]![3 * p]) continue;
        changed++;
        const x = p % SIZE;
        const y = Math.floor(p / SIZE);
        // The blend rectangle [0.08, 0.28, 0.92, 0.95] plus its feather (6 px: < 3 sigma).
        expect(x >= 0.08 * SIZE - 18 && x < 0.92 * SIZE + 18 && y >= 0.28 * SIZE - 18 && y < 0.95 * SIZE + 18).toBe(true);
      }
    });
    expect(changed).toBeGreaterThan(0);
    // Baselines are never warped.
    for (const strategy of ['static-mean', 'random-bank'] as const) {
      const a = await run(model, strategy);
      const b = await run(warped, strategy);
      expect(a.every((d, i) => Buffer.compare(Buffer.from(d), Buffer.from(b[i]!)) === 0)).toBe(true);
    }
  });
});

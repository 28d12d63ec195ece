import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { pearson } from '../../src/eval/metrics.js';
import { MESH_POINT_COUNT } from '../../src/face/landmarks.js';
import {
  MOUTH_SHAPE_POINTS,
  fitPersonalizedModel,
  PersonalizedFitter,
  loadSpeakerProfile,
  saveSpeakerProfile,
  type FitFrame,
} from '../../src/lipsync/personalized/index.js';
import { OnnxGraphBuilder } from '../../src/onnx/graph.js';
import { tempDir } from '../helpers/media.js';

/**
 * Synthetic speaker: the mouth opening o(t) in [0, 1] moves the lower-lip and jaw points down
 * by 20 o px; the audio window's low bands carry o (louder = more open); each crop encodes its
 * frame's opening as its grey level so the test can read which crop was chosen.
 */
const SIZE = 64;
const CENTRE_ROW = Math.floor(SIZE * 0.6); // inside the mouth rectangle

function landmarksFor(o: number): Float32Array {
  const p = new Float32Array(MESH_POINT_COUNT * 3);
  for (let i = 0; i < MESH_POINT_COUNT; i++) {
    p[3 * i] = 100 + (i % 20) * 2;
    p[3 * i + 1] = 100 + Math.floor(i / 20) * 2;
  }
  // Lower half of the mouth-shape points drop with the opening (a jaw).
  MOUTH_SHAPE_POINTS.forEach((pt, j) => {
    if (j % 2 === 0) p[3 * pt + 1] = p[3 * pt + 1]! + 20 * o;
  });
  p[3 * 14 + 1] = 160 + 20 * o; // lower inner lip
  p[3 * 13 + 1] = 160; // upper inner lip
  return p;
}

function windowFor(o: number, silent: boolean, noise: () => number): Float32Array {
  const w = new Float32Array(80 * 24);
  for (let m = 0; m < 80; m++) {
    for (let k = 0; k < 24; k++) w[m * 24 + k] = silent ? -13 : (m < 30 ? -6 + 5 * o : -8 + 0.5 * o) + 0.3 * noise();
  }
  return w;
}

function cropFor(o: number): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(SIZE * SIZE * 3).fill(Math.round(40 + 200 * o));
  return { data, width: SIZE, height: SIZE };
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
}

/** Opening over time: syllable-like bumps with pauses. */
function openingAt(t: number, phase = 0): { o: number; silent: boolean } {
  const silent = Math.floor((t + phase) / 40) % 4 === 3;
  return { o: silent ? 0 : 0.5 + 0.5 * Math.sin((t + phase) / 2.3), silent };
}

function* footage(n: number, seed = 1): Generator<FitFrame> {
  const r = rng(seed);
  for (let i = 0; i < n; i++) {
    const { o, silent } = openingAt(i);
    yield {
      index: i,
      crop: cropFor(o),
      canonicalLandmarks: landmarksFor(o),
      pose: { yaw: 2 * r(), pitch: 2 * r(), roll: r() },
      audio: windowFor(o, silent, r),
      voiced: !silent,
    };
  }
}

const stats = { mean: new Float32Array(80).fill(-6), std: new Float32Array(80).fill(2) };

describe('personalized LipsyncModel (synthetic speaker)', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('fits, and new audio drives the chosen real crops', async () => {
    const model = await fitPersonalizedModel(footage(400), { audioStats: stats, bankSize: 120 });
    expect(model.profile.bank.length).toBeLessThanOrEqual(120);
    expect(model.profile.regressor.cvError).toBeLessThan(model.profile.regressor.baselineError * 0.5);
    // Drive a target clip with a different opening pattern.
    const r = rng(9);
    const T = 120;
    const driving = Array.from({ length: T }, (_, t) => openingAt(t, 17));
    const frames = driving.map(({ o, silent }) => ({
      crop: cropFor(0.5), // the target's own mouth is irrelevant inside the mask
      audio: windowFor(o, silent, r),
      pose: { yaw: 0, pitch: 0, roll: 0 },
      voiced: !silent,
    }));
    const out: number[] = [];
    for await (const f of model.generate({ frameCount: T, frames, audioStats: stats })) {
      expect(f.index).toBe(out.length);
      out.push((f.crop.data[(CENTRE_ROW * SIZE + SIZE / 2) * 3]! - 40) / 200);
    }
    expect(out).toHaveLength(T);
    const speech = driving.map((d, t) => [d.o, out[t]!, d.silent] as const).filter(([, , s]) => !s);
    expect(pearson(speech.map((x) => x[0]), speech.map((x) => x[1]))).toBeGreaterThan(0.8);
    // Silence: a closed, still mouth, after at most 3 frames of real closing motion (consecutive
    // source frames are free, so the mouth closes as the speaker's own footage does).
    const settled = driving.map((d, t) => d.silent && driving.slice(Math.max(0, t - 3), t).every((p) => p.silent));
    const silentOut = out.filter((_, t) => settled[t]);
    expect(silentOut.length).toBeGreaterThan(10);
    expect(Math.max(...silentOut)).toBeLessThan(0.2);
    const runs = silentOut.slice(5, 30);
    expect(Math.max(...runs) - Math.min(...runs)).toBeLessThan(0.02);
    // Real pixels: every output grey level is one of the bank's levels (never an average).
    const bankLevels = new Set(model.crops.map((c) => c[(CENTRE_ROW * SIZE + SIZE / 2) * 3]));
    for (const v of out) expect(bankLevels.has(Math.round(v * 200 + 40))).toBe(true);
  });

  it('every crop-choice metric (with the shrunk unary and the opening term) follows the audio', async () => {
    const model = await fitPersonalizedModel(footage(400), { audioStats: stats, bankSize: 120 });
    const r = rng(11);
    const T = 100;
    const driving = Array.from({ length: T }, (_, t) => openingAt(t, 13));
    const frames = driving.map(({ o, silent }) => ({ crop: cropFor(0.5), audio: windowFor(o, silent, r), pose: { yaw: 0, pitch: 0, roll: 0 }, voiced: !silent }));
    for (const settings of [
      { unaryMetric: 'lips' as const },
      { unaryMetric: 'euclidean' as const, shrunkUnary: true, openingWeight: 1 },
      { unaryMetric: 'mahalanobis' as const, openingWeight: 3, poseWeight: 0 },
    ]) {
      const out: number[] = [];
      for await (const f of model.withSettings(settings).generate({ frameCount: T, frames, audioStats: stats })) out.push((f.crop.data[(CENTRE_ROW * SIZE + SIZE / 2) * 3]! - 40) / 200);
      const speech = driving.map((d, t) => [d.o, out[t]!, d.silent] as const).filter(([, , s]) => !s);
      expect(pearson(speech.map((x) => x[0]), speech.map((x) => x[1])), JSON.stringify(settings)).toBeGreaterThan(0.8);
    }
  });

  it('candidate poolings: the fit keeps the one with the lowest cross-validated error, and the ONNX graph uses it', async () => {
    const coarse = { melBands: 80, windowFrames: 24, bandPool: 20, framePool: 4 };
    const fine = { melBands: 80, windowFrames: 24, bandPool: 4, framePool: 2 };
    const both = await fitPersonalizedModel(footage(300), { audioStats: stats, bankSize: 60, layouts: [fine, coarse] });
    const errors = await Promise.all(
      [fine, coarse].map(async (layout) => (await fitPersonalizedModel(footage(300), { audioStats: stats, bankSize: 60, layout })).profile.regressor.cvError),
    );
    expect(both.profile.regressor.cvError).toBeCloseTo(Math.min(...errors), 9);
    expect(both.profile.layout).toEqual(errors[0]! <= errors[1]! ? fine : coarse);
    expect(both.profile.regressor.d).toBe((80 / both.profile.layout.bandPool) * (24 / both.profile.layout.framePool));
    const r = rng(2);
    const frames = Array.from({ length: 10 }, (_, t) => ({ crop: cropFor(0.5), audio: windowFor(openingAt(t).o, false, r), voiced: true }));
    let n = 0;
    for await (const _ of both.generate({ frameCount: 10, frames, audioStats: stats })) n++;
    expect(n).toBe(10);
  });

  it('baselines: static mean mouth never moves; random bank ignores the audio', async () => {
    const model = await fitPersonalizedModel(footage(300), { audioStats: stats, bankSize: 80 });
    const r = rng(4);
    const frames = Array.from({ length: 60 }, (_, t) => ({ crop: cropFor(0.5), audio: windowFor(openingAt(t).o, false, r), voiced: true }));
    const levels = async (strategy: 'static-mean' | 'random-bank') => {
      const v: number[] = [];
      for await (const f of model.generate({ frameCount: 60, frames, audioStats: stats }, { strategy, seed: 3 })) v.push(f.crop.data[(CENTRE_ROW * SIZE + SIZE / 2) * 3]!);
      return v;
    };
    expect(new Set(await levels('static-mean')).size).toBe(1);
    expect(new Set(await levels('random-bank')).size).toBeGreaterThan(3);
  });

  it('the regressor runs as an ONNX graph and saves/loads as one file', async () => {
    const model = await fitPersonalizedModel(footage(200), { audioStats: stats, bankSize: 40, name: 'synthetic' });
    const onnx = model.regressorOnnx();
    expect(onnx.byteLength).toBeGreaterThan(1000);
    const path = join(tmp.dir, 'speaker.avdp');
    await saveSpeakerProfile(model, path);
    const loaded = await loadSpeakerProfile(path);
    expect(loaded.name).toBe('synthetic');
    expect(loaded.profile).toEqual(model.profile);
    expect(Buffer.compare(Buffer.from(loaded.crops[7]!), Buffer.from(model.crops[7]!))).toBe(0);
    await expect(loadSpeakerProfile(join(tmp.dir, 'missing.avdp'))).rejects.toSatisfy((e: unknown) => AvdubError.isInstance(e, ErrorCode.INPUT_NOT_FOUND));
    const g = new OnnxGraphBuilder('x');
    const bogus = join(tmp.dir, 'bogus.avdp');
    await (await import('node:fs/promises')).writeFile(bogus, g.toBytes());
    await expect(loadSpeakerProfile(bogus)).rejects.toSatisfy((e: unknown) => AvdubError.isInstance(e, ErrorCode.MODEL_LOAD));
  });

  it('memory is bounded: the bank never exceeds its size however long the footage', async () => {
    const model = await fitPersonalizedModel(footage(1500), { audioStats: stats, bankSize: 50 });
    expect(model.crops.length).toBe(50);
    expect(model.profile.fit.frames).toBe(1500);
  });

  it('PersonalizedFitter with lazy crops: only frames the bank keeps are cropped, and the model equals the eager fit', async () => {
    const eager = await fitPersonalizedModel(footage(600), { audioStats: stats, bankSize: 40 });
    const fitter = new PersonalizedFitter({ audioStats: stats, bankSize: 40 });
    const cropped: number[] = [];
    for (const f of footage(600)) {
      const { crop, ...rest } = f;
      fitter.add({ ...rest, crop: () => (cropped.push(f.index), crop) });
    }
    expect(fitter.frames).toBe(600);
    const lazy = fitter.finish();
    // Each kept frame was cropped once, when it entered the bank; most of 600 never were.
    expect(new Set(cropped).size).toBe(cropped.length);
    expect(cropped.length).toBeLessThan(600);
    expect(lazy.profile.bank.map((b) => b.frame).every((i) => cropped.includes(i))).toBe(true);
    const { seconds: _a, ...fitA } = lazy.profile.fit;
    const { seconds: _b, ...fitB } = eager.profile.fit;
    expect({ ...lazy.profile, fit: fitA }).toEqual({ ...eager.profile, fit: fitB });
    lazy.crops.forEach((c, i) => expect(Buffer.from(c).equals(Buffer.from(eager.crops[i]!))).toBe(true));
  });

  it('rejects too little footage and wrong windows; abort stops generation', async () => {
    await expect(fitPersonalizedModel(footage(5), { audioStats: stats })).rejects.toThrow(/Too little footage/);
    const model = await fitPersonalizedModel(footage(100), { audioStats: stats, bankSize: 30 });
    const bad = model.generate({ frameCount: 1, frames: [{ crop: cropFor(0), audio: new Float32Array(10) }] });
    await expect((async () => { for await (const _ of bad) void _; })()).rejects.toThrow(/80x24/);
    const c = new AbortController();
    const r = rng(1);
    const frames = Array.from({ length: 80 }, (_, t) => ({ crop: cropFor(0.5), audio: windowFor(openingAt(t).o, false, r) }));
    const run = (async () => {
      let n = 0;
      for await (const _ of model.generate({ frameCount: 80, frames, audioStats: stats }, { signal: c.signal })) if (++n === 5) c.abort();
    })();
    await expect(run).rejects.toSatisfy((e: unknown) => AvdubError.isInstance(e, ErrorCode.ABORTED));
  });
});

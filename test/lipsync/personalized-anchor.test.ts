import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MESH_POINT_COUNT, NOSE_BASE } from '../../src/face/landmarks.js';
import {
  MOUTH_SHAPE_POINTS,
  PersonalizedLipsyncModel,
  fitPersonalizedModel,
  regressorHasSkill,
  loadSpeakerProfile,
  mouthAnchor,
  saveSpeakerProfile,
  type FitFrame,
} from '../../src/lipsync/personalized/index.js';
import type { LipsyncInputFrame } from '../../src/lipsync/types.js';
import { tempDir } from '../helpers/media.js';

/**
 * Every crop is the same gradient (red = 3x + 10, green = 3y + 10), so whatever crop the model
 * chooses, a pixel's colour says where in the source crop it came from. The mouth points sit
 * inside the blend rectangle (64 px crop: x 5-59, y 18-61), the nose base at (32, 22).
 */
const S = 64;
const NOSE: [number, number] = [32, 22];

function gradient(): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    data[(y * S + x) * 3] = 3 * x + 10;
    data[(y * S + x) * 3 + 1] = 3 * y + 10;
    data[(y * S + x) * 3 + 2] = 128;
  }
  return { data, width: S, height: S };
}

function landmarks(o: number): Float32Array {
  const p = new Float32Array(MESH_POINT_COUNT * 3);
  MOUTH_SHAPE_POINTS.forEach((pt, j) => {
    p[3 * pt] = 20 + (j % 12) * 2;
    p[3 * pt + 1] = 34 + (j % 5) + (j % 2 === 0 ? 6 * o : 0);
  });
  p[3 * 13] = 32;
  p[3 * 13 + 1] = 36;
  p[3 * 14] = 32;
  p[3 * 14 + 1] = 36 + 6 * o;
  for (const i of NOSE_BASE) {
    p[3 * i] = NOSE[0];
    p[3 * i + 1] = NOSE[1];
  }
  return p;
}

let seed = 5;
const noise = (): number => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
const openingAt = (t: number): { o: number; silent: boolean } => {
  const silent = Math.floor(t / 30) % 4 === 3;
  return { o: silent ? 0 : 0.5 + 0.5 * Math.sin(t / 2.1), silent };
};
function windowFor(o: number, silent: boolean): Float32Array {
  const w = new Float32Array(80 * 24);
  for (let m = 0; m < 80; m++) for (let k = 0; k < 24; k++) w[m * 24 + k] = silent ? -13 : (m < 30 ? -6 + 5 * o : -8) + 0.3 * noise();
  return w;
}
function* footage(n: number): Generator<FitFrame> {
  for (let i = 0; i < n; i++) {
    const { o, silent } = openingAt(i);
    yield { index: i, crop: gradient(), canonicalLandmarks: landmarks(o), pose: { yaw: 0, pitch: 0, roll: 0 }, audio: windowFor(o, silent), voiced: !silent };
  }
}
const stats = { mean: new Float32Array(80).fill(-6), std: new Float32Array(80).fill(2) };

function targets(T: number, anchor?: [number, number]): LipsyncInputFrame[] {
  return Array.from({ length: T }, (_, t) => {
    const { o, silent } = openingAt(t + 7);
    return { crop: gradient(), audio: windowFor(o, silent), pose: { yaw: 0, pitch: 0, roll: 0 }, voiced: !silent, anchor };
  });
}
async function run(model: Awaited<ReturnType<typeof fitPersonalizedModel>>, frames: LipsyncInputFrame[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const f of model.generate({ frameCount: frames.length, frames, audioStats: stats })) out.push(f.crop.data);
  return out;
}
const px = (img: Uint8Array, x: number, y: number): [number, number] => [img[(y * S + x) * 3]!, img[(y * S + x) * 3 + 1]!];

describe('personalized model: the mouth hangs from the nose base (anchorShift, off by default)', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('mouthAnchor is the mean of the nose-base points', () => {
    expect(mouthAnchor(landmarks(0.3))).toEqual(NOSE);
  });

  it("'shift' moves the chosen mouth by the target's anchor offset, in whole pixels", async () => {
    const model = await fitPersonalizedModel(footage(160), { audioStats: stats, bankSize: 40 });
    expect(model.profile.bank.every((e) => e.anchor?.[0] === NOSE[0] && e.anchor[1] === NOSE[1])).toBe(true);
    const sharp = model.withSettings({ featherSigma: 0.5, anchorShift: true, anchorMode: 'shift' });
    const shifted = await run(sharp, targets(30, [NOSE[0] + 3.2, NOSE[1] - 1.9]));
    const same = await run(sharp, targets(30, NOSE));
    const none = await run(sharp, targets(30));
    const off = await run(model.withSettings({ featherSigma: 0.5, anchorShift: false }), targets(30, [NOSE[0] + 3.2, NOSE[1] - 1.9]));
    for (let t = 0; t < 30; t++) {
      // Inside the rectangle: the pixel came from (x - 3, y + 2) of the chosen (gradient) crop.
      expect(px(shifted[t]!, 32, 40)).toEqual([3 * 29 + 10, 3 * 42 + 10]);
      expect(px(shifted[t]!, 20, 30)).toEqual([3 * 17 + 10, 3 * 32 + 10]);
      // Outside it: the target, untouched.
      expect(px(shifted[t]!, 2, 5)).toEqual([3 * 2 + 10, 3 * 5 + 10]);
      // No offset, no anchor, or the setting off: the crop in place.
      expect(px(same[t]!, 32, 40)).toEqual([3 * 32 + 10, 3 * 40 + 10]);
      expect(Buffer.compare(Buffer.from(none[t]!), Buffer.from(same[t]!))).toBe(0);
      expect(Buffer.compare(Buffer.from(off[t]!), Buffer.from(same[t]!))).toBe(0);
    }
    // Off by default: the anchors change nothing.
    const dflt = await run(model.withSettings({ featherSigma: 0.5 }), targets(30, [NOSE[0] + 3.2, NOSE[1] - 1.9]));
    for (let t = 0; t < 30; t++) expect(Buffer.compare(Buffer.from(dflt[t]!), Buffer.from(same[t]!))).toBe(0);
    // A tracking glitch is clamped to anchorMaxShift.
    const glitch = await run(model.withSettings({ featherSigma: 0.5, anchorShift: true, anchorMode: 'shift', anchorMaxShift: 4 }), targets(10, [NOSE[0] + 30, NOSE[1]]));
    expect(px(glitch[0]!, 32, 40)).toEqual([3 * 28 + 10, 3 * 40 + 10]);
  });

  it("'warp' moves the mouth points by the offset and leaves the rectangle's border in place", async () => {
    const model = await fitPersonalizedModel(footage(160), { audioStats: stats, bankSize: 40 });
    const warp = model.withSettings({ featherSigma: 0.5, anchorShift: true, anchorMode: 'warp', warpResample: 'nearest' });
    const moved = await run(warp, targets(20, [NOSE[0] + 3, NOSE[1] + 2]));
    const still = await run(warp, targets(20, NOSE));
    for (let t = 0; t < 20; t++) {
      // At the upper inner-lip point's destination (32 + 3, 36 + 2): the source pixel (32, 36).
      const [r, g] = px(moved[t]!, 35, 38);
      expect(Math.abs(r - (3 * 32 + 10))).toBeLessThanOrEqual(3);
      expect(Math.abs(g - (3 * 36 + 10))).toBeLessThanOrEqual(3);
      // The rectangle's top border row does not move.
      expect(px(moved[t]!, 32, 19)).toEqual(px(still[t]!, 32, 19));
      expect(px(still[t]!, 35, 38)).toEqual([3 * 35 + 10, 3 * 38 + 10]);
    }
  });

  it('anchorWeight prefers bank crops whose nose base sits where the target\'s does (pixels untouched)', async () => {
    // Blocks of 20 frames alternate between two head positions: nose base at y 22 or 30, the
    // crop's blue channel says which (60 or 200).
    function* twoPoses(n: number): Generator<FitFrame> {
      for (const f of footage(n)) {
        const low = Math.floor(f.index / 20) % 2 === 1;
        const lm = Float32Array.from(f.canonicalLandmarks);
        for (const i of NOSE_BASE) lm[3 * i + 1] = low ? 30 : 22;
        const crop = gradient();
        for (let q = 2; q < crop.data.length; q += 3) crop.data[q] = low ? 200 : 60;
        yield { ...f, crop, canonicalLandmarks: lm };
      }
    }
    const model = await fitPersonalizedModel(twoPoses(200), { audioStats: stats, bankSize: 80 });
    const blue = (imgs: Uint8Array[]): number[] => imgs.map((d) => d[(40 * S + 32) * 3 + 2]!);
    const frames = targets(40, [32, 30]);
    const matched = blue(await run(model.withSettings({ featherSigma: 0.5, anchorWeight: 100 }), frames));
    expect(matched.every((b) => b === 200)).toBe(true);
    const ignored = blue(await run(model.withSettings({ featherSigma: 0.5 }), frames));
    expect(ignored.some((b) => b === 60)).toBe(true);
    // The same speaker with a regressor that has no skill: anchorWeightNoSkill takes over.
    expect(regressorHasSkill(model.profile.regressor)).toBe(true);
    expect(blue(await run(model.withSettings({ featherSigma: 0.5, anchorWeightNoSkill: 100 }), frames))).toEqual(ignored);
    const reg = model.profile.regressor;
    const noSkill = new PersonalizedLipsyncModel({ ...model.profile, regressor: { ...reg, cvError: reg.baselineError } }, model.crops);
    expect(regressorHasSkill(noSkill.profile.regressor)).toBe(false);
    expect(blue(await run(noSkill.withSettings({ featherSigma: 0.5, anchorWeightNoSkill: 100 }), frames)).every((b) => b === 200)).toBe(true);
    expect(blue(await run(noSkill.withSettings({ featherSigma: 0.5, anchorWeightNoSkill: 0 }), frames)).some((b) => b === 60)).toBe(true);
  });

  it('generatePatches gives the patch that generate composites into the input crop with patchAlpha (every mode)', async () => {
    const model = await fitPersonalizedModel(footage(160), { audioStats: stats, bankSize: 40 });
    // A flat input crop, so the composite shows where the patch went.
    const flat = { data: new Uint8Array(S * S * 3).fill(50), width: S, height: S };
    const frames = targets(24, [NOSE[0] + 3.2, NOSE[1] - 1.9]).map((f) => ({ ...f, crop: flat }));
    const settings = [{}, { anchorShift: true, anchorMode: 'shift' as const }, { anchorShift: true, anchorMode: 'warp' as const }, { warpStrength: 1 }];
    for (const set of settings) {
      const m = model.withSettings(set);
      const alpha = m.patchAlpha;
      expect(alpha.length).toBe(S * S);
      const whole = await run(m, frames);
      const patches: Uint8Array[] = [];
      for await (const f of m.generatePatches({ frameCount: frames.length, frames: frames.map(({ crop: _, ...rest }) => rest), audioStats: stats })) patches.push(Uint8Array.from(f.crop.data));
      expect(patches).toHaveLength(24);
      let inside = 0;
      for (let t = 0; t < 24; t++) {
        const composite = Uint8Array.from(flat.data);
        for (let q = 0; q < S * S; q++) {
          const a = alpha[q]!;
          if (a <= 0) continue;
          inside++;
          for (let c = 0; c < 3; c++) composite[3 * q + c] = Math.round(50 + a * (patches[t]![3 * q + c]! - 50));
        }
        expect(Buffer.compare(Buffer.from(composite), Buffer.from(whole[t]!)), `${JSON.stringify(set)} frame ${t}`).toBe(0);
      }
      expect(inside).toBeGreaterThan(24 * S * S * 0.4);
    }
    // A crop-less frame is refused by generate (which composites), not silently filled.
    const err = await run(model, frames.map(({ crop: _, ...rest }) => rest as LipsyncInputFrame)).catch((e) => e);
    expect(String(err)).toMatch(/canonical crops/);
  });

  it('profiles keep the anchors', async () => {
    const model = await fitPersonalizedModel(footage(100), { audioStats: stats, bankSize: 30 });
    const path = await saveSpeakerProfile(model, join(tmp.dir, 'anchor.avdp'));
    const loaded = await loadSpeakerProfile(path);
    expect(loaded.profile.bank.map((e) => e.anchor)).toEqual(model.profile.bank.map((e) => e.anchor));
  });
});

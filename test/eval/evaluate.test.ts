import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  EVAL_STRATEGIES,
  beatsBaselines,
  canonicalMouthRegion,
  changedOutsideRender,
  crossReenactmentMetrics,
  evaluate,
  evaluationMarkdown,
  evaluationTable,
  selfReenactmentMetrics,
  type EvaluationResult,
} from '../../src/eval/index.js';
import type { Affine, RgbImage } from '../../src/face/image.js';
import { MESH_POINT_COUNT } from '../../src/face/landmarks.js';
import { trackMainFace, type FaceTrack } from '../../src/face/tracker.js';
import { featheredPolygonMask, Renderer } from '../../src/render/index.js';
import { hasTestData, videoPath } from '../helpers/data.js';
import { tempDir } from '../helpers/media.js';
import { TEST_MODEL_CACHE } from '../face/helpers.js';

function noise(w: number, h: number, seed = 1): RgbImage {
  let s = seed;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h };
}

/** Canonical-crop-like landmarks: eyes 100 px apart, lips 13/14 `gap` px apart. */
function landmarks(gap = 10, dx = 0): Float32Array {
  const p = new Float32Array(MESH_POINT_COUNT * 3);
  for (let k = 0; k < MESH_POINT_COUNT; k++) {
    p[3 * k] = 80 + (k % 20) * 5 + dx;
    p[3 * k + 1] = 120 + Math.floor(k / 20) * 4;
  }
  for (const [k, x] of [[33, 60], [133, 100], [362, 160], [263, 200]] as const) {
    p[3 * k] = x;
    p[3 * k + 1] = 90;
  }
  p[3 * 13] = 128 + dx;
  p[3 * 13 + 1] = 180;
  p[3 * 14] = 128 + dx;
  p[3 * 14 + 1] = 180 + gap;
  return p;
}

describe('evaluation metric assembly on known cases', () => {
  it('identical generated and real crops: PSNR Infinity, SSIM 1, LMD 0, sharpness 1', () => {
    const frames = [0, 1, 2, 3].map((i) => {
      const img = noise(256, 256, i + 1);
      const l = landmarks(5 + 3 * i);
      return { real: img, generated: img, realLandmarks: l, generatedLandmarks: l };
    });
    const m = selfReenactmentMetrics(frames);
    expect(m.frames).toBe(4);
    expect(m.psnrMouth).toBe(Infinity);
    expect(m.ssimMouth).toBeCloseTo(1, 12);
    expect(m.lmd).toBe(0);
    expect(m.sharpnessRatio).toBe(1);
    expect(m.openingCorrelation).toBeCloseTo(1, 12);
  });

  it('a known landmark shift gives LMD = shift / inter-ocular distance', () => {
    const img = noise(256, 256);
    const m = selfReenactmentMetrics([{ real: img, generated: img, realLandmarks: landmarks(10), generatedLandmarks: landmarks(10, 5) }]);
    // Every lip point moved 5 px sideways; eye centres are 100 px apart in the reference.
    expect(m.lmd).toBeCloseTo(0.05, 6);
  });

  it('the mouth region is the 001 rectangle in whole pixels', () => {
    expect(canonicalMouthRegion(256)).toEqual({ x0: 20, y0: 72, x1: 236, y1: 243 });
  });

  it('cross metrics find a known delay', () => {
    const ref = Array.from({ length: 80 }, (_, t) => Math.sin(t / 3) + 0.3 * Math.sin(t / 7));
    const gen = ref.map((_, t) => (t >= 4 ? ref[t - 4]! : 0));
    const c = crossReenactmentMetrics(gen, ref, 10);
    expect(c.frames).toBe(80);
    expect(c.avOffset).toBe(4);
    expect(c.avOffsetCorrelation).toBeCloseTo(1, 9);
    expect(c.openingCorrelation).toBeLessThan(0.9);
  });

  it('the outside-the-mask count is 0 for the Renderer and counts a renderer that writes outside', () => {
    const frame = noise(320, 240, 7);
    const crop = noise(256, 256, 9);
    const toFrame: Affine = [0.6, 0.05, 60, -0.05, 0.6, 40];
    const mask = featheredPolygonMask([60, 120, 200, 120, 200, 230, 60, 230], 256, 256, 4);
    expect(changedOutsideRender(frame, crop, toFrame, mask, new Renderer())).toBe(0);
    const leaky = {
      render(f: RgbImage, g: RgbImage, m: Affine, a: Float32Array): ReturnType<Renderer['render']> {
        const box = new Renderer().render(f, g, m, a);
        const i = 3 * (5 * f.width + 5);
        f.data[i] = f.data[i]! ^ 0xff; // one pixel far outside the mask
        return box;
      },
    } as unknown as Renderer;
    expect(changedOutsideRender(frame, crop, toFrame, mask, leaky)).toBe(1);
  });
});

describe.skipIf(!hasTestData)('evaluate() on a real clip (mimictalk_oldcommit_May_5s)', () => {
  const tmp = tempDir('avdub-eval-');
  let clip: string;
  let track: FaceTrack;
  let r: EvaluationResult;
  beforeAll(async () => {
    clip = videoPath('mimictalk_oldcommit_May_5s.mp4');
    track = await trackMainFace(clip, { cacheDir: TEST_MODEL_CACHE });
    r = await evaluate(clip, { track, cacheDir: TEST_MODEL_CACHE, outDir: join(tmp.dir, 'out'), randomBankSeeds: 2 });
  });
  afterAll(() => tmp.cleanup());

  it('reports the split, the fit and every strategy', () => {
    expect(r.clip).toBe('mimictalk_oldcommit_May_5s.mp4');
    expect(r.trackedFrames).toBe(track.faces.length);
    expect(r.heldOut.end).toBe(track.end);
    expect(r.heldOut.frames).toBe(r.heldOut.end - r.heldOut.start + 1);
    expect(r.heldOut.frames / r.trackedFrames).toBeCloseTo(0.3, 1);
    expect(r.guard.end).toBe(r.heldOut.start - 1);
    // The fit never saw the held-out stretch or its guard band.
    expect(r.fit.frames).toBe(track.faces.filter((f) => f.index < r.guard.start).length);
    expect(r.cross.b.end).toBeLessThan(r.guard.start);
    expect(r.cross.b.frames).toBe(r.cross.a.frames);
    expect(Object.keys(r.strategies).sort()).toEqual([...EVAL_STRATEGIES].sort());
  });

  it('every metric is a finite number in its range; nothing changes outside the render mask', () => {
    for (const s of ['viterbi', 'static-mean', 'random-bank'] as const) {
      const m = r.strategies[s]!;
      expect(m.self.frames).toBe(r.heldOut.frames);
      expect(Number.isFinite(m.self.psnrMouth)).toBe(true);
      expect(m.self.psnrMouth).toBeGreaterThan(5);
      expect(m.self.ssimMouth).toBeGreaterThan(0);
      expect(m.self.ssimMouth).toBeLessThan(1);
      expect(m.self.lmd).toBeGreaterThan(0);
      expect(m.self.lmd).toBeLessThan(1);
      expect(m.self.sharpnessRatio).toBeGreaterThan(0);
      expect(Number.isFinite(m.self.sharpnessRatio)).toBe(true);
      expect(m.self.jitter).toBeGreaterThanOrEqual(0);
      expect(m.self.meshConfidence).toBeGreaterThan(0.5);
      for (const c of [m.cross, m.crossUnseen]) {
        expect(Number.isInteger(c.avOffset)).toBe(true);
        expect(Math.abs(c.avOffset)).toBeLessThanOrEqual(r.split.maxLag);
        // A constant generated opening has no correlation (NaN); otherwise it is in [-1, 1].
        if (!Number.isNaN(c.openingCorrelation)) expect(Math.abs(c.openingCorrelation)).toBeLessThanOrEqual(1 + 1e-9);
      }
    }
    for (const s of EVAL_STRATEGIES) {
      expect(r.strategies[s]!.self.changedOutsideMask).toBe(0);
      expect(r.strategies[s]!.self.renderChecked).toBe(r.heldOut.frames);
    }
    // The random baseline is the mean of its draws; the deterministic strategies run once.
    expect(r.strategies['random-bank']!.runs).toBe(2);
    expect(Number.isFinite(r.strategies['random-bank']!.spread!.lmd)).toBe(true);
    expect(r.strategies.viterbi!.runs).toBeUndefined();
    expect(r.openings.self.real).toHaveLength(r.heldOut.frames);
    expect(r.openings.cross.viterbi).toHaveLength(r.cross.a.frames);
  });

  it('the identity strategy (real frames through the same path) scores PSNR Infinity and LMD 0', () => {
    const id = r.strategies.identity!;
    expect(id.self.psnrMouth).toBe(Infinity);
    expect(id.self.ssimMouth).toBeCloseTo(1, 9);
    expect(id.self.lmd).toBe(0);
    expect(id.self.sharpnessRatio).toBe(1);
    expect(id.self.jitter).toBe(r.reference.jitter);
  });

  it('writes the JSON, the opening plot and the contact sheet atomically', () => {
    const out = r.outputs!;
    const json = JSON.parse(readFileSync(out.json, 'utf8'));
    expect(json.clip).toBe(r.clip);
    expect(json.strategies.identity.self.psnrMouth).toBeNull(); // JSON has no Infinity
    expect(json.strategies.viterbi.self.lmd).toBeCloseTo(r.strategies.viterbi!.self.lmd, 12);
    for (const png of [out.plot, out.sheet]) expect(readFileSync(png).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(readdirSync(dirname(out.json)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('is deterministic: a second run of one baseline gives the same numbers', async () => {
    const again = await evaluate(clip, { track, cacheDir: TEST_MODEL_CACHE, strategies: ['random-bank'], randomBankSeeds: 2 });
    expect(again.strategies['random-bank']).toEqual({ ...r.strategies['random-bank'], seconds: again.strategies['random-bank']!.seconds });
    expect(again.outputs).toBeUndefined();
  });

  it('stops with E_ABORTED when the signal fires, leaving no output behind', async () => {
    const controller = new AbortController();
    const outDir = join(tmp.dir, 'aborted');
    const run = evaluate(clip, {
      track,
      cacheDir: TEST_MODEL_CACHE,
      outDir,
      strategies: ['static-mean'],
      signal: controller.signal,
      onProgress: (e) => {
        if (e.stage === 'eval' && e.done === 2) controller.abort(); // after the fit
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
  });

  it('formats tables', () => {
    const t = evaluationTable([r]);
    expect(t.split('\n')).toHaveLength(1 + EVAL_STRATEGIES.length);
    expect(t).toMatch(/identity\s+inf\s+1\.000\s+0\.0000/);
    expect(t).toMatch(/random-bank \(mean of 2\)/);
    const md = evaluationMarkdown([r]);
    expect(md.split('\n')[1]).toMatch(/^\| --- \| --- \| ---: /);
    expect(Object.keys(beatsBaselines(r)).sort()).toEqual(['crossCorrelation', 'crossUnseenCorrelation', 'lmd']);
  });
});

describe('avdub eval (CLI)', () => {
  const tmp = tempDir('avdub-eval-cli-');
  afterAll(() => tmp.cleanup());
  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
    return { code, out, err };
  }

  it('exit codes: missing file 3, usage 2', async () => {
    const missing = await run(['eval', join(tmp.dir, 'nope.mp4')]);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/E_INPUT_NOT_FOUND/);
    expect((await run(['eval'])).code).toBe(2);
    expect((await run(['eval', 'a.mp4', 'b.mp4'])).code).toBe(2);
    expect((await run(['eval', 'a.mp4', '--strategies', 'bogus'])).code).toBe(2);
    expect((await run(['eval', 'a.mp4', '--held-out', 'lots'])).code).toBe(2);
    expect((await run(['eval', 'a.mp4', '--language', 'de'])).code).toBe(2);
    const help = await run(['eval', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/avdub eval <video>/);
    expect((await run(['--help'])).out).toMatch(/avdub eval <video>/);
  });

  it.skipIf(!hasTestData)('prints a table and writes the outputs', async () => {
    const saved = process.env.AVDUB_CACHE_DIR;
    process.env.AVDUB_CACHE_DIR = dirname(TEST_MODEL_CACHE); // the CLI uses $AVDUB_CACHE_DIR/models
    try {
      const out = join(tmp.dir, 'cli');
      const r = await run(['eval', videoPath('mimictalk_oldcommit_May_5s.mp4'), '--max-seconds', '3', '--strategies', 'static-mean,identity', '--out', out]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/static-mean\s+\d+\.\d\d\s+0\.\d{3}\s+0\.\d{4}/);
      expect(r.out).toMatch(/identity\s+inf/);
      const json = JSON.parse(readFileSync(join(out, 'mimictalk_oldcommit_May_5s.json'), 'utf8'));
      expect(json.frames).toBe(75);
      expect(Object.keys(json.strategies)).toEqual(['static-mean', 'identity']);
      expect(existsSync(join(out, 'mimictalk_oldcommit_May_5s-sheet.png'))).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.AVDUB_CACHE_DIR;
      else process.env.AVDUB_CACHE_DIR = saved;
    }
  });
});

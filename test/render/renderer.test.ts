import { describe, expect, it } from 'vitest';
import { changedPixelsOutside } from '../../src/eval/metrics.js';
import type { Affine, RgbImage } from '../../src/face/image.js';
import { Renderer, featheredPolygonMask, gaussianBlur, labToRgb, rasterizePolygon, reinhardTransfer, rgbToLab } from '../../src/render/index.js';

function noise(w: number, h: number, seed: number): RgbImage {
  let s = seed;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h };
}
function solid(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { data, width: w, height: h };
}
const copy = (img: RgbImage): RgbImage => ({ ...img, data: Uint8Array.from(img.data) });

// The 001 appendix mouth rectangle on a 64-px crop, as a polygon.
const CROP = 64;
const rectPolygon = [0.08, 0.28, 0.92, 0.28, 0.92, 0.95, 0.08, 0.95].map((v) => v * CROP);

describe('masks', () => {
  it('rasterizes a rectangle exactly and feathers within 3 sigma', () => {
    const m = rasterizePolygon([10, 10, 20, 10, 20, 30, 10, 30], 40, 40);
    expect(m.reduce((a, b) => a + b, 0)).toBe(10 * 20);
    const f = featheredPolygonMask([10, 10, 20, 10, 20, 30, 10, 30], 40, 40, 2);
    expect(f[20 * 40 + 15]).toBeGreaterThan(0.9); // well inside
    expect(f[20 * 40 + 3]).toBe(0); // 7 px outside > 3 sigma
    expect(f[20 * 40 + 10]).toBeGreaterThan(0.3); // on the edge: ramp
    expect(f[20 * 40 + 10]).toBeLessThan(0.7);
  });
});

describe('Renderer', () => {
  // A crop placed in a 200x150 frame, rotated 20 degrees and scaled 1.7x.
  const ang = (20 * Math.PI) / 180;
  const s = 1.7;
  const cropToFrame: Affine = [s * Math.cos(ang), -s * Math.sin(ang), 70, s * Math.sin(ang), s * Math.cos(ang), 20];

  it('leaves every pixel outside the mask support bit-identical', () => {
    const frame = noise(200, 150, 3);
    const before = copy(frame);
    const gen = noise(CROP, CROP, 9);
    const mask = featheredPolygonMask(rectPolygon, CROP, CROP, 3);
    const box = new Renderer().render(frame, gen, cropToFrame, mask)!;
    expect(box).not.toBeNull();
    // Support in the frame: pixels whose centre maps into the crop where the mask is > 0.
    const inv = (x: number, y: number): [number, number] => {
      const [a, b, c, d, e, f] = cropToFrame;
      const det = a * e - b * d;
      const X = x - c;
      const Y = y - f;
      return [(e * X - b * Y) / det, (-d * X + a * Y) / det];
    };
    const support = (x: number, y: number): boolean => {
      const [u, v] = inv(x + 0.5, y + 0.5);
      // bilinear lookup touches the 2x2 neighbourhood of (u - 0.5, v - 0.5)
      for (const du of [0, 1]) for (const dv of [0, 1]) {
        const xi = Math.floor(u - 0.5) + du;
        const yi = Math.floor(v - 0.5) + dv;
        if (xi >= 0 && yi >= 0 && xi < CROP && yi < CROP && mask[yi * CROP + xi]! > 0) return true;
      }
      return false;
    };
    expect(changedPixelsOutside(before, frame, support)).toBe(0);
    // And outside the returned box nothing changed at all.
    expect(changedPixelsOutside(before, frame, (x, y) => x >= box.x && y >= box.y && x < box.x + box.width && y < box.y + box.height)).toBe(0);
    // Something did change inside.
    expect(changedPixelsOutside(before, frame, () => false)).toBeGreaterThan(500);
  });

  it('reproduces the generated crop where the mask is 1 (identity placement)', () => {
    const frame = noise(CROP, CROP, 4);
    const gen = noise(CROP, CROP, 5);
    const mask = new Float32Array(CROP * CROP).fill(1);
    new Renderer().render(frame, gen, [1, 0, 0, 0, 1, 0], mask);
    expect(Buffer.compare(Buffer.from(frame.data), Buffer.from(gen.data))).toBe(0);
  });

  it('blends by alpha and by opacity; opacity 0 changes nothing', () => {
    const frame = solid(32, 32, [100, 100, 100]);
    const gen = solid(32, 32, [200, 0, 50]);
    const mask = new Float32Array(32 * 32).fill(0.5);
    const r = new Renderer();
    const f0 = copy(frame);
    expect(r.render(f0, gen, [1, 0, 0, 0, 1, 0], mask, 0)).toBeNull();
    expect(f0.data).toEqual(frame.data);
    r.render(frame, gen, [1, 0, 0, 0, 1, 0], mask, 1);
    expect(Array.from(frame.data.subarray(3 * (16 * 32 + 16), 3 * (16 * 32 + 16) + 3))).toEqual([150, 50, 75]);
  });

  it('colour transfer moves the generated colour statistics to the original ones', () => {
    const frame = solid(32, 32, [180, 120, 100]); // skin-like
    const gen = noise(32, 32, 11);
    for (let i = 0; i < gen.data.length; i += 3) {
      gen.data[i] = 60 + (gen.data[i]! >> 3); // a dark, blue-ish generated mouth
      gen.data[i + 1] = 60;
      gen.data[i + 2] = 140;
    }
    const mask = new Float32Array(32 * 32).fill(1);
    const plain = copy(frame);
    new Renderer().render(plain, gen, [1, 0, 0, 0, 1, 0], mask);
    const matched = copy(frame);
    new Renderer({ colorTransfer: true }).render(matched, gen, [1, 0, 0, 0, 1, 0], mask);
    const meanRed = (img: RgbImage): number => img.data.filter((_, i) => i % 3 === 0).reduce((a, b) => a + b, 0) / (32 * 32);
    expect(Math.abs(meanRed(matched) - 180)).toBeLessThan(6);
    expect(Math.abs(meanRed(plain) - 180)).toBeGreaterThan(80);
  });

  it('Lab conversion round-trips', () => {
    const lab = new Float64Array(3);
    const out = new Uint8Array(3);
    for (const rgb of [[0, 0, 0], [255, 255, 255], [200, 60, 30], [12, 200, 99]] as const) {
      rgbToLab(rgb[0], rgb[1], rgb[2], lab);
      labToRgb(lab[0]!, lab[1]!, lab[2]!, out, 0);
      expect(Array.from(out)).toEqual([...rgb]);
    }
    expect(() => reinhardTransfer(new Uint8Array(3), new Uint8Array(3), new Float32Array(1))).not.toThrow();
  });
});

describe('gaussianBlur', () => {
  /** The truncated, normalised 2-D Gaussian convolution, computed directly. */
  function direct(mask: Float32Array, w: number, h: number, sigma: number): Float64Array {
    const r = Math.ceil(3 * sigma);
    const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
    const s = k.reduce((a, b) => a + b, 0);
    const out = new Float64Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      let v = 0;
      for (let j = -r; j <= r; j++) for (let i = -r; i <= r; i++) {
        const xx = x + i;
        const yy = y + j;
        if (xx >= 0 && yy >= 0 && xx < w && yy < h) v += (k[i + r]! / s) * (k[j + r]! / s) * mask[yy * w + xx]!;
      }
      out[y * w + x] = v;
    }
    return out;
  }

  it('equals the direct 2-D convolution, for runs of 1s (the fast rows) and for any other mask', () => {
    const poly = rasterizePolygon([6.3, 4.1, 30.2, 9.7, 25.5, 33.8, 3.9, 28.2], 40, 40);
    const ragged = Float32Array.from(poly, (v, i) => (v && i % 7 === 0 ? 0.5 : v)); // not runs of 1s
    for (const m of [poly, ragged]) {
      const got = gaussianBlur(m, 40, 40, 2.5);
      const want = direct(m, 40, 40, 2.5);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - (want[i]! < 1e-4 ? 0 : want[i]!)));
      expect(worst).toBeLessThan(1e-5);
    }
  });
});

describe('MaskScratch', () => {
  it('gives the same masks as fresh buffers, call after call, whatever the sizes in between', () => {
    const scratch = {};
    const polys: [number[], number, number, number][] = [
      [[6.3, 4.1, 30.2, 9.7, 25.5, 33.8, 3.9, 28.2], 40, 40, 2.5],
      [[2, 2, 60, 5, 58, 50, 4, 44], 64, 56, 4],
      [[1, 1, 9, 1, 9, 9], 12, 10, 1.5], // smaller than before: the reused buffers hold old values
      [[6.3, 4.1, 30.2, 9.7, 25.5, 33.8, 3.9, 28.2], 40, 40, 0], // sigma 0: a copy
      [[2, 2, 60, 5, 58, 50, 4, 44], 64, 56, 4],
    ];
    for (const [poly, w, h, sigma] of polys) {
      const want = featheredPolygonMask(poly, w, h, sigma);
      const got = featheredPolygonMask(poly, w, h, sigma, scratch);
      expect(got.length).toBe(w * h);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});

/**
 * Reinhard et al. colour transfer (003 s3.3): shift the generated mouth's colour statistics
 * (mean and standard deviation per channel in CIELAB) to those of the original frame's pixels in
 * the same region, so lighting and skin tone match and the seam does not show. Only pixels with
 * weight > 0 contribute and are changed.
 */

const lut = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  lut[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}
const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
const finv = (t: number): number => (t ** 3 > 216 / 24389 ? t ** 3 : (116 * t - 16) / (24389 / 27));
const gamma = (c: number): number => {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
  return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
};

export function rgbToLab(r: number, g: number, b: number, out: Float64Array, o = 0): void {
  const R = lut[r]!;
  const G = lut[g]!;
  const B = lut[b]!;
  // sRGB D65
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  out[o] = 116 * fy - 16;
  out[o + 1] = 500 * (fx - fy);
  out[o + 2] = 200 * (fy - fz);
}

export function labToRgb(L: number, A: number, Bb: number, out: Uint8Array, o: number): void {
  const fy = (L + 16) / 116;
  const x = finv(fy + A / 500) * 0.95047;
  const y = finv(fy);
  const z = finv(fy - Bb / 200) * 1.08883;
  out[o] = gamma(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
  out[o + 1] = gamma(-0.969266 * x + 1.8760108 * y + 0.041556 * z);
  out[o + 2] = gamma(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
}

/**
 * Transfers colour statistics in place: `target` pixels (where `weight > 0`) are mapped so
 * their weighted Lab mean/std match those of `reference` at the same pixels.
 */
export function reinhardTransfer(target: Uint8Array, reference: Uint8Array, weight: Float32Array): void {
  const lab = new Float64Array(3);
  const st = new Float64Array(12); // sum, sumsq for target and reference, 3 channels
  let wsum = 0;
  for (let p = 0; p < weight.length; p++) {
    const w = weight[p]!;
    if (w <= 0) continue;
    wsum += w;
    rgbToLab(target[3 * p]!, target[3 * p + 1]!, target[3 * p + 2]!, lab);
    for (let c = 0; c < 3; c++) {
      st[c] = st[c]! + w * lab[c]!;
      st[3 + c] = st[3 + c]! + w * lab[c]! * lab[c]!;
    }
    rgbToLab(reference[3 * p]!, reference[3 * p + 1]!, reference[3 * p + 2]!, lab);
    for (let c = 0; c < 3; c++) {
      st[6 + c] = st[6 + c]! + w * lab[c]!;
      st[9 + c] = st[9 + c]! + w * lab[c]! * lab[c]!;
    }
  }
  if (wsum <= 0) return;
  const mt = [0, 1, 2].map((c) => st[c]! / wsum);
  const mr = [0, 1, 2].map((c) => st[6 + c]! / wsum);
  const sd = (sum2: number, m: number): number => Math.sqrt(Math.max(0, sum2 / wsum - m * m));
  // Clamp the gain: a near-flat generated region must not be blown up into noise.
  const gain = [0, 1, 2].map((c) => {
    const t = sd(st[3 + c]!, mt[c]!);
    const r = sd(st[9 + c]!, mr[c]!);
    return t > 1e-6 ? Math.min(3, Math.max(1 / 3, r / t)) : 1;
  });
  for (let p = 0; p < weight.length; p++) {
    if (weight[p]! <= 0) continue;
    rgbToLab(target[3 * p]!, target[3 * p + 1]!, target[3 * p + 2]!, lab);
    labToRgb(
      (lab[0]! - mt[0]!) * gain[0]! + mr[0]!,
      (lab[1]! - mt[1]!) * gain[1]! + mr[1]!,
      (lab[2]! - mt[2]!) * gain[2]! + mr[2]!,
      target,
      3 * p,
    );
  }
}

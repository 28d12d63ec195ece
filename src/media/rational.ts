/** A frame rate as an exact fraction, so 29.97 fps is 30000/1001 and never drifts. */
export interface Rational {
  num: number;
  den: number;
}

/** Parses "30000/1001", "25" or 29.97 into a fraction (denominator at most 1001). */
export function toRational(rate: number | string): Rational {
  if (typeof rate === 'string') {
    const [n, d] = rate.split('/').map(Number);
    if (Number.isFinite(n) && (d === undefined || Number.isFinite(d))) {
      if (d === undefined) return toRational(n!);
      if (n! > 0 && d > 0) return { num: n!, den: d };
    }
    return { num: Number.NaN, den: 1 };
  }
  if (Number.isInteger(rate)) return { num: rate, den: 1 };
  // 29.97, 23.976, 59.94 as typed by people mean the NTSC fractions x000/1001.
  const ntsc = Math.round((rate * 1001) / 1000) * 1000;
  if (Math.abs(ntsc / 1001 - rate) < 0.0015) return { num: ntsc, den: 1001 };
  // Best fraction with a small denominator: covers the NTSC family (x000/1001) exactly.
  let best = { num: Math.round(rate), den: 1 };
  let bestErr = Math.abs(rate - best.num);
  for (const den of [1001, 1000, 100, 10, 3, 2]) {
    const num = Math.round(rate * den);
    const err = Math.abs(rate - num / den);
    if (err < bestErr - 1e-12) {
      best = { num, den };
      bestErr = err;
    }
  }
  return best;
}

/**
 * Temporal smoothing of landmark tracks. Two filters, as in the papers:
 * - Gaussian (001 s3.1.1: "we smooth the landmarks present at each frame using a Gaussian
 *   kernel over time"): offline, symmetric, no lag; needs the frames on both sides.
 * - One-Euro (003 s3.3.1, Casiez et al. 2012): causal, adapts its cut-off to the speed, so it
 *   removes jitter when the head is still and lags little when it moves; usable while streaming.
 */

export type SmoothingMethod = 'gaussian' | 'one-euro' | 'none';

export interface GaussianSmoothingOptions {
  /** Standard deviation in frames. @default 1.5 */
  sigma: number;
}

export interface OneEuroOptions {
  /** Cut-off at rest, in Hz. @default 0.05 (MediaPipe's face-landmark setting) */
  minCutoff: number;
  /** Speed coefficient: how fast the cut-off rises with speed. @default 80 */
  beta: number;
  /** Cut-off for the speed estimate, in Hz. @default 1 */
  dCutoff: number;
}

export interface SmoothingOptions {
  /** @default 'gaussian' */
  method: SmoothingMethod;
  gaussian: GaussianSmoothingOptions;
  /**
   * The 1-Euro filter sees coordinates divided by the face size (mean of the landmark box's
   * width and height, as MediaPipe's LandmarksSmoothingCalculator), so one setting fits any
   * resolution and face size.
   */
  oneEuro: OneEuroOptions;
}

export const defaultSmoothingOptions: SmoothingOptions = {
  method: 'gaussian',
  gaussian: { sigma: 1.5 },
  oneEuro: { minCutoff: 0.05, beta: 80, dCutoff: 1 },
};

/** Normalised Gaussian weights for offsets -radius..radius (radius defaults to ceil(3 sigma)). */
export function gaussianKernel(sigma: number, radius = Math.ceil(3 * sigma)): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  if (sigma <= 0) {
    k[radius] = 1;
    return k;
  }
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-0.5 * (i / sigma) ** 2);
    k[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/**
 * Gaussian smoothing of a sequence of equal-length vectors (one per frame). At the ends the
 * kernel is truncated and renormalised, so the first and last frames are not pulled towards
 * zero or duplicated. Returns new arrays.
 */
export function gaussianSmooth(series: readonly Float32Array[], sigma: number): Float32Array[] {
  const T = series.length;
  if (T === 0 || sigma <= 0) return series.map((s) => Float32Array.from(s));
  const radius = Math.ceil(3 * sigma);
  const k = gaussianKernel(sigma, radius);
  const dim = series[0]!.length;
  const out: Float32Array[] = [];
  const acc = new Float64Array(dim);
  for (let t = 0; t < T; t++) out.push(smoothAt((s) => series[s]!, t, Math.max(0, t - radius), Math.min(T - 1, t + radius), k, radius, acc));
  return out;
}

/** Frame t of a run, smoothed over frames lo..hi (the kernel truncated there and renormalised). */
function smoothAt(at: (s: number) => Float32Array, t: number, lo: number, hi: number, k: Float64Array, radius: number, acc: Float64Array): Float32Array {
  const dim = acc.length;
  acc.fill(0);
  let wsum = 0;
  for (let s = lo; s <= hi; s++) {
    const w = k[s - t + radius]!;
    wsum += w;
    const v = at(s);
    for (let i = 0; i < dim; i++) acc[i]! += w * v[i]!;
  }
  const o = new Float32Array(dim);
  for (let i = 0; i < dim; i++) o[i] = acc[i]! / wsum;
  return o;
}

/**
 * {@link gaussianSmooth} over a stream: push the frames of one run (consecutive frames) in
 * order, then `end()` the run. A frame's smoothed value is final once `radius` = ceil(3 sigma)
 * later frames of its run have arrived, or when the run ends; `push` and `end` return the
 * frames that became final, in order, each with the tag it was pushed with. The result equals
 * `gaussianSmooth` over the whole run exactly (same kernel, same truncation at the run's ends,
 * same summation order), while at most 2 radius + 1 frames are held.
 */
export class GaussianStreamSmoother<T> {
  /** Look-ahead in frames: a frame is final `radius` frames after it arrived (or at the run's end). */
  readonly radius: number;
  private readonly kernel: Float64Array;
  private acc?: Float64Array;
  /** Held frames: run positions first .. first + held.length - 1. */
  private held: { value: Float32Array; tag: T }[] = [];
  private first = 0;
  /** Run position of the next frame to emit. */
  private next = 0;

  constructor(readonly sigma: number) {
    this.radius = sigma > 0 ? Math.ceil(3 * sigma) : 0;
    this.kernel = gaussianKernel(sigma, this.radius);
  }

  /** Frames pushed but not yet final. */
  get pending(): number {
    return this.first + this.held.length - this.next;
  }

  /** Adds the next frame of the current run; returns the frames that became final. */
  push(value: Float32Array, tag: T): { value: Float32Array; tag: T }[] {
    this.held.push({ value, tag });
    const out: { value: Float32Array; tag: T }[] = [];
    const last = this.first + this.held.length - 1;
    while (this.next + this.radius <= last) out.push(this.emit(this.next + this.radius));
    return out;
  }

  /** The current run ended: returns its remaining frames, smoothed; the next push starts a new run. */
  end(): { value: Float32Array; tag: T }[] {
    const out: { value: Float32Array; tag: T }[] = [];
    const last = this.first + this.held.length - 1;
    while (this.next <= last) out.push(this.emit(Math.min(last, this.next + this.radius)));
    this.held = [];
    this.first = 0;
    this.next = 0;
    return out;
  }

  private emit(hi: number): { value: Float32Array; tag: T } {
    const t = this.next++;
    const h = this.held;
    const first = this.first;
    const entry = h[t - first]!;
    let value: Float32Array;
    if (this.radius === 0) value = Float32Array.from(entry.value);
    else {
      if (!this.acc || this.acc.length !== entry.value.length) this.acc = new Float64Array(entry.value.length);
      value = smoothAt((s) => h[s - first]!.value, t, Math.max(0, t - this.radius), hi, this.kernel, this.radius, this.acc);
    }
    // Frames before next - radius are never read again.
    const drop = this.next - this.radius - first;
    if (drop > 0) {
      this.held.splice(0, drop);
      this.first += drop;
    }
    return { value, tag: entry.tag };
  }
}

function alpha(cutoff: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

/**
 * The 1-Euro filter (Casiez, Roussel, Vogel 2012) over a vector of coordinates, each filtered
 * independently. `filter` takes a value and its timestamp in seconds and returns the smoothed
 * value (a new array, or `out`).
 */
export class OneEuroFilter {
  private x?: Float64Array;
  private dx?: Float64Array;
  private t = 0;

  constructor(readonly options: OneEuroOptions = defaultSmoothingOptions.oneEuro) {}

  reset(): void {
    this.x = undefined;
    this.dx = undefined;
  }

  /** Filters one sample. `scale` divides the values first (and multiplies back), e.g. the face size. */
  filter(value: ArrayLike<number>, timestamp: number, scale = 1, out?: Float32Array): Float32Array {
    const n = value.length;
    const res = out ?? new Float32Array(n);
    const inv = 1 / scale;
    if (!this.x || this.x.length !== n) {
      this.x = new Float64Array(n);
      this.dx = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        this.x[i] = value[i]! * inv;
        res[i] = value[i]!;
      }
      this.t = timestamp;
      return res;
    }
    let dt = timestamp - this.t;
    if (!(dt > 0)) dt = 1 / 30; // repeated or missing timestamps: assume a typical frame step
    this.t = timestamp;
    const { minCutoff, beta, dCutoff } = this.options;
    const ad = alpha(dCutoff, dt);
    const x = this.x;
    const dx = this.dx!;
    for (let i = 0; i < n; i++) {
      const v = value[i]! * inv;
      const d = (v - x[i]!) / dt;
      const ed = dx[i]! + ad * (d - dx[i]!);
      dx[i] = ed;
      const a = alpha(minCutoff + beta * Math.abs(ed), dt);
      x[i] = x[i]! + a * (v - x[i]!);
      res[i] = x[i]! * scale;
    }
    return res;
  }
}

/** Runs a fresh 1-Euro filter over a whole sequence (timestamps in seconds). */
export function oneEuroSmooth(
  series: readonly Float32Array[],
  timestamps: readonly number[],
  options: OneEuroOptions = defaultSmoothingOptions.oneEuro,
  scales?: readonly number[],
): Float32Array[] {
  const f = new OneEuroFilter(options);
  return series.map((v, i) => f.filter(v, timestamps[i]!, scales?.[i] ?? 1));
}

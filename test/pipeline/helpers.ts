/** Builders for the pipeline tests: synthetic face tracks, a mock lip-sync model, frame capture. */
import { CANONICAL_TEMPLATE } from '../../src/canonical/template.js';
import { applyAffine, type Affine } from '../../src/face/image.js';
import { readFrames, readYuvFrames } from '../../src/media/frames.js';
import type { LipsyncGenerateOptions, LipsyncInput, LipsyncModel, LipsyncOutputFrame, LipsyncPatchInput } from '../../src/lipsync/types.js';
import { throwIfAborted } from '../../src/errors.js';
import type { MainFace } from '../../src/pipeline/analysis.js';

const C = 256;
/** Canonical positions (fractions of the crop) of the points the polygons and the jump check use. */
const EXTRA: [number, number, number][] = [
  [234, 0.12, 0.42],
  [454, 0.88, 0.42],
  [1, 0.5, 0.5],
  [149, 0.38, 0.85],
  [152, 0.5, 0.9],
  [378, 0.62, 0.85],
];

/** 468 landmarks of a face whose canonical crop maps to the frame by `toFrame` (crop px -> frame px). */
export function syntheticLandmarks(toFrame: Affine): Float32Array {
  const lm = new Float32Array(468 * 3);
  const put = (i: number, fx: number, fy: number): void => {
    const [x, y] = applyAffine(toFrame, fx * C, fy * C);
    lm[3 * i] = x;
    lm[3 * i + 1] = y;
  };
  for (let i = 0; i < 468; i++) put(i, 0.5, 0.55);
  for (const p of CANONICAL_TEMPLATE.points) put(p.index, p.x, p.y);
  for (const [i, x, y] of EXTRA) put(i, x, y);
  return lm;
}

/** Main-track faces for frames `indices` of a video at `fps`: a face of `scale` frame px per crop px at (tx, ty). */
export function syntheticMain(indices: number[], fps: number, opts: { scale?: number; tx?: number; ty?: number } = {}): MainFace[] {
  const s = opts.scale ?? 0.4;
  const toFrame: Affine = [s, 0, opts.tx ?? 20, 0, s, opts.ty ?? 10];
  const lm = syntheticLandmarks(toFrame);
  return indices.map((index) => ({ index, timestamp: index / fps, confidence: 1, pose: { yaw: 0, pitch: 0, roll: 0 }, landmarks: lm }));
}

export function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/**
 * A lip-sync model for tests: each output crop is the input crop with its colours inverted,
 * emitted `lag` frames late (like a real model's look-ahead), optionally slowly.
 */
export class MockLipsyncModel implements LipsyncModel {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'mock';
  readonly name = 'mock-invert';
  readonly audio = { preset: 'paper' as const, melBands: 80, windowFrames: 24, silence: Math.log(1e-6) };
  readonly references: { min: number; max?: number; preferred: number };
  calls = 0;
  framesIn = 0;
  /** The references each generate call received. */
  referencesSeen: number[] = [];
  /** The `anchor` of every input frame, in order. */
  anchorsSeen: (readonly [number, number] | undefined)[] = [];
  constructor(
    readonly lag = 5,
    readonly delayMs = 0,
    references = 0,
  ) {
    this.references = { min: references ? 1 : 0, preferred: references };
  }

  async *generate(input: LipsyncInput, options: LipsyncGenerateOptions = {}): AsyncGenerator<LipsyncOutputFrame> {
    this.calls++;
    this.referencesSeen.push(input.references?.length ?? 0);
    for (const r of input.references ?? []) if (r.width !== 256 || r.data.length !== 256 * 256 * 3) throw new Error('bad reference');
    const held: LipsyncOutputFrame[] = [];
    let i = 0;
    for await (const f of input.frames as AsyncIterable<{ crop: { data: Uint8Array; width: number; height: number }; audio: Float32Array; anchor?: readonly [number, number] }>) {
      throwIfAborted(options.signal);
      this.anchorsSeen.push(f.anchor);
      if (f.audio.length !== 80 * 24) throw new Error('bad audio window');
      this.framesIn++;
      const data = new Uint8Array(f.crop.data.length);
      for (let k = 0; k < data.length; k++) data[k] = 255 - f.crop.data[k]!;
      held.push({ index: i++, crop: { data, width: f.crop.width, height: f.crop.height } });
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      while (held.length > this.lag) yield held.shift()!;
    }
    while (held.length) yield held.shift()!;
  }
}

/**
 * A patch model for tests: it replaces the crop rectangle x 96-159, y 160-207 with white (its
 * `patchAlpha`), never reads input crops, and refuses `generate` so a test sees which path ran.
 */
export class MockPatchModel implements LipsyncModel {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'mock-patch';
  readonly name = 'mock-white-patch';
  readonly audio = { preset: 'paper' as const, melBands: 80, windowFrames: 24, silence: Math.log(1e-6) };
  readonly references = { min: 0, max: 0, preferred: 0 };
  readonly patchAlpha = new Float32Array(C * C);
  /** Input frames that carried a crop. */
  cropsSeen = 0;
  /** Called with each patch's track index as it is generated. */
  onPatch?: (index: number) => void;
  framesIn = 0;
  // eslint-disable-next-line require-yield
  async *generate(): AsyncGenerator<LipsyncOutputFrame> {
    throw new Error('generate called on a patch model');
  }
  /** `perFrame`: each patch a different grey (from its track index), so a patch shown on the wrong frame is seen. */
  constructor(readonly perFrame = false) {
    for (let y = 160; y < 208; y++) this.patchAlpha.fill(1, y * C + 96, y * C + 160);
  }
  async *generatePatches(input: LipsyncPatchInput, options: LipsyncGenerateOptions = {}): AsyncGenerator<LipsyncOutputFrame> {
    const white = new Uint8Array(C * C * 3).fill(255);
    let i = 0;
    for await (const f of input.frames) {
      throwIfAborted(options.signal);
      this.framesIn++;
      if ('crop' in f) this.cropsSeen++;
      this.onPatch?.(i);
      const data = this.perFrame ? new Uint8Array(C * C * 3).fill(20 + ((i * 47) % 220)) : white;
      yield { index: i++, crop: { data, width: C, height: C } };
    }
  }
}

/** Every decoded frame of a small video (copies). */
export async function decodeAll(path: string, format: 'rgb24' | 'yuv420p' = 'rgb24'): Promise<{ data: Uint8Array; timestamp: number }[]> {
  const out: { data: Uint8Array; timestamp: number }[] = [];
  for await (const f of format === 'rgb24' ? readFrames(path) : readYuvFrames(path)) out.push({ data: f.data, timestamp: f.timestamp });
  return out;
}

/**
 * Samples that differ between two I420 frames outside `box` (everywhere when null): luma
 * outside the box, chroma outside the box halved (the render pass aligns its box to even
 * coordinates, so a chroma sample is either wholly outside or inside).
 */
export function diffOutsideYuv(a: Uint8Array, b: Uint8Array, width: number, height: number, box: { x: number; y: number; width: number; height: number } | null): number {
  let n = 0;
  const inside = (x: number, y: number, s: number): boolean =>
    !!box && x >= box.x / s && x < (box.x + box.width) / s && y >= box.y / s && y < (box.y + box.height) / s;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (!inside(x, y, 1) && a[y * width + x] !== b[y * width + x]) n++;
  const cw = width / 2;
  const ch = height / 2;
  for (let plane = 0; plane < 2; plane++) {
    const off = width * height + plane * cw * ch;
    for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) if (!inside(x, y, 2) && a[off + y * cw + x] !== b[off + y * cw + x]) n++;
  }
  return n;
}

/** Pixels that differ between two RGB frames outside `box` (or everywhere when box is null). */
export function diffOutside(a: Uint8Array, b: Uint8Array, width: number, box: { x: number; y: number; width: number; height: number } | null): number {
  let n = 0;
  const height = a.length / 3 / width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (box && x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height) continue;
      const o = (y * width + x) * 3;
      if (a[o] !== b[o] || a[o + 1] !== b[o + 1] || a[o + 2] !== b[o + 2]) n++;
    }
  }
  return n;
}

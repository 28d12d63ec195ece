import { describe, expect, it } from 'vitest';
import { BLAZEFACE_ANCHOR_SPEC, decodeDetections, generateAnchors, iou, nonMaxSuppression, type FaceDetection } from '../../src/face/detector.js';

const det = (x: number, y: number, size: number, score: number): FaceDetection => ({
  box: { x, y, width: size, height: size },
  score,
  keypoints: Array.from({ length: 6 }, (_, k): [number, number] => [x + k, y + k]),
});

describe('BlazeFace anchors', () => {
  it('has 896 anchors: 16x16x2 + 8x8x6 at strides 16 and 32 on the 256-pixel input', () => {
    const a = generateAnchors(256);
    expect(a.length / 2).toBe(16 * 16 * 2 + 8 * 8 * 6);
    expect(a.length / 2).toBe(896);
    // first cell, both anchors at its centre; then the next cell
    expect(Array.from(a.subarray(0, 6))).toEqual([8, 8, 8, 8, 24, 8]);
    // the stride-32 layer starts after 512 anchors, 6 per cell
    expect(Array.from(a.subarray(1024, 1024 + 14))).toEqual([16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 48, 16]);
    expect(a[a.length - 2]).toBe(240);
    expect(a[a.length - 1]).toBe(240);
  });

  it('gives the front model layout (128 input, strides 8 and 16) 896 anchors too', () => {
    expect(generateAnchors(128, { strides: [8, 16], anchorsPerCell: [2, 6] }).length / 2).toBe(896);
    expect(generateAnchors(128, BLAZEFACE_ANCHOR_SPEC).length / 2).toBe(8 * 8 * 2 + 4 * 4 * 6);
  });
});

describe('decodeDetections', () => {
  it('decodes boxes and keypoints relative to anchors and applies the score threshold', () => {
    const anchors = Float32Array.from([8, 8, 24, 8]);
    const logits = Float32Array.from([2, -3]);
    const reg = new Float32Array(32);
    reg.set([1, -2, 10, 20, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    const out = decodeDetections(logits, reg, anchors, 0.5);
    expect(out).toHaveLength(1);
    expect(out[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(out[0]!.box).toEqual({ x: 9 - 5, y: 6 - 10, width: 10, height: 20 });
    expect(out[0]!.keypoints[0]).toEqual([8, 8]);
    expect(out[0]!.keypoints[5]).toEqual([13, 13]);
    expect(decodeDetections(logits, reg, anchors, 0.01)).toHaveLength(2);
    expect(() => decodeDetections(logits, reg.subarray(0, 16), anchors, 0.5)).toThrow(/do not match/);
  });
});

describe('non-maximum suppression', () => {
  it('computes IoU', () => {
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 })).toBeCloseTo(50 / 150, 10);
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 20, y: 0, width: 10, height: 10 })).toBe(0);
  });

  it('hard mode keeps the best of each overlapping group', () => {
    const out = nonMaxSuppression([det(0, 0, 10, 0.6), det(1, 1, 10, 0.9), det(50, 50, 10, 0.7)], 0.3, 'hard');
    expect(out.map((d) => d.score)).toEqual([0.9, 0.7]);
    expect(out[0]!.box.x).toBe(1);
  });

  it('weighted mode blends a group by score and keeps separate faces apart', () => {
    const out = nonMaxSuppression([det(0, 0, 10, 0.25), det(2, 2, 10, 0.75), det(50, 50, 10, 0.5)], 0.3, 'weighted');
    expect(out).toHaveLength(2);
    expect(out[0]!.score).toBe(0.75);
    expect(out[0]!.box.x).toBeCloseTo(1.5, 10);
    expect(out[0]!.keypoints[2]![0]).toBeCloseTo(3.5, 10);
    expect(out[1]!.box.x).toBe(50);
  });

  it('respects maxOut and the threshold', () => {
    expect(nonMaxSuppression([det(0, 0, 10, 0.9), det(30, 0, 10, 0.8), det(60, 0, 10, 0.7)], 0.3, 'hard', 2)).toHaveLength(2);
    // 50% overlap survives a 0.6 threshold
    expect(nonMaxSuppression([det(0, 0, 10, 0.9), det(0, 3.4, 10, 0.8)], 0.6, 'hard')).toHaveLength(2);
  });
});

import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { FaceDetector } from '../../src/face/detector.js';
import { FaceMesh } from '../../src/face/mesh.js';
import { clearFaceModelMemo, defaultModelCacheDir, defaultModelSourceDir, resolveFaceModel, type FaceModelName } from '../../src/face/model-cache.js';
import { tempDir } from '../helpers/media.js';
import { TEST_MODEL_CACHE } from './helpers.js';

describe('face model cache', () => {
  const tmp = tempDir('avdub-face-cache-');
  afterAll(() => tmp.cleanup());

  it('converts on first use, keyed by the source hash, and reuses the file after', async () => {
    const cacheDir = join(tmp.dir, 'cache');
    const first = await resolveFaceModel('facemesh', { cacheDir });
    expect(first.converted).toBe(true);
    expect(first.path.startsWith(cacheDir)).toBe(true);
    expect(first.key).toMatch(/^[0-9a-f]{64}$/);
    expect(first.path).toContain(first.key.slice(0, 16));
    expect(existsSync(first.path)).toBe(true);
    clearFaceModelMemo();
    const again = await resolveFaceModel('facemesh', { cacheDir });
    expect(again.converted).toBe(false);
    expect(again.path).toBe(first.path);
    expect(again.outputs).toEqual(first.outputs);
  });

  it('converts again when the source files change', async () => {
    const src = join(tmp.dir, 'src');
    const cacheDir = join(tmp.dir, 'cache2');
    const orig = defaultModelSourceDir();
    await import('node:fs/promises').then((fs) => fs.mkdir(src, { recursive: true }));
    for (const f of ['blazeface.json', 'blazeface.bin']) copyFileSync(join(orig, f), join(src, f));
    const a = await resolveFaceModel('blazeface', { cacheDir, sourceDir: src });
    writeFileSync(join(src, 'blazeface.json'), `${readFileSync(join(src, 'blazeface.json'), 'utf8')}\n`);
    clearFaceModelMemo();
    const b = await resolveFaceModel('blazeface', { cacheDir, sourceDir: src });
    expect(b.converted).toBe(true);
    expect(b.key).not.toBe(a.key);
  });

  it('reports a missing source and an unknown model clearly', async () => {
    await expect(resolveFaceModel('facemesh', { cacheDir: tmp.dir, sourceDir: join(tmp.dir, 'nowhere') })).rejects.toSatisfy((e) =>
      AvdubError.isInstance(e, ErrorCode.MODEL_LOAD),
    );
    await expect(resolveFaceModel('nope' as FaceModelName)).rejects.toSatisfy((e) => AvdubError.isInstance(e, ErrorCode.INVALID_ARGUMENT));
  });

  it('defaults to $AVDUB_CACHE_DIR/models, else ~/.cache/avdub/models', () => {
    const saved = process.env.AVDUB_CACHE_DIR;
    try {
      process.env.AVDUB_CACHE_DIR = '/x/y';
      expect(defaultModelCacheDir()).toBe(join('/x/y', 'models'));
      delete process.env.AVDUB_CACHE_DIR;
      expect(defaultModelCacheDir()).toMatch(/avdub[/\\]models$/);
    } finally {
      if (saved === undefined) delete process.env.AVDUB_CACHE_DIR;
      else process.env.AVDUB_CACHE_DIR = saved;
    }
  });
});

describe('converted models on onnxruntime', () => {
  const gray = (w: number, h: number) => ({ data: new Uint8Array(w * h * 3).fill(128), width: w, height: h });

  it('BlazeFace: 896 anchors at 256, runs at 128 too, nothing on a blank frame', async () => {
    const det = await FaceDetector.create({ cacheDir: TEST_MODEL_CACHE });
    expect(det.anchors.length / 2).toBe(896);
    expect(await det.detect(gray(640, 360))).toEqual([]);
    // the converted graph has free spatial dims: a 128 input runs too
    const small = await FaceDetector.create({ cacheDir: TEST_MODEL_CACHE, inputSize: 128 });
    expect(await small.detect(gray(320, 240))).toEqual([]);
    await expect(FaceDetector.create({ cacheDir: TEST_MODEL_CACHE, inputSize: 100 })).rejects.toThrow(/multiple of 32/);
  });

  it('FaceMesh: batched ROIs give per-ROI results, low faceflag without a face', async () => {
    const mesh = await FaceMesh.create({ cacheDir: TEST_MODEL_CACHE });
    const img = gray(400, 300);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) & 255;
    const roi = { cx: 200, cy: 150, size: 200, angle: 0.2 };
    const [a, b] = await mesh.run(img, [roi, { ...roi, cx: 150 }]);
    const [single] = await mesh.run(img, [roi]);
    expect(a!.landmarks.length).toBe(468 * 3);
    expect(a!.confidence).toBeLessThan(0.5);
    for (let i = 0; i < 1404; i++) expect(a!.landmarks[i]).toBeCloseTo(single!.landmarks[i]!, 2);
    expect(b!.landmarks[0]).not.toBeCloseTo(a!.landmarks[0]!, 1);
    expect(await mesh.run(img, [])).toEqual([]);
  });
});

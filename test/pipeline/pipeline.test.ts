/** DubPipeline on synthetic inputs: errors before work, audio-length policy, the stage cache. */
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { liveChildProcessCount } from '../../src/media/process.js';
import { StageCache, fileIdentity, stableStringify } from '../../src/pipeline/cache.js';
import { DubPipeline } from '../../src/pipeline/pipeline.js';
import { createRegistry } from '../../src/providers/registry.js';
import { mockProvider } from '../../src/providers/mock.js';
import { ffmpeg, makeClip, tempDir } from '../helpers/media.js';
import { expectAvdubError } from '../lipsync/helpers.js';

const tmp = tempDir('avdub-pipeline-');
let clip: string;
let silent: string;
let shortAudio: string;
beforeAll(() => {
  clip = makeClip(join(tmp.dir, 'noface.mp4'), { seconds: 1, fps: 25, size: '128x96' });
  silent = makeClip(join(tmp.dir, 'silent.mp4'), { seconds: 1, fps: 25, size: '128x96', audio: false });
  shortAudio = join(tmp.dir, 'short.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=16000:duration=0.5', shortAudio]);
});
afterAll(() => tmp.cleanup());

const pipeline = (): DubPipeline => new DubPipeline({ cacheDir: join(tmp.dir, 'cache'), preset: 'ultrafast' });

describe('DubPipeline: bad input is refused before work', () => {
  it('a video without any face is E_NO_FACE, and leaves nothing behind', async () => {
    const out = join(tmp.dir, 'out-noface', 'o.mp4');
    await expectAvdubError(pipeline().lipsync({ video: clip, audio: clip, output: out }), ErrorCode.NO_FACE, /No face found/);
    expect(readdirSync(tmp.dir)).not.toContain('out-noface');
    expect(liveChildProcessCount()).toBe(0);
    // The analysis is cached: the second refusal does not decode again.
    const events: string[] = [];
    await expectAvdubError(pipeline().lipsync({ video: clip, audio: clip, output: out, onProgress: (e) => e.cached && events.push(e.stage) }), ErrorCode.NO_FACE);
    expect(events).toContain('track');
  });

  it('missing files, missing streams and an output over the input', async () => {
    const p = pipeline();
    await expectAvdubError(p.lipsync({ video: join(tmp.dir, 'nope.mp4'), audio: clip }), ErrorCode.INPUT_NOT_FOUND);
    await expectAvdubError(p.lipsync({ video: clip, audio: join(tmp.dir, 'nope.wav') }), ErrorCode.INPUT_NOT_FOUND);
    await expectAvdubError(p.lipsync({ video: clip, audio: silent }), ErrorCode.NO_AUDIO_STREAM);
    // The personalized model learns from the video's own speech.
    await expectAvdubError(p.lipsync({ video: silent, audio: clip }), ErrorCode.NO_AUDIO_STREAM, /own speech/);
    await expectAvdubError(p.lipsync({ video: clip, audio: clip, output: clip }), ErrorCode.INVALID_ARGUMENT, /overwrite the input/);
    await expectAvdubError(p.lipsync({ video: clip, audio: clip, profile: join(tmp.dir, 'nope.avdp') }), ErrorCode.INPUT_NOT_FOUND);
    await expectAvdubError(() => new DubPipeline({ crf: 99 }), ErrorCode.INVALID_ARGUMENT, /crf/);
  });

  it("audioLength 'error' refuses a track of another length; 'fit' goes on (to the face search here)", async () => {
    await expectAvdubError(pipeline().lipsync({ video: clip, audio: shortAudio, audioLength: 'error' }), ErrorCode.INVALID_ARGUMENT, /0\.500 s but the video is 1\.000 s/);
    await expectAvdubError(pipeline().lipsync({ video: clip, audio: shortAudio }), ErrorCode.NO_FACE);
  });

  it('dub: unknown provider ids, unsupported languages and missing subtitle files fail at once', async () => {
    const p = pipeline();
    await expectAvdubError(p.dub({ video: clip, to: 'es', tts: 'nope:voice' }), ErrorCode.UNKNOWN_MODEL_ID);
    await expectAvdubError(p.dub({ video: clip, to: 'tlh' }), ErrorCode.UNSUPPORTED_LANGUAGE);
    await expectAvdubError(p.dub({ video: clip, to: 'not a tag!' }), ErrorCode.INVALID_ARGUMENT);
    await expectAvdubError(p.dub({ video: clip, to: 'es', transcript: join(tmp.dir, 'nope.srt') }), ErrorCode.INPUT_NOT_FOUND);
    await expectAvdubError(p.dub({ video: clip, to: 'es', asr: 'mock:x' }), ErrorCode.UNKNOWN_MODEL_ID);
  });

  it('dub: a video without a face fails in the analysis pass, before any provider is called', async () => {
    const provider = mockProvider();
    const registry = createRegistry({ mock: provider });
    const p = new DubPipeline({ cacheDir: join(tmp.dir, 'cache'), registry, preset: 'ultrafast' });
    const stages: string[] = [];
    await expectAvdubError(
      p.dub({ video: clip, to: 'es', asr: 'mock:asr', mt: 'mock:mt', tts: 'mock:tts', onProgress: (e) => e.done === 0 && stages.push(e.stage) }),
      ErrorCode.NO_FACE,
    );
    expect(stages).toContain('probe');
    expect(stages).not.toContain('transcribe');
    const asr = registry.transcriptionModel('mock:asr') as unknown as { calls: unknown[] };
    const tts = registry.speechModel('mock:tts') as unknown as { calls: unknown[] };
    expect(asr.calls).toHaveLength(0);
    expect(tts.calls).toHaveLength(0);
  });
});

describe('StageCache', () => {
  it('keys are stable over key order and change with any input; identity follows the file', async () => {
    const cache = await StageCache.open(join(tmp.dir, 'c2'));
    expect(cache.key('s', { a: 1, b: [1, 2] })).toBe(cache.key('s', { b: [1, 2], a: 1 }));
    expect(cache.key('s', { a: 1 })).not.toBe(cache.key('s', { a: 2 }));
    expect(cache.key('s', { a: 1 })).not.toBe(cache.key('t', { a: 1 }));
    expect(stableStringify({ x: Float32Array.from([1, 2]), y: undefined })).toBe('{"x":[1,2]}');
    const f = join(tmp.dir, 'id.bin');
    writeFileSync(f, Buffer.alloc(3 << 20, 1));
    const id1 = await fileIdentity(f);
    expect(await fileIdentity(f)).toBe(id1);
    const b = Buffer.alloc(3 << 20, 1);
    b[b.length - 1] = 2;
    writeFileSync(f, b);
    utimesSync(f, 1000, 1000);
    const id2 = await fileIdentity(f);
    expect(id2).not.toBe(id1);
    utimesSync(f, 2000, 2000);
    expect(await fileIdentity(f)).not.toBe(id2); // mtime is part of the identity
  });

  it('writes atomically, reads back, and a disabled cache misses and stores nothing', async () => {
    const cache = await StageCache.open(join(tmp.dir, 'c3'));
    const k = cache.key('x', 1);
    expect(await cache.readJson('x', k)).toBeUndefined();
    await cache.writeJson('x', k, { v: 42 });
    expect(await cache.readJson('x', k)).toEqual({ v: 42 });
    expect(readdirSync(join(tmp.dir, 'c3', 'pipeline', 'x'))).toEqual([`${k}.json`]);
    expect(cache.uses.map((u) => u.hit)).toEqual([false, true]);
    // A list of chunks is written in order (piece by piece, never concatenated first).
    const kb = cache.key('x', 2);
    await cache.write('x', kb, '.bin', [Uint8Array.from([1, 2]), new Uint8Array(0), Uint8Array.from([3])]);
    expect([...((await cache.readBuffer('x', kb, '.bin')) ?? [])]).toEqual([1, 2, 3]);
    const off = await StageCache.open(false);
    expect(await off.writeJson('x', k, 1)).toBeUndefined();
    expect(await off.readJson('x', k)).toBeUndefined();
  });
});

describe('AvdubError codes surface unchanged', () => {
  it('E_ABORTED when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const e = await pipeline().lipsync({ video: clip, audio: clip, signal: ac.signal }).catch((x) => x);
    expect(AvdubError.isInstance(e, ErrorCode.ABORTED)).toBe(true);
  });
});

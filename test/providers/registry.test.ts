import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { createDefaultRegistry } from '../../src/providers/defaults.js';
import { MockSpeechModel, MockTranscriptionModel, MockTranslationModel, mockProvider } from '../../src/providers/mock.js';
import { createRegistry, customProvider } from '../../src/providers/registry.js';
import type { SpeechModel } from '../../src/providers/spec/index.js';

function caught(fn: () => unknown): AvdubError {
  try {
    fn();
  } catch (e) {
    if (AvdubError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

describe('createRegistry', () => {
  const speech = new MockSpeechModel({ modelId: 'voice-a' });
  const registry = createRegistry({
    mine: customProvider({ speechModels: { 'voice-a': speech } }),
    mock: mockProvider(),
  });

  it('looks models up by "provider:model"', () => {
    expect(registry.speechModel('mine:voice-a')).toBe(speech);
    expect(registry.transcriptionModel('mock:x').provider).toBe('mock');
    expect(registry.translationModel('mock:any:thing:with:colons').specificationVersion).toBe('v1');
    expect(registry.providers()).toEqual(['mine', 'mock']);
  });

  it('throws E_UNKNOWN_MODEL_ID listing the known ids', () => {
    const e1 = caught(() => registry.speechModel('mine:voice-b'));
    expect(e1.code).toBe(ErrorCode.UNKNOWN_MODEL_ID);
    expect(e1.message).toContain('mine:voice-a');
    expect(e1.message).toContain('mock:*');
    expect(e1.details.known).toEqual(['mine:voice-a', 'mock:mock-speech', 'mock:*']);
    const e2 = caught(() => registry.speechModel('nobody:voice'));
    expect(e2.message).toMatch(/no provider "nobody"/);
    const e3 = caught(() => registry.transcriptionModel('mine:voice-a'));
    expect(e3.message).toMatch(/provider "mine" has no transcription models/);
    expect(caught(() => registry.speechModel('no-separator')).code).toBe(ErrorCode.UNKNOWN_MODEL_ID);
    expect(caught(() => registry.speechModel(':x')).code).toBe(ErrorCode.UNKNOWN_MODEL_ID);
    expect(caught(() => registry.speechModel('mine:')).code).toBe(ErrorCode.UNKNOWN_MODEL_ID);
  });

  it('supports another separator and rejects bad provider ids', () => {
    const r = createRegistry({ a: mockProvider() }, { separator: '/' });
    expect(r.speechModel('a/x').modelId).toBe('mock-speech');
    expect(() => createRegistry({ 'a:b': mockProvider() })).toThrow(/must not contain/);
  });

  it('keeps registries independent (no global state)', () => {
    const r1 = createRegistry({ p: mockProvider() });
    const r2 = createRegistry({});
    expect(r1.speechModel('p:x')).toBeDefined();
    expect(caught(() => r2.speechModel('p:x')).message).toMatch(/\(none registered\)/);
  });
});

describe('createDefaultRegistry', () => {
  it('offers the built-in providers without loading or contacting anything', () => {
    const r = createDefaultRegistry({ openai: { baseURL: 'http://127.0.0.1:9/v1' } });
    expect(r.providers()).toEqual(['espeak', 'openai', 'libretranslate', 'subtitles']);
    expect(r.speechModel('espeak:default').provider).toBe('espeak');
    expect(r.transcriptionModel('openai:whisper-1').modelId).toBe('whisper-1');
    expect(r.translationModel('libretranslate:default').provider).toBe('libretranslate');
    expect(r.transcriptionModel('subtitles:/tmp/talk.en.srt').modelId).toBe('/tmp/talk.en.srt');
    const e = caught(() => r.speechModel('espeak:robot'));
    expect(e.message).toContain('espeak:default');
    expect(e.message).toContain('openai:tts-1');
    expect(e.cause).toBeDefined();
  });

  it('adds and overrides with the caller providers', () => {
    const mine: SpeechModel = new MockSpeechModel();
    const r = createDefaultRegistry({ providers: { espeak: customProvider({ speechModels: { default: mine } }) } });
    expect(r.speechModel('espeak:default')).toBe(mine);
  });
});

describe('mocks', () => {
  it('record calls and return defaults that follow the interfaces', async () => {
    const asr = new MockTranscriptionModel();
    const { transcript } = await asr.transcribe({ audio: { samples: new Float32Array(32000), sampleRate: 16000 }, language: 'de' });
    expect(transcript).toEqual({ language: 'de', segments: [{ id: '1', start: 0, end: 2, text: 'mock transcript' }] });
    expect(asr.calls).toHaveLength(1);

    const mt = new MockTranslationModel();
    const { translation } = await mt.translate({ transcript, targetLanguage: 'fr' });
    expect(translation.segments[0]).toMatchObject({ id: '1', start: 0, end: 2, text: '[fr] mock transcript' });

    const tts = new MockSpeechModel();
    const a = await tts.synthesize({ text: 'one two three', language: 'en' });
    const b = await tts.synthesize({ text: 'one two three', language: 'en', speed: 2 });
    expect(a.audio.samples.length).toBe(Math.round(0.06 * 13 * 16000));
    expect(b.audio.samples.length).toBe(Math.round((0.06 * 13 * 16000) / 2));
    expect(a.timings!.map((t) => t.text)).toEqual(['one', 'two', 'three']);
    expect(tts.calls.map((c) => c.speed)).toEqual([undefined, 2]);
  });

  it('return configured results in turn, run functions, fail and abort on request', async () => {
    const fixed = { audio: { samples: new Float32Array(4), sampleRate: 8000 }, warnings: [] };
    const seq = new MockSpeechModel({ result: [fixed, { ...fixed, warnings: [{ type: 'other' as const, message: 'second' }] }] });
    await seq.synthesize({ text: 'a', language: 'en' });
    expect((await seq.synthesize({ text: 'a', language: 'en' })).warnings).toHaveLength(1);
    expect((await seq.synthesize({ text: 'a', language: 'en' })).warnings).toHaveLength(1);
    const fn = new MockSpeechModel({ result: (o, i) => ({ ...fixed, providerMetadata: { mock: { text: o.text, i } } }) });
    expect((await fn.synthesize({ text: 'z', language: 'en' })).providerMetadata).toEqual({ mock: { text: 'z', i: 0 } });
    const boom = new AvdubError(ErrorCode.PROVIDER, 'down');
    await expect(new MockTranslationModel({ error: boom }).translate({ transcript: { language: 'en', segments: [] }, targetLanguage: 'es' })).rejects.toBe(boom);
    const slow = new MockSpeechModel({ delayMs: 60_000 });
    const c = new AbortController();
    const p = slow.synthesize({ text: 'a', language: 'en', abortSignal: c.signal });
    c.abort();
    await expect(p).rejects.toMatchObject({ code: ErrorCode.ABORTED });
  });

  it('mock.ts imports nothing heavy (it is the avdub/test entry)', () => {
    const runtimeImports = (file: string): string[] =>
      [...readFileSync(file, 'utf8').matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
    const mock = fileURLToPath(new URL('../../src/providers/mock.ts', import.meta.url));
    expect(runtimeImports(mock)).toEqual(['../errors.js']);
    const errors = fileURLToPath(new URL('../../src/errors.ts', import.meta.url));
    expect(runtimeImports(errors)).toEqual([]);
  });
});

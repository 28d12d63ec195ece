import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { createEspeak, espeakSpeechModel, listEspeakVoices, timingsFromEvents } from '../../src/providers/espeak.js';
import { ESPEAK_VOICES } from '../../src/providers/languages.js';
import type { SpeechResult } from '../../src/providers/spec/index.js';

const SENTENCE = 'The quick brown fox jumps over the lazy dog.';
const duration = (r: SpeechResult): number => r.audio.samples.length / r.audio.sampleRate;

/** RMS per 20 ms frame. */
function frameRms(r: SpeechResult): number[] {
  const { samples, sampleRate } = r.audio;
  const n = Math.round(sampleRate * 0.02);
  const out: number[] = [];
  for (let at = 0; at + n <= samples.length; at += n) {
    let e = 0;
    for (let i = at; i < at + n; i++) e += samples[i]! * samples[i]!;
    out.push(Math.sqrt(e / n));
  }
  return out;
}

/** Zero crossings per sample in a 20 ms frame: low for vowels, high for fricatives like "s", "f". */
function frameZcr(r: SpeechResult): number[] {
  const { samples, sampleRate } = r.audio;
  const n = Math.round(sampleRate * 0.02);
  const out: number[] = [];
  for (let at = 0; at + n <= samples.length; at += n) {
    let z = 0;
    for (let i = at + 1; i < at + n; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) z++;
    out.push(z / n);
  }
  return out;
}

describe('espeak-ng TTS (WASM)', () => {
  const tts = espeakSpeechModel();

  it('really speaks: speech energy, speech-like structure and a plausible duration', async () => {
    const r = await tts.synthesize({ text: SENTENCE, language: 'en-US' });
    expect(r.audio.sampleRate).toBe(22050);
    expect(r.audio.channels).toBe(1);
    // 9 words at espeak's default 175 words/minute: about 3 s.
    expect(duration(r)).toBeGreaterThan(1.5);
    expect(duration(r)).toBeLessThan(6);
    const rms = frameRms(r);
    const loud = rms.filter((x) => x > 0.02).length / rms.length;
    expect(loud).toBeGreaterThan(0.5); // mostly voiced, not silence
    expect(Math.max(...rms)).toBeGreaterThan(0.05);
    // Not a steady tone: loudness and spectral character change from frame to frame.
    expect(Math.min(...rms.slice(0, -5))).toBeLessThan(Math.max(...rms) / 4);
    const zcr = frameZcr(r).filter((_z, i) => rms[i]! > 0.02);
    expect(Math.max(...zcr) - Math.min(...zcr)).toBeGreaterThan(0.05);
    let peak = 0;
    for (const v of r.audio.samples) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeLessThanOrEqual(1);
    expect(r.warnings).toEqual([]);
    expect(r.providerMetadata?.espeak).toMatchObject({ voice: 'gmw/en-US', wordsPerMinute: 175 });
  });

  it('longer text gives longer speech', async () => {
    const short = await tts.synthesize({ text: 'Hello.', language: 'en' });
    const long = await tts.synthesize({ text: `${SENTENCE} ${SENTENCE}`, language: 'en' });
    expect(duration(long)).toBeGreaterThan(duration(short) * 3);
  });

  it('changing the rate changes the duration', async () => {
    const normal = await tts.synthesize({ text: SENTENCE, language: 'en' });
    const fast = await tts.synthesize({ text: SENTENCE, language: 'en', speed: 2 });
    const slow = await espeakSpeechModel({ rate: 90 }).synthesize({ text: SENTENCE, language: 'en' });
    const perCall = await tts.synthesize({ text: SENTENCE, language: 'en', providerOptions: { espeak: { rate: 350 } } });
    expect(duration(fast) / duration(normal)).toBeLessThan(0.7);
    expect(duration(slow) / duration(normal)).toBeGreaterThan(1.4);
    expect(duration(perCall) / duration(normal)).toBeLessThan(0.7);
    expect(fast.providerMetadata?.espeak?.wordsPerMinute).toBe(350);
  });

  it('clamps a speed outside espeak range with a warning', async () => {
    const r = await tts.synthesize({ text: 'Hi there.', language: 'en', speed: 4 });
    expect(r.providerMetadata?.espeak?.wordsPerMinute).toBe(450);
    expect(r.warnings[0]).toMatchObject({ type: 'unsupported-setting', setting: 'speed' });
  });

  it('returns word and phoneme timings from the engine', async () => {
    const r = await tts.synthesize({ text: SENTENCE, language: 'en' });
    const words = r.timings!.filter((t) => t.kind === 'word');
    const phonemes = r.timings!.filter((t) => t.kind === 'phoneme');
    expect(words.map((w) => w.text)).toEqual(['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog']);
    const d = duration(r);
    for (let i = 0; i < words.length; i++) {
      expect(words[i]!.end).toBeGreaterThan(words[i]!.start);
      expect(words[i]!.end).toBeLessThanOrEqual(d);
      if (i > 0) expect(words[i]!.start).toBeGreaterThanOrEqual(words[i - 1]!.end - 1e-9);
    }
    expect(phonemes.length).toBeGreaterThan(20);
    expect(phonemes.some((p) => p.text.includes('f'))).toBe(true);
    // The speech of "fox" is louder than the silence after the sentence ends.
    const fox = words[3]!;
    const rms = frameRms(r);
    const foxRms = Math.max(...rms.slice(Math.floor(fox.start / 0.02), Math.ceil(fox.end / 0.02)));
    expect(foxRms).toBeGreaterThan(0.02);
    // Timings scale with the rate.
    const fast = await tts.synthesize({ text: SENTENCE, language: 'en', speed: 2 });
    const fastWords = fast.timings!.filter((t) => t.kind === 'word');
    expect(fastWords[8]!.start).toBeLessThan(words[8]!.start * 0.75);
    const onlyWords = await espeakSpeechModel({ timings: 'word' }).synthesize({ text: 'Hello world', language: 'en' });
    expect(onlyWords.timings!.every((t) => t.kind === 'word')).toBe(true);
    const none = await espeakSpeechModel({ timings: 'none' }).synthesize({ text: 'Hello world', language: 'en' });
    expect(none.timings).toBeUndefined();
  });

  it('uses the text as written for word timings (non-ASCII included)', async () => {
    const r = await tts.synthesize({ text: 'Größe über alles.', language: 'de-DE' });
    expect(r.timings!.filter((t) => t.kind === 'word').map((w) => w.text)).toEqual(['Größe', 'über', 'alles']);
    expect(r.providerMetadata?.espeak?.voice).toBe('gmw/de');
  });

  it('picks a voice per BCP-47 language, and every table entry exists in the engine', async () => {
    const voices = new Set((await listEspeakVoices()).map((v) => v.identifier));
    for (const v of new Set(Object.values(ESPEAK_VOICES))) expect(voices.has(v), v).toBe(true);
    const br = await tts.synthesize({ text: 'Bom dia', language: 'pt-BR' });
    const gb = await tts.synthesize({ text: 'Good day', language: 'en-GB' });
    const mx = await tts.synthesize({ text: 'Buenos días', language: 'es-MX' });
    const ja = await tts.synthesize({ text: 'こんにちは', language: 'ja' });
    expect(br.providerMetadata?.espeak?.voice).toBe('roa/pt-BR');
    expect(gb.providerMetadata?.espeak?.voice).toBe('gmw/en');
    expect(mx.providerMetadata?.espeak?.voice).toBe('roa/es-419');
    expect(ja.providerMetadata?.espeak?.voice).toBe('jpx/ja');
    for (const r of [br, gb, mx, ja]) expect(Math.max(...frameRms(r))).toBeGreaterThan(0.05);
  });

  it('speaks in every language of the table', async () => {
    const seen = new Set<string>();
    for (const [tag, voice] of Object.entries(ESPEAK_VOICES)) {
      if (seen.has(voice)) continue;
      seen.add(voice);
      const r = await tts.synthesize({ text: '1 2 3', language: tag });
      expect(duration(r), tag).toBeGreaterThan(0.3);
    }
  });

  it('rejects an unknown language listing the supported ones, and an unknown voice', async () => {
    let caught: unknown;
    try {
      await tts.synthesize({ text: 'qapla', language: 'tlh' });
    } catch (e) {
      caught = e;
    }
    expect(AvdubError.isInstance(caught, ErrorCode.UNSUPPORTED_LANGUAGE)).toBe(true);
    expect((caught as AvdubError).message).toMatch(/Supported: .*en-GB.*pt-BR/);
    expect((caught as AvdubError).details.supported).toContain('ja');
    await expect(tts.synthesize({ text: 'x', language: 'en', voice: 'no/such-voice' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(tts.synthesize({ text: 'x', language: '' })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it('takes an explicit espeak voice, handles empty text, validates and aborts', async () => {
    const rp = await tts.synthesize({ text: 'Rather good.', language: 'en', voice: 'gmw/en-GB-x-rp' });
    expect(rp.providerMetadata?.espeak?.voice).toBe('gmw/en-GB-x-rp');
    const empty = await tts.synthesize({ text: '   ', language: 'en' });
    expect(empty.audio.samples.length).toBe(0);
    expect(() => espeakSpeechModel({ rate: 1000 })).toThrow(/rate/);
    const c = new AbortController();
    c.abort();
    await expect(tts.synthesize({ text: 'x', language: 'en', abortSignal: c.signal })).rejects.toMatchObject({ code: ErrorCode.ABORTED });
  });

  it('is in the registry as espeak:default', () => {
    const p = createEspeak();
    expect(p.speechModel('default')).toMatchObject({ specificationVersion: 'v1', provider: 'espeak', modelId: 'default' });
    expect(() => p.speechModel('other')).toThrow(AvdubError);
  });
});

describe('timingsFromEvents', () => {
  it('merges words reported at one text position and ends words at their last phoneme', () => {
    const ev = (type: string, text_position: number, word_length: number, audio_position: number, id?: string | number) => ({
      type,
      text_position,
      word_length,
      audio_position,
      ...(id === undefined ? {} : { id }),
    });
    const t = timingsFromEvents(
      'ab cd',
      [
        ev('word', 1, 2, 0, 1),
        ev('phoneme', 1, 0, 10, 'a'),
        ev('word', 1, 2, 50, 2),
        ev('phoneme', 1, 0, 60, 'b'),
        ev('phoneme', 1, 0, 100, ''),
        ev('word', 4, 2, 200, 3),
        ev('phoneme', 4, 0, 210, 'c'),
        ev('end', 4, 0, 300),
      ],
      0.5,
    );
    expect(t).toEqual([
      { kind: 'word', text: 'ab', start: 0, end: 0.1 },
      { kind: 'phoneme', text: 'a', start: 0.01, end: 0.06 },
      { kind: 'phoneme', text: 'b', start: 0.06, end: 0.1 },
      { kind: 'word', text: 'cd', start: 0.2, end: 0.3 },
      { kind: 'phoneme', text: 'c', start: 0.21, end: 0.3 },
    ]);
  });
});

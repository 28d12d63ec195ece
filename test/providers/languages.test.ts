import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import {
  asrLanguageToTag,
  espeakVoiceFor,
  languageName,
  normalizeLanguageTag,
  supportedSpeechLanguages,
} from '../../src/providers/languages.js';

describe('languages', () => {
  it('canonicalizes BCP-47 tags', () => {
    expect(normalizeLanguageTag('EN_us')).toBe('en-US');
    expect(normalizeLanguageTag('pt-br')).toBe('pt-BR');
    expect(normalizeLanguageTag('zh-hant-tw')).toBe('zh-Hant-TW');
    expect(normalizeLanguageTag('iw')).toBe('he');
    expect(() => normalizeLanguageTag('x')).toThrow(/BCP-47/);
    expect(() => normalizeLanguageTag('')).toThrow(/BCP-47/);
  });

  it('maps tags to espeak voices through one table: exact, region, then language', () => {
    const voice = (t: string) => espeakVoiceFor(t).voice;
    expect(voice('en')).toBe('gmw/en-US');
    expect(voice('en-US')).toBe('gmw/en-US');
    expect(voice('en-GB')).toBe('gmw/en');
    expect(voice('en-AU')).toBe('gmw/en-US');
    expect(voice('de')).toBe('gmw/de');
    expect(voice('de-AT')).toBe('gmw/de');
    expect(voice('fr-CA')).toBe('roa/fr');
    expect(voice('fr-BE')).toBe('roa/fr-BE');
    expect(voice('es')).toBe('roa/es');
    expect(voice('es-419')).toBe('roa/es-419');
    expect(voice('es-AR')).toBe('roa/es-419');
    expect(voice('it')).toBe('roa/it');
    expect(voice('pt')).toBe('roa/pt');
    expect(voice('pt-BR')).toBe('roa/pt-BR');
    expect(voice('ja')).toBe('jpx/ja');
    expect(voice('zh')).toBe('sit/cmn');
    expect(voice('zh-Hans-CN')).toBe('sit/cmn');
    expect(voice('zh-HK')).toBe('sit/yue');
    expect(voice('cmn')).toBe('sit/cmn');
    expect(voice('ru')).toBe('zle/ru');
    expect(voice('hi')).toBe('inc/hi');
    expect(voice('ar')).toBe('sem/ar');
    expect(voice('nl')).toBe('gmw/nl');
    expect(voice('pl')).toBe('zlw/pl');
    expect(voice('tr')).toBe('trk/tr');
    expect(voice('ko')).toBe('ko');
    expect(voice('sv')).toBe('gmq/sv');
    expect(voice('no')).toBe('gmq/nb');
    expect(voice('he')).toBe('sem/he');
  });

  it('throws E_UNSUPPORTED_LANGUAGE listing the supported tags', () => {
    let e: unknown;
    try {
      espeakVoiceFor('tlh');
    } catch (err) {
      e = err;
    }
    expect(AvdubError.isInstance(e, ErrorCode.UNSUPPORTED_LANGUAGE)).toBe(true);
    const supported = supportedSpeechLanguages();
    expect((e as AvdubError).details.supported).toEqual(supported);
    expect((e as AvdubError).message).toContain(supported.join(', '));
    expect(supported).toContain('pt-BR');
    expect(supported).toContain('en-GB');
    expect(new Set(supported).size).toBe(supported.length);
    expect(supported.length).toBeGreaterThan(80);
  });

  it('names languages and reads what ASR servers report', () => {
    expect(languageName('pt-BR')).toBe('Brazilian Portuguese');
    expect(languageName('es')).toBe('Spanish');
    expect(asrLanguageToTag('english')).toBe('en');
    expect(asrLanguageToTag('Japanese')).toBe('ja');
    expect(asrLanguageToTag('castilian')).toBe('es');
    expect(asrLanguageToTag('en')).toBe('en');
    expect(asrLanguageToTag('klingon')).toBeUndefined();
    expect(asrLanguageToTag(undefined)).toBeUndefined();
  });
});

import { AvdubError, ErrorCode } from '../errors.js';

/**
 * Languages are BCP-47 tags everywhere in avdub. This module canonicalizes them and maps them
 * to espeak-ng voices through one table, so "which languages can we speak" has one answer.
 */

/**
 * BCP-47 tag (lower case) -> espeak-ng voice identifier (as listed by the bundled
 * `@echogarden/espeak-ng-emscripten` 0.3.5). Region and script variants come first where
 * espeak has a distinct voice; a bare language maps to its most widely spoken variety.
 */
export const ESPEAK_VOICES: Readonly<Record<string, string>> = Object.freeze({
  af: 'gmw/af',
  am: 'sem/am',
  ar: 'sem/ar',
  as: 'inc/as',
  az: 'trk/az',
  be: 'zle/be',
  bg: 'zls/bg',
  bn: 'inc/bn',
  bs: 'zls/bs',
  ca: 'roa/ca',
  cs: 'zlw/cs',
  cy: 'cel/cy',
  da: 'gmq/da',
  de: 'gmw/de',
  el: 'grk/el',
  en: 'gmw/en-US',
  'en-gb': 'gmw/en',
  'en-us': 'gmw/en-US',
  'en-029': 'gmw/en-029',
  eo: 'art/eo',
  es: 'roa/es',
  'es-419': 'roa/es-419',
  et: 'urj/et',
  eu: 'eu',
  fa: 'ira/fa',
  fi: 'urj/fi',
  fr: 'roa/fr',
  'fr-be': 'roa/fr-BE',
  'fr-ch': 'roa/fr-CH',
  ga: 'cel/ga',
  gd: 'cel/gd',
  gu: 'inc/gu',
  he: 'sem/he',
  hi: 'inc/hi',
  hr: 'zls/hr',
  ht: 'roa/ht',
  hu: 'urj/hu',
  hy: 'ine/hy',
  id: 'poz/id',
  is: 'gmq/is',
  it: 'roa/it',
  ja: 'jpx/ja',
  ka: 'ccs/ka',
  kk: 'trk/kk',
  kn: 'dra/kn',
  ko: 'ko',
  ky: 'trk/ky',
  la: 'itc/la',
  lb: 'gmw/lb',
  lt: 'bat/lt',
  lv: 'bat/lv',
  mi: 'poz/mi',
  mk: 'zls/mk',
  ml: 'dra/ml',
  mr: 'inc/mr',
  ms: 'poz/ms',
  mt: 'sem/mt',
  my: 'sit/my',
  nb: 'gmq/nb',
  ne: 'inc/ne',
  nl: 'gmw/nl',
  no: 'gmq/nb',
  or: 'inc/or',
  pa: 'inc/pa',
  pl: 'zlw/pl',
  pt: 'roa/pt',
  'pt-br': 'roa/pt-BR',
  'pt-pt': 'roa/pt',
  ro: 'roa/ro',
  ru: 'zle/ru',
  sd: 'inc/sd',
  si: 'inc/si',
  sk: 'zlw/sk',
  sl: 'zls/sl',
  sq: 'ine/sq',
  sr: 'zls/sr',
  sv: 'gmq/sv',
  sw: 'bnt/sw',
  ta: 'dra/ta',
  te: 'dra/te',
  th: 'tai/th',
  tk: 'trk/tk',
  tn: 'bnt/tn',
  tr: 'trk/tr',
  tt: 'trk/tt',
  ug: 'trk/ug',
  uk: 'zle/uk',
  ur: 'inc/ur',
  uz: 'trk/uz',
  vi: 'aav/vi',
  yue: 'sit/yue',
  // Written Chinese in any script is read as Mandarin, except Hong Kong/Macau (Cantonese).
  zh: 'sit/cmn',
  'zh-hk': 'sit/yue',
  'zh-mo': 'sit/yue',
});

/** Regions whose Spanish is Latin American (espeak's `es-419` voice). */
const LATAM_SPANISH = new Set([
  'ar', 'bo', 'cl', 'co', 'cr', 'cu', 'do', 'ec', 'gt', 'hn', 'mx', 'ni', 'pa', 'pe', 'pr', 'py', 'sv', 'us', 'uy', 've',
]);

/** The BCP-47 tags espeak can speak (the keys of {@link ESPEAK_VOICES}), sorted. */
export function supportedSpeechLanguages(): string[] {
  return [...new Set(Object.keys(ESPEAK_VOICES).map(canonicalCase))].sort();
}

/**
 * Canonicalizes a BCP-47 tag (`EN-us` -> `en-US`). Throws `E_INVALID_ARGUMENT` for a string that
 * is not a well-formed tag.
 */
export function normalizeLanguageTag(tag: string, name = 'language'): string {
  if (typeof tag !== 'string' || tag.trim() === '') {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a BCP-47 language tag for ${name} but received ${JSON.stringify(tag)}`, {
      details: { option: name },
    });
  }
  try {
    const [canonical] = Intl.getCanonicalLocales(tag.trim().replace(/_/g, '-'));
    if (canonical) return canonical;
  } catch {
    // fall through to the error below
  }
  throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected a BCP-47 language tag for ${name} but received ${JSON.stringify(tag)}`, {
    details: { option: name },
  });
}

/** The primary language subtag (`pt-BR` -> `pt`). */
export function primaryLanguage(tag: string): string {
  return normalizeLanguageTag(tag).split('-')[0]!.toLowerCase();
}

export interface EspeakVoiceMatch {
  /** The canonical tag that was asked for. */
  language: string;
  /** The table key that matched (`pt-br`, `en`...). */
  matched: string;
  /** espeak-ng voice identifier. */
  voice: string;
}

/**
 * Picks the espeak voice for a BCP-47 tag: exact tag, then language-region, then language.
 * Throws `E_UNSUPPORTED_LANGUAGE` listing the supported tags.
 */
export function espeakVoiceFor(tag: string): EspeakVoiceMatch {
  const language = normalizeLanguageTag(tag);
  let locale: Intl.Locale | undefined;
  try {
    locale = new Intl.Locale(language);
  } catch {
    locale = undefined;
  }
  const lang = (locale?.language ?? language.split('-')[0]!).toLowerCase();
  const region = locale?.region?.toLowerCase();
  const candidates = [language.toLowerCase()];
  if (region) candidates.push(`${lang}-${region}`);
  if (lang === 'es' && region && LATAM_SPANISH.has(region)) candidates.push('es-419');
  candidates.push(lang);
  for (const key of candidates) {
    const voice = ESPEAK_VOICES[key];
    if (voice) return { language, matched: key, voice };
  }
  const supported = supportedSpeechLanguages();
  throw new AvdubError(
    ErrorCode.UNSUPPORTED_LANGUAGE,
    `Language "${language}" is not supported by espeak-ng. Supported: ${supported.join(', ')}`,
    { details: { language, supported } },
  );
}

/** English name of a language, for prompts ("pt-BR" -> "Brazilian Portuguese"). */
export function languageName(tag: string): string {
  const canonical = normalizeLanguageTag(tag);
  if (canonical === 'und') return 'the source language';
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(canonical) ?? canonical;
  } catch {
    return canonical;
  }
}

/** Tags Whisper-style ASR servers know, for turning "english" back into "en". */
const ASR_LANGUAGES = [
  'af', 'am', 'ar', 'as', 'az', 'ba', 'be', 'bg', 'bn', 'bo', 'br', 'bs', 'ca', 'cs', 'cy', 'da', 'de', 'el', 'en', 'es',
  'et', 'eu', 'fa', 'fi', 'fo', 'fr', 'gl', 'gu', 'ha', 'haw', 'he', 'hi', 'hr', 'ht', 'hu', 'hy', 'id', 'is', 'it', 'ja',
  'jw', 'ka', 'kk', 'km', 'kn', 'ko', 'la', 'lb', 'ln', 'lo', 'lt', 'lv', 'mg', 'mi', 'mk', 'ml', 'mn', 'mr', 'ms', 'mt',
  'my', 'ne', 'nl', 'nn', 'no', 'oc', 'pa', 'pl', 'ps', 'pt', 'ro', 'ru', 'sa', 'sd', 'si', 'sk', 'sl', 'sn', 'so', 'sq',
  'sr', 'su', 'sv', 'sw', 'ta', 'te', 'tg', 'th', 'tk', 'tl', 'tr', 'tt', 'uk', 'ur', 'uz', 'vi', 'yi', 'yo', 'yue', 'zh',
];
let asrNames: Map<string, string> | undefined;

/**
 * Turns what an ASR server reports as the language (`"en"`, `"english"`, `"English"`) into a
 * BCP-47 tag; undefined when it cannot be recognised.
 */
export function asrLanguageToTag(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (!asrNames) {
    asrNames = new Map();
    const names = new Intl.DisplayNames(['en'], { type: 'language' });
    for (const code of ASR_LANGUAGES) {
      const name = names.of(code);
      if (name) asrNames.set(name.toLowerCase(), code);
    }
    // Whisper's own spellings that differ from CLDR's.
    asrNames.set('castilian', 'es').set('valencian', 'ca').set('flemish', 'nl').set('moldavian', 'ro');
    asrNames.set('moldovan', 'ro').set('sinhalese', 'si').set('mandarin', 'zh').set('burmese', 'my');
    asrNames.set('javanese', 'jw').set('letzeburgesch', 'lb').set('pushto', 'ps').set('panjabi', 'pa');
  }
  const byName = asrNames.get(v);
  if (byName) return byName;
  try {
    const [canonical] = Intl.getCanonicalLocales(v);
    if (canonical && /^[a-z]{2,3}(-|$)/i.test(canonical)) return canonical;
  } catch {
    // not a tag
  }
  return undefined;
}

/** Writes a lower-case table key in canonical BCP-47 case (`pt-br` -> `pt-BR`). */
function canonicalCase(key: string): string {
  try {
    return Intl.getCanonicalLocales(key)[0] ?? key;
  } catch {
    return key;
  }
}

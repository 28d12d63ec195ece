import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { AvdubError, ErrorCode, throwIfAborted } from '../../errors.js';
import { AtomicOutput } from '../../util/atomic.js';
import { is } from '../../util/validate.js';
import { normalizeLanguageTag } from '../languages.js';
import type { CallWarning } from '../spec/shared.js';
import type { Transcript, TranscriptionModelV1, TranscriptionCallOptions, TranscriptionResult } from '../spec/transcription.js';
import type { Translation, TranslationCallOptions, TranslationModelV1, TranslationResult, TranslationSegment } from '../spec/translation.js';
import { normalizeText, type ParseSubtitlesOptions, type SubtitleCue, type SubtitleDocument, type SubtitleFormat } from './cue.js';
import { formatSrt, parseSrt, type FormatSubtitlesOptions } from './srt.js';
import { formatVtt, parseVtt } from './vtt.js';

export const SUBTITLES_PROVIDER = 'subtitles';

/** Where subtitle text comes from: a file (read at every call, so edits are picked up) or a string. */
export type SubtitleSource = { path: string; text?: undefined } | { text: string; path?: undefined };

export interface SubtitleSourceOptions extends ParseSubtitlesOptions {
  /** Forces the format; otherwise from the file extension, then from the content. */
  format?: SubtitleFormat;
  /**
   * BCP-47 tag of the file's language. Otherwise: a `Language:` WebVTT header, then a tag in the
   * file name (`talk.es.srt` -> `es`), then the language the caller passes, then `und`.
   */
  language?: string;
}

/** Guesses the format: `.srt` / `.vtt` extension, else a `WEBVTT` first line, else SRT. */
export function detectSubtitleFormat(text: string, path?: string): SubtitleFormat {
  const ext = path ? extname(path).toLowerCase() : '';
  if (ext === '.srt') return 'srt';
  if (ext === '.vtt' || ext === '.webvtt') return 'vtt';
  return /^\uFEFF?WEBVTT(?:[ \t\r\n]|$)/.test(text) ? 'vtt' : 'srt';
}

/** Parses SRT or WebVTT text (format detected unless given). */
export function parseSubtitles(text: string, options: SubtitleSourceOptions & { path?: string } = {}): SubtitleDocument {
  const format = options.format ?? detectSubtitleFormat(text, options.path);
  return format === 'vtt' ? parseVtt(text, options) : parseSrt(text, options);
}

/** Writes cues as SRT or WebVTT text. */
export function formatSubtitles(
  cues: readonly { id?: string; start: number; end: number; text: string; speaker?: string }[],
  format: SubtitleFormat,
  options: FormatSubtitlesOptions & { language?: string } = {},
): string {
  return format === 'vtt' ? formatVtt(cues, options) : formatSrt(cues, options);
}

/** Reads and parses a subtitle file. Throws `E_INPUT_NOT_FOUND` or `E_SUBTITLE_PARSE` (no cues). */
export async function readSubtitleFile(path: string, options: SubtitleSourceOptions = {}): Promise<SubtitleDocument> {
  return loadSource({ path }, options);
}

async function loadSource(source: SubtitleSource, options: SubtitleSourceOptions): Promise<SubtitleDocument & { fileLanguage?: string }> {
  let text: string;
  if (source.path !== undefined) {
    try {
      text = await readFile(source.path, 'utf8');
    } catch (cause) {
      const errno = (cause as NodeJS.ErrnoException).code;
      const code =
        errno === 'ENOENT' ? ErrorCode.INPUT_NOT_FOUND : errno === 'EISDIR' ? ErrorCode.INPUT_NOT_A_FILE : ErrorCode.SUBTITLE_PARSE;
      throw new AvdubError(code, `Cannot read subtitle file ${source.path}`, { cause, details: { path: source.path } });
    }
  } else if (typeof source.text === 'string') {
    text = source.text;
  } else {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a subtitle source { path } or { text }');
  }
  const doc = parseSubtitles(text, { ...options, path: source.path });
  if (doc.cues.length === 0) {
    const where = source.path ?? 'the subtitle text';
    const empty = normalizeText(text).trim() === '' || normalizeText(text).trim() === 'WEBVTT';
    throw new AvdubError(
      ErrorCode.SUBTITLE_PARSE,
      empty ? `No cues in ${where}: it is empty` : `No readable ${doc.format.toUpperCase()} cues in ${where}`,
      { details: { path: source.path, format: doc.format, warnings: doc.warnings.slice(0, 20) } },
    );
  }
  const fileLanguage = source.path ? languageFromFileName(source.path) : undefined;
  return fileLanguage === undefined ? doc : { ...doc, fileLanguage };
}

/** `talk.es.srt` -> `es`, `talk.pt-BR.vtt` -> `pt-BR`; undefined when there is no such tag. */
export function languageFromFileName(path: string): string | undefined {
  const stem = basename(path, extname(path));
  const dot = stem.lastIndexOf('.');
  if (dot < 0) return undefined;
  const tag = stem.slice(dot + 1);
  if (!/^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$/.test(tag)) return undefined;
  try {
    return normalizeLanguageTag(tag);
  } catch {
    return undefined;
  }
}

function pickLanguage(
  options: SubtitleSourceOptions,
  doc: SubtitleDocument & { fileLanguage?: string },
  fallback?: string,
): string {
  const tag = options.language ?? doc.language ?? doc.fileLanguage ?? fallback;
  if (tag === undefined) return 'und';
  try {
    return normalizeLanguageTag(tag);
  } catch {
    return 'und';
  }
}

/** Turns cues into a transcript: lines joined with spaces, ids and speakers kept. */
export function cuesToTranscript(cues: readonly SubtitleCue[], language = 'und'): Transcript {
  return {
    language,
    segments: cues.map((c) => {
      const s = { id: c.id, start: c.start, end: c.end, text: c.text.replace(/\s*\n\s*/g, ' ').trim() };
      return c.speaker === undefined ? s : { ...s, speaker: c.speaker };
    }),
  };
}

/**
 * A transcript from a subtitle file written or corrected by a human (001 s4). The audio passed
 * to `transcribe` is not listened to; cues that start after it ends are reported as warnings.
 */
export function subtitleTranscriptionModel(source: SubtitleSource, options: SubtitleSourceOptions = {}): TranscriptionModelV1 {
  checkSource(source, options);
  return {
    specificationVersion: 'v1',
    provider: SUBTITLES_PROVIDER,
    modelId: source.path ?? 'inline',
    async transcribe(call: TranscriptionCallOptions): Promise<TranscriptionResult> {
      throwIfAborted(call.abortSignal);
      const doc = await loadSource(source, { ...options, ...providerSettings(call.providerOptions) });
      throwIfAborted(call.abortSignal);
      const warnings: CallWarning[] = [...doc.warnings];
      const language = pickLanguage(options, doc, call.language);
      if (call.language !== undefined && language !== 'und' && primary(safeTag(call.language)) !== primary(language)) {
        warnings.push({ type: 'other', message: `Subtitle language is ${language} but ${call.language} was asked for; using ${language}` });
      }
      const audio = call.audio;
      if (audio?.samples instanceof Float32Array && audio.sampleRate > 0) {
        const duration = audio.samples.length / (audio.channels ?? 1) / audio.sampleRate;
        const late = doc.cues.filter((c) => c.start >= duration);
        if (duration > 0 && late.length) {
          warnings.push({
            type: 'subtitle',
            message: `${late.length} cue(s) start after the audio ends (${duration.toFixed(3)}s), first "${late[0]!.id}"`,
            segmentId: late[0]!.id,
          });
        }
      }
      return {
        transcript: cuesToTranscript(doc.cues, language),
        warnings,
        providerMetadata: { [SUBTITLES_PROVIDER]: { format: doc.format, cues: doc.cues.length } },
      };
    },
  };
}

/**
 * A translation from a subtitle file written by a human translator (001 s4). Each cue goes to
 * the transcript segment it overlaps most in time; the cue id decides ties and places a cue
 * that overlaps no segment but lies within 0.5 s of the segment with its id (a file exported
 * with {@link exportTranslation} and edited keeps both ids and times). Several cues on one segment are joined; a segment with no cue gets empty text and a
 * warning; a cue that overlaps no segment is reported, never silently dropped. With an empty
 * transcript the file's own cues become the segments.
 */
export function subtitleTranslationModel(source: SubtitleSource, options: SubtitleSourceOptions = {}): TranslationModelV1 {
  checkSource(source, options);
  return {
    specificationVersion: 'v1',
    provider: SUBTITLES_PROVIDER,
    modelId: source.path ?? 'inline',
    async translate(call: TranslationCallOptions): Promise<TranslationResult> {
      throwIfAborted(call.abortSignal);
      const target = normalizeLanguageTag(call.targetLanguage, 'targetLanguage');
      const doc = await loadSource(source, { ...options, ...providerSettings(call.providerOptions) });
      throwIfAborted(call.abortSignal);
      const warnings: CallWarning[] = [...doc.warnings];
      const fileLanguage = pickLanguage(options, doc);
      if (fileLanguage !== 'und' && fileLanguage !== target) {
        warnings.push({ type: 'other', message: `Subtitle file language is ${fileLanguage} but the target is ${target}` });
      }
      const segments = alignCuesToTranscript(doc.cues, call.transcript, warnings);
      return {
        translation: { segments, sourceLanguage: call.transcript.language || 'und', targetLanguage: target },
        warnings,
        providerMetadata: { [SUBTITLES_PROVIDER]: { format: doc.format, cues: doc.cues.length } },
      };
    },
  };
}

/** See {@link subtitleTranslationModel} for the matching rules. */
export function alignCuesToTranscript(
  cues: readonly SubtitleCue[],
  transcript: Transcript,
  warnings: CallWarning[] = [],
): TranslationSegment[] {
  const plain = (c: SubtitleCue): string => c.text.replace(/\s*\n\s*/g, ' ').trim();
  if (transcript.segments.length === 0) {
    return cues.map((c) => ({ id: c.id, start: c.start, end: c.end, text: plain(c) }));
  }
  const segs = transcript.segments;
  const byId = new Map(segs.map((s, i) => [s.id, i]));
  const assigned: SubtitleCue[][] = segs.map(() => []);
  const SLACK = 0.5; // seconds a cue may sit outside its namesake segment and still match by id
  const overlap = (a: { start: number; end: number }, b: { start: number; end: number }): number =>
    Math.min(a.end, b.end) - Math.max(a.start, b.start);
  for (const cue of cues) {
    // The segment the cue overlaps most; the id decides ties, and places a cue that overlaps
    // nothing but sits within SLACK of its namesake (a slightly re-timed cue).
    let target: number | undefined;
    let best = 0;
    segs.forEach((s, i) => {
      const o = overlap(s, cue);
      if (o > best) {
        best = o;
        target = i;
      }
    });
    const named = byId.get(cue.id);
    if (named !== undefined) {
      const o = overlap(segs[named]!, cue);
      if ((best > 0 && o >= best - 1e-6) || (best <= 0 && o > -SLACK)) target = named;
    }
    if (target === undefined) {
      warnings.push({
        type: 'subtitle',
        message: `Cue "${cue.id}" (${cue.start.toFixed(3)}-${cue.end.toFixed(3)}s) matches no transcript segment; its text was not used: ${JSON.stringify(plain(cue).slice(0, 60))}`,
        line: cue.line,
      });
      continue;
    }
    assigned[target]!.push(cue);
  }
  return segs.map((s, i) => {
    const mine = assigned[i]!.sort((a, b) => a.start - b.start);
    if (mine.length === 0) warnings.push({ type: 'subtitle', message: `Segment "${s.id}" has no translation`, segmentId: s.id });
    const seg: TranslationSegment = { id: s.id, start: s.start, end: s.end, text: mine.map(plain).join(' '), sourceText: s.text };
    if (s.speaker !== undefined) seg.speaker = s.speaker;
    return seg;
  });
}

export interface ExportSubtitlesOptions extends FormatSubtitlesOptions {
  /** @default from the file extension (`.vtt` -> WebVTT), else SRT */
  format?: SubtitleFormat;
}

/**
 * Human in the loop, step 1 (001 s4): writes a transcript as SRT/WebVTT for correction in any
 * subtitle editor. The file is written atomically. Re-import it with
 * {@link subtitleTranscriptionModel} (or {@link importTranscript}); ids survive the round trip.
 */
export async function exportTranscript(transcript: Transcript, path: string, options: ExportSubtitlesOptions = {}): Promise<string> {
  const format = options.format ?? detectSubtitleFormat('', path);
  const language = transcript.language && transcript.language !== 'und' ? transcript.language : undefined;
  return writeAtomic(path, formatSubtitles(transcript.segments, format, { ...options, language }));
}

/**
 * Human in the loop, step 2 (001 s4): writes a translation for a translator to edit (shorten
 * lines that run over their slot, fix terms). With WebVTT, `sourceNotes` (default true) puts
 * each source sentence in a `NOTE` before its cue. Re-import with {@link subtitleTranslationModel}.
 */
export async function exportTranslation(
  translation: Translation,
  path: string,
  options: ExportSubtitlesOptions & { sourceNotes?: boolean } = {},
): Promise<string> {
  const format = options.format ?? detectSubtitleFormat('', path);
  const notes =
    format === 'vtt' && options.sourceNotes !== false
      ? new Map(translation.segments.filter((s) => s.sourceText).map((s) => [s.id, s.sourceText!]))
      : undefined;
  const body =
    format === 'vtt'
      ? formatVtt(translation.segments, { ...options, language: translation.targetLanguage, ...(notes ? { notes } : {}) })
      : formatSrt(translation.segments, options);
  return writeAtomic(path, body);
}

/** Reads an edited transcript back (the same as calling {@link subtitleTranscriptionModel}). */
export async function importTranscript(
  path: string,
  options: SubtitleSourceOptions = {},
): Promise<{ transcript: Transcript; warnings: CallWarning[] }> {
  const doc = await loadSource({ path }, options);
  return { transcript: cuesToTranscript(doc.cues, pickLanguage(options, doc)), warnings: doc.warnings };
}

/** Reads an edited translation back, matched to `transcript` (see {@link subtitleTranslationModel}). */
export async function importTranslation(
  path: string,
  transcript: Transcript,
  options: SubtitleSourceOptions & { targetLanguage?: string } = {},
): Promise<{ translation: Translation; warnings: CallWarning[] }> {
  const doc = await loadSource({ path }, options);
  const warnings = [...doc.warnings];
  const segments = alignCuesToTranscript(doc.cues, transcript, warnings);
  const targetLanguage = options.targetLanguage ? normalizeLanguageTag(options.targetLanguage) : pickLanguage(options, doc);
  return { translation: { segments, sourceLanguage: transcript.language || 'und', targetLanguage }, warnings };
}

function checkSource(source: SubtitleSource, options: SubtitleSourceOptions): void {
  if (typeof source !== 'object' || source === null) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a subtitle source { path } or { text }');
  }
  if (source.path !== undefined) is.string('path', source.path);
  else if (typeof source.text !== 'string') throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a subtitle source { path } or { text }');
  is.optional(is.oneOf, 'format', options.format, ['srt', 'vtt'] as const);
  is.optional(is.oneOf, 'overlaps', options.overlaps, ['trim', 'merge', 'keep'] as const);
  is.optional(is.number, 'minDuration', options.minDuration, 0, 60);
  if (options.language !== undefined) normalizeLanguageTag(options.language);
}

async function writeAtomic(path: string, text: string): Promise<string> {
  const out = await AtomicOutput.open(path);
  try {
    await writeFile(out.tempPath, text, 'utf8');
    return await out.commit();
  } catch (e) {
    await out.discard();
    if (AvdubError.isInstance(e)) throw e;
    throw new AvdubError(ErrorCode.OUTPUT_WRITE, `Cannot write ${path}`, { cause: e });
  }
}

/** `providerOptions.subtitles` may override `overlaps` and `minDuration` per call. */
function providerSettings(providerOptions: TranslationCallOptions['providerOptions']): ParseSubtitlesOptions {
  const o = providerOptions?.[SUBTITLES_PROVIDER];
  const out: ParseSubtitlesOptions = {};
  if (o?.overlaps === 'trim' || o?.overlaps === 'merge' || o?.overlaps === 'keep') out.overlaps = o.overlaps;
  if (typeof o?.minDuration === 'number') out.minDuration = o.minDuration;
  return out;
}

const primary = (tag: string | undefined): string | undefined => tag?.split('-')[0]?.toLowerCase();

function safeTag(tag: string): string | undefined {
  try {
    return normalizeLanguageTag(tag);
  } catch {
    return undefined;
  }
}

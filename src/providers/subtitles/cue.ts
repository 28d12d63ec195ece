import type { CallWarning } from '../spec/shared.js';

/** One subtitle cue as parsed. Times are seconds. */
export interface SubtitleCue {
  /** SRT index or WebVTT cue identifier; generated (`"1"`, `"2"`...) when missing or repeated. */
  id: string;
  start: number;
  end: number;
  /** Plain text: tags removed, entities decoded, one line per subtitle line. */
  text: string;
  /** The cue text exactly as written (tags kept), lines joined with `\n`. */
  raw: string;
  /** Speaker from a WebVTT `<v Name>` span. */
  speaker?: string;
  /** WebVTT cue settings (`align:start line:0`), as written. */
  settings?: string;
  /** 1-based line number of the timing line in the source. */
  line?: number;
}

export type SubtitleFormat = 'srt' | 'vtt';

export interface SubtitleDocument {
  format: SubtitleFormat;
  /** Sorted by start time, overlaps resolved as asked. */
  cues: SubtitleCue[];
  /** Everything that was repaired or skipped, with line numbers. */
  warnings: CallWarning[];
  /** From a WebVTT header line `Language: xx`, when present. */
  language?: string;
}

export interface ParseSubtitlesOptions {
  /**
   * What to do when a cue starts before the previous one ends.
   * - `trim`: end the earlier cue where the later one starts; when that would leave the
   *   earlier cue shorter than `minDuration`, merge them instead.
   * - `merge`: join the two cues into one (text on separate lines, union of the times).
   * - `keep`: leave them overlapping (a warning is still emitted).
   * @default 'trim'
   */
  overlaps?: 'trim' | 'merge' | 'keep';
  /** Shortest cue `trim` may leave, in seconds. @default 0.1 */
  minDuration?: number;
}

export const defaultParseSubtitlesOptions: Required<ParseSubtitlesOptions> = { overlaps: 'trim', minDuration: 0.1 };

/** A cue before ids are settled and overlaps resolved. */
export interface RawCue {
  id?: string;
  start: number;
  end: number;
  raw: string;
  settings?: string;
  line: number;
}

const TS = String.raw`(?:(\d+)\s*:\s*)?(\d{1,2})\s*:\s*(\d{1,2})(?:\s*[,.]\s*(\d{1,3}))?`;
/** A timing line: `00:00:01,000 --> 00:00:02,500` (also `.`, no hours, loose spaces, settings after). */
export const TIMING_LINE = new RegExp(String.raw`^\s*${TS}\s*-->\s*${TS}(.*)$`);

/** Parses the timing line's two timestamps; undefined when the line is not a timing line. */
export function parseTimingLine(line: string): { start: number; end: number; rest: string } | undefined {
  const m = TIMING_LINE.exec(line);
  if (!m) return undefined;
  const start = toSeconds(m[1], m[2]!, m[3]!, m[4]);
  const end = toSeconds(m[5], m[6]!, m[7]!, m[8]);
  if (start === undefined || end === undefined) return undefined;
  return { start, end, rest: m[9] ?? '' };
}

function toSeconds(h: string | undefined, m: string, s: string, frac: string | undefined): number | undefined {
  const mm = Number(m);
  const ss = Number(s);
  if (mm > 59 || ss > 59) return undefined;
  // ",5" means 500 ms, not 5 ms: the digits are a decimal fraction.
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0'));
  return ((Number(h ?? 0) * 3600 + mm * 60 + ss) * 1000 + ms) / 1000;
}

/** `3723.5` -> `01:02:03,500` (SRT) or `01:02:03.500` (WebVTT). Rounded to the millisecond. */
export function formatTimestamp(seconds: number, separator: ',' | '.'): string {
  const total = Math.max(0, Math.round((Number.isFinite(seconds) ? seconds : 0) * 1000));
  const ms = total % 1000;
  const s = Math.floor(total / 1000) % 60;
  const m = Math.floor(total / 60000) % 60;
  const h = Math.floor(total / 3600000);
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${separator}${pad(ms, 3)}`;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Strips a BOM and turns CRLF / CR line ends into LF. */
export function normalizeText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  lrm: '',
  rlm: '',
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    const v = ENTITIES[name.toLowerCase()];
    return v === undefined ? whole : v;
  });
}

/**
 * Plain text of a cue: removes HTML-like tags (`<i>`, `<font ...>`, `<c.x>`, `<v Name>`,
 * karaoke timestamps `<00:01.000>`), ruby annotations (`<rt>`/`<rp>` with their content),
 * ASS/SSA override blocks (`{\an8}`), decodes entities and collapses spaces. A `<` not
 * followed by a letter or `/` is text (`a < b`). Returns the speaker of the first `<v>` span.
 */
export function plainText(raw: string): { text: string; speaker?: string } {
  let speaker: string | undefined;
  let s = raw.replace(/<v(?:\.[^\s>]*)?\s+([^>]*)>/gi, (_m, name: string) => {
    speaker ??= name.trim() || undefined;
    return '';
  });
  s = s
    .replace(/<(rt|rp)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<\d[\d:.]*>/g, '')
    .replace(/<\/?[a-z][^>]*>/gi, '')
    .replace(/\{\\[^}]*\}/g, '');
  s = decodeEntities(s);
  const lines = s
    .split('\n')
    .map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim())
    .filter((l) => l.length > 0);
  return speaker === undefined ? { text: lines.join('\n') } : { text: lines.join('\n'), speaker };
}

/**
 * Settles ids, drops empty and duplicate cues, sorts by start and resolves overlaps. Every
 * change is reported as a warning with the cue's line number.
 */
export function finishCues(raw: RawCue[], options: ParseSubtitlesOptions, warnings: CallWarning[]): SubtitleCue[] {
  const o = { ...defaultParseSubtitlesOptions, ...options };
  const cues: SubtitleCue[] = [];
  const seen = new Set<string>();
  for (const r of raw) {
    const { text, speaker } = plainText(r.raw);
    if (text === '') {
      warnings.push({ type: 'subtitle', message: 'Cue has no text; dropped', line: r.line });
      continue;
    }
    let end = r.end;
    if (end < r.start) {
      warnings.push({ type: 'subtitle', message: 'Cue ends before it starts; end set to start', line: r.line });
      end = r.start;
    }
    const key = `${r.start}|${end}|${text}`;
    if (seen.has(key)) {
      warnings.push({ type: 'subtitle', message: 'Duplicate cue (same times and text); dropped', line: r.line });
      continue;
    }
    seen.add(key);
    const cue: SubtitleCue = { id: r.id ?? '', start: r.start, end, text, raw: r.raw, line: r.line };
    if (speaker !== undefined) cue.speaker = speaker;
    if (r.settings) cue.settings = r.settings;
    cues.push(cue);
  }
  assignIds(cues, warnings);
  if (cues.some((c, i) => i > 0 && c.start < cues[i - 1]!.start)) {
    warnings.push({ type: 'subtitle', message: 'Cues were not in time order; sorted by start time' });
    cues.sort((a, b) => a.start - b.start); // stable: equal starts keep file order
  }
  return resolveOverlaps(cues, o, warnings);
}

function assignIds(cues: SubtitleCue[], warnings: CallWarning[]): void {
  const used = new Set<string>();
  const pending: number[] = [];
  cues.forEach((c, i) => {
    if (c.id !== '' && !used.has(c.id)) used.add(c.id);
    else {
      if (c.id !== '') warnings.push({ type: 'subtitle', message: `Repeated cue id "${c.id}"; a new id was given`, line: c.line });
      pending.push(i);
    }
  });
  for (const i of pending) {
    let id = String(i + 1);
    for (let n = 2; used.has(id); n++) id = `${i + 1}-${n}`;
    used.add(id);
    cues[i]!.id = id;
  }
}

function resolveOverlaps(cues: SubtitleCue[], o: Required<ParseSubtitlesOptions>, warnings: CallWarning[]): SubtitleCue[] {
  const out: SubtitleCue[] = [];
  const EPS = 0.0005; // timestamps are whole milliseconds
  for (const cue of cues) {
    const prev = out[out.length - 1];
    if (!prev || cue.start >= prev.end - EPS) {
      out.push(cue);
      continue;
    }
    const what = `Cue "${cue.id}" overlaps cue "${prev.id}"`;
    if (o.overlaps === 'keep') {
      warnings.push({ type: 'subtitle', message: `${what}; kept overlapping`, line: cue.line, segmentId: cue.id });
      out.push(cue);
    } else if (o.overlaps === 'trim' && cue.start - prev.start >= o.minDuration) {
      warnings.push({
        type: 'subtitle',
        message: `${what}; "${prev.id}" now ends at ${cue.start.toFixed(3)}s (was ${prev.end.toFixed(3)}s)`,
        line: cue.line,
        segmentId: prev.id,
      });
      prev.end = cue.start;
      out.push(cue);
    } else {
      warnings.push({ type: 'subtitle', message: `${what}; merged into "${prev.id}"`, line: cue.line, segmentId: prev.id });
      prev.end = Math.max(prev.end, cue.end);
      prev.text = `${prev.text}\n${cue.text}`;
      prev.raw = `${prev.raw}\n${cue.raw}`;
      if (prev.speaker === undefined && cue.speaker !== undefined) prev.speaker = cue.speaker;
    }
  }
  return out;
}

/** Cue text for writing: no blank lines (they end a cue) and no `-->` (it starts one). */
export function safeLines(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/-->/g, '->').trimEnd())
    .filter((l) => l.trim().length > 0);
}

/** What the writers accept: segments, translations or cues. */
export interface WritableCue {
  id?: string;
  start: number;
  end: number;
  text: string;
  speaker?: string;
}

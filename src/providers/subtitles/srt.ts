import type { CallWarning } from '../spec/shared.js';
import {
  finishCues,
  formatTimestamp,
  normalizeText,
  parseTimingLine,
  safeLines,
  type ParseSubtitlesOptions,
  type RawCue,
  type SubtitleDocument,
  type WritableCue,
} from './cue.js';

/**
 * Parses SubRip (.srt) text. Tolerant of what real files contain: a BOM, CRLF or CR line ends,
 * missing or repeated indices, missing blank lines between cues, `.` instead of `,` in
 * timestamps, timestamps without hours, blank lines inside a cue's text, cues out of order,
 * overlapping cues, and inline tags (`<i>`, `<font>`, `{\an8}`). A cue's text runs until the
 * next cue's timing line (minus that cue's index line), so no words are lost.
 *
 * Throws nothing for damaged input: it returns what it could read and a warning per repair.
 * (The caller decides whether "no cues at all" is an error; the providers treat it as one.)
 */
export function parseSrt(input: string, options: ParseSubtitlesOptions = {}): SubtitleDocument {
  const lines = normalizeText(input).split('\n');
  const warnings: CallWarning[] = [];
  const timings: { index: number; start: number; end: number }[] = [];
  lines.forEach((line, index) => {
    if (!line.includes('-->')) return;
    const t = parseTimingLine(line);
    if (t) timings.push({ index, start: t.start, end: t.end });
    else warnings.push({ type: 'subtitle', message: `Unreadable timing line ${JSON.stringify(line.trim())}; skipped`, line: index + 1 });
  });
  const raw: RawCue[] = [];
  const isIndex = (i: number): boolean => i >= 0 && /^\s*\d+\s*$/.test(lines[i] ?? '');
  for (let k = 0; k < timings.length; k++) {
    const t = timings[k]!;
    const next = timings[k + 1];
    let stop = next ? next.index : lines.length;
    if (next && isIndex(next.index - 1) && next.index - 1 > t.index) stop = next.index - 1;
    const body = lines.slice(t.index + 1, stop).filter((l) => !(l.includes('-->') && parseTimingLine(l) === undefined));
    while (body.length && body[0]!.trim() === '') body.shift();
    while (body.length && body[body.length - 1]!.trim() === '') body.pop();
    const cue: RawCue = { start: t.start, end: t.end, raw: body.filter((l) => l.trim() !== '').join('\n'), line: t.index + 1 };
    if (isIndex(t.index - 1)) cue.id = lines[t.index - 1]!.trim().replace(/^0+(?=\d)/, '');
    else warnings.push({ type: 'subtitle', message: 'Cue has no index', line: t.index + 1 });
    raw.push(cue);
  }
  // Text before the first cue is not subtitle content.
  const firstTiming = timings[0]?.index ?? lines.length;
  const preamble = lines.slice(0, Math.max(0, firstTiming - 1)).filter((l) => l.trim() !== '');
  if (preamble.length) warnings.push({ type: 'subtitle', message: 'Text before the first cue was ignored', line: 1 });
  return { format: 'srt', cues: finishCues(raw, options, warnings), warnings };
}

export interface FormatSubtitlesOptions {
  /** Line ending. @default '\n' */
  eol?: '\n' | '\r\n';
  /** Start the file with a UTF-8 BOM (some old players want one). @default false */
  bom?: boolean;
}

/**
 * Writes SubRip text. Indices are the cue ids when all of them are increasing positive
 * integers (so a transcript exported and re-imported keeps its ids), else 1..n. Blank lines and
 * `-->` inside text are removed so the file always parses back to the same cues.
 */
export function formatSrt(cues: readonly WritableCue[], options: FormatSubtitlesOptions = {}): string {
  const eol = options.eol ?? '\n';
  const useIds = cues.every((c, i) => {
    if (c.id === undefined || !/^[1-9]\d*$/.test(c.id)) return false;
    return i === 0 || Number(c.id) > Number(cues[i - 1]!.id);
  });
  const blocks = cues.map((c, i) => {
    const index = useIds ? c.id! : String(i + 1);
    const timing = `${formatTimestamp(c.start, ',')} --> ${formatTimestamp(c.end, ',')}`;
    return [index, timing, ...safeLines(c.text)].join(eol);
  });
  return (options.bom ? '\uFEFF' : '') + blocks.map((b) => b + eol).join(eol);
}

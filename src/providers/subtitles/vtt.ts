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
import type { FormatSubtitlesOptions } from './srt.js';

/**
 * Parses WebVTT text following the WHATWG parsing rules where they matter: a cue is an optional
 * identifier line, a timing line (with optional cue settings) and text up to the next blank
 * line; a line containing `-->` always starts a new cue; `NOTE`, `STYLE` and `REGION` blocks
 * are skipped. Tolerates a BOM, CRLF/CR, a missing `WEBVTT` header (warned), hours omitted
 * (`00:01.000`), `,` instead of `.`, and inline tags (`<v Speaker>`, `<c.x>`, `<i>`, ruby,
 * karaoke timestamps), which are removed from `text` and kept in `raw`. A header line
 * `Language: xx` sets the document's language.
 */
export function parseVtt(input: string, options: ParseSubtitlesOptions = {}): SubtitleDocument {
  const lines = normalizeText(input).split('\n');
  const warnings: CallWarning[] = [];
  let i = 0;
  let language: string | undefined;
  if (/^WEBVTT(?:[ \t].*)?$/.test(lines[0] ?? '')) {
    i = 1;
    // Header metadata runs to the first blank line (unless a cue starts without one).
    for (; i < lines.length && lines[i]!.trim() !== '' && !lines[i]!.includes('-->'); i++) {
      const m = /^\s*Language\s*:\s*(\S+)\s*$/i.exec(lines[i]!);
      if (m) language = m[1];
    }
  } else {
    warnings.push({ type: 'subtitle', message: 'Missing "WEBVTT" header; parsed anyway', line: 1 });
  }
  const raw: RawCue[] = [];
  let blockStart = true; // at the first line of a block (after a blank line)
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      blockStart = true;
      i++;
      continue;
    }
    if (blockStart && /^(NOTE|STYLE|REGION)(?:[ \t]|$)/.test(line)) {
      while (i < lines.length && lines[i]!.trim() !== '') i++;
      continue;
    }
    let id: string | undefined;
    let timingIndex = i;
    if (!line.includes('-->')) {
      if (blockStart && (lines[i + 1] ?? '').includes('-->')) {
        id = line.trim();
        timingIndex = i + 1;
      } else {
        warnings.push({ type: 'subtitle', message: `Text outside any cue ignored: ${JSON.stringify(line.trim().slice(0, 40))}`, line: i + 1 });
        blockStart = false;
        i++;
        continue;
      }
    }
    const timing = parseTimingLine(lines[timingIndex]!);
    i = timingIndex + 1;
    const body: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !lines[i]!.includes('-->')) body.push(lines[i++]!);
    blockStart = false;
    if (!timing) {
      warnings.push({ type: 'subtitle', message: `Unreadable timing line ${JSON.stringify(lines[timingIndex]!.trim())}; cue skipped`, line: timingIndex + 1 });
      continue;
    }
    const cue: RawCue = { start: timing.start, end: timing.end, raw: body.join('\n'), line: timingIndex + 1 };
    if (id !== undefined && id !== '') cue.id = id;
    const settings = timing.rest.trim();
    if (settings) cue.settings = settings;
    raw.push(cue);
  }
  const doc: SubtitleDocument = { format: 'vtt', cues: finishCues(raw, options, warnings), warnings };
  if (language !== undefined) doc.language = language;
  return doc;
}

export interface FormatVttOptions extends FormatSubtitlesOptions {
  /** Written as a `Language:` header line. */
  language?: string;
  /**
   * For translations: the source text of each cue, by cue id, written as a `NOTE` block before
   * the cue so a human translator sees both; notes are ignored on import.
   */
  notes?: ReadonlyMap<string, string>;
}

/**
 * Writes WebVTT text. Ids become cue identifiers (so they survive a round trip), speakers
 * become `<v Name>` spans, and `&`, `<`, `>` in text are escaped.
 */
export function formatVtt(cues: readonly WritableCue[], options: FormatVttOptions = {}): string {
  const eol = options.eol ?? '\n';
  const header = ['WEBVTT'];
  if (options.language) header.push(`Language: ${options.language.replace(/\s+/g, '')}`);
  const blocks = [header.join(eol)];
  for (const c of cues) {
    const note = c.id !== undefined ? options.notes?.get(c.id) : undefined;
    if (note !== undefined) {
      const noteLines = safeLines(note);
      if (noteLines.length) blocks.push(['NOTE', ...noteLines].join(eol));
    }
    const lines: string[] = [];
    if (c.id !== undefined && c.id.trim() !== '' && !c.id.includes('-->') && !/[\r\n]/.test(c.id)) lines.push(c.id.trim());
    lines.push(`${formatTimestamp(c.start, '.')} --> ${formatTimestamp(c.end, '.')}`);
    const text = safeLines(c.text).map(escapeVtt);
    if (c.speaker && text.length) text[0] = `<v ${escapeVtt(c.speaker.replace(/>/g, ''))}>${text[0]}`;
    lines.push(...text);
    blocks.push(lines.join(eol));
  }
  return (options.bom ? '\uFEFF' : '') + blocks.map((b) => b + eol).join(eol);
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import {
  alignCuesToTranscript,
  exportTranscript,
  exportTranslation,
  formatSrt,
  formatVtt,
  importTranscript,
  importTranslation,
  languageFromFileName,
  parseSrt,
  parseSubtitles,
  parseVtt,
  plainText,
  subtitleTranscriptionModel,
  subtitleTranslationModel,
} from '../../src/providers/subtitles/index.js';
import type { Transcript } from '../../src/providers/spec/index.js';
import { tempDir } from '../helpers/media.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('avdub-subs-')));
afterAll(() => cleanup());

describe('SRT', () => {
  it('parses a clean file', () => {
    const doc = parseSrt('1\n00:00:01,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:03,000 --> 00:00:04,000\nTwo\nlines\n');
    expect(doc.cues.map(({ id, start, end, text }) => ({ id, start, end, text }))).toEqual([
      { id: '1', start: 1, end: 2.5, text: 'Hello there.' },
      { id: '2', start: 3, end: 4, text: 'Two\nlines' },
    ]);
    expect(doc.warnings).toEqual([]);
  });

  it('handles BOM, CRLF, CR, missing indices, missing blank lines and loose timestamps', () => {
    const text =
      '\uFEFF1\r\n00:00:01,000 --> 00:00:02,000\r\nFirst\r\n\r\n' +
      '00:00:02.500 --> 00:00:03.25\r\nNo index, dot and 2-digit ms\r\n' + // no blank line after
      '3\r00:04,000 --> 00:05,000\rNo hours, CR only\r\r' +
      '4\n01:00:00,000 --> 01:00:01,000\nLate\n\n\n\n';
    const doc = parseSrt(text);
    expect(doc.cues.map((c) => [c.id, c.start, c.end, c.text])).toEqual([
      ['1', 1, 2, 'First'],
      ['2', 2.5, 3.25, 'No index, dot and 2-digit ms'],
      ['3', 4, 5, 'No hours, CR only'],
      ['4', 3600, 3601, 'Late'],
    ]);
    expect(doc.warnings.some((w) => w.type === 'subtitle' && /no index/.test(w.message) && w.line === 5)).toBe(true);
  });

  it('keeps text lines across a stray blank line and a cue whose text is a number', () => {
    const doc = parseSrt('1\n00:00:01,000 --> 00:00:02,000\nIn\n\nthe year\n\n2\n00:00:03,000 --> 00:00:04,000\n1984\n\n3\n00:00:05,000 --> 00:00:06,000\nEnd\n');
    expect(doc.cues.map((c) => c.text)).toEqual(['In\nthe year', '1984', 'End']);
  });

  it('strips inline tags and decodes entities, keeping the raw text', () => {
    const doc = parseSrt('1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>Hello</i> <font color="#ff0000">red</font> &amp; a < b\n');
    expect(doc.cues[0]!.text).toBe('Hello red & a < b');
    expect(doc.cues[0]!.raw).toContain('<i>Hello</i>');
  });

  it('sorts out-of-order cues, drops empty and duplicate cues, and repairs reversed times', () => {
    const doc = parseSrt(
      '1\n00:00:05,000 --> 00:00:06,000\nLater\n\n2\n00:00:01,000 --> 00:00:02,000\nEarlier\n\n' +
        '3\n00:00:07,000 --> 00:00:08,000\n\n4\n00:00:01,000 --> 00:00:02,000\nEarlier\n\n5\n00:00:10,000 --> 00:00:09,000\nBackwards\n',
    );
    expect(doc.cues.map((c) => [c.id, c.text])).toEqual([
      ['2', 'Earlier'],
      ['1', 'Later'],
      ['5', 'Backwards'],
    ]);
    expect(doc.cues[2]).toMatchObject({ start: 10, end: 10 });
    const messages = doc.warnings.map((w) => (w.type === 'subtitle' ? w.message : ''));
    expect(messages.some((m) => /not in time order/.test(m))).toBe(true);
    expect(messages.some((m) => /no text/.test(m))).toBe(true);
    expect(messages.some((m) => /Duplicate/.test(m))).toBe(true);
    expect(messages.some((m) => /ends before it starts/.test(m))).toBe(true);
  });

  it('gives unique ids when indices repeat', () => {
    const doc = parseSrt('1\n00:00:01,000 --> 00:00:02,000\nA\n\n1\n00:00:03,000 --> 00:00:04,000\nB\n\n2\n00:00:05,000 --> 00:00:06,000\nC\n');
    const ids = doc.cues.map((c) => c.id);
    expect(new Set(ids).size).toBe(3);
    expect(ids[0]).toBe('1');
    expect(ids[2]).toBe('2');
  });

  it('resolves overlapping cues: trim (default), merge or keep', () => {
    const text = '1\n00:00:01,000 --> 00:00:04,000\nA\n\n2\n00:00:03,000 --> 00:00:05,000\nB\n\n3\n00:00:03,050 --> 00:00:06,000\nC\n';
    const trim = parseSrt(text);
    // 2 trims 1 (ends at 3 s); 3 starts 50 ms after 2, too short to trim, so it is merged into 2.
    expect(trim.cues.map((c) => [c.id, c.start, c.end, c.text])).toEqual([
      ['1', 1, 3, 'A'],
      ['2', 3, 6, 'B\nC'],
    ]);
    expect(trim.warnings.filter((w) => w.type === 'subtitle' && /overlaps/.test(w.message))).toHaveLength(2);
    const merge = parseSrt(text, { overlaps: 'merge' });
    expect(merge.cues.map((c) => [c.start, c.end, c.text])).toEqual([[1, 6, 'A\nB\nC']]);
    const keep = parseSrt(text, { overlaps: 'keep' });
    expect(keep.cues.map((c) => [c.start, c.end])).toEqual([
      [1, 4],
      [3, 5],
      [3.05, 6],
    ]);
  });

  it('reports unreadable timing lines and ignores a preamble', () => {
    const doc = parseSrt('Subtitles by someone\n\n1\n00:00:01,000 --> 00:99:02,000\nBad\n\n2\n00:00:03,000 --> 00:00:04,000\nGood\n');
    expect(doc.cues.map((c) => c.text)).toEqual(['Good']);
    expect(doc.warnings.some((w) => w.type === 'subtitle' && /Unreadable timing/.test(w.message) && w.line === 4)).toBe(true);
  });

  it('writes SRT that parses back to the same cues', () => {
    const cues = [
      { id: '3', start: 0.5, end: 1.25, text: 'First --> arrow' },
      { id: '7', start: 3723.004, end: 3724, text: 'Two\n\nlines' },
    ];
    const out = formatSrt(cues);
    expect(out).toBe('3\n00:00:00,500 --> 00:00:01,250\nFirst -> arrow\n\n7\n01:02:03,004 --> 01:02:04,000\nTwo\nlines\n');
    const back = parseSrt(out);
    expect(back.cues.map((c) => [c.id, c.start, c.end, c.text])).toEqual([
      ['3', 0.5, 1.25, 'First -> arrow'],
      ['7', 3723.004, 3724, 'Two\nlines'],
    ]);
    // Non-numeric ids are renumbered; CRLF and BOM on request.
    const crlf = formatSrt([{ id: 'a', start: 0, end: 1, text: 'x' }], { eol: '\r\n', bom: true });
    expect(crlf).toBe('\uFEFF1\r\n00:00:00,000 --> 00:00:01,000\r\nx\r\n');
    expect(parseSrt(crlf).cues[0]!.text).toBe('x');
  });
});

describe('WebVTT', () => {
  const sample = [
    'WEBVTT - some title',
    'Kind: captions',
    'Language: es',
    '',
    'STYLE',
    '::cue { color: yellow }',
    '',
    'NOTE this is a comment',
    'spanning lines',
    '',
    'intro',
    '00:01.000 --> 00:02.500 align:start line:0',
    '<v Roger Bingham>We are in New York City',
    '',
    '00:00:03.000 --> 00:00:04.000',
    '<c.loud>Loud</c> <i>and</i> <b>bold</b> &lt;3 <00:00:03.500>karaoke',
    '00:00:04.000 --> 00:00:05.000',
    'no blank line before me',
    '',
    '00:00:06.000 --> 00:00:07.000',
    '<ruby>漢<rt>kan</rt>字<rt>ji</rt></ruby>',
    '',
  ].join('\r\n');

  it('parses identifiers, settings, speakers, tags, NOTE/STYLE blocks and the language header', () => {
    const doc = parseVtt(`\uFEFF${sample}`);
    expect(doc.language).toBe('es');
    expect(doc.cues.map((c) => ({ id: c.id, start: c.start, end: c.end, text: c.text }))).toEqual([
      { id: 'intro', start: 1, end: 2.5, text: 'We are in New York City' },
      { id: '2', start: 3, end: 4, text: 'Loud and bold <3 karaoke' },
      { id: '3', start: 4, end: 5, text: 'no blank line before me' },
      { id: '4', start: 6, end: 7, text: '漢字' },
    ]);
    expect(doc.cues[0]).toMatchObject({ speaker: 'Roger Bingham', settings: 'align:start line:0' });
    expect(doc.warnings).toEqual([]);
  });

  it('warns about a missing header and stray text but still parses', () => {
    const doc = parseVtt('00:00:01.000 --> 00:00:02.000\nHi\n\nstray words\n\n00:00:03.000 --> 00:00:04.000\nBye\n');
    expect(doc.cues.map((c) => c.text)).toEqual(['Hi', 'Bye']);
    expect(doc.warnings.map((w) => (w.type === 'subtitle' ? w.message : ''))).toEqual([
      'Missing "WEBVTT" header; parsed anyway',
      'Text outside any cue ignored: "stray words"',
    ]);
  });

  it('writes WebVTT with ids, speakers, escapes and notes, and reads it back', () => {
    const out = formatVtt(
      [
        { id: 'a', start: 1, end: 2, text: 'Tom & Jerry <3', speaker: 'Tom' },
        { id: 'b', start: 2, end: 3.5, text: 'Second' },
      ],
      { language: 'en', notes: new Map([['b', 'source --> text']]) },
    );
    expect(out).toBe(
      'WEBVTT\nLanguage: en\n\na\n00:00:01.000 --> 00:00:02.000\n<v Tom>Tom &amp; Jerry &lt;3\n\nNOTE\nsource -> text\n\nb\n00:00:02.000 --> 00:00:03.500\nSecond\n',
    );
    const back = parseVtt(out);
    expect(back.language).toBe('en');
    expect(back.cues.map((c) => [c.id, c.start, c.end, c.text, c.speaker])).toEqual([
      ['a', 1, 2, 'Tom & Jerry <3', 'Tom'],
      ['b', 2, 3.5, 'Second', undefined],
    ]);
  });

  it('detects the format from content and extension', () => {
    expect(parseSubtitles('WEBVTT\n\n00:01.000 --> 00:02.000\nx\n').format).toBe('vtt');
    expect(parseSubtitles('1\n00:00:01,000 --> 00:00:02,000\nx\n').format).toBe('srt');
    expect(parseSubtitles('00:00:01.000 --> 00:00:02.000\nx\n', { path: 'a.vtt' }).format).toBe('vtt');
  });
});

describe('plainText', () => {
  it('removes tags but keeps text that only looks like markup', () => {
    expect(plainText('if a <b and c> d')).toEqual({ text: 'if a d' }); // "<b ...>" is a tag in subtitle markup
    expect(plainText('x < 3 and 5 > y')).toEqual({ text: 'x < 3 and 5 > y' });
    expect(plainText('<v.first.loud Esme>Hi</v>')).toEqual({ text: 'Hi', speaker: 'Esme' });
    expect(plainText('&#65;&#x42;&nbsp;&lrm;C &unknown;')).toEqual({ text: 'AB C &unknown;' });
  });
});

describe('subtitle providers and the human-in-the-loop round trip (001 s4)', () => {
  const audio = { samples: new Float32Array(16000 * 10), sampleRate: 16000 };

  it('a subtitle file is a transcript source, read at each call', async () => {
    const path = join(dir, 'talk.en.srt');
    writeFileSync(path, '1\n00:00:01,000 --> 00:00:02,000\n<i>Hello</i>\nworld\n\n2\n00:00:12,000 --> 00:00:13,000\nAfter the audio\n');
    const model = subtitleTranscriptionModel({ path });
    expect(model).toMatchObject({ specificationVersion: 'v1', provider: 'subtitles', modelId: path });
    const { transcript, warnings } = await model.transcribe({ audio });
    expect(transcript).toEqual({
      language: 'en', // from the file name
      segments: [
        { id: '1', start: 1, end: 2, text: 'Hello world' },
        { id: '2', start: 12, end: 13, text: 'After the audio' },
      ],
    });
    expect(warnings.some((w) => w.type === 'subtitle' && /after the audio ends/.test(w.message))).toBe(true);
    writeFileSync(path, '1\n00:00:01,000 --> 00:00:02,000\nEdited\n');
    expect((await model.transcribe({ audio })).transcript.segments[0]!.text).toBe('Edited');
  });

  it('fails clearly for a missing or cue-less file', async () => {
    await expect(subtitleTranscriptionModel({ path: join(dir, 'nope.srt') }).transcribe({ audio })).rejects.toMatchObject({
      code: ErrorCode.INPUT_NOT_FOUND,
    });
    const junk = join(dir, 'junk.srt');
    writeFileSync(junk, 'this is not a subtitle file\n');
    await expect(subtitleTranscriptionModel({ path: junk }).transcribe({ audio })).rejects.toMatchObject({ code: ErrorCode.SUBTITLE_PARSE });
    await expect(subtitleTranscriptionModel({ text: '' }).transcribe({ audio })).rejects.toMatchObject({ code: ErrorCode.SUBTITLE_PARSE });
    expect(() => subtitleTranscriptionModel({ text: 'x' }, { overlaps: 'drop' as 'keep' })).toThrow(/overlaps/);
  });

  const transcript: Transcript = {
    language: 'en',
    segments: [
      { id: '1', start: 0.5, end: 2, text: 'Good morning.' },
      { id: '2', start: 2.5, end: 4, text: 'How are you?', speaker: 'Ann' },
      { id: '3', start: 5, end: 7, text: 'Fine, thanks.' },
    ],
  };

  it('exports a transcript for correction and re-imports the edited file with its ids', async () => {
    for (const ext of ['srt', 'vtt'] as const) {
      const path = join(dir, `edit.${ext}`);
      expect(await exportTranscript(transcript, path)).toBe(path);
      // The human fixes a word in a text editor.
      writeFileSync(path, readFileSync(path, 'utf8').replace('Fine, thanks.', 'Fine, thank you.'));
      const back = await importTranscript(path);
      expect(back.transcript.segments.map((s) => [s.id, s.start, s.end, s.text])).toEqual([
        ['1', 0.5, 2, 'Good morning.'],
        ['2', 2.5, 4, 'How are you?'],
        ['3', 5, 7, 'Fine, thank you.'],
      ]);
      if (ext === 'vtt') {
        expect(back.transcript.language).toBe('en');
        expect(back.transcript.segments[1]!.speaker).toBe('Ann');
      }
    }
    // Written atomically: no temp files left behind.
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('exports a translation with source notes and takes the translator file back as the translation', async () => {
    const machine = {
      sourceLanguage: 'en',
      targetLanguage: 'es',
      segments: transcript.segments.map((s) => ({ id: s.id, start: s.start, end: s.end, text: `MT ${s.text}`, sourceText: s.text })),
    };
    const path = join(dir, 'review.es.vtt');
    await exportTranslation(machine, path);
    const written = readFileSync(path, 'utf8');
    expect(written).toContain('NOTE\nGood morning.');
    writeFileSync(path, written.replace('MT Good morning.', 'Buenos días.').replace('MT Fine, thanks.', 'Bien, gracias.'));
    const model = subtitleTranslationModel({ path });
    const { translation, warnings } = await model.translate({ transcript, targetLanguage: 'es' });
    expect(translation.targetLanguage).toBe('es');
    expect(translation.segments.map((s) => [s.id, s.start, s.end, s.text])).toEqual([
      ['1', 0.5, 2, 'Buenos días.'],
      ['2', 2.5, 4, 'MT How are you?'],
      ['3', 5, 7, 'Bien, gracias.'],
    ]);
    expect(translation.segments[1]).toMatchObject({ speaker: 'Ann', sourceText: 'How are you?' });
    expect(warnings).toEqual([]);
    const imported = await importTranslation(path, transcript);
    expect(imported.translation.segments[0]!.text).toBe('Buenos días.');
    expect(imported.translation.targetLanguage).toBe('es');
  });

  it('matches a translator file with its own segmentation by time, and reports gaps', async () => {
    const path = join(dir, 'human.srt');
    writeFileSync(
      path,
      [
        '1\n00:00:00,400 --> 00:00:01,200\nBuenos\n', // both halves land on segment 1
        '2\n00:00:01,200 --> 00:00:02,100\ndías.\n',
        '3\n00:00:05,100 --> 00:00:06,900\nBien, gracias.\n', // id 3 matches segment 3 by id and time
        '4\n00:00:20,000 --> 00:00:21,000\nSobra.\n', // overlaps nothing
      ].join('\n'),
    );
    const { translation, warnings } = await subtitleTranslationModel({ path }).translate({ transcript, targetLanguage: 'es' });
    expect(translation.segments.map((s) => s.text)).toEqual(['Buenos días.', '', 'Bien, gracias.']);
    expect(warnings.some((w) => w.type === 'subtitle' && w.segmentId === '2' && /no translation/.test(w.message))).toBe(true);
    expect(warnings.some((w) => w.type === 'subtitle' && /"4".*matches no transcript segment.*Sobra/.test(w.message))).toBe(true);
    // An id that matches but is far away in time is matched by time instead.
    const moved = alignCuesToTranscript(parseSrt('1\n00:00:05,000 --> 00:00:07,000\nBien.\n').cues, transcript);
    expect(moved.map((s) => s.text)).toEqual(['', '', 'Bien.']);
  });

  it('uses the file cues as segments when the transcript is empty, and warns on a language mismatch', async () => {
    const { translation, warnings } = await subtitleTranslationModel({ text: '1\n00:00:01,000 --> 00:00:02,000\nHallo\n' }, { language: 'de' }).translate({
      transcript: { language: 'en', segments: [] },
      targetLanguage: 'fr',
    });
    expect(translation.segments).toEqual([{ id: '1', start: 1, end: 2, text: 'Hallo' }]);
    expect(warnings.some((w) => w.type === 'other' && /de.*fr/.test(w.message))).toBe(true);
  });

  it('reads a language tag from file names', () => {
    expect(languageFromFileName('/x/movie.pt-BR.srt')).toBe('pt-BR');
    expect(languageFromFileName('/x/movie.es.vtt')).toBe('es');
    expect(languageFromFileName('/x/movie.final.srt')).toBeUndefined();
    expect(languageFromFileName('/x/movie.srt')).toBeUndefined();
  });

  it('takes per-call overlap handling from providerOptions.subtitles', async () => {
    const text = '1\n00:00:01,000 --> 00:00:04,000\nA\n\n2\n00:00:03,000 --> 00:00:05,000\nB\n';
    const model = subtitleTranscriptionModel({ text });
    const merged = await model.transcribe({ audio, providerOptions: { subtitles: { overlaps: 'merge' } } });
    expect(merged.transcript.segments).toHaveLength(1);
    expect((await model.transcribe({ audio })).transcript.segments).toHaveLength(2);
  });

  it('cancels through AbortSignal', async () => {
    const c = new AbortController();
    c.abort();
    let caught: unknown;
    try {
      await subtitleTranscriptionModel({ text: '1\n00:00:01,000 --> 00:00:02,000\nx\n' }).transcribe({ audio, abortSignal: c.signal });
    } catch (e) {
      caught = e;
    }
    expect(AvdubError.isInstance(caught, ErrorCode.ABORTED)).toBe(true);
  });
});

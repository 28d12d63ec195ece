import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { createOpenAI, openaiChatTranslation, openaiSpeech, openaiTranscription } from '../../src/providers/http/openai.js';
import type { Transcript } from '../../src/providers/spec/index.js';
import { ffmpeg, tempDir } from '../helpers/media.js';
import { formData, hang, json, sineWav, startServer, type Recorded, type TestServer } from './server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const KEY = 'sk-local-test-key-0123456789';
const fast = { retryDelayMs: 1, maxRetryDelayMs: 100 };
const tone = (seconds: number, sampleRate = 16000) => {
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 300 * i) / sampleRate);
  return { samples, sampleRate };
};

async function failure(p: Promise<unknown>): Promise<AvdubError> {
  try {
    await p;
  } catch (e) {
    if (AvdubError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** A WAV upload's duration in seconds (16-bit mono, as the client sends). */
async function uploadedSeconds(req: Recorded): Promise<number> {
  const form = await formData(req);
  const file = form.get('file') as Blob;
  const bytes = Buffer.from(await file.arrayBuffer());
  return (bytes.length - 44) / 2 / bytes.readUInt32LE(24);
}

describe('OpenAI-compatible transcription', () => {
  it('posts multipart audio and maps verbose_json segments to a transcript', async () => {
    server = await startServer(async (req, res) => {
      if (req.path !== '/v1/audio/transcriptions') return json(res, 404, { error: 'not found' });
      const seconds = await uploadedSeconds(req);
      json(res, 200, {
        task: 'transcribe',
        language: 'english',
        duration: seconds,
        text: 'Hello there. General Kenobi.',
        segments: [
          { id: 0, seek: 0, start: 0.0, end: 1.2, text: ' Hello there.', avg_logprob: -0.2, no_speech_prob: 0.01 },
          { id: 1, seek: 0, start: 1.3, end: 2.0, text: ' General Kenobi.', avg_logprob: -0.3, no_speech_prob: 0.02 },
          { id: 2, seek: 0, start: 2.0, end: 2.0, text: '   ' },
        ],
      });
    });
    const model = openaiTranscription('whisper-1', { baseURL: `${server.url}/v1`, apiKey: KEY });
    expect(model).toMatchObject({ specificationVersion: 'v1', provider: 'openai', modelId: 'whisper-1' });
    const { transcript, warnings } = await model.transcribe({
      audio: tone(2),
      language: 'en-US',
      providerOptions: { openai: { prompt: 'Star Wars', temperature: 0 }, other: { ignored: true } },
    });
    expect(transcript.language).toBe('en');
    expect(transcript.segments).toEqual([
      { id: '1', start: 0, end: 1.2, text: 'Hello there.' },
      { id: '2', start: 1.3, end: 2.0, text: 'General Kenobi.' },
    ]);
    expect(warnings).toEqual([]);
    const req = server.requests[0]!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    const form = await formData(req);
    expect(form.get('model')).toBe('whisper-1');
    expect(form.get('response_format')).toBe('verbose_json');
    expect(form.get('timestamp_granularities[]')).toBe('segment');
    expect(form.get('language')).toBe('en');
    expect(form.get('prompt')).toBe('Star Wars');
    expect(form.get('temperature')).toBe('0');
    expect(form.get('ignored')).toBeNull();
    expect(await uploadedSeconds(req)).toBeCloseTo(2, 3);
  });

  it('splits long audio into chunks and offsets their segments', async () => {
    server = await startServer(async (req, res) => {
      const seconds = await uploadedSeconds(req);
      json(res, 200, { language: 'en', segments: [{ id: 0, start: 0.1, end: seconds - 0.1, text: `part` }] });
    });
    const model = openaiTranscription('whisper-1', { baseURL: `${server.url}/v1`, apiKey: KEY, maxChunkSeconds: 1 });
    const { transcript, providerMetadata } = await model.transcribe({ audio: tone(2.5) });
    expect(server.requests.length).toBe(3);
    expect(providerMetadata?.openai?.chunks).toBe(3);
    expect(transcript.segments.map((s) => s.id)).toEqual(['1', '2', '3']);
    // Each chunk's segment starts 0.1 s into that chunk; chunks tile the audio.
    const starts = transcript.segments.map((s) => s.start);
    expect(starts[0]).toBeCloseTo(0.1, 3);
    for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThan(transcript.segments[i - 1]!.end);
    expect(transcript.segments[2]!.end).toBeCloseTo(2.4, 2);
  });

  it('falls back to one segment (with a warning) when the server sends only text', async () => {
    server = await startServer((_req, res) => json(res, 200, { text: 'just text' }));
    const model = openaiTranscription('local', { baseURL: `${server.url}/v1` }); // local server: no key needed
    const { transcript, warnings } = await model.transcribe({ audio: tone(1) });
    expect(transcript.segments).toEqual([{ id: '1', start: 0, end: 1, text: 'just text' }]);
    expect(transcript.language).toBe('und');
    expect(warnings[0]?.type).toBe('other');
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('rejects malformed JSON and malformed segments with E_PROVIDER', async () => {
    server = await startServer((_req, res, i) =>
      i === 0 ? json(res, 200, '{"segments": [') : json(res, 200, { segments: [{ start: 'zero', text: 1 }] }),
    );
    const model = openaiTranscription('whisper-1', { baseURL: `${server.url}/v1`, apiKey: KEY });
    const e1 = await failure(model.transcribe({ audio: tone(0.5) }));
    expect(e1.code).toBe(ErrorCode.PROVIDER);
    expect(e1.message).toMatch(/malformed JSON/);
    const e2 = await failure(model.transcribe({ audio: tone(0.5) }));
    expect(e2.code).toBe(ErrorCode.PROVIDER);
    expect(e2.message).toMatch(/segment/);
  });

  it('takes the key from OPENAI_API_KEY and requires one for api.openai.com', async () => {
    server = await startServer((_req, res) => json(res, 200, { segments: [] }));
    const saved = process.env.OPENAI_API_KEY;
    try {
      process.env.OPENAI_API_KEY = 'sk-from-env-0123456789';
      await openaiTranscription('whisper-1', { baseURL: `${server.url}/v1` }).transcribe({ audio: tone(0.2) });
      expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-from-env-0123456789');
      delete process.env.OPENAI_API_KEY;
      // The real endpoint without a key fails before any request is made.
      const e = await failure(openaiTranscription('whisper-1', { baseURL: 'https://api.openai.com/v1' }).transcribe({ audio: tone(0.2) }));
      expect(e.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(e.message).toMatch(/OPENAI_API_KEY/);
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  });

  it('validates its input', async () => {
    const model = openaiTranscription('whisper-1', { baseURL: 'http://127.0.0.1:9/v1' });
    await expect(model.transcribe({ audio: { samples: new Float32Array(0), sampleRate: 16000 } })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    expect(() => openaiTranscription('whisper-1', { baseURL: 'ftp://x' })).toThrow(/http/);
  });
});

const transcript: Transcript = {
  language: 'en',
  segments: [
    { id: 'a', start: 0, end: 2, text: 'Good morning.' },
    { id: 'b', start: 2, end: 2.6, text: 'Thanks.', speaker: 'Ann' },
    { id: 'c', start: 3, end: 5, text: '' },
    { id: 'd', start: 5, end: 8, text: 'See you tomorrow.' },
  ],
};

function lastUser(req: Recorded): { body: { model: string; messages: { role: string; content: string }[] }; text: string } {
  const body = JSON.parse(req.body.toString());
  const msgs = body.messages as { role: string; content: string }[];
  return { body, text: msgs[msgs.length - 1]!.content };
}

describe('OpenAI-compatible chat translation', () => {
  it('translates per segment, keeping ids, and asks for a shorter version when over budget', async () => {
    server = await startServer((req, res) => {
      const { text } = lastUser(req);
      let reply: string;
      if (text.startsWith('That takes about')) reply = 'Gracias.';
      else {
        const line = text.split('Line to translate:\n')[1]!;
        reply = line === 'Thanks.' ? 'Muchísimas gracias por todo, de verdad, te lo agradezco muchísimo.' : `"ES ${line}"`;
      }
      json(res, 200, {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      });
    });
    const model = openaiChatTranslation('gpt-4o-mini', { baseURL: `${server.url}/v1`, apiKey: KEY, concurrency: 2 });
    const { translation, warnings, providerMetadata } = await model.translate({
      transcript,
      targetLanguage: 'es',
      providerOptions: { openai: { temperature: 0.1 } },
    });
    expect(translation.targetLanguage).toBe('es');
    expect(translation.sourceLanguage).toBe('en');
    expect(translation.segments.map((s) => s.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(translation.segments.map((s) => [s.start, s.end])).toEqual(transcript.segments.map((s) => [s.start, s.end]));
    expect(translation.segments[0]!.text).toBe('ES Good morning.'); // quotes the model added are removed
    expect(translation.segments[1]).toMatchObject({ text: 'Gracias.', speaker: 'Ann', sourceText: 'Thanks.' });
    expect(translation.segments[2]!.text).toBe(''); // empty source: no request
    expect(warnings).toEqual([]);
    // 3 segments with text + 1 shortening follow-up
    expect(server.requests).toHaveLength(4);
    expect(providerMetadata?.openai).toMatchObject({ requests: 4, promptTokens: 40, completionTokens: 20 });
    const followUp = server.requests.map(lastUser).find((r) => r.text.startsWith('That takes about'))!;
    expect(followUp.text).toMatch(/shorter Spanish version of at most \d+ characters/);
    // The follow-up continues the same conversation: system, user, assistant (long), user.
    expect(followUp.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(followUp.body.messages[0]!.content).toContain('from English to Spanish');
    const first = server.requests.map(lastUser).find((r) => r.text.includes('Line to translate:\nGood morning.'))!;
    expect(first.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.1 });
    expect(first.text).toContain('Next lines (context only, do not translate):\nThanks.');
  });

  it('reports a segment still over budget after the allowed attempts', async () => {
    server = await startServer((_req, res) =>
      json(res, 200, { choices: [{ message: { content: 'una frase larguísima que nunca cabe en su hueco de tiempo' } }] }),
    );
    const model = openaiChatTranslation('m', { baseURL: `${server.url}/v1`, maxShortenAttempts: 1 });
    const { translation, warnings } = await model.translate({
      transcript: { language: 'en', segments: [{ id: '7', start: 1, end: 1.5, text: 'Hi.' }] },
      targetLanguage: 'es',
    });
    expect(translation.segments[0]!.text).toMatch(/larguísima/);
    expect(server.requests).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ type: 'over-budget', segmentId: '7', budgetSeconds: 0.5 });
  });

  it('uses a caller-supplied duration estimate', async () => {
    server = await startServer((_req, res) => json(res, 200, { choices: [{ message: { content: 'x' } }] }));
    const model = openaiChatTranslation('m', { baseURL: `${server.url}/v1`, estimateSeconds: () => 100, maxShortenAttempts: 0 });
    const { warnings } = await model.translate({
      transcript: { language: 'en', segments: [{ id: '1', start: 0, end: 5, text: 'Hello' }] },
      targetLanguage: 'fr',
    });
    expect(warnings[0]).toMatchObject({ type: 'over-budget', estimatedSeconds: 100 });
  });

  it('retries a 500, fails on an empty reply, and cancels through AbortSignal', async () => {
    server = await startServer((_req, res, i) =>
      i === 0 ? json(res, 500, { error: { message: 'overloaded' } }) : json(res, 200, { choices: [{ message: { content: 'Hallo' } }] }),
    );
    const model = openaiChatTranslation('m', { baseURL: `${server.url}/v1`, ...fast });
    const one = { language: 'en', segments: [{ id: '1', start: 0, end: 5, text: 'Hello' }] };
    const { translation } = await model.translate({ transcript: one, targetLanguage: 'de' });
    expect(translation.segments[0]!.text).toBe('Hallo');
    expect(server.requests).toHaveLength(2);
    await server.close();

    server = await startServer((_req, res) => json(res, 200, { choices: [{ message: { content: '  ' } }] }));
    const empty = openaiChatTranslation('m', { baseURL: `${server.url}/v1` });
    expect((await failure(empty.translate({ transcript: one, targetLanguage: 'de' }))).code).toBe(ErrorCode.PROVIDER);
    await server.close();

    server = await startServer((_req, res) => hang(res));
    const slow = openaiChatTranslation('m', { baseURL: `${server.url}/v1` });
    const controller = new AbortController();
    const p = slow.translate({ transcript: one, targetLanguage: 'de', abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await failure(p)).code).toBe(ErrorCode.ABORTED);
  });

  it('gives a response without choices as E_PROVIDER', async () => {
    server = await startServer((_req, res) => json(res, 200, { error: 'nope' }));
    const model = openaiChatTranslation('m', { baseURL: `${server.url}/v1` });
    const e = await failure(model.translate({ transcript: { language: 'en', segments: [{ id: '1', start: 0, end: 1, text: 'Hi' }] }, targetLanguage: 'de' }));
    expect(e.code).toBe(ErrorCode.PROVIDER);
    expect(e.message).toMatch(/choices/);
  });
});

describe('OpenAI-compatible speech', () => {
  it('posts JSON and decodes the WAV reply', async () => {
    server = await startServer((req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.end(sineWav(0.5));
    });
    const model = openaiSpeech('tts-1', { baseURL: `${server.url}/v1`, apiKey: KEY, voice: 'nova' });
    const { audio, timings, warnings } = await model.synthesize({ text: 'Hola', language: 'es', speed: 1.2 });
    expect(audio.sampleRate).toBe(24000);
    expect(audio.samples.length).toBe(12000);
    expect(Math.max(...audio.samples)).toBeGreaterThan(0.4);
    expect(timings).toBeUndefined();
    expect(warnings).toEqual([]);
    const body = JSON.parse(server.requests[0]!.body.toString());
    expect(server.requests[0]!.path).toBe('/v1/audio/speech');
    expect(body).toEqual({ model: 'tts-1', input: 'Hola', voice: 'nova', response_format: 'wav', speed: 1.2 });
  });

  it('decodes raw PCM and, through ffmpeg, compressed audio', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const wavPath = join(dir, 'in.wav');
      const flacPath = join(dir, 'out.flac');
      writeFileSync(wavPath, sineWav(1, 24000));
      ffmpeg(['-i', wavPath, flacPath]);
      const flac = readFileSync(flacPath);
      const pcm = sineWav(0.25).subarray(44);
      server = await startServer((req, res) => {
        const { response_format } = JSON.parse(req.body.toString());
        res.writeHead(200, { 'content-type': response_format === 'pcm' ? 'audio/pcm' : 'audio/flac' });
        res.end(response_format === 'pcm' ? pcm : flac);
      });
      const p = await openaiSpeech('tts-1', { baseURL: `${server.url}/v1`, responseFormat: 'pcm' }).synthesize({ text: 'a', language: 'en' });
      expect(p.audio.samples.length).toBe(6000);
      const f = await openaiSpeech('tts-1', { baseURL: `${server.url}/v1`, responseFormat: 'flac' }).synthesize({ text: 'a', language: 'en' });
      expect(f.audio.sampleRate).toBe(24000);
      expect(f.audio.samples.length).toBeGreaterThan(23000);
      expect(f.audio.samples.length).toBeLessThan(25000);
      let peak = 0;
      for (const v of f.audio.samples) peak = Math.max(peak, Math.abs(v));
      expect(peak).toBeGreaterThan(0.4);
    } finally {
      cleanup();
    }
  });

  it('turns an error body into E_PROVIDER and undecodable audio into E_PROVIDER', async () => {
    server = await startServer((_req, res, i) => {
      if (i === 0) return json(res, 400, { error: { message: "Invalid value for 'voice'", type: 'invalid_request_error' } });
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      res.end(Buffer.from('definitely not audio'));
    });
    const model = openaiSpeech('tts-1', { baseURL: `${server.url}/v1`, responseFormat: 'mp3' });
    const e = await failure(model.synthesize({ text: 'x', language: 'en', voice: 'nobody' }));
    expect(e.details.status).toBe(400);
    expect(e.message).toContain("Invalid value for 'voice'");
    const e2 = await failure(model.synthesize({ text: 'x', language: 'en' }));
    expect(e2.code).toBe(ErrorCode.PROVIDER);
    expect(e2.message).toMatch(/decode/);
  });
});

describe('createOpenAI', () => {
  it('builds all three models for any id, with shared settings', () => {
    const p = createOpenAI({ baseURL: 'http://127.0.0.1:9/v1', name: 'llamacpp' });
    expect(p.transcriptionModel('ggml-base.en')).toMatchObject({ provider: 'llamacpp', modelId: 'ggml-base.en' });
    expect(p.translationModel('qwen2.5:7b').modelId).toBe('qwen2.5:7b');
    expect(p.speechModel('kokoro').modelId).toBe('kokoro');
    expect(() => createOpenAI({ maxRetries: 99 })).toThrow(/maxRetries/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { createLibreTranslate, libreTranslate, libreTranslateCode } from '../../src/providers/http/libretranslate.js';
import type { Transcript } from '../../src/providers/spec/index.js';
import { hang, json, startServer, type TestServer } from './server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function failure(p: Promise<unknown>): Promise<AvdubError> {
  try {
    await p;
  } catch (e) {
    if (AvdubError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const transcript: Transcript = {
  language: 'en',
  segments: [
    { id: 's1', start: 0, end: 1, text: 'One' },
    { id: 's2', start: 1, end: 2, text: '' },
    { id: 's3', start: 2, end: 3, text: 'Three', speaker: 'B' },
    { id: 's4', start: 3, end: 4, text: 'Four' },
  ],
};

/** Implements LibreTranslate's /translate: `q` string or array, `{ translatedText }`. */
function libre(key?: string) {
  return (req: { path: string; body: Buffer }, res: import('node:http').ServerResponse) => {
    if (req.path !== '/translate') return json(res, 404, { error: 'Not Found' });
    const body = JSON.parse(req.body.toString());
    if (key && body.api_key !== key) return json(res, 403, { error: 'Invalid API key' });
    if (body.target === 'xx') return json(res, 400, { error: 'xx is not supported' });
    const tr = (q: string) => `${body.target}:${q.toUpperCase()}`;
    const translatedText = Array.isArray(body.q) ? body.q.map(tr) : tr(body.q);
    const detectedLanguage = body.source === 'auto' ? (Array.isArray(body.q) ? body.q.map(() => ({ confidence: 90, language: 'en' })) : { confidence: 90, language: 'en' }) : undefined;
    json(res, 200, { translatedText, ...(detectedLanguage ? { detectedLanguage } : {}) });
  };
}

describe('LibreTranslate', () => {
  it('batches segments as q[] and keeps ids, times and speakers', async () => {
    server = await startServer(libre());
    const model = libreTranslate({ baseURL: server.url, batchSize: 2 });
    const { translation, warnings, providerMetadata } = await model.translate({ transcript, targetLanguage: 'es-MX' });
    expect(translation.segments).toEqual([
      { id: 's1', start: 0, end: 1, text: 'es:ONE', sourceText: 'One' },
      { id: 's2', start: 1, end: 2, text: '', sourceText: '' },
      { id: 's3', start: 2, end: 3, text: 'es:THREE', sourceText: 'Three', speaker: 'B' },
      { id: 's4', start: 3, end: 4, text: 'es:FOUR', sourceText: 'Four' },
    ]);
    expect(translation.targetLanguage).toBe('es-MX');
    expect(warnings).toEqual([]);
    expect(server.requests).toHaveLength(2); // 3 non-empty texts, 2 per request
    const first = JSON.parse(server.requests[0]!.body.toString());
    expect(first).toEqual({ q: ['One', 'Three'], source: 'en', target: 'es', format: 'text' });
    expect(providerMetadata?.libretranslate).toMatchObject({ requests: 2 });
  });

  it('sends api_key from the option or LIBRETRANSLATE_API_KEY and never reveals it', async () => {
    const key = 'lt-secret-key-42';
    server = await startServer(libre(key));
    await libreTranslate({ baseURL: server.url, apiKey: key }).translate({ transcript, targetLanguage: 'de' });
    expect(JSON.parse(server.requests[0]!.body.toString()).api_key).toBe(key);
    const saved = process.env.LIBRETRANSLATE_API_KEY;
    try {
      process.env.LIBRETRANSLATE_API_KEY = key;
      await libreTranslate({ baseURL: server.url }).translate({ transcript, targetLanguage: 'de' });
      expect(JSON.parse(server.requests[1]!.body.toString()).api_key).toBe(key);
      process.env.LIBRETRANSLATE_API_KEY = 'lt-wrong-key-99';
      const e = await failure(libreTranslate({ baseURL: server.url }).translate({ transcript, targetLanguage: 'de' }));
      expect(e.details.status).toBe(403);
      expect(e.message).toContain('Invalid API key');
      expect(JSON.stringify([e.message, e.details, e.stack])).not.toContain('lt-wrong-key-99');
    } finally {
      if (saved === undefined) delete process.env.LIBRETRANSLATE_API_KEY;
      else process.env.LIBRETRANSLATE_API_KEY = saved;
    }
  });

  it('uses source "auto" for an unknown language and reports what was detected', async () => {
    server = await startServer(libre());
    const { translation } = await libreTranslate({ baseURL: server.url }).translate({
      transcript: { ...transcript, language: 'und' },
      targetLanguage: 'fr',
    });
    expect(JSON.parse(server.requests[0]!.body.toString()).source).toBe('auto');
    expect(translation.sourceLanguage).toBe('en');
  });

  it('reports error bodies, wrong counts, malformed JSON and slow servers as E_PROVIDER', async () => {
    server = await startServer(libre());
    const e = await failure(libreTranslate({ baseURL: server.url }).translate({ transcript, targetLanguage: 'xx' }));
    expect(e.code).toBe(ErrorCode.PROVIDER);
    expect(e.details).toMatchObject({ status: 400, body: '{"error":"xx is not supported"}' });
    await server.close();

    server = await startServer((_req, res, i) => (i === 0 ? json(res, 200, { translatedText: ['only one'] }) : json(res, 200, '<html>oops')));
    const e2 = await failure(libreTranslate({ baseURL: server.url }).translate({ transcript, targetLanguage: 'de' }));
    expect(e2.message).toMatch(/translatedText/);
    const e3 = await failure(libreTranslate({ baseURL: server.url }).translate({ transcript, targetLanguage: 'de' }));
    expect(e3.message).toMatch(/malformed JSON/);
    await server.close();

    server = await startServer((_req, res) => hang(res));
    const e4 = await failure(libreTranslate({ baseURL: server.url, timeoutMs: 150, maxRetries: 0 }).translate({ transcript, targetLanguage: 'de' }));
    expect(e4.details.timeout).toBe(true);
  });

  it('maps BCP-47 tags to LibreTranslate codes', () => {
    expect(libreTranslateCode('pt-BR')).toBe('pt');
    expect(libreTranslateCode('zh-Hant')).toBe('zt');
    expect(libreTranslateCode('zh-TW')).toBe('zt');
    expect(libreTranslateCode('zh-CN')).toBe('zh');
    expect(libreTranslateCode('EN_us')).toBe('en');
  });

  it('is in the registry as libretranslate:default only', () => {
    const p = createLibreTranslate({ baseURL: 'http://127.0.0.1:9' });
    expect(p.translationModel('default').provider).toBe('libretranslate');
    expect(() => p.translationModel('big')).toThrow(/default/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { fetchWithRetry, parseJsonBody, redact } from '../../src/providers/http/fetch.js';
import { hang, json, startServer, type TestServer } from './server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const fast = { retryDelayMs: 1, maxRetryDelayMs: 1000 };

async function failure(p: Promise<unknown>): Promise<AvdubError> {
  try {
    await p;
  } catch (e) {
    if (AvdubError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('fetchWithRetry', () => {
  it('retries 429 and 5xx, then succeeds', async () => {
    server = await startServer((_req, res, i) => {
      if (i === 0) return json(res, 429, { error: 'slow down' });
      if (i === 1) return json(res, 503, { error: 'busy' });
      json(res, 200, { ok: true });
    });
    const res = await fetchWithRetry({ provider: 't', url: `${server.url}/x`, body: () => '{}' }, { ...fast, maxRetries: 2 });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
    expect(server.requests.every((r) => r.body.toString() === '{}')).toBe(true);
  });

  it('gives up after maxRetries with E_PROVIDER carrying status and body excerpt', async () => {
    server = await startServer((_req, res) => json(res, 500, { error: { message: 'model exploded' } }));
    const e = await failure(fetchWithRetry({ provider: 't', url: `${server.url}/x`, body: () => '{}' }, { ...fast, maxRetries: 1 }));
    expect(e.code).toBe(ErrorCode.PROVIDER);
    expect(e.details.status).toBe(500);
    expect(String(e.details.body)).toContain('model exploded');
    expect(e.message).toContain('model exploded');
    expect(e.details.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('does not retry 4xx client errors', async () => {
    server = await startServer((_req, res) => json(res, 400, { error: 'bad request: no model' }));
    const e = await failure(fetchWithRetry({ provider: 't', url: `${server.url}/x`, body: () => '{}' }, { ...fast, maxRetries: 3 }));
    expect(e.details.status).toBe(400);
    expect(server.requests).toHaveLength(1);
  });

  it('honours Retry-After', async () => {
    server = await startServer((_req, res, i) => {
      if (i === 0) return json(res, 429, { error: 'later' }, { 'retry-after': '0' });
      json(res, 200, { ok: true });
    });
    const res = await fetchWithRetry(
      { provider: 't', url: `${server.url}/x`, body: () => '{}' },
      // A huge backoff: only honouring Retry-After: 0 lets this finish within the test timeout.
      { retryDelayMs: 600_000, maxRetryDelayMs: 3_600_000, maxRetries: 1 },
    );
    expect(res.status).toBe(200);
  });

  it('stops when Retry-After is longer than maxRetryDelayMs', async () => {
    server = await startServer((_req, res) => json(res, 429, { error: 'quota' }, { 'retry-after': '3600' }));
    const e = await failure(fetchWithRetry({ provider: 't', url: `${server.url}/x`, body: () => '{}' }, { ...fast, maxRetries: 5 }));
    expect(e.details.status).toBe(429);
    expect(e.details.retryAfterMs).toBe(3_600_000);
    expect(server.requests).toHaveLength(1);
  });

  it('times out a slow response with E_PROVIDER (and retries the timeout)', async () => {
    server = await startServer((_req, res) => hang(res));
    const e = await failure(
      fetchWithRetry({ provider: 't', url: `${server.url}/slow`, body: () => '{}' }, { ...fast, timeoutMs: 200, maxRetries: 1 }),
    );
    expect(e.code).toBe(ErrorCode.PROVIDER);
    expect(e.details.timeout).toBe(true);
    expect(e.message).toMatch(/timed out/);
    expect(server.requests).toHaveLength(2);
  });

  it('times out a response whose body stalls', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":'); // and never finishes
    });
    const e = await failure(fetchWithRetry({ provider: 't', url: `${server.url}/x`, body: () => '{}' }, { timeoutMs: 200, maxRetries: 0 }));
    expect(e.details.timeout).toBe(true);
  });

  it('cancels through AbortSignal with E_ABORTED, also while waiting to retry', async () => {
    server = await startServer((_req, res) => hang(res));
    const controller = new AbortController();
    const p = fetchWithRetry({ provider: 't', url: `${server.url}/x`, body: () => '{}', abortSignal: controller.signal }, { timeoutMs: 60_000 });
    setTimeout(() => controller.abort(), 50);
    const e = await failure(p);
    expect(e.code).toBe(ErrorCode.ABORTED);

    await server.close();
    server = await startServer((_req, res) => json(res, 503, {}));
    const c2 = new AbortController();
    const p2 = fetchWithRetry(
      { provider: 't', url: `${server.url}/x`, body: () => '{}', abortSignal: c2.signal },
      { retryDelayMs: 600_000, maxRetryDelayMs: 600_000, maxRetries: 3 },
    );
    const waitForFirst = async (): Promise<void> => {
      for (let i = 0; i < 200 && server!.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waitForFirst();
    c2.abort();
    expect((await failure(p2)).code).toBe(ErrorCode.ABORTED);
    expect(server.requests).toHaveLength(1);

    const c3 = new AbortController();
    c3.abort();
    expect((await failure(fetchWithRetry({ provider: 't', url: `${server.url}/x`, abortSignal: c3.signal }))).code).toBe(ErrorCode.ABORTED);
  });

  it('reports network errors as E_PROVIDER after retrying', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    const url = `${server.url}/x`;
    await server.close();
    server = undefined;
    const e = await failure(fetchWithRetry({ provider: 't', url, body: () => '{}' }, { ...fast, maxRetries: 1 }));
    expect(e.code).toBe(ErrorCode.PROVIDER);
    expect(e.details.network).toBe(true);
    expect(e.details.attempts).toBe(2);
  });

  it('never shows the API key, even when the server echoes it', async () => {
    const key = 'local-test-key-abcdefghijklmnop1234';
    server = await startServer((req, res) =>
      json(res, 401, {
        error: `Incorrect API key provided: ${String(req.headers.authorization)}`,
        // A raw echo that no pattern can recognise: only the known secret catches it.
        hint: `unknown token ${String(req.headers.authorization).slice('Bearer '.length)}`,
      }),
    );
    const e = await failure(
      fetchWithRetry(
        { provider: 't', url: `${server.url}/x?api_key=${key}`, headers: { authorization: `Bearer ${key}` }, body: () => '{}', secrets: [key] },
        fast,
      ),
    );
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${key}`);
    const everything = JSON.stringify({ message: e.message, details: e.details, json: e.toJSON(), stack: e.stack });
    expect(everything).not.toContain(key);
    expect(everything).not.toContain('abcdefghijklmnop');
    expect(everything).toContain('unknown token');
    expect(e.message).toContain('[REDACTED]');
  });

  it('turns malformed JSON into E_PROVIDER with an excerpt', async () => {
    server = await startServer((_req, res) => json(res, 200, '{"segments": [ oops'));
    const request = { provider: 't', url: `${server.url}/x`, body: () => '{}' };
    const res = await fetchWithRetry(request, fast);
    let caught: unknown;
    try {
      parseJsonBody(res, request);
    } catch (e) {
      caught = e;
    }
    expect(AvdubError.isInstance(caught, ErrorCode.PROVIDER)).toBe(true);
    expect((caught as AvdubError).message).toContain('malformed JSON');
    expect((caught as AvdubError).details.body).toContain('oops');
  });

  it('validates its settings', async () => {
    await expect(fetchWithRetry({ provider: 't', url: 'http://127.0.0.1:1/' }, { maxRetries: -1 })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });
});

describe('redact', () => {
  it('removes secrets, bearer tokens and sk- keys', () => {
    expect(redact('key=SECRETVALUE here', ['SECRETVALUE'])).toBe('key=[REDACTED] here');
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [REDACTED]');
    expect(redact('bad key sk-proj-0123456789abcdef')).not.toContain('0123456789');
    expect(redact('{"api_key": "lt-123456"}')).not.toContain('lt-123456');
  });
});

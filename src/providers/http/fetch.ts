import { AvdubError, ErrorCode, abortError } from '../../errors.js';
import { is } from '../../util/validate.js';

/** Settings every HTTP client takes. */
export interface HttpSettings {
  /** Extra headers for every request (never logged). */
  headers?: Record<string, string>;
  /** Time limit for one attempt, response body included, in ms. @default 60000 */
  timeoutMs?: number;
  /** Retries after the first attempt, for 408/409/429/5xx, network errors and timeouts. @default 2 */
  maxRetries?: number;
  /** First backoff delay in ms; doubles per retry, with jitter. @default 500 */
  retryDelayMs?: number;
  /** Longest wait between attempts, in ms. A `Retry-After` longer than this ends the retries. @default 30000 */
  maxRetryDelayMs?: number;
  /** A `fetch` implementation (proxies, instrumentation). @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

export const defaultHttpSettings = {
  timeoutMs: 60_000,
  maxRetries: 2,
  retryDelayMs: 500,
  maxRetryDelayMs: 30_000,
} as const;

export interface HttpRequest {
  /** Provider id, for messages. */
  provider: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Called once per attempt, so streams and forms are fresh for each retry. */
  body?: () => string | FormData | Uint8Array;
  abortSignal?: AbortSignal;
  /** Values to cut out of every message and detail (API keys). */
  secrets?: readonly (string | undefined)[];
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  attempts: number;
}

const RETRYABLE = (status: number): boolean => status === 408 || status === 409 || status === 429 || status >= 500;
const EXCERPT = 300;

export function validateHttpSettings(s: HttpSettings): void {
  is.optional(is.integer, 'timeoutMs', s.timeoutMs, 1, 3_600_000);
  is.optional(is.integer, 'maxRetries', s.maxRetries, 0, 10);
  is.optional(is.integer, 'retryDelayMs', s.retryDelayMs, 0, 600_000);
  is.optional(is.integer, 'maxRetryDelayMs', s.maxRetryDelayMs, 0, 3_600_000);
  if (s.fetch !== undefined && typeof s.fetch !== 'function') {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a function for fetch');
  }
}

/**
 * One HTTP call with a per-attempt timeout, retries with exponential backoff and jitter
 * (honouring `Retry-After` / `retry-after-ms`), and cancellation. Resolves only for 2xx; every
 * failure is an `E_PROVIDER` error carrying the status and a redacted excerpt of the body, except
 * cancellation, which is `E_ABORTED`. API keys never appear in messages or details.
 */
export async function fetchWithRetry(request: HttpRequest, settings: HttpSettings = {}): Promise<HttpResponse> {
  validateHttpSettings(settings);
  const s = { ...defaultHttpSettings, ...stripUndefined(settings) };
  const fetchImpl = settings.fetch ?? globalThis.fetch;
  const signal = request.abortSignal;
  const secrets = (request.secrets ?? []).filter((x): x is string => typeof x === 'string' && x.length >= 4);
  const clean = (text: string): string => redact(text, secrets);
  const method = request.method ?? 'POST';
  const where = `${method} ${safeUrl(request.url, clean)}`;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortError(signal);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, s.timeoutMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let failure: AvdubError;
    let retryAfterMs: number | undefined;
    try {
      const res = await fetchImpl(request.url, {
        method,
        headers: { ...settings.headers, ...request.headers },
        ...(request.body ? { body: request.body() } : {}),
        signal: controller.signal,
      });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.ok) return { status: res.status, headers: res.headers, body, attempts: attempt };
      const excerpt = bodyExcerpt(body, clean);
      failure = new AvdubError(
        ErrorCode.PROVIDER,
        `${request.provider}: ${where} failed with HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${excerpt ? `: ${excerpt}` : ''}`,
        {
          details: {
            provider: request.provider,
            url: safeUrl(request.url, clean),
            status: res.status,
            body: excerpt,
            attempts: attempt,
            retryable: RETRYABLE(res.status),
          },
        },
      );
      if (!RETRYABLE(res.status)) throw failure;
      retryAfterMs = parseRetryAfter(res.headers);
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      if (AvdubError.isInstance(e)) throw e;
      const cause = sanitizedCause(e, clean);
      failure = timedOut
        ? new AvdubError(ErrorCode.PROVIDER, `${request.provider}: ${where} timed out after ${s.timeoutMs} ms`, {
            cause,
            details: { provider: request.provider, url: safeUrl(request.url, clean), timeout: true, timeoutMs: s.timeoutMs, attempts: attempt, retryable: true },
          })
        : new AvdubError(ErrorCode.PROVIDER, `${request.provider}: ${where} failed: ${cause.message}`, {
            cause,
            details: { provider: request.provider, url: safeUrl(request.url, clean), network: true, attempts: attempt, retryable: true },
          });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (attempt > s.maxRetries) throw failure;
    const backoff = Math.min(s.maxRetryDelayMs, s.retryDelayMs * 2 ** (attempt - 1));
    let delay = backoff * (0.5 + Math.random() * 0.5); // "equal jitter": spread clients, keep a floor
    if (retryAfterMs !== undefined) {
      if (retryAfterMs > s.maxRetryDelayMs) {
        failure.details.retryAfterMs = retryAfterMs;
        throw failure;
      }
      delay = retryAfterMs;
    }
    await sleep(delay, signal);
  }
}

/** Parses a JSON body; malformed JSON is an `E_PROVIDER` error with an excerpt. */
export function parseJsonBody(res: HttpResponse, request: Pick<HttpRequest, 'provider' | 'url' | 'secrets'>): unknown {
  const text = res.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    const secrets = (request.secrets ?? []).filter((x): x is string => typeof x === 'string' && x.length >= 4);
    const clean = (t: string): string => redact(t, secrets);
    const excerpt = bodyExcerpt(res.body, clean);
    throw new AvdubError(
      ErrorCode.PROVIDER,
      `${request.provider}: ${safeUrl(request.url, clean)} returned malformed JSON (HTTP ${res.status}): ${excerpt}`,
      { cause, details: { provider: request.provider, status: res.status, body: excerpt, malformed: true } },
    );
  }
}

/** An `E_PROVIDER` error for a response that parsed but does not have the expected shape. */
export function unexpectedResponse(provider: string, what: string, value: unknown, secrets: readonly (string | undefined)[] = []): AvdubError {
  const keep = secrets.filter((x): x is string => typeof x === 'string' && x.length >= 4);
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  const excerpt = excerptOf(redact(shown, keep));
  return new AvdubError(ErrorCode.PROVIDER, `${provider}: unexpected response, ${what}: ${excerpt}`, {
    details: { provider, body: excerpt },
  });
}

/** Removes secrets, bearer tokens and OpenAI-style keys from text. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  return out
    .replace(/(Bearer\s+)[^\s"',}]+/gi, '$1[REDACTED]')
    .replace(/\bsk-[A-Za-z0-9_-]{8,}/g, 'sk-[REDACTED]')
    .replace(/("?api_?key"?\s*[:=]\s*"?)[^\s"',}&]+/gi, '$1[REDACTED]');
}

/** Reads an API key from the option, else the environment; empty strings count as absent. */
export function resolveApiKey(option: string | undefined, envName: string): string | undefined {
  if (option !== undefined) {
    if (typeof option !== 'string') throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a string for apiKey');
    return option.trim() || undefined;
  }
  const env = process.env[envName];
  return env && env.trim() ? env.trim() : undefined;
}

/** `https://host/v1/` + `/audio/speech` without doubled slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export function validateBaseUrl(name: string, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected an http(s) URL for ${name} but received ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected an http(s) URL for ${name} but received ${JSON.stringify(url)}`);
  }
}

function parseRetryAfter(headers: Headers): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function bodyExcerpt(body: Buffer, clean: (t: string) => string): string {
  return excerptOf(clean(body.subarray(0, 4096).toString('utf8')));
}

function excerptOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT)}...` : flat;
}

/** The URL without credentials or query values that could hold a key. */
function safeUrl(url: string, clean: (t: string) => string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) if (/key|token|secret|auth/i.test(key)) u.searchParams.set(key, 'REDACTED');
    return clean(u.toString());
  } catch {
    return clean(url);
  }
}

function sanitizedCause(e: unknown, clean: (t: string) => string): Error {
  const inner = (e as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const base = e instanceof Error ? e.message : String(e);
  const detail = inner && typeof inner.message === 'string' && inner.message !== base ? ` (${inner.message})` : '';
  const err = new Error(clean(`${base}${detail}`));
  const code = inner?.code ?? (e as { code?: unknown })?.code;
  if (typeof code === 'string') (err as Error & { code?: string }).code = code;
  return err;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

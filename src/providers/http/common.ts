import { AvdubError, ErrorCode, abortError } from '../../errors.js';
import { normalizeLanguageTag } from '../languages.js';
import type { JSONObject, ProviderOptions } from '../spec/shared.js';
import type { Transcript } from '../spec/transcription.js';
import type { TranslationCallOptions } from '../spec/translation.js';

/** The caller's `providerOptions[id]`, checked to be a plain object. */
export function ownOptions(providerOptions: ProviderOptions | undefined, id: string): JSONObject {
  const o = providerOptions?.[id];
  if (o === undefined) return {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected an object for providerOptions.${id}`);
  }
  return o;
}

/**
 * Runs `task` over `items` with at most `limit` in flight, results in input order. The first
 * failure cancels the rest (through the signal handed to each task) and is rethrown.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  task: (item: T, index: number, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) throw abortError(signal);
  signal?.addEventListener('abort', onAbort, { once: true });
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await task(items[i]!, i, controller.signal);
      } catch (error) {
        if (!failed) failed = { error };
        controller.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw abortError(signal);
  if (failed) throw failed.error;
  return results;
}

/**
 * The checks every translation provider makes on its call: a valid target tag, a transcript
 * with segments, and the source tag ('und' when the transcript has no language).
 */
export function translationCall(options: TranslationCallOptions): { target: string; source: string; transcript: Transcript } {
  const target = normalizeLanguageTag(options.targetLanguage, 'targetLanguage');
  const transcript = options.transcript;
  if (!transcript || !Array.isArray(transcript.segments)) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected a transcript { segments, language }');
  }
  return { target, source: transcript.language ? normalizeLanguageTag(transcript.language) : 'und', transcript };
}

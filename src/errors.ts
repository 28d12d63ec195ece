/**
 * One error class for the whole SDK. Callers branch on the stable `code`, never on the message.
 * The brand is a global symbol so `AvdubError.isInstance` works across two copies of the package
 * (ESM + CJS, or nested node_modules), where `instanceof` would not.
 */
const BRAND = Symbol.for('avdub.error');

/** Stable error codes. Adding a code is a minor change; renaming one is breaking. */
export const ErrorCode = {
  INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  INPUT_NOT_FOUND: 'E_INPUT_NOT_FOUND',
  INPUT_NOT_A_FILE: 'E_INPUT_NOT_A_FILE',
  INPUT_EMPTY: 'E_INPUT_EMPTY',
  UNSUPPORTED_MEDIA: 'E_UNSUPPORTED_MEDIA',
  CORRUPT_MEDIA: 'E_CORRUPT_MEDIA',
  NO_VIDEO_STREAM: 'E_NO_VIDEO_STREAM',
  NO_AUDIO_STREAM: 'E_NO_AUDIO_STREAM',
  NO_FACE: 'E_NO_FACE',
  FFMPEG_NOT_FOUND: 'E_FFMPEG_NOT_FOUND',
  FFMPEG_FAILED: 'E_FFMPEG_FAILED',
  OUTPUT_WRITE: 'E_OUTPUT_WRITE',
  DEVICE_UNAVAILABLE: 'E_DEVICE_UNAVAILABLE',
  MODEL_LOAD: 'E_MODEL_LOAD',
  PROVIDER: 'E_PROVIDER',
  UNKNOWN_MODEL_ID: 'E_UNKNOWN_MODEL_ID',
  UNSUPPORTED_LANGUAGE: 'E_UNSUPPORTED_LANGUAGE',
  SUBTITLE_PARSE: 'E_SUBTITLE_PARSE',
  MODEL_CONVERSION: 'E_MODEL_CONVERSION',
  TIMING_OVERFLOW: 'E_TIMING_OVERFLOW',
  ABORTED: 'E_ABORTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface AvdubErrorOptions {
  cause?: unknown;
  /** Structured facts for programs (paths, stream counts, tried devices...). */
  details?: Record<string, unknown>;
}

export class AvdubError extends Error {
  private readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AvdubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AvdubError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** True for any avdub error, optionally of one code, even from another copy of the package. */
  static isInstance(error: unknown, code?: ErrorCode): error is AvdubError {
    if (typeof error !== 'object' || error === null || (error as Record<symbol, unknown>)[BRAND] !== true) {
      return false;
    }
    return code === undefined || (error as AvdubError).code === code;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** The error thrown when an AbortSignal fires; keeps the signal's reason as `cause`. */
export function abortError(signal?: AbortSignal): AvdubError {
  return new AvdubError(ErrorCode.ABORTED, 'The operation was aborted', { cause: signal?.reason });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

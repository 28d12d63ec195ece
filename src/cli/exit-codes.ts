import { AvdubError, ErrorCode } from '../errors.js';

/** Exit codes by error class, stable for scripts. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INPUT: 3,
  DEVICE: 4,
  PROVIDER: 5,
  NO_FACE: 6,
  ABORTED: 130,
} as const;

export function exitCodeFor(error: unknown): number {
  if (!AvdubError.isInstance(error)) return EXIT.FAILURE;
  switch (error.code) {
    case ErrorCode.INVALID_ARGUMENT:
    case ErrorCode.UNKNOWN_MODEL_ID:
    case ErrorCode.UNSUPPORTED_LANGUAGE:
      return EXIT.USAGE;
    case ErrorCode.SUBTITLE_PARSE:
    case ErrorCode.INPUT_NOT_FOUND:
    case ErrorCode.INPUT_NOT_A_FILE:
    case ErrorCode.INPUT_EMPTY:
    case ErrorCode.UNSUPPORTED_MEDIA:
    case ErrorCode.CORRUPT_MEDIA:
    case ErrorCode.NO_VIDEO_STREAM:
    case ErrorCode.NO_AUDIO_STREAM:
      return EXIT.INPUT;
    case ErrorCode.DEVICE_UNAVAILABLE:
      return EXIT.DEVICE;
    case ErrorCode.PROVIDER:
      return EXIT.PROVIDER;
    case ErrorCode.NO_FACE:
      return EXIT.NO_FACE;
    case ErrorCode.ABORTED:
      return EXIT.ABORTED;
    default:
      return EXIT.FAILURE;
  }
}

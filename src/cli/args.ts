import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AvdubError, ErrorCode } from '../errors.js';

/** A usage error (exit 2), with the command's usage text after the message when given. */
export function usageError(message: string, usageText?: string): AvdubError {
  return new AvdubError(ErrorCode.INVALID_ARGUMENT, usageText ? `${message}\n${usageText}` : message);
}

/** Strict option parsing for every command; unknown or malformed options are usage errors. */
type Parsed<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usageText?: string): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  } catch (e) {
    throw usageError((e as Error).message, usageText);
  }
}

import { AvdubError, ErrorCode } from '../errors.js';

/**
 * The one argument-validation helper (conventions 7): every public entry point checks its
 * options here, so messages read the same everywhere:
 * "Expected integer between 0 and 51 for crf but received 80".
 */
function fail(expected: string, name: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected ${expected} for ${name} but received ${shown}`, {
    details: { option: name },
  });
}

export interface Is {
  number(name: string, value: unknown, min?: number, max?: number): asserts value is number;
  integer(name: string, value: unknown, min?: number, max?: number): asserts value is number;
  string(name: string, value: unknown): asserts value is string;
  oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): asserts value is T;
  boolean(name: string, value: unknown): asserts value is boolean;
  optional<A extends unknown[]>(
    check: (name: string, value: unknown, ...rest: A) => void,
    name: string,
    value: unknown,
    ...rest: A
  ): void;
}

export const is: Is = {
  number(name: string, value: unknown, min = -Infinity, max = Infinity): asserts value is number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      fail(range('number', min, max), name, value);
    }
  },
  integer(name: string, value: unknown, min = -Infinity, max = Infinity): asserts value is number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(range('integer', min, max), name, value);
    }
  },
  string(name: string, value: unknown): asserts value is string {
    if (typeof value !== 'string' || value.length === 0) fail('non-empty string', name, value);
  },
  oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): asserts value is T {
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      fail(`one of ${allowed.map((a) => `"${a}"`).join(', ')}`, name, value);
    }
  },
  boolean(name: string, value: unknown): asserts value is boolean {
    if (typeof value !== 'boolean') fail('boolean', name, value);
  },
  /** Validates `value` only when it is not undefined. */
  optional<A extends unknown[]>(
    check: (name: string, value: unknown, ...rest: A) => void,
    name: string,
    value: unknown,
    ...rest: A
  ): void {
    if (value !== undefined) check(name, value, ...rest);
  },
};

function range(kind: string, min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return `${kind} between ${min} and ${max}`;
  if (min > -Infinity) return `${kind} >= ${min}`;
  if (max < Infinity) return `${kind} <= ${max}`;
  return `finite ${kind}`;
}

import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode, abortError, throwIfAborted } from '../src/errors.js';
import { is } from '../src/util/validate.js';
import { mergeOptions } from '../src/util/options.js';
import { ProgressMeter, type ProgressEvent } from '../src/util/progress.js';

describe('AvdubError', () => {
  it('carries a stable code, cause and details', () => {
    const cause = new Error('inner');
    const e = new AvdubError(ErrorCode.NO_FACE, 'no face', { cause, details: { frames: 3 } });
    expect(e.code).toBe('E_NO_FACE');
    expect(e.cause).toBe(cause);
    expect(e.details).toEqual({ frames: 3 });
    expect(e).toBeInstanceOf(Error);
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({ code: 'E_NO_FACE', message: 'no face' });
  });

  it('isInstance works across copies of the class (brand, not instanceof)', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('avdub.error')]: true, code: 'E_PROVIDER' });
    expect(AvdubError.isInstance(foreign)).toBe(true);
    expect(AvdubError.isInstance(foreign, ErrorCode.PROVIDER)).toBe(true);
    expect(AvdubError.isInstance(foreign, ErrorCode.NO_FACE)).toBe(false);
    expect(AvdubError.isInstance(new Error('plain'))).toBe(false);
    expect(AvdubError.isInstance(null)).toBe(false);
  });

  it('abort helpers keep the reason', () => {
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    c.abort('stop');
    expect(() => throwIfAborted(c.signal)).toThrow(expect.objectContaining({ code: 'E_ABORTED' }));
    expect(abortError(c.signal).cause).toBe('stop');
  });
});

describe('is (argument validation)', () => {
  it('names the option, the expectation and the value', () => {
    expect(() => is.integer('crf', 80, 0, 51)).toThrow('Expected integer between 0 and 51 for crf but received 80');
    expect(() => is.number('fps', Number.NaN, 0)).toThrow('Expected number >= 0 for fps but received NaN');
    expect(() => is.oneOf('device', 'gpu', ['cpu', 'cuda'])).toThrow('Expected one of "cpu", "cuda" for device but received "gpu"');
    expect(() => is.string('path', '')).toThrow(/non-empty string/);
    try {
      is.integer('x', 1.5);
    } catch (e) {
      expect(AvdubError.isInstance(e, ErrorCode.INVALID_ARGUMENT)).toBe(true);
    }
  });
  it('accepts valid values and skips undefined optionals', () => {
    expect(() => is.integer('crf', 18, 0, 51)).not.toThrow();
    expect(() => is.optional(is.integer, 'crf', undefined, 0, 51)).not.toThrow();
    expect(() => is.optional(is.integer, 'crf', 99, 0, 51)).toThrow();
  });
});

describe('mergeOptions', () => {
  it('deep-merges plain objects and replaces arrays', () => {
    const d = { a: 1, nested: { b: 2, c: 3 }, list: [1, 2] };
    expect(mergeOptions(d, { nested: { c: 9 }, list: [7] })).toEqual({ a: 1, nested: { b: 2, c: 9 }, list: [7] });
    expect(mergeOptions(d, { a: undefined })).toEqual(d);
    expect(d.nested.c).toBe(3); // defaults untouched
  });
});

describe('ProgressMeter', () => {
  it('reports fps and eta, rate-limited but always the final item', () => {
    const events: ProgressEvent[] = [];
    const m = new ProgressMeter('decode', 100, (e) => events.push(e), 10_000);
    for (let i = 1; i <= 100; i++) m.tick(i);
    expect(events.length).toBe(2); // the first tick and the final one
    expect(events.at(-1)).toMatchObject({ stage: 'decode', done: 100, total: 100, etaSeconds: 0 });
    expect(events.at(-1)!.fps).toBeGreaterThan(0);
  });
});

/**
 * Deep-merges caller options over a module's exported defaults (conventions 6). Plain objects
 * merge key by key; arrays, typed arrays, signals and class instances are replaced whole.
 * `undefined` in the override keeps the default.
 */
export function mergeOptions<T extends object>(defaults: T, override?: DeepPartial<T>): T {
  if (!override) return { ...defaults };
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const base = out[key];
    out[key] = isPlainObject(base) && isPlainObject(value) ? mergeOptions(base, value) : value;
  }
  return out as T;
}

/** Partial at every level of plain option objects (arrays, typed arrays and functions stay whole). */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] | ArrayBufferView | ((...args: never[]) => unknown) | AbortSignal
    ? T[K]
    : T[K] extends object
      ? DeepPartial<T[K]>
      : T[K];
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

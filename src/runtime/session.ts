import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AvdubError, ErrorCode } from '../errors.js';
import { OnnxGraphBuilder } from '../onnx/graph.js';
import { is } from '../util/validate.js';
import {
  DEVICES,
  EXECUTION_PROVIDERS,
  autoOrder,
  type ConcreteDevice,
  type Device,
  type ExecutionProviderConfig,
} from './devices.js';

type Ort = typeof import('onnxruntime-node');
type InferenceSession = import('onnxruntime-node').InferenceSession;
type SessionOptions = import('onnxruntime-node').InferenceSession.SessionOptions;

let ortPromise: Promise<Ort> | undefined;
/** onnxruntime-node loads lazily (conventions 12): importing avdub for media work costs nothing. */
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => {
    const ort = ((m as { default?: Ort }).default ?? m) as Ort;
    // onnxruntime prints native errors for every accelerator that fails to load, which `auto`
    // and `listDevices` expect and report themselves; its failures still reach callers as
    // exceptions. AVDUB_ORT_LOG_LEVEL (verbose|info|warning|error|fatal) restores its logging.
    const level = process.env.AVDUB_ORT_LOG_LEVEL;
    ort.env.logLevel = (level as typeof ort.env.logLevel | undefined) ?? 'fatal';
    return ort;
  });
  return ortPromise;
}

export interface DeviceAttempt {
  device: ConcreteDevice;
  ok: boolean;
  error?: string;
}

export type RuntimeEvent =
  | { type: 'device-fallback'; requested: Device; used: ConcreteDevice; attempts: DeviceAttempt[] }
  | { type: 'session-created'; device: ConcreteDevice; model: string; ms: number };

export interface CreateSessionOptions {
  /** @default 'auto' */
  device?: Device;
  /** Raw execution providers for power users; overrides `device`. */
  executionProviders?: ExecutionProviderConfig[];
  /** Extra onnxruntime session options (threads, graph optimisation...). */
  sessionOptions?: Omit<SessionOptions, 'executionProviders'>;
  /** Reuse a session already made for the same model bytes and device. @default true */
  cache?: boolean;
  onEvent?: (event: RuntimeEvent) => void;
}

export interface RuntimeSession {
  session: InferenceSession;
  device: ConcreteDevice | 'custom';
  /** Every device tried, in order, with why it failed. */
  attempts: DeviceAttempt[];
}

const cache = new Map<string, Promise<RuntimeSession>>();

/**
 * Creates an onnxruntime session on the requested device. Devices are tried in order, each
 * failure recorded (conventions 5); `auto` ends on the CPU and reports the fallback through
 * `onEvent`; an explicit device that cannot start throws E_DEVICE_UNAVAILABLE naming what is
 * available. Sessions are cached per (model content, device, options).
 */
export async function createSession(model: string | Uint8Array, options: CreateSessionOptions = {}): Promise<RuntimeSession> {
  const device = options.device ?? 'auto';
  is.oneOf('device', device, DEVICES);
  const m = await modelKey(model);
  const key = `${m.key}|${device}|${JSON.stringify(options.executionProviders ?? null)}|${JSON.stringify(options.sessionOptions ?? null)}`;
  if (options.cache !== false) {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const created = m.load().then((bytes) => createUncached(bytes, m.label, device, options));
  if (options.cache !== false) {
    cache.set(key, created);
    created.catch(() => cache.delete(key));
  }
  return created;
}

/** Forgets cached sessions (and releases them). */
export async function clearSessionCache(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.allSettled(all.map(async (p) => (await p).session.release()));
}

async function createUncached(
  bytes: Uint8Array,
  label: string,
  device: Device,
  options: CreateSessionOptions,
): Promise<RuntimeSession> {
  const ort = await loadOrt();
  const base = options.sessionOptions ?? {};
  if (options.executionProviders) {
    try {
      const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: options.executionProviders });
      return { session, device: 'custom', attempts: [] };
    } catch (cause) {
      throw new AvdubError(ErrorCode.MODEL_LOAD, `Cannot create a session for ${label}: ${message(cause)}`, { cause });
    }
  }
  const order = device === 'auto' ? autoOrder() : [device];
  const attempts: DeviceAttempt[] = [];
  for (const d of order) {
    const t0 = performance.now();
    try {
      const session = await ort.InferenceSession.create(bytes, {
        // A failing accelerator is expected and recorded in `attempts`; keep onnxruntime's own
        // stderr quiet about it unless the caller chose a log level.
        ...(d !== 'cpu' ? { logSeverityLevel: 4 as const } : {}),
        ...base,
        executionProviders: [...EXECUTION_PROVIDERS[d]],
      });
      attempts.push({ device: d, ok: true });
      options.onEvent?.({ type: 'session-created', device: d, model: label, ms: performance.now() - t0 });
      if (device === 'auto' && attempts.length > 1) {
        options.onEvent?.({ type: 'device-fallback', requested: device, used: d, attempts });
      }
      return { session, device: d, attempts };
    } catch (cause) {
      attempts.push({ device: d, ok: false, error: message(cause) });
      // A model that the CPU cannot load is broken, not a device problem.
      if (d === 'cpu') {
        throw new AvdubError(ErrorCode.MODEL_LOAD, `Cannot load model ${label}: ${message(cause)}`, {
          cause,
          details: { attempts },
        });
      }
    }
  }
  const available = await availableDevices();
  throw new AvdubError(
    ErrorCode.DEVICE_UNAVAILABLE,
    `Device "${device}" is not available (${attempts.map((a) => `${a.device}: ${a.error}`).join('; ')}). Available: ${available.join(', ')}`,
    { details: { requested: device, attempts, available } },
  );
}

export interface DeviceInfo {
  device: ConcreteDevice;
  /** This onnxruntime-node build knows the execution provider. */
  listed: boolean;
  /** Its binaries ship inside the npm package (others need an opt-in install). */
  bundled: boolean;
  /** A session really started on it (only when `listDevices({ probe: true })`). */
  works?: boolean;
  error?: string;
}

/**
 * The devices this onnxruntime-node build knows. With `probe: true` each listed device is
 * checked by creating a one-node session on it, which is the only certain test.
 */
export async function listDevices(options: { probe?: boolean } = {}): Promise<DeviceInfo[]> {
  const ort = await loadOrt();
  const backends = ort.listSupportedBackends();
  const out: DeviceInfo[] = [];
  for (const d of Object.keys(EXECUTION_PROVIDERS) as ConcreteDevice[]) {
    const b = backends.find((x) => x.name === d);
    const info: DeviceInfo = { device: d, listed: b !== undefined, bundled: b?.bundled ?? false };
    if (options.probe && b) {
      try {
        const s = await ort.InferenceSession.create(probeModel(), {
          logSeverityLevel: 4,
          executionProviders: [...EXECUTION_PROVIDERS[d]],
        });
        const x = new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [4]);
        const r = await s.run({ x });
        info.works = (r.y?.data as Float32Array | undefined)?.[3] === 8;
        await s.release();
      } catch (e) {
        info.works = false;
        info.error = message(e);
      }
    }
    out.push(info);
  }
  return out;
}

async function availableDevices(): Promise<ConcreteDevice[]> {
  return (await listDevices({ probe: true })).filter((d) => d.works).map((d) => d.device);
}

let probeBytes: Uint8Array | undefined;
/** y = x + x: a model every execution provider can take. */
function probeModel(): Uint8Array {
  if (!probeBytes) {
    const g = new OnnxGraphBuilder('avdub_device_probe');
    g.input('x', [4]);
    g.output('y', [4]);
    g.op('Add', ['x', 'x'], {}, 'y');
    probeBytes = g.toBytes();
  }
  return probeBytes;
}

const bytesKeys = new WeakMap<Uint8Array, string>();

/**
 * The model's bytes and a cache key. Bytes are hashed once per buffer (a 0.27 GB model costs
 * ~1 s to hash); a path is keyed by its size and mtime, and read only when no session exists.
 */
async function modelKey(model: string | Uint8Array): Promise<{ key: string; label: string; load: () => Promise<Uint8Array> }> {
  if (model instanceof Uint8Array) {
    let key = bytesKeys.get(model);
    if (!key) bytesKeys.set(model, (key = sha(model)));
    return { key, label: `<${model.byteLength} bytes>`, load: async () => model };
  }
  is.string('model', model);
  const path = resolve(model);
  let s;
  try {
    s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
  } catch (cause) {
    throw new AvdubError(ErrorCode.INPUT_NOT_FOUND, `Model file not found: ${path}`, { cause });
  }
  return { key: `${path}:${s.size}:${s.mtimeMs}`, label: path, load: () => readFile(path) };
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

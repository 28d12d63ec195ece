import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AvdubError, ErrorCode, throwIfAborted } from '../errors.js';
import { convertTfjsGraph, type ConvertTfjsOptions, type ConvertedIo, type TfjsGraphModelJson } from './tfjs-to-onnx.js';

/** The two face models avdub converts from `@vladmandic/human`. */
export type FaceModelName = 'blazeface' | 'facemesh';
export const FACE_MODEL_NAMES: readonly FaceModelName[] = Object.freeze(['blazeface', 'facemesh']);

/**
 * Bumped whenever the converter's output for the same source changes, so stale cache entries
 * are never reused.
 */
export const CONVERTER_VERSION = 2;

export interface ModelCacheOptions {
  /**
   * Where converted models are kept. Default: `$AVDUB_CACHE_DIR/models`, else
   * `~/.cache/avdub/models` (XDG_CACHE_HOME respected).
   */
  cacheDir?: string;
  /** Folder holding `blazeface.{json,bin}` and `facemesh.{json,bin}`. Default: the installed `@vladmandic/human/models`. */
  sourceDir?: string;
  signal?: AbortSignal;
}

export interface CachedFaceModel {
  name: FaceModelName;
  /** Path of the converted `.onnx` file. */
  path: string;
  /** sha256 of the source json + weights + converter version (the cache key). */
  key: string;
  inputs: ConvertedIo[];
  outputs: ConvertedIo[];
  /** True when this call converted it (a cache miss). */
  converted: boolean;
}

/** Per-model conversion settings: planar input (we fill NCHW tensors ourselves). */
const CONVERSIONS: Record<FaceModelName, ConvertTfjsOptions> = {
  blazeface: {
    name: 'blazeface',
    inputLayout: 'NCHW',
    dynamicSpatial: true,
    dynamicBatch: true,
    // The exporter hard-coded batch 1 and the anchor count of a 256-pixel input into the head
    // Reshapes ([1, 512, 1] ...). Copy the batch and infer the anchor count instead, so the
    // detector runs at any input size that is a multiple of 32.
    rewriteReshape: (_node, shape) => (shape.length === 3 ? [0, -1, shape[2]!] : shape),
  },
  facemesh: { name: 'facemesh', inputLayout: 'NCHW' },
};

export function defaultModelCacheDir(): string {
  if (process.env.AVDUB_CACHE_DIR) return join(resolve(process.env.AVDUB_CACHE_DIR), 'models');
  const base = process.env.XDG_CACHE_HOME ? resolve(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'avdub', 'models');
}

/** The installed `@vladmandic/human/models` folder. */
export function defaultModelSourceDir(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('@vladmandic/human');
  } catch (cause) {
    throw new AvdubError(
      ErrorCode.MODEL_LOAD,
      'The face models come from the npm package @vladmandic/human, which is not installed (npm install @vladmandic/human)',
      { cause },
    );
  }
  // entry is <pkg>/dist/human.node.js
  return join(dirname(dirname(entry)), 'models');
}

const memo = new Map<string, Promise<CachedFaceModel>>();

/**
 * Returns the ONNX version of a face model, converting it on first use. The cache entry is
 * keyed by the sha256 of the source files, so a new `@vladmandic/human` release (or a custom
 * `sourceDir`) converts again; writes are atomic (temp file + rename), so concurrent processes
 * never read a half-written model.
 */
export async function resolveFaceModel(name: FaceModelName, options: ModelCacheOptions = {}): Promise<CachedFaceModel> {
  if (!FACE_MODEL_NAMES.includes(name)) {
    throw new AvdubError(ErrorCode.INVALID_ARGUMENT, `Expected one of ${FACE_MODEL_NAMES.join(', ')} for model but received ${String(name)}`);
  }
  const cacheDir = resolve(options.cacheDir ?? defaultModelCacheDir());
  const sourceDir = resolve(options.sourceDir ?? defaultModelSourceDir());
  const memoKey = `${name}|${cacheDir}|${sourceDir}`;
  let hit = memo.get(memoKey);
  if (!hit) {
    hit = load(name, cacheDir, sourceDir, options.signal);
    memo.set(memoKey, hit);
    hit.catch(() => memo.delete(memoKey));
  }
  return hit;
}

async function load(name: FaceModelName, cacheDir: string, sourceDir: string, signal?: AbortSignal): Promise<CachedFaceModel> {
  throwIfAborted(signal);
  const jsonPath = join(sourceDir, `${name}.json`);
  let jsonBytes: Buffer;
  try {
    jsonBytes = await readFile(jsonPath);
  } catch (cause) {
    throw new AvdubError(ErrorCode.MODEL_LOAD, `Face model source not found: ${jsonPath}`, { cause });
  }
  let json: TfjsGraphModelJson;
  try {
    json = JSON.parse(jsonBytes.toString('utf8')) as TfjsGraphModelJson;
  } catch (cause) {
    throw new AvdubError(ErrorCode.MODEL_CONVERSION, `${jsonPath} is not valid JSON`, { cause });
  }
  const paths = (json.weightsManifest ?? []).flatMap((g) => g.paths);
  const shards: Uint8Array[] = [];
  for (const p of paths) {
    try {
      shards.push(await readFile(join(sourceDir, p)));
    } catch (cause) {
      throw new AvdubError(ErrorCode.MODEL_LOAD, `Face model weights not found: ${join(sourceDir, p)}`, { cause });
    }
  }
  const hash = createHash('sha256');
  hash.update(`avdub-tfjs-to-onnx:${CONVERTER_VERSION}\n`);
  // The recipe too (functions by their source), so changing it never reuses an old file.
  hash.update(JSON.stringify(CONVERSIONS[name], (_k, v: unknown) => (typeof v === 'function' ? v.toString() : v)));
  hash.update(jsonBytes);
  for (const s of shards) hash.update(s);
  const key = hash.digest('hex');
  const base = join(cacheDir, `${name}-${key.slice(0, 16)}`);
  const onnxPath = `${base}.onnx`;
  const metaPath = `${base}.json`;
  try {
    const [s, meta] = await Promise.all([stat(onnxPath), readFile(metaPath, 'utf8')]);
    const parsed = JSON.parse(meta) as { key: string; inputs: ConvertedIo[]; outputs: ConvertedIo[]; bytes: number };
    if (s.isFile() && parsed.key === key && parsed.bytes === s.size) {
      return { name, path: onnxPath, key, inputs: parsed.inputs, outputs: parsed.outputs, converted: false };
    }
  } catch {
    // cache miss: convert below
  }
  throwIfAborted(signal);
  const converted = convertTfjsGraph(json, shards, CONVERSIONS[name]);
  try {
    await mkdir(cacheDir, { recursive: true });
    const meta = { key, name, converter: CONVERTER_VERSION, source: sourceDir, bytes: converted.bytes.byteLength, inputs: converted.inputs, outputs: converted.outputs };
    await atomicWrite(onnxPath, converted.bytes);
    await atomicWrite(metaPath, JSON.stringify(meta, null, 2));
  } catch (cause) {
    throw new AvdubError(ErrorCode.OUTPUT_WRITE, `Cannot write the converted face model to ${cacheDir} (set cacheDir or AVDUB_CACHE_DIR)`, { cause });
  }
  return { name, path: onnxPath, key, inputs: converted.inputs, outputs: converted.outputs, converted: true };
}

async function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Forgets the in-process memo (tests). The files stay on disk. */
export function clearFaceModelMemo(): void {
  memo.clear();
}

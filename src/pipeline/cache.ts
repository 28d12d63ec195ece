/**
 * The stage cache: results of expensive stages (the analysis pass: face tracks and the fitted
 * speaker profile; transcripts, translations, TTS clips, the aligned track) are stored under a
 * key that hashes everything they depend on, so a re-run (after a crash, a `kill -9`, or to
 * try another output setting) reuses them instead of recomputing.
 *
 * Key = sha256 of { avdub version, stage name, the inputs' identities, the options }. A file's
 * identity is its size, mtime and the sha256 of its first and last MiB (cheap on a 10 GB
 * video, and any edit that keeps size, mtime and both ends is unlikely enough to accept).
 * Entries are written to a temporary name and renamed, so a killed process never leaves a
 * half-written entry under a real key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { AvdubError, ErrorCode } from '../errors.js';
import { VERSION } from '../version.js';

/** `AVDUB_CACHE_DIR`, else `~/.cache/avdub` (`$XDG_CACHE_HOME/avdub` when set). */
export function defaultCacheDir(): string {
  if (process.env.AVDUB_CACHE_DIR) return resolve(process.env.AVDUB_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'avdub');
}

const MIB = 1 << 20;

/** Stable JSON (object keys sorted, typed arrays as plain arrays) for hashing. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' ? `[function ${(v as { name?: string }).name ?? ''}]` : v;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(normalize);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && typeof x !== 'function' && !(x instanceof AbortSignal)) out[k] = normalize(x);
  }
  return out;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** size + mtime + sha256 of the first and last MiB. */
export async function fileIdentity(path: string): Promise<string> {
  const abs = resolve(path);
  const s = await stat(abs);
  const fh = await open(abs, 'r');
  try {
    const headLen = Math.min(MIB, s.size);
    const head = Buffer.alloc(headLen);
    await fh.read(head, 0, headLen, 0);
    const tailLen = Math.min(MIB, s.size);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, s.size - tailLen);
    return sha256(`${s.size}:${Math.round(s.mtimeMs)}:${sha256(head)}:${sha256(tail)}`);
  } finally {
    await fh.close();
  }
}

/** What a run took from the cache and what it computed. */
export interface CacheUse {
  stage: string;
  key: string;
  hit: boolean;
}

export class StageCache {
  /** Stage results this run looked up, in order. */
  readonly uses: CacheUse[] = [];

  private constructor(readonly dir: string | undefined) {}

  /** A cache in `dir`, or a disabled one (`false`): every lookup misses and nothing is written. */
  static async open(dir: string | false | undefined): Promise<StageCache> {
    if (dir === false) return new StageCache(undefined);
    const root = resolve(dir ?? defaultCacheDir());
    try {
      await mkdir(join(root, 'pipeline'), { recursive: true });
    } catch (cause) {
      throw new AvdubError(ErrorCode.OUTPUT_WRITE, `Cannot create the cache directory ${root} (set AVDUB_CACHE_DIR or pass cache: false)`, {
        cause,
      });
    }
    return new StageCache(root);
  }

  get enabled(): boolean {
    return this.dir !== undefined;
  }

  /** The key of a stage result: hash of version, stage and everything it depends on. */
  key(stage: string, inputs: unknown): string {
    return sha256(stableStringify({ avdub: VERSION, stage, inputs }));
  }

  /** Where an entry lives (whether or not it exists). */
  path(stage: string, key: string, ext: string): string | undefined {
    return this.dir ? join(this.dir, 'pipeline', stage, `${key}${ext}`) : undefined;
  }

  /** The entry's path when it exists (records the hit or miss). */
  async lookup(stage: string, key: string, ext: string, record = true): Promise<string | undefined> {
    const p = this.path(stage, key, ext);
    let hit = false;
    if (p) {
      try {
        hit = (await stat(p)).isFile();
      } catch {
        hit = false;
      }
    }
    if (record) this.uses.push({ stage, key, hit });
    return hit ? p : undefined;
  }

  async readBuffer(stage: string, key: string, ext: string): Promise<Buffer | undefined> {
    const p = await this.lookup(stage, key, ext);
    if (!p) return undefined;
    try {
      return await readFile(p);
    } catch {
      return undefined;
    }
  }

  async readJson<T>(stage: string, key: string): Promise<T | undefined> {
    const buf = await this.readBuffer(stage, key, '.json');
    if (!buf) return undefined;
    try {
      return JSON.parse(buf.toString('utf8')) as T;
    } catch {
      return undefined; // a corrupt entry is a miss; it is overwritten below
    }
  }

  /** Writes an entry atomically; returns its path (undefined when the cache is disabled). */
  async write(stage: string, key: string, ext: string, data: string | Uint8Array | Uint8Array[]): Promise<string | undefined> {
    const p = this.path(stage, key, ext);
    if (!p) return undefined;
    await mkdir(join(this.dir!, 'pipeline', stage), { recursive: true });
    const tmp = `${p}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, data); // a list is written piece by piece, never concatenated
      await rename(tmp, p);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return p;
  }

  /** Moves an already written file (e.g. by saveSpeakerProfile) into the cache. */
  async adopt(stage: string, key: string, ext: string, file: string): Promise<string | undefined> {
    const p = this.path(stage, key, ext);
    if (!p) return undefined;
    await mkdir(join(this.dir!, 'pipeline', stage), { recursive: true });
    await rename(file, p);
    return p;
  }

  /** A scratch path inside the cache for a file another function writes atomically itself. */
  scratch(stage: string, ext: string): string | undefined {
    return this.dir ? join(this.dir, 'pipeline', stage, `.scratch-${process.pid}-${randomBytes(4).toString('hex')}${ext}`) : undefined;
  }

  async writeJson(stage: string, key: string, value: unknown): Promise<string | undefined> {
    return this.write(stage, key, '.json', JSON.stringify(value));
  }

  /** Removes temporary files older than `maxAgeMs` left by killed processes. */
  async sweep(maxAgeMs = 3600_000): Promise<void> {
    if (!this.dir) return;
    const root = join(this.dir, 'pipeline');
    let stages: string[];
    try {
      stages = await readdir(root);
    } catch {
      return;
    }
    const now = Date.now();
    for (const s of stages) {
      let files: string[];
      try {
        files = await readdir(join(root, s));
      } catch {
        continue;
      }
      for (const f of files) {
        if (!f.endsWith('.tmp') && !f.startsWith('.scratch-')) continue;
        try {
          const st = await stat(join(root, s, f));
          if (now - st.mtimeMs > maxAgeMs) await rm(join(root, s, f), { force: true });
        } catch {
          /* raced with another process */
        }
      }
    }
  }
}

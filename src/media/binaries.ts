import { accessSync, chmodSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AvdubError, ErrorCode } from '../errors.js';

/** Where to find ffmpeg/ffprobe. Each field overrides the environment and the bundled binary. */
export interface FfmpegOptions {
  /** Path to an ffmpeg binary. Default: `AVDUB_FFMPEG`, else the one from `@ffmpeg-installer/ffmpeg`. */
  ffmpegPath?: string;
  /** Path to an ffprobe binary. Default: `AVDUB_FFPROBE`, else `ffprobe` beside a custom ffmpeg, else `@ffprobe-installer/ffprobe`. */
  ffprobePath?: string;
}

export interface ResolvedBinaries {
  ffmpeg: string;
  ffprobe: string;
}

const require = createRequire(import.meta.url);
const cache = new Map<string, string>();

/**
 * Resolves the binaries once per distinct request. The npm packages ship static builds, so a
 * fresh machine needs no system package; a system build can be chosen by option or env.
 */
export function resolveBinaries(options: FfmpegOptions = {}): ResolvedBinaries {
  const envFfmpeg = process.env.AVDUB_FFMPEG || undefined;
  const envFfprobe = process.env.AVDUB_FFPROBE || undefined;
  const customFfmpeg = options.ffmpegPath ?? envFfmpeg;
  const ffmpeg = checked('ffmpeg', customFfmpeg ?? bundled('@ffmpeg-installer/ffmpeg'), customFfmpeg !== undefined);
  let ffprobeRequest = options.ffprobePath ?? envFfprobe;
  if (ffprobeRequest === undefined && customFfmpeg !== undefined) {
    // A system ffmpeg usually has its ffprobe beside it; prefer the matching pair.
    const sibling = join(dirname(ffmpeg), process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe');
    if (existsSync(sibling)) ffprobeRequest = sibling;
  }
  const ffprobe = checked(
    'ffprobe',
    ffprobeRequest ?? bundled('@ffprobe-installer/ffprobe'),
    ffprobeRequest !== undefined,
  );
  return { ffmpeg, ffprobe };
}

function bundled(pkg: string): string {
  try {
    const mod = require(pkg) as { path: string };
    return mod.path;
  } catch (cause) {
    throw new AvdubError(
      ErrorCode.FFMPEG_NOT_FOUND,
      `${pkg} has no binary for ${process.platform}-${process.arch}; install ffmpeg and set AVDUB_FFMPEG / AVDUB_FFPROBE`,
      { cause },
    );
  }
}

function checked(name: string, path: string, custom: boolean): string {
  const key = `${name}:${path}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const where = custom ? `${path} (from option or AVDUB_${name.toUpperCase()})` : path;
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new AvdubError(ErrorCode.FFMPEG_NOT_FOUND, `${name} not found at ${where}`, { details: { path } });
  }
  if (process.platform !== 'win32') {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      // npm may skip the installer packages' `chmod u+x` postinstall (install scripts not
      // approved); the file is ours to fix when it sits in node_modules.
      try {
        if (custom) throw new Error('not ours to chmod');
        chmodSync(path, 0o755);
        accessSync(path, constants.X_OK);
      } catch (cause) {
        throw new AvdubError(ErrorCode.FFMPEG_NOT_FOUND, `${name} at ${where} is not executable`, { cause });
      }
    }
  }
  cache.set(key, path);
  return path;
}

/**
 * The decoder's bytes over a Unix socket instead of ffmpeg's stdout. A child's stdout is read
 * by Node in 64 KiB chunks, each a fresh Buffer that the frame reader then copies into the
 * frame: ~100 allocations and a full copy per 1080p frame, and the garbage collector pays for
 * them. A socket we connect to ourselves takes `onread`, so libuv reads straight into the
 * frame buffer (no chunk, no copy). On the 1080p clip this cut the reader's own CPU from
 * ~2.2 to ~0.7 core-seconds for RGB and from ~1.8 to ~0.3 for I420 (docs/media.md).
 *
 * ffmpeg listens (`-listen 1 unix:<path>`) and we connect, because only a client socket can
 * be given `onread`. Used where ffmpeg's build has the `unix` output protocol and the platform
 * has Unix sockets; elsewhere the reader falls back to stdout.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { makeTempDir } from '../util/temp.js';

/**
 * How decoded frames travel from ffmpeg to the reader: `'socket'` (a Unix socket read straight
 * into the frame buffers), `'pipe'` (ffmpeg's stdout), or `'auto'` (the socket where it is
 * available, else the pipe). Both give the same bytes.
 */
export type FrameTransport = 'auto' | 'socket' | 'pipe';

const support = new Map<string, boolean>();

/** Whether this ffmpeg build can write to a Unix socket (cached per binary). */
export function ffmpegHasUnixOutput(ffmpeg: string): boolean {
  if (process.platform === 'win32') return false;
  let ok = support.get(ffmpeg);
  if (ok === undefined) {
    const r = spawnSync(ffmpeg, ['-hide_banner', '-protocols'], { encoding: 'utf8', timeout: 10_000, windowsHide: true });
    const out = r.status === 0 ? r.stdout : '';
    const outputs = out.slice(out.indexOf('Output:'));
    ok = out.includes('Output:') && /^\s*unix\s*$/m.test(outputs);
    support.set(ffmpeg, ok);
  }
  return ok;
}

/**
 * A fresh socket path inside a new private folder (mode 0700, so no other local user can
 * connect to ffmpeg before we do), or undefined when no such folder can be made or its path
 * is too long for a socket: the caller then reads stdout.
 */
export function frameSocketPath(): string | undefined {
  let dir: string;
  try {
    dir = makeTempDir('sock');
  } catch {
    return undefined;
  }
  const p = join(dir, 'frames.sock');
  // sun_path holds 104 (macOS) to 108 (Linux) bytes with the terminating NUL.
  if (Buffer.byteLength(p) > 100) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return p;
}

export interface FrameSocketRead {
  /** The buffer the next read goes into (never empty). */
  buffer: () => Uint8Array;
  /** Called after each read with the byte count. */
  callback: (bytes: number) => void;
}

/**
 * Connects to ffmpeg's listening socket, retrying while ffmpeg starts (it listens once it has
 * opened its input). Resolves undefined when `gaveUp()` says ffmpeg has exited without
 * listening; its exit status then tells why.
 */
export async function connectFrameSocket(path: string, read: FrameSocketRead, gaveUp: () => boolean): Promise<Socket | undefined> {
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    const r = await new Promise<Socket | NodeJS.ErrnoException>((resolve) => {
      const s = connect({
        path,
        onread: {
          buffer: read.buffer,
          callback: (n: number) => {
            read.callback(n);
            return true;
          },
        },
      });
      const onError = (e: NodeJS.ErrnoException): void => resolve(e);
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(s);
      });
    });
    if (!(r instanceof Error)) return r;
    if (r.code !== 'ENOENT' && r.code !== 'ECONNREFUSED') throw r;
    if (gaveUp()) return undefined;
    await new Promise((res) => setTimeout(res, delay));
  }
}

/**
 * Removes the socket and its private folder (ffmpeg may have removed the socket already), at
 * once: nothing is left when the reader returns.
 */
export function removeFrameSocket(path: string): void {
  try {
    rmSync(dirname(path), { recursive: true, force: true });
  } catch {
    // best effort: a leftover empty folder in the temporary folder
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { AvdubError, ErrorCode, abortError } from '../errors.js';

/**
 * Every ffmpeg/ffprobe child goes through here, so that abort and error paths kill it and
 * tests can assert nothing is left running.
 */
const live = new Set<ChildProcess>();

/** Number of ffmpeg/ffprobe children this process has started that have not exited yet. */
export function liveChildProcessCount(): number {
  return live.size;
}

export interface TrackedChild {
  child: ChildProcess;
  /** Resolves when the child has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last ~8 KB of stderr, for error messages. */
  stderrTail(): string;
  /** Kills the child (SIGKILL) if it is still running. */
  kill(): void;
}

export interface SpawnOptions {
  signal?: AbortSignal;
  /** Called with each complete stderr line (used for per-frame timestamps). */
  onStderrLine?: (line: string) => void;
  stdin?: 'pipe' | 'ignore';
  stdout?: 'pipe' | 'ignore';
}

const TAIL = 8192;

/**
 * glibc malloc settings for the children (other C libraries ignore them; values already in the
 * environment win). ffmpeg's overlay filter frees and allocates a buffer the size of a luma
 * plane per frame: above glibc's mmap threshold each one is a fresh mmap, faulted in page by
 * page and unmapped again. On the 1080x1920 sample clip that was ~120k extra page faults and
 * ~1 core-s of system time in the compositing pass (bundled ffmpeg 4.1 and Debian's 5.1 alike).
 * Serving allocations up to 8 MiB from the heap and trimming it only past 256 MiB free keeps those
 * pages mapped: 27k faults, the same output (docs/pipeline.md). Freed memory goes back to the
 * system later; the compositing ffmpeg peaked at 135 MiB on the clip, 160 MiB on 10 minutes of it.
 */
export const CHILD_MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: String(8 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(256 * 2 ** 20),
});

function childEnv(): NodeJS.ProcessEnv {
  return { ...CHILD_MALLOC_ENV, ...process.env };
}

export function spawnTracked(bin: string, args: string[], options: SpawnOptions = {}): TrackedChild {
  if (options.signal?.aborted) throw abortError(options.signal);
  const child = spawn(bin, args, {
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'],
    env: childEnv(),
    windowsHide: true,
  });
  live.add(child);
  let tail = '';
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    tail = (tail + text).slice(-TAIL);
    if (options.onStderrLine) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onStderrLine(line);
    }
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onAbort = (): void => kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      live.delete(child);
      options.signal?.removeEventListener('abort', onAbort);
      if (partial && options.onStderrLine) options.onStderrLine(partial);
      resolve({ code, signal });
    };
    child.once('error', () => finish(null, null));
    // 'close' (not 'exit') so stderr is fully read before we report it.
    child.once('close', (code, signal) => finish(code, signal));
  });
  // A spawn failure (ENOENT, EACCES) surfaces as 'error'; keep it for the message.
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  return {
    child,
    exited,
    stderrTail: () => (spawnError ? `${spawnError.message}\n` : '') + tail,
    kill,
  };
}

/** Runs a command to completion; resolves with stdout, throws E_FFMPEG_FAILED on non-zero exit. */
export async function runTool(
  bin: string,
  args: string[],
  options: { signal?: AbortSignal; what: string },
): Promise<{ stdout: Buffer; stderr: string }> {
  const t = spawnTracked(bin, args, { signal: options.signal });
  const chunks: Buffer[] = [];
  t.child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  const { code } = await t.exited;
  if (options.signal?.aborted) throw abortError(options.signal);
  if (code !== 0) {
    throw new AvdubError(ErrorCode.FFMPEG_FAILED, `${options.what} failed (exit ${code}): ${lastLines(t.stderrTail())}`, {
      details: { args, stderr: t.stderrTail() },
    });
  }
  return { stdout: Buffer.concat(chunks), stderr: t.stderrTail() };
}

export function lastLines(text: string, n = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}

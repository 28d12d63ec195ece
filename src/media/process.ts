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

export function spawnTracked(bin: string, args: string[], options: SpawnOptions = {}): TrackedChild {
  if (options.signal?.aborted) throw abortError(options.signal);
  const child = spawn(bin, args, {
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'],
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

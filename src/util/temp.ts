/**
 * Temporary folders of a run, named after the host and the process that own them, so that
 * folders left by a process that was killed (`kill -9` cannot clean up) are removed by the next
 * run on the same host, and never those of a process still alive. The host part keeps
 * containers that share a temporary folder (each with its own process ids) out of each other's
 * folders.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const NAME = /^avdub-(?:run|sock)-([0-9a-f]{6})-(\d+)-[A-Za-z0-9]{6}$/;
const HOST = createHash('sha1').update(hostname()).digest('hex').slice(0, 6);

/** A new private (mode 0700) folder under the temporary folder, `avdub-<kind>-<host>-<pid>-XXXXXX`. */
export function makeTempDir(kind: 'run' | 'sock'): string {
  return mkdtempSync(join(tmpdir(), `avdub-${kind}-${HOST}-${process.pid}-`));
}

/** The name prefix of this process's folders of one kind (for tests and tools). */
export function tempDirPrefix(kind: 'run' | 'sock', pid = process.pid): string {
  return `avdub-${kind}-${HOST}-${pid}-`;
}

/**
 * Removes the temporary folders of avdub processes that no longer exist. Returns how many. A
 * folder whose owner is alive (or whose liveness cannot be told) is left alone.
 */
export function sweepStaleTempDirs(): number {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m || m[1] !== HOST || alive(Number(m[2]))) continue;
    try {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
      removed++;
    } catch {
      // another process may be sweeping too, or the folder is not ours to remove
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

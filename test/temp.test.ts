import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, sweepStaleTempDirs, tempDirPrefix } from '../src/util/temp.js';
import { tempDir } from './helpers/media.js';

describe('run temporary folders', () => {
  const tmp = tempDir('avdub-temp-test-');
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp.dir; // os.tmpdir() reads it on every call
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    tmp.cleanup();
  });

  it('are private, named after their process, and swept only once that process is gone', () => {
    const mine = makeTempDir('run');
    expect(mine.startsWith(join(tmp.dir, tempDirPrefix('run')))).toBe(true);
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    // A pid that existed and has exited: a child that ran to completion.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = join(tmp.dir, `${tempDirPrefix('sock', dead)}AbC123`);
    mkdirSync(join(stale, 'inner'), { recursive: true });
    const other = join(tmp.dir, `${tempDirPrefix('run', dead)}notours`); // not the XXXXXX pattern
    mkdirSync(other);
    // Another host's (a container sharing the folder): its process ids mean nothing here.
    const otherHost = join(tmp.dir, `${tempDirPrefix('run', dead).replace(/-[0-9a-f]{6}-/, '-000000-')}XyZ789`);
    mkdirSync(otherHost);
    const unrelated = join(tmp.dir, 'avdub-cache');
    mkdirSync(unrelated);
    expect(sweepStaleTempDirs()).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    expect(existsSync(otherHost)).toBe(true);
    expect(readdirSync(tmp.dir).length).toBe(4);
  });
});

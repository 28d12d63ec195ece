import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBinaries } from '../../src/media/binaries.js';

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'avdub-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the bundled ffmpeg synchronously (test fixtures only). */
export function ffmpeg(args: string[]): void {
  const { ffmpeg: bin } = resolveBinaries();
  execFileSync(bin, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: 'pipe' });
}

/** A small synthetic talking-head-free clip: testsrc video (+ optional sine audio). */
export function makeClip(
  path: string,
  opts: { seconds?: number; fps?: number; size?: string; audio?: boolean; sampleRate?: number } = {},
): string {
  const { seconds = 1, fps = 25, size = '160x120', audio = true, sampleRate = 44100 } = opts;
  const args = ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}:duration=${seconds}`];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${sampleRate}:duration=${seconds}`);
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
  if (audio) args.push('-c:a', 'aac', '-shortest');
  args.push(path);
  ffmpeg(args);
  return path;
}

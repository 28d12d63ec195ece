import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { VERSION } from '../src/version.js';
import { VIDEO_CLIPS, hasTestData, videoPath } from './helpers/data.js';
import { makeClip, tempDir } from './helpers/media.js';
import pkg from '../package.json' with { type: 'json' };

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  return main(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) }).then((code) => ({ code, out, err }));
}

const tmp = tempDir();
let clip: string;
beforeAll(() => {
  clip = makeClip(join(tmp.dir, 'c.mp4'), { seconds: 1, fps: 30, size: '128x96' });
});
afterAll(() => tmp.cleanup());

describe('avdub CLI', () => {
  it('--version matches package.json, --help lists commands', async () => {
    expect(VERSION).toBe(pkg.version);
    expect(await run(['--version'])).toMatchObject({ code: 0, out: `${VERSION}\n` });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/avdub probe <file>/);
  });

  it('probe prints a table or JSON', async () => {
    const t = await run(['probe', clip]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/video\s+h264/);
    expect(t.out).toMatch(/128x96/);
    expect(t.out).toMatch(/30\.000 \(nominal 30\/1\), constant/);
    expect(t.out).toMatch(/frames\s+30/);
    const j = await run(['probe', clip, '--json']);
    const info = JSON.parse(j.out);
    expect(info.video).toMatchObject({ width: 128, height: 96, frameCount: 30 });
    expect(info.audio).toMatchObject({ codec: 'aac', sampleRate: 44100 });
  });

  it('exit codes by error class', async () => {
    const missing = await run(['probe', join(tmp.dir, 'nope.mp4')]);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/E_INPUT_NOT_FOUND/);
    expect((await run(['probe'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['probe', clip, '--bogus'])).code).toBe(2);
  });

  it('devices lists the CPU as working', async () => {
    const r = await run(['devices', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).find((d: { device: string }) => d.device === 'cpu')).toMatchObject({ works: true });
  });

  // The installed bin runs the built CLI; `npm test` builds first.
  const bin = join(import.meta.dirname, '..', 'bin', 'avdub.js');
  const built = existsSync(join(import.meta.dirname, '..', 'dist', 'cli.js'));
  it.skipIf(!built)('the bin script runs the built CLI (npx avdub)', () => {
    const r = spawnSync(process.execPath, [bin, 'probe', clip, '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).video.frameCount).toBe(30);
    const bad = spawnSync(process.execPath, [bin, 'probe', join(tmp.dir, 'nope.mp4')], { encoding: 'utf8' });
    expect(bad.status).toBe(3);
  });

  it.skipIf(!built || !hasTestData)('npx avdub probe prints the facts of every shared clip', () => {
    for (const name of VIDEO_CLIPS) {
      const out = execFileSync(process.execPath, [bin, 'probe', videoPath(name)], { encoding: 'utf8' });
      expect(out).toMatch(/video\s+(hevc|h264|mpeg4)/);
      expect(out).toMatch(/audio\s+aac, (16000|44100|48000) Hz, 2 ch/);
    }
  });
});

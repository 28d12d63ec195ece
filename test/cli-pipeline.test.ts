/** `avdub lipsync` and `avdub dub`: exit codes, --json reports, and resuming after kill -9. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { ProgressBar } from '../src/cli/pipeline-commands.js';
import { liveChildProcessCount } from '../src/media/process.js';
import { tempDirPrefix } from '../src/util/temp.js';
import { audioPath, hasTestData, videoPath } from './helpers/data.js';
import { makeClip, tempDir } from './helpers/media.js';

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  return main(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) }).then((code) => ({ code, out, err }));
}

const tmp = tempDir('avdub-cli-pipeline-');
let clip: string;
beforeAll(() => {
  clip = makeClip(join(tmp.dir, 'c.mp4'), { seconds: 1, fps: 25, size: '128x96' });
});
afterAll(() => tmp.cleanup());

describe('avdub lipsync / dub: usage and exit codes', () => {
  it('help lists both commands; each has its own --help', async () => {
    expect((await run(['--help'])).out).toMatch(/avdub lipsync <video> --audio <track>[\s\S]*avdub dub <video> --to <lang>/);
    expect(await run(['lipsync', '--help'])).toMatchObject({ code: 0, out: expect.stringMatching(/padded[\s\S]*--audio-length/) });
    expect(await run(['dub', '--help'])).toMatchObject({ code: 0, out: expect.stringMatching(/--translation/) });
  });

  it('usage errors exit 2, bad input 3, no face 6', async () => {
    const cache = ['--cache-dir', join(tmp.dir, 'cache')];
    expect((await run(['lipsync', clip])).code).toBe(2); // no --audio
    expect((await run(['lipsync', clip, '--audio', clip, '--crf', '77'])).code).toBe(2);
    expect((await run(['lipsync', clip, '--audio', clip, '--audio-length', 'stretch'])).code).toBe(2);
    expect((await run(['dub', clip])).code).toBe(2); // no --to
    const unknown = await run(['dub', clip, '--to', 'es', '--tts', 'nope:x', ...cache]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/E_UNKNOWN_MODEL_ID/);
    expect((await run(['dub', clip, '--to', 'tlh', ...cache])).code).toBe(2);
    const missing = await run(['lipsync', join(tmp.dir, 'nope.mp4'), '--audio', clip, ...cache]);
    expect(missing).toMatchObject({ code: 3, err: expect.stringMatching(/E_INPUT_NOT_FOUND/) });
    const noFace = await run(['lipsync', clip, '--audio', clip, '-o', join(tmp.dir, 'o.mp4'), ...cache]);
    expect(noFace).toMatchObject({ code: 6, err: expect.stringMatching(/E_NO_FACE/) });
    expect(existsSync(join(tmp.dir, 'o.mp4'))).toBe(false);
  });

  it('the progress bar redraws one line per stage on a terminal and prints stage lines otherwise', () => {
    let tty = '';
    const lines: string[] = [];
    const io = { out: () => {}, err: (s: string) => lines.push(s) };
    const bar = new ProgressBar(io, true, (s) => (tty += s));
    bar.update({ stage: 'track', done: 0, total: 100 });
    bar.update({ stage: 'track', done: 50, total: 100, fps: 25, etaSeconds: 2 });
    bar.update({ stage: 'render', done: 100, total: 100, fps: 20, etaSeconds: 0 });
    bar.end();
    expect(tty).toMatch(/\rtrack\s+\[#{15}\.{15}\]\s+50% 50\/100 25\.0 fps eta 2s/);
    expect(tty).toMatch(/\n\rrender\s+\[#{30}\] 100% 100\/100 20\.0 fps/);
    const plain = new ProgressBar(io, false);
    plain.update({ stage: 'track', done: 0 });
    plain.update({ stage: 'track', done: 5, total: 10 });
    plain.update({ stage: 'render', done: 0, cached: false });
    expect(lines).toEqual(['[track]', '[render]']);
  });
});

describe.skipIf(!hasTestData)('avdub lipsync / dub on a real clip', () => {
  const cacheA = () => ['--cache-dir', join(tmp.dir, 'cacheA'), '--preset', 'ultrafast'];
  let reference: string;

  beforeAll(async () => {
    reference = join(tmp.dir, 'ref.mp4');
    const r = await run(['lipsync', videoPath('mimictalk_oldcommit_May_5s.mp4'), '--audio', audioPath('mimictalk_oldcommit_Obama_5s.wav'), '-o', reference, '--json', ...cacheA()]);
    expect(r.err).not.toMatch(/avdub: E_/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ job: 'lipsync', output: reference, frames: { total: 125 }, passes: { decodes: 2 } });
  }, 120_000);

  it('dub --translation y.srt --json: exit 0, report on stdout, subtitles beside the output', async () => {
    const srt = join(tmp.dir, 'y.fr.srt');
    writeFileSync(srt, '1\n00:00:00,500 --> 00:00:03,000\nBonjour tout le monde.\n');
    const out = join(tmp.dir, 'dub.mp4');
    const r = await run(['dub', videoPath('mimictalk_oldcommit_May_5s.mp4'), '--to', 'fr', '--translation', srt, '-o', out, '--json', ...cacheA()]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ job: 'dub', languages: { target: 'fr' }, subtitles: join(tmp.dir, 'dub.fr.srt'), passes: { decodes: 1 } });
    expect(report.segments).toHaveLength(1);
    expect(readFileSync(join(tmp.dir, 'dub.fr.srt'), 'utf8')).toMatch(/Bonjour tout le monde\./);
    expect(existsSync(out)).toBe(true);
  });

  it('a run killed with SIGKILL resumes from its cached analysis and gives the identical file', async () => {
    const cacheB = join(tmp.dir, 'cacheB');
    const outDir = join(tmp.dir, 'killed');
    const out = join(outDir, 'out.mp4');
    const args = ['lipsync', videoPath('mimictalk_oldcommit_May_5s.mp4'), '--audio', audioPath('mimictalk_oldcommit_Obama_5s.wav'), '-o', out, '--preset', 'ultrafast', '--cache-dir', cacheB];
    const script = join(tmp.dir, 'cli.ts');
    writeFileSync(script, `import { main } from ${JSON.stringify(resolve('src/cli/main.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`);
    // Its temporary folders land in a TMPDIR of this test's own, to see what the kill leaves.
    const childTmp = join(tmp.dir, 'tmp-killed');
    mkdirSync(childTmp);
    const child = spawn(process.execPath, [resolve('node_modules/vite-node/vite-node.mjs'), script, ...args], { stdio: 'ignore', env: { ...process.env, TMPDIR: childTmp } });
    const analysisDir = join(cacheB, 'pipeline', 'analysis');
    const deadline = Date.now() + 90_000;
    // Kill it as soon as the analysis pass is cached, i.e. during the render pass.
    while (!(existsSync(analysisDir) && readdirSync(analysisDir).some((f) => f.endsWith('.bin')))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('the child never cached its analysis');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(out)).toBe(false);
    // A killed process cannot clean up: its run folder (and the frame socket's) stay behind...
    expect(readdirSync(childTmp).some((f) => f.startsWith(tempDirPrefix('run', child.pid)))).toBe(true);
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = childTmp;
    let resumed: Awaited<ReturnType<typeof run>>;
    try {
      resumed = await run([...args, '--json']);
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
    // ...and the next run removes them (its own are gone too when it ends; other tools may
    // leave files of their own there).
    expect(readdirSync(childTmp).filter((f) => f.startsWith('avdub-'))).toEqual([]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.out).passes).toEqual({ decodes: 1, analysisCached: true });
    expect(readFileSync(out).equals(readFileSync(reference))).toBe(true);
    // The killed run's temporary output was cleaned up by the new run.
    expect(readdirSync(outDir)).toEqual(['out.mp4']);
    expect(liveChildProcessCount()).toBe(0);
  }, 120_000);
});
